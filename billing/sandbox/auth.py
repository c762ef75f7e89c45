"""Machine-client login and bearer-token checks (sandbox clock)."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timedelta

from billing.sandbox.call import Call, Reply
from billing.sandbox.errors import InvalidRequest, Unauthorized
from billing.sandbox.state import SandboxState
from billing.sandbox.validate import str_field

LAST_MINUTE = timedelta(seconds=60)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(client_id: str, issued: datetime, expires: datetime) -> str:
    """A JWT-shaped token whose ``exp`` claim is the expiry (the signature is random)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {
        "sub": client_id,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
        "userAccessType": "TOAST_MACHINE_CLIENT",
    }
    return f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(secrets.token_bytes(32))}"


def login(state: SandboxState, call: Call) -> Reply:
    body = call.json()
    client_id = str_field(body, "clientId", required=True)
    client_secret = str_field(body, "clientSecret", required=True)
    if body.get("userAccessType") != "TOAST_MACHINE_CLIENT":
        raise InvalidRequest("userAccessType must be TOAST_MACHINE_CLIENT", field="userAccessType")
    config = state.config
    if client_id != config.client_id or client_secret != config.client_secret:
        raise Unauthorized("the client credentials are not valid")
    now = state.clock.now()
    token, expires = _current_or_new(state, now)
    remaining = max(0, int((expires - now).total_seconds()))
    return 200, {
        "token": {
            "tokenType": "Bearer",
            "scope": None,
            "expiresIn": remaining,
            "accessToken": token,
            "idToken": None,
            "refreshToken": None,
        },
        "status": "SUCCESS",
    }


def _current_or_new(state: SandboxState, now: datetime) -> tuple[str, datetime]:
    """Same token (same expiry) until its last minute; then, or once expired, a new one.

    ASSUMPTION: a superseded token stays valid until its own expiry.
    """
    current = state.t.current_token
    if current is not None:
        expires = state.t.tokens.get(current)
        if expires is not None and now < expires - LAST_MINUTE:
            return current, expires
    expires = now + timedelta(seconds=state.config.token_ttl_s)
    token = _jwt(state.config.client_id, now, expires)
    state.t.tokens[token] = expires
    state.t.current_token = token
    state.stats.logins_issued += 1
    return token, expires


def verify(state: SandboxState, authorization: str | None) -> None:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("missing bearer token")
    expires = state.t.tokens.get(authorization[7:])
    if expires is None:
        raise Unauthorized("the token is not valid")
    if state.clock.now() >= expires:
        raise Unauthorized("the token has expired")


def invalidate_all(state: SandboxState) -> int:
    count = len(state.t.tokens)
    state.t.tokens.clear()
    state.t.current_token = None
    return count
