"""``/docs`` and ``/openapi.json``: public, behind the API key, or off (``serve.docs``).

Swagger UI's script and stylesheet are served by this process from the files the
``fastapi-offline`` package ships (FastAPI's documented self-hosting recipe), so the page works
with no network; nothing is loaded from a CDN. Behind the key, a browser is asked for it by
HTTP Basic (any user name, the key as password); programs send the usual Bearer header.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from importlib import resources
from typing import Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
Access = Literal["public", "key", "off"]


def key_matches(authorization: str, key: bytes) -> bool:
    """``Bearer <key>`` or ``Basic base64(user:<key>)``, compared in constant time."""
    scheme, _, value = authorization.partition(" ")
    given = b""
    if scheme.lower() == "bearer":
        given = value.strip().encode()
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(value.strip(), validate=True).partition(b":")[2]
        except (binascii.Error, ValueError):
            given = b""
    return bool(key) and hmac.compare_digest(given, key)


def mount(app: FastAPI, *, access: Access, key: bytes) -> None:
    if access == "off":
        return
    assets = resources.files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    def guard(request: Request) -> None:
        if access == "key" and not key_matches(request.headers.get("authorization", ""), key):
            message = "the docs need the API key (Bearer, or as the Basic password)"
            raise HTTPException(401, message, headers={"WWW-Authenticate": 'Basic realm="docs"'})

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        guard(request)
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        guard(request)
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{app.title} - docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url=f"{ASSETS}/favicon.png",
        )  # fmt: skip
