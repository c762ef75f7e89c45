"""§2 authentication: machine-client login, token reuse, 401s."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.sandbox.helpers import LOGIN, Api, assert_error

pytestmark = pytest.mark.toast_verified
LOGIN_PATH = "/authentication/v1/authentication/login"


def _claims(token: str) -> dict[str, int]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_login_returns_a_bearer_jwt_with_exp(api: Api) -> None:
    body = api.client.post(LOGIN_PATH, json=LOGIN).json()
    assert body["status"] == "SUCCESS"
    token = body["token"]
    assert token["tokenType"] == "Bearer"
    assert 86_000 < token["expiresIn"] <= 86_400
    assert _claims(token["accessToken"])["exp"] > 0


def test_repeated_login_returns_the_same_token_until_its_last_minute(api: Api) -> None:
    first = api.client.post(LOGIN_PATH, json=LOGIN).json()["token"]["accessToken"]
    api.advance(86_400 - 120)
    again = api.client.post(LOGIN_PATH, json=LOGIN).json()["token"]["accessToken"]
    assert again == first
    api.advance(90)  # now inside the last minute
    fresh = api.client.post(LOGIN_PATH, json=LOGIN).json()["token"]["accessToken"]
    assert fresh != first
    assert _claims(fresh)["exp"] > _claims(first)["exp"]


def test_bad_credentials_are_401(api: Api) -> None:
    response = api.client.post(LOGIN_PATH, json={**LOGIN, "clientSecret": "wrong"})
    assert_error(response, 401)


def test_login_needs_the_machine_client_access_type(api: Api) -> None:
    response = api.client.post(LOGIN_PATH, json={**LOGIN, "userAccessType": "TOAST_USER"})
    assert_error(response, 400)


def test_missing_and_garbage_tokens_are_401(api: Api) -> None:
    assert_error(api.client.post("/v1/setup-intents", json={}), 401)
    response = api.client.post(
        "/v1/setup-intents", json={}, headers={"Authorization": "Bearer nope"}
    )
    assert_error(response, 401)


def test_expired_token_is_401_and_a_new_login_works(api: Api) -> None:
    api.advance(86_400 + 1)
    assert_error(api.get(f"/v1/mandates/{'0' * 8}-0000-4000-8000-{'0' * 12}"), 401)
    api.login()
    assert api.get(f"/v1/mandates/{'0' * 8}-0000-4000-8000-{'0' * 12}").status_code == 404


def test_invalidated_tokens_are_401(api: Api) -> None:
    api.control("/tokens/invalidate")
    assert_error(api.post("/v1/customers", {"externalReferenceId": "x", "description": "y"}), 401)


def test_login_is_not_location_scoped(sandbox: object, api: Api) -> None:
    response = api.client.post(LOGIN_PATH, json=LOGIN)
    assert response.status_code == 200
    assert isinstance(response, httpx.Response)
