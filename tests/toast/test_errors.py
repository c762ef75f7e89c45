from __future__ import annotations

import json

import httpx
import pytest

from billing.errors import BillingError
from billing.toast import errors


def _response(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = json.dumps(body).encode() if body is not None else b""
    return httpx.Response(status, content=content, headers=headers or {})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.ToastInvalidRequest),
        (401, errors.ToastAuthFailed),
        (403, errors.ToastAuthFailed),
        (404, errors.ToastNotFound),
        (409, errors.ToastConflict),
        (429, errors.ToastRateLimited),
        (418, errors.ToastAPIError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[errors.ToastAPIError]) -> None:
    error = errors.error_from_response(
        _response(status, {"code": 10025, "message": "nope", "requestId": "req-1"}), mutating=True
    )
    assert type(error) is cls
    assert error.status == status
    assert error.code == 10025
    assert error.request_id == "req-1"
    assert "request_id=req-1" in str(error)
    assert isinstance(error, BillingError)
    assert not error.money_may_have_moved


def test_invalid_request_names_the_field() -> None:
    body = {"status": 400, "message": "bad", "fieldName": "amount"}
    error = errors.error_from_response(_response(400, body), mutating=True)
    assert error.field == "amount"


def test_rate_limited_carries_retry_after() -> None:
    error = errors.error_from_response(_response(429, {}, {"Retry-After": "3"}), mutating=False)
    assert isinstance(error, errors.ToastRateLimited)
    assert error.retry_after == 3.0


def test_5xx_to_a_read_is_a_server_error_and_no_money_moved() -> None:
    error = errors.error_from_response(_response(503, {}, {"X-Request-Id": "r9"}), mutating=False)
    assert type(error) is errors.ToastServerError
    assert error.request_id == "r9"
    assert not error.money_may_have_moved


def test_5xx_after_a_mutating_call_is_outcome_unknown_and_a_server_error() -> None:
    error = errors.error_from_response(_response(500, {"canRetry": True}), mutating=True)
    assert isinstance(error, errors.ToastOutcomeUnknown)
    assert isinstance(error, errors.ToastServerError)
    assert error.money_may_have_moved
    assert error.can_retry is True


def test_non_json_body_is_tolerated() -> None:
    error = errors.error_from_response(httpx.Response(502, content=b"<html>"), mutating=False)
    assert error.status == 502


def test_messages_are_redacted() -> None:
    secret = "PI_86bbcf0c-aaaa_SECRET_EqYQ5^CgQWc4J?KBwq2jfv&Ov"
    error = errors.ToastConflict(f"secret {secret} and Bearer abc.def.ghi refused")
    assert "EqYQ5" not in str(error)
    assert "abc.def" not in str(error)


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx.ConnectError("refused"), errors.ToastNotSent),
        (httpx.ConnectTimeout("slow"), errors.ToastNotSent),
        (httpx.PoolTimeout("busy"), errors.ToastNotSent),
        (httpx.ReadTimeout("slow"), errors.ToastOutcomeUnknown),
        (httpx.ReadError("reset"), errors.ToastOutcomeUnknown),
        (httpx.WriteError("reset"), errors.ToastOutcomeUnknown),
        (httpx.RemoteProtocolError("dropped"), errors.ToastOutcomeUnknown),
    ],
)
def test_httpx_errors_are_translated_in_one_place(
    exc: httpx.HTTPError, cls: type[errors.ToastError]
) -> None:
    with pytest.raises(cls) as info, errors.translate_transport_errors("POST", "/v1/x"):
        raise exc
    assert info.value.__cause__ is exc
    assert isinstance(info.value, errors.ToastTransportError)


def test_failure_of_a_preflight_request_means_not_sent() -> None:
    login = httpx.Request("POST", "http://t/authentication/v1/authentication/login")
    with (
        pytest.raises(errors.ToastNotSent),
        errors.translate_transport_errors("POST", "/v1/x", preflight=lambda r: r is login),
    ):
        raise httpx.ReadTimeout("slow", request=login)


def test_tree_is_drawn_in_the_module_docstring() -> None:
    doc = errors.__doc__ or ""
    classes = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.ToastError)
    ]
    assert len(classes) == 15
    for name in classes:
        assert name in doc, name
