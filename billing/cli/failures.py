"""Every error of a `billing` command as one line on stderr and a documented exit code.

| Exit | Kind |
| --- | --- |
| 0 | done |
| 1 | refused: a bad value, a rule, an unknown id, bad settings, an old schema; nothing written |
| 2 | usage: unknown command or option, missing or empty value, not one of the choices |
| 3 | Toast (or the sandbox) could not be reached or refused; nothing was charged twice, retry |
| 70 | internal error (a bug): the line names the exception; `--verbose` shows the traceback |
| 130 | interrupted (Ctrl-C) |

No line echoes more than ~80 characters of a bad value (``billing.domain.inputs.shown``),
and no line is longer than ``MAX_LINE``.
"""

from __future__ import annotations

import re
from typing import Any

from billing.errors import BillingError

REFUSED, USAGE, UNAVAILABLE, INTERNAL, INTERRUPTED = 1, 2, 3, 70, 130
MAX_LINE = 300
_LONG_WORD = re.compile(r"\S{81,}")  # a value echoed by a library: cut it


def line_and_code(exc: BaseException) -> tuple[str, int]:
    """What to print (without the ``error: `` prefix) and the exit code."""
    from billing.toast.errors import ToastError  # imported only when something failed

    if isinstance(exc, ToastError):
        return _toast_line(exc), UNAVAILABLE
    if isinstance(exc, BillingError):
        return _billing_line(exc), REFUSED
    unreachable = _unreachable_url(exc)
    if unreachable:
        return _hint(unreachable, type(exc).__name__), UNAVAILABLE
    if _is_validation_error(exc):
        err = exc.errors()[0]  # type: ignore[attr-defined]
        where = ".".join(str(p) for p in err["loc"]) or "input"
        return f"{where}: {str(err['msg']).removeprefix('Value error, ')}", REFUSED
    if isinstance(exc, OSError) and exc.strerror:
        where = f" {exc.filename}" if exc.filename else ""
        return f"cannot use{where}: {exc.strerror}", REFUSED
    return f"internal error: {type(exc).__name__}: {exc}", INTERNAL


def clip(line: str) -> str:
    """One line, values cut to ~80 characters, at most ``MAX_LINE`` in all."""
    line = " ".join(line.split())
    line = _LONG_WORD.sub(lambda m: m.group(0)[:77] + "...", line)
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def _billing_line(exc: BillingError) -> str:
    message = str(exc).splitlines()[0] if str(exc) else exc.message
    field = exc.field
    if field and field.replace("_", " ") not in message and field not in message:
        return f"{field}: {message}"
    return message


def _toast_line(exc: BaseException) -> str:
    url = _unreachable_url(exc)
    if url:
        return _hint(url, type(exc).__name__)
    return f"Toast: {exc}"


def _hint(url: str, what: str) -> str:
    return (
        f"cannot reach Toast at {url} ({what}): is it running? For the local sandbox run "
        "`billing sandbox serve`; else check toast.base_url (BILLING_TOAST__BASE_URL)"
    )


def _unreachable_url(exc: BaseException) -> str | None:
    """The base URL of a connection that could not be made (httpx ConnectError/ConnectTimeout
    anywhere in the cause chain), else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ in ("ConnectError", "ConnectTimeout"):
            url = _request_url(seen)
            return url or "the configured URL"
        seen = seen.__cause__ or seen.__context__
    return None


def _request_url(exc: Any) -> str | None:
    try:
        url = exc.request.url
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when it has no request
        return None
    return f"{url.scheme}://{url.netloc.decode()}"


def _is_validation_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "ValidationError" and hasattr(exc, "errors")
