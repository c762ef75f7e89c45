"""Logging: one line per event, with a stable ``action`` key and the ids it concerns.

Two shapes of the same line: JSON for machines (a pipe, a file, a log collector) and a short
human line for a person at a terminal. ``configure(fmt="auto")`` picks by whether the stream is
a TTY; ``billing run|serve --log-format human|json`` chooses explicitly. The web server's own
loggers (``uvicorn``, ``uvicorn.error``, ``uvicorn.access``) go through the same handler, and
their ANSI colour variants (``color_message``) are dropped: no escape codes reach a log.

Secrets never reach a log line: the Toast client redacts its own messages, and both formatters
also mask anything shaped like a bearer token, JWT or session secret as a last line of defence.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import sys
from typing import Any

from billing.toast.errors import redact

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Loggers whose INFO lines are noise for an operator (one line per HTTP request made or job run).
NOISY = ("httpx", "httpcore", "apscheduler")


class LogFormat(enum.StrEnum):
    AUTO = "auto"
    HUMAN = "human"
    JSON = "json"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


def _message(record: logging.LogRecord) -> str:
    return _ANSI.sub("", record.getMessage())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _message(record),
        }
        payload |= _fields(record)
        if record.exc_info:
            payload["error"] = self.formatException(record.exc_info)
        return redact(json.dumps(payload, default=str))


class HumanFormatter(logging.Formatter):
    """``21:04:05 INFO  engine  charge_paid  charge_id=3 attempt_id=7``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        action = fields.pop("action", None)
        message = _message(record)
        words = [self.formatTime(record, "%H:%M:%S"), f"{record.levelname:<7}",
                 record.name.removeprefix("billing."), message]  # fmt: skip
        if action and action != message:
            words.append(f"[{action}]")
        words += [f"{k}={_ANSI.sub('', str(v))}" for k, v in fields.items()]
        line = "  ".join(words[:3]) + "  " + " ".join(words[3:])
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def formatter_for(fmt: LogFormat | str, stream: Any) -> logging.Formatter:
    chosen = LogFormat(fmt)
    if chosen == LogFormat.AUTO:
        isatty = getattr(stream, "isatty", None)
        chosen = LogFormat.HUMAN if isatty is not None and isatty() else LogFormat.JSON
    return HumanFormatter() if chosen == LogFormat.HUMAN else JsonFormatter()


def configure(
    level: str = "INFO", *, stream: Any = None, fmt: LogFormat | str = LogFormat.JSON
) -> None:
    """Send every log line (ours and the web server's) to ``stream`` in the format ``fmt``."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for(fmt, stream))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        web = logging.getLogger(name)  # through the root handler, never uvicorn's own
        web.handlers.clear()
        web.propagate = True
