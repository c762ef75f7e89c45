"""Email over SMTP (aiosmtplib) to any relay, in phases that tell whether a copy may have left.

Everything before the DATA command (connect, TLS, login, MAIL, RCPT) can fail without the
relay holding a message: ``NotSent``. Just before DATA the caller's ``before_data`` commits
"sending" (and may refuse: the claim was lost). During DATA, an error *reply* still means the
relay refused the message (``NotSent``); no reply at all (a timeout, a dropped connection) means
it may have taken it (``OutcomeUnknown``).

    SendError
    ├── NotSent(permanent)   no copy reached the relay; permanent for a 5xx reply
    ├── OutcomeUnknown       the body was sent and no answer came back
    └── ClaimLost            before_data refused: another dispatcher owns the message
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from billing.settings import MailSettings

BeforeData = Callable[[], Awaitable[bool]]


class SendError(Exception):
    pass


class NotSent(SendError):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class OutcomeUnknown(SendError):
    pass


class ClaimLost(SendError):
    pass


class Transport(Protocol):
    async def send(
        self, email: EmailMessage, *, recipient: str, before_data: BeforeData
    ) -> None: ...


def _describe(exc: BaseException) -> str:
    """The error without the message or the credentials: type and SMTP code/reply only."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.code} {exc.message}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


def _permanent(exc: BaseException) -> bool:
    return isinstance(exc, aiosmtplib.SMTPResponseException) and 500 <= exc.code < 600


class SmtpTransport:
    """One connection per message: simple, and each phase maps to one outcome."""

    def __init__(self, mail: MailSettings) -> None:
        self.mail = mail

    def _client(self) -> aiosmtplib.SMTP:
        mail = self.mail
        return aiosmtplib.SMTP(
            hostname=mail.host, port=mail.port, timeout=mail.timeout_s,
            use_tls=mail.security == "tls", start_tls=mail.security == "starttls",
        )  # fmt: skip

    async def send(
        self, email: EmailMessage, *, recipient: str, before_data: BeforeData
    ) -> None:
        client = self._client()
        try:
            await self._envelope(client, recipient)
            if not await before_data():
                raise ClaimLost("the claim on this message was lost")
            await self._data(client, email)
        finally:
            client.close()

    async def _envelope(self, client: aiosmtplib.SMTP, recipient: str) -> None:
        try:
            await client.connect()
            if self.mail.user and self.mail.password is not None:
                await client.login(self.mail.user, self.mail.password.get_secret_value())
            await client.mail(self.mail.from_address)
            await client.rcpt(recipient)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise NotSent(_describe(exc), permanent=_permanent(exc)) from None

    async def _data(self, client: aiosmtplib.SMTP, email: EmailMessage) -> None:
        try:
            await client.data(email.as_bytes())
        except aiosmtplib.SMTPResponseException as exc:
            raise NotSent(_describe(exc), permanent=_permanent(exc)) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise OutcomeUnknown(_describe(exc)) from None
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await client.quit()  # the message was accepted; a failed goodbye changes nothing
