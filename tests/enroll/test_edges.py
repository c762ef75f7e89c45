"""Trust at the edges of `billing serve` (issue 14, items 1-4): the API key, the demo site,
the docs, the error shape, the body cap and the security headers. In-process over ASGI; the
start-up refusals and the warning run the real command."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import select

from billing import wiring
from billing.cli import serve_cmd
from billing.clock import FakeClock
from billing.enroll import api
from billing.errors import ConfigError
from billing.sandbox import SandboxHandle
from billing.settings import BillingSettings
from billing.store.db import Store
from billing.store.tables import Customer
from tests.databases import migrated_database_url
from tests.enroll.conftest import API_KEY, AUTH, START, Harness, settings_for

pytestmark = pytest.mark.anyio
PROBLEM_KEYS = {"error", "field", "fields"}
LONG_KEY = "k" * 40


def _app(settings: BillingSettings, store: Store, **kw: Any) -> Any:
    client = lambda: wiring.toast_client(settings, store)  # noqa: E731
    return api.create_app(settings, store, client, FakeClock(START), **kw)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    instance = Store.from_url(migrated_database_url("sqlite", tmp_path))
    yield instance
    instance.dispose()


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def client_for(
    sandbox: SandboxHandle, store: Store
) -> Callable[..., httpx.AsyncClient]:
    def make(*, app: Any = None, **extra: Any) -> httpx.AsyncClient:
        if app is None:
            app = _app(settings_for(sandbox, _url(store), **extra), store)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")

    return make


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = dict(response.json())
    assert set(body) >= PROBLEM_KEYS, body
    assert isinstance(body["error"], str)
    assert body["error"]
    assert isinstance(body["fields"], list)
    return body


# -- item 1: an empty key never turns authentication off -------------------------------------


@pytest.mark.parametrize("key", ["", "   "])
def test_create_app_refuses_an_empty_api_key(
    sandbox: SandboxHandle, store: Store, key: str
) -> None:
    settings = settings_for(sandbox, _url(store)).model_copy(update={"api_key": SecretStr(key)})
    with pytest.raises(ConfigError, match="api_key") as refused:
        _app(settings, store)
    assert refused.value.field == "api_key"


def _serve_env(tmp_path: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    return {**base, "BILLING_DATABASE_URL": migrated_database_url("sqlite", tmp_path), **env}


def _serve_refused(env: dict[str, str], cwd: Path, *args: str) -> str:
    """`billing serve` must exit by itself: a server that starts is a failure (timeout)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "billing.cli", "serve", "--port", "9", *args],
            env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("billing serve started instead of refusing")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


PRODUCTION = {"BILLING_MODE": "production", "BILLING_TOAST__BASE_URL": "https://toast.example",
              "BILLING_TOAST__CLIENT_SECRET": "a-real-looking-secret"}  # fmt: skip


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"BILLING_API_KEY": ""}, "empty"),
        ({"BILLING_API_KEY": "", **PRODUCTION}, "empty"),
        ({"BILLING_API_KEY": "short-key-of-31-characters-xxxx", **PRODUCTION}, "at least 32"),
        ({"BILLING_API_KEY": "sandbox-api-key", **PRODUCTION}, "sandbox"),
    ],
    ids=["sandbox-empty", "production-empty", "production-short", "production-default"],
)
def test_serve_refuses_to_start_with_a_key_that_lets_anyone_in(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    line = _serve_refused(_serve_env(tmp_path, **env), tmp_path)
    assert line.startswith("error: "), line
    assert "api_key" in line, line
    assert says in line, line


def test_production_accepts_a_long_key(sandbox: SandboxHandle, store: Store) -> None:
    settings = BillingSettings(
        _env_file=None, mode="production", api_key=LONG_KEY,  # type: ignore[call-arg]
        database_url=_url(store),
        toast={"base_url": "https://toast.example", "client_secret": "real"},
    )  # fmt: skip
    assert _app(settings, store) is not None


# -- item 2: the demo site is opt-in; sandbox mode with a real-looking account warns ---------


async def test_the_demo_site_is_served_only_when_asked(
    sandbox: SandboxHandle, store: Store, client_for: Callable[..., httpx.AsyncClient]
) -> None:
    settings = settings_for(sandbox, _url(store))
    plain = serve_cmd.build_app(settings, store, FakeClock(START))
    async with client_for(app=plain) as http:
        _assert_problem(await http.get("/"), 404)
        _assert_problem(await http.get("/demo/join/wine-club"), 404)
    demo = serve_cmd.build_app(settings, store, FakeClock(START), with_demo_site=True)
    async with client_for(app=demo) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert "Join the wine club" in page.text


def test_the_demo_site_is_refused_in_production(tmp_path: Path) -> None:
    env = _serve_env(tmp_path, BILLING_API_KEY=LONG_KEY, **PRODUCTION)
    line = _serve_refused(env, tmp_path, "--demo-site")
    assert line.startswith("error: --demo-site"), line
    assert "sandbox mode" in line, line


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_until_listening(env: dict[str, str], cwd: Path) -> str:
    """Start `billing serve`, wait until it listens, stop it; returns what it printed."""
    from tests.enroll.test_browser import _wait_listening

    port, log = _free_port(), cwd / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "billing.cli", "serve", "--port", str(port)],
            env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_listening(port, process, log)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return log.read_text()


@pytest.mark.parametrize(
    "account",
    [
        {"BILLING_TOAST__CLIENT_SECRET": "a-real-looking-secret"},
        {"BILLING_TOAST__BASE_URL": "https://ws-sandbox-api.eng.toasttab.com"},
        {"BILLING_TOAST__CLIENT_SECRET": "real", "BILLING_TOAST__BASE_URL": "https://t.example"},
    ],
    ids=["secret", "url", "both"],
)
def test_sandbox_mode_with_a_real_looking_account_warns_once_at_start(
    tmp_path: Path, account: dict[str, str]
) -> None:
    printed = _serve_until_listening(_serve_env(tmp_path, BILLING_API_KEY=API_KEY, **account),
                                     tmp_path)  # fmt: skip
    warnings = [line for line in printed.splitlines() if line.startswith("WARNING: ")]
    assert len(warnings) == 1, printed
    assert "sandbox mode" in warnings[0]
    assert "a-real-looking-secret" not in printed


def test_sandbox_mode_on_loopback_with_the_placeholder_does_not_warn(tmp_path: Path) -> None:
    env = _serve_env(tmp_path, BILLING_API_KEY=API_KEY,
                     BILLING_TOAST__BASE_URL="http://127.0.0.1:8790")  # fmt: skip
    assert "WARNING" not in _serve_until_listening(env, tmp_path)


# -- item 3: /docs works offline; in production behind the key or off ------------------------


async def test_docs_load_every_asset_from_this_server(
    client_for: Callable[..., httpx.AsyncClient],
) -> None:
    async with client_for() as http:
        page = await http.get("/docs")
        assert page.status_code == 200
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        urls += re.findall(r"""url: ?["']([^"']+)["']""", page.text)  # the schema it loads
        assert urls, page.text
        for url in urls:
            assert re.match(r"^/[^/]", url), url  # a path on this server, no other origin
            asset = await http.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 100, url
        assert "/docs/assets/swagger-ui-bundle.js" in urls
        assert "/openapi.json" in urls


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"any:{key}".encode()).decode()}


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
async def test_docs_behind_the_key(
    client_for: Callable[..., httpx.AsyncClient], path: str
) -> None:
    async with client_for(serve={"docs": "key"}) as http:
        refused = await http.get(path)
        _assert_problem(refused, 401)
        assert refused.headers["WWW-Authenticate"].startswith("Basic")
        _assert_problem(await http.get(path, headers={"Authorization": "Bearer nope"}), 401)
        _assert_problem(await http.get(path, headers=_basic("nope")), 401)
        assert (await http.get(path, headers=AUTH)).status_code == 200
        assert (await http.get(path, headers=_basic(API_KEY))).status_code == 200


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
async def test_docs_off(client_for: Callable[..., httpx.AsyncClient], path: str) -> None:
    async with client_for(serve={"docs": "off"}) as http:
        _assert_problem(await http.get(path, headers=AUTH), 404)


def test_production_docs_default_to_the_key_and_refuse_public() -> None:
    toast = {"base_url": "https://toast.example", "client_secret": "real"}
    production = {"mode": "production", "api_key": LONG_KEY, "toast": toast}
    assert BillingSettings(_env_file=None, **production).docs_access == "key"  # type: ignore[call-arg]
    assert BillingSettings(_env_file=None).docs_access == "public"  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=r"serve\.docs"):
        BillingSettings(_env_file=None, serve={"docs": "public"}, **production)  # type: ignore[call-arg]


# -- item 4: one error shape, a body cap, security headers -----------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("POST", "/v1/subscriptions/1/cancel", {}, 401),
        ("POST", "/v1/subscriptions/1/cancel", {"Authorization": "Bearer wrong"}, 401),
        ("GET", "/no/such/route", AUTH, 404),
        ("GET", "/v1/customers/nobody@example.com/subscriptions", AUTH, 404),
        ("DELETE", "/v1/enrollments", AUTH, 405),
        ("GET", "/v1/enrollments", AUTH, 405),
        ("POST", "/v1/enrollments", {**AUTH, "Idempotency-Key": "k"}, 422),
        ("GET", "/v1/subscriptions/0/cancel", AUTH, 405),
        ("POST", "/v1/subscriptions/not-a-number/cancel", AUTH, 422),
    ],
)
async def test_every_error_has_the_documented_shape(
    harness: Harness, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = await harness.http.request(method, path, headers=headers, content=b"{}")
    body = _assert_problem(response, status)
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert body["error"] == "missing or invalid API key"
    if status == 405:
        assert "Allow" in response.headers
        assert body["error"] == "method not allowed"


async def test_a_body_over_the_cap_is_413_before_parsing(harness: Harness) -> None:
    headers = {**AUTH, "Idempotency-Key": "big", "Content-Type": "application/json"}
    name = "x" * 70_000  # 64 kB is the default cap
    spec = {"plan": "wine-club", "customer": {"email": "big@example.com", "name": name}}
    body = json.dumps(spec).encode()
    refused = await harness.http.post("/v1/enrollments", content=body, headers=headers)
    assert _assert_problem(refused, 413)["field"] == "body"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(body), 8_192):
            yield body[start : start + 8_192]

    streamed = await harness.http.post("/v1/enrollments", content=chunks(), headers=headers)
    _assert_problem(streamed, 413)
    with harness.store.transaction() as session:
        assert session.exec(select(Customer)).all() == []
    assert await harness.control.items("setup-intents") == []


async def test_the_cap_is_a_setting(client_for: Callable[..., httpx.AsyncClient]) -> None:
    async with client_for(serve={"max_body_bytes": 2_048}) as http:
        body = b'{"card": null, "pad": "' + b"x" * 2_100 + b'"}'
        response = await http.post("/v1/enrollments/e-1/complete", content=body, headers=AUTH)
        assert "2048" in _assert_problem(response, 413)["error"]
        small = await http.post("/v1/enrollments/e-1/complete", json={}, headers=AUTH)
        _assert_problem(small, 404)  # under the cap: parsed, then an unknown enrollment


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [("GET", "/docs", {}), ("GET", "/openapi.json", {}), ("GET", "/docs/assets/swagger-ui.css", {}),
     ("POST", "/v1/subscriptions/1/cancel", {}), ("GET", "/nowhere", {}),
     ("GET", "/v1/customers/nobody@example.com/subscriptions", AUTH)],
)  # fmt: skip
async def test_security_headers_on_every_response(
    harness: Harness, method: str, path: str, headers: dict[str, str]
) -> None:
    response = await harness.http.request(method, path, headers=headers)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
