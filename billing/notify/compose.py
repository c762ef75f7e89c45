"""A rendered message as an email: From, To, Reply-To, a Message-ID fixed by the message row
(so a receiver, and our tests, can tell copies of one message apart from two messages), and a
plain-text body with an HTML alternative."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from billing.notify.render import Rendered
from billing.settings import MailSettings

# CRLF line ends for SMTP; headers folded only past RFC 5322's 998 characters (folding at 78
# makes some parsers, Python's among them, read a subject back with a leading space).
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)


def message_id(message_id: int, event_id: int, from_address: str) -> str:
    domain = from_address.rsplit("@", 1)[-1]
    return f"<billing.message.{message_id}.event.{event_id}@{domain}>"


def email(
    rendered: Rendered, *, to: str, mail: MailSettings, merchant: str, msgid: str, at: datetime
) -> EmailMessage:
    out = EmailMessage(policy=MAIL_POLICY)
    out["From"] = formataddr((mail.from_name or merchant, mail.from_address))
    out["To"] = to
    if mail.reply_to:
        out["Reply-To"] = mail.reply_to
    out["Subject"] = rendered.subject
    out["Date"] = format_datetime(at)
    out["Message-ID"] = msgid
    out.set_content(rendered.text)
    out.add_alternative(rendered.html, subtype="html")
    return out
