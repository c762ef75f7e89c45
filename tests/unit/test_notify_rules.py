"""The pure rules of messaging and the templates: kinds, reminders, backoff, formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.errors import ConfigError
from billing.notify import render, rules
from billing.settings import NotifySettings, load_settings

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)


def test_each_trigger_yields_its_kind_unless_switched_off() -> None:
    assert rules.kind_for("charge", "charge_paid", off=frozenset()) == rules.Kind.RECEIPT
    assert rules.kind_for("charge", "retry_scheduled", off=frozenset()) == rules.Kind.DECLINE
    assert rules.kind_for("charge", "charge_paid", off=frozenset({"receipt"})) is None
    assert rules.kind_for("charge", "cancelled", off=frozenset()) is None  # not a message
    assert rules.kind_for("mandate", "active", off=frozenset()) is None


def test_reminder_is_due_from_n_days_before_until_the_charge() -> None:
    due = NOW + timedelta(days=3)
    assert not rules.reminder_due(due_at=due, now=NOW - timedelta(seconds=1), days=3)
    assert rules.reminder_due(due_at=due, now=NOW, days=3)
    assert rules.reminder_due(due_at=due, now=due - timedelta(seconds=1), days=3)
    assert not rules.reminder_due(due_at=due, now=due, days=3)


@given(st.integers(min_value=1, max_value=40))
def test_backoff_doubles_up_to_the_cap_then_gives_up(attempts: int) -> None:
    decision = rules.after_not_sent(attempts=attempts, permanent=False, now=NOW,
                                    max_attempts=30, base_s=30, max_s=3600)  # fmt: skip
    if attempts >= 30:
        assert isinstance(decision, rules.GiveUp)
        return
    assert isinstance(decision, rules.RetryAt)
    assert decision.at - NOW == timedelta(seconds=min(3600, 30 * 2 ** (attempts - 1)))


def test_a_permanent_refusal_gives_up_at_once() -> None:
    decision = rules.after_not_sent(attempts=1, permanent=True, now=NOW, max_attempts=8,
                                    base_s=30, max_s=3600)  # fmt: skip
    assert isinstance(decision, rules.GiveUp)


def test_decline_and_failure_words_never_echo_raw_codes() -> None:
    assert rules.decline_words("insufficient_funds") == "the card has insufficient funds"
    assert "xyz" not in rules.decline_words("xyz")
    assert rules.failure_words("dunning exhausted after 5 declines").startswith("every retry")


FACTS = {
    "merchant": "Hillside", "customer_name": "Ann", "card_brand": "VISA", "card_last4": "1111",
    "plan": "Wine club", "what": "Wine club", "currency": "EUR", "timezone": "Europe/Paris",
    "locale": "fr_FR", "event_at": NOW.isoformat(), "manage_url": "https://h.example/m",
    "cancel_url": "https://h.example/c", "amount_cents": 123456, "due_at": NOW.isoformat(),
    "why": "your payment was received", "paid_at": "2027-03-01T23:30:00+00:00",
}  # fmt: skip


def test_amounts_and_dates_follow_the_locale_and_the_zone() -> None:
    out = render.Renderer(NotifySettings()).render("receipt", FACTS)
    assert "1\u202f234,56\xa0€" in out.text  # French grouping and symbol
    assert "2 mars 2027" in out.text  # 23:30 UTC is already March 2nd in Paris
    assert out.subject == "Receipt from Hillside: 1\u202f234,56\xa0€ paid"


def test_html_is_escaped_and_text_is_not(tmp_path: Path) -> None:
    facts = FACTS | {"what": "Rosé <club> & co", "locale": "en_US", "currency": "USD"}
    out = render.Renderer(NotifySettings()).render("receipt", facts)
    assert "Rosé &lt;club&gt; &amp; co" in out.html
    assert "Rosé <club> & co" in out.text


def test_a_templates_folder_overrides_a_builtin_template(tmp_path: Path) -> None:
    (tmp_path / "receipt.subject.txt").write_text("Merci {{ customer_name }}: {{ amount }}")
    out = render.Renderer(NotifySettings(templates_dir=tmp_path)).render("receipt", FACTS)
    assert out.subject == "Merci Ann: 1\u202f234,56\xa0€"
    assert "Hillside" in out.text  # the bodies still come from the built-in templates


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("BILLING_MAIL__FROM_ADDRESS", "not an address", "mail.from_address"),
        ("BILLING_MAIL__SECURITY", "ssl3", "mail.security"),
        ("BILLING_NOTIFY__LOCALE", "xx_YY_ZZ", "notify.locale"),
        ("BILLING_NOTIFY__TIMEZONE", "Mars/Olympus", "notify.timezone"),
        ("BILLING_NOTIFY__KINDS_OFF", '["receipts"]', "notify.kinds_off"),
        ("BILLING_NOTIFY__MANAGE_URL", "javascript:alert(1)", "notify.manage_url"),
    ],
)
def test_bad_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as err:
        load_settings(env_file=None, config_file=None)
    assert named in str(err.value)
    assert env in str(err.value)


def test_the_smtp_password_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_MAIL__PASSWORD", "hunter2-smtp")
    settings = load_settings(env_file=None, config_file=None)
    assert "hunter2-smtp" not in repr(settings)
    assert settings.mail.password is not None
    assert settings.mail.password.get_secret_value() == "hunter2-smtp"


def test_a_card_ends_at_midnight_after_its_month_in_the_zone() -> None:
    from zoneinfo import ZoneInfo

    la = ZoneInfo("America/Los_Angeles")
    assert rules.card_ends(2, 2027, la) == datetime(2027, 3, 1, tzinfo=la)
    assert rules.card_ends(12, 2027, la) == datetime(2028, 1, 1, tzinfo=la)


def test_the_expiry_notice_is_the_window_now_in() -> None:
    ends, days = datetime(2027, 3, 1, tzinfo=UTC), (30, 15, 3)
    at = {d: ends - timedelta(days=d) for d in (31, 30, 16, 15, 10, 3, 1)}
    assert rules.expiry_notice(ends=ends, now=at[31], days=days) is None
    assert rules.expiry_notice(ends=ends, now=at[30], days=days) == 30
    assert rules.expiry_notice(ends=ends, now=at[16], days=days) == 30
    assert rules.expiry_notice(ends=ends, now=at[15], days=days) == 15
    assert rules.expiry_notice(ends=ends, now=at[10], days=days) == 15  # a late start: one notice
    assert rules.expiry_notice(ends=ends, now=at[1], days=days) == 3
    assert rules.expiry_notice(ends=ends, now=ends, days=days) is None


@pytest.mark.parametrize(
    ("source", "says", "not_says"),
    [
        ("subscription", "Manage your subscription", "Questions about"),
        ("club", "Manage your membership", "Manage your subscription"),
        ("event", "Questions about your event or its payment schedule?", "Manage your"),
        ("reservation", "Questions about your reservation or this fee?", "Manage your"),
        ("payment", "Questions about this payment?", "Manage your"),
    ],
)
def test_each_source_has_its_own_footer(source: str, says: str, not_says: str) -> None:
    out = render.Renderer(NotifySettings()).render("receipt", FACTS | {"source": source})
    for body in (out.text, out.html):
        assert says in body
        assert not_says not in body
    legacy = render.Renderer(NotifySettings()).render("receipt", FACTS)  # stored before sources
    assert "Manage your subscription" in legacy.text
