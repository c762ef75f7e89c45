"""Message templates: Jinja2, one subject, plain-text and HTML template per message kind.

The built-in templates live in ``billing/notify/templates``; a merchant overrides any of them by
putting a file of the same name in ``notify.templates_dir``. Amounts are formatted with Babel in
the configured locale, dates in the subscription's (the location's) time zone.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel import dates, numbers

from billing.settings import NotifySettings

# Line breaks a template leaves in a subject; never the locale's non-breaking spaces.
ASCII_SPACE = re.compile(r"[ \t\r\n]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    subject: str
    text: str
    html: str


class Renderer:
    def __init__(self, notify: NotifySettings) -> None:
        loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("billing.notify", "templates")]
        if notify.templates_dir is not None:
            loaders.insert(0, jinja2.FileSystemLoader(str(notify.templates_dir)))
        self._html = self._env(loaders, autoescape=True)
        self._text = self._env(loaders, autoescape=False)

    @staticmethod
    def _env(loaders: list[jinja2.BaseLoader], *, autoescape: bool) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders), autoescape=autoescape,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        )  # fmt: skip
        env.filters["money"] = money
        env.filters["day"] = day
        env.filters["last_day"] = last_day
        env.filters["moment"] = moment
        return env

    def render(self, kind: str, facts: dict[str, Any]) -> Rendered:
        context = with_derived(facts)
        subject = self._text.get_template(f"{kind}.subject.txt").render(context)
        return Rendered(
            subject=ASCII_SPACE.sub(" ", subject).strip(),
            text=self._text.get_template(f"{kind}.txt").render(context),
            html=self._html.get_template(f"{kind}.html").render(context),
        )


def cached(notify: NotifySettings) -> Renderer:
    """One renderer per templates folder, its compiled templates kept across dispatch passes
    (Jinja still reloads a template file that changed)."""
    return _for_dir(notify.templates_dir)


@functools.lru_cache(maxsize=8)
def _for_dir(templates_dir: Path | None) -> Renderer:
    return Renderer(NotifySettings(templates_dir=templates_dir))


def with_derived(facts: dict[str, Any]) -> dict[str, Any]:
    """The stored facts plus what every template shows: the amount and the card, in words."""
    amount = money(int(facts["amount_cents"]), facts["currency"], facts["locale"])
    card = f"{facts['card_brand']} ending in {facts['card_last4']}"
    return facts | {"amount": amount, "card": card}


def money(cents: int, currency: str = "USD", locale: str = "en_US") -> str:
    """Integer minor units as the locale writes the amount ($45.00, 45,00 €)."""
    return str(numbers.format_currency(Decimal(cents) / 100, currency, locale=locale))


def day(instant: str | datetime, zone: str, locale: str = "en_US") -> str:
    """An instant as a long date in ``zone`` (March 1, 2027)."""
    value = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    return str(dates.format_date(value.astimezone(ZoneInfo(zone)).date(), "long", locale=locale))


def moment(instant: str | datetime, zone: str, locale: str = "en_US") -> str:
    """An instant as a date and time in ``zone``, naming the zone (March 31, 2027,
    11:59:00 PM PDT)."""
    value = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    return str(dates.format_datetime(value, "long", tzinfo=ZoneInfo(zone), locale=locale))


def last_day(ends: str | datetime, zone: str, locale: str = "en_US") -> str:
    """The last valid day before the instant ``ends`` (a card ending at midnight after May 31
    is valid through May 31)."""
    value = datetime.fromisoformat(ends) if isinstance(ends, str) else ends
    local = value.astimezone(ZoneInfo(zone)) - timedelta(microseconds=1)
    return str(dates.format_date(local.date(), "long", locale=locale))
