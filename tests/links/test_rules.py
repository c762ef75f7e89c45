"""The pure rules of card-update links and of the re-attempt after a new card, by property."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from billing.domain import dunning
from billing.links import rules

T0 = datetime(2027, 1, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=90 * 86_400).map(lambda s: T0 + timedelta(seconds=s))
statuses = st.sampled_from(["active", "expired", "revoked", "pending_setup", "setup_failed"])


def test_a_token_is_url_safe_unguessable_and_stored_as_its_hash() -> None:
    token = secrets.token_urlsafe(rules.TOKEN_BYTES)
    assert rules.well_formed(token)
    assert len(token) >= 43  # 256 bits
    digest = rules.token_hash(token)
    assert len(digest) == 64
    assert token not in digest
    assert rules.url("https://club.example/", token) == f"https://club.example/card/{token}"


@given(st.text(max_size=120))
def test_only_token_shaped_strings_are_looked_up(text: str) -> None:
    if rules.well_formed(text):
        assert all(c.isalnum() or c in "-_" for c in text)
        assert 20 <= len(text) <= 100
        assert text.isascii()


@given(now=instants, created=instants, days=st.integers(1, 90), used=st.none() | instants,
       status=statuses, replaced=st.booleans())  # fmt: skip
def test_a_link_is_open_only_unused_unexpired_and_for_a_card_still_on_file(
    now: datetime, created: datetime, days: int, used: datetime | None, status: str,
    replaced: bool,
) -> None:  # fmt: skip
    expires = rules.expires_at(created, days)
    state = rules.state(now=now, expires_at=expires, used_at=used, mandate_status=status,
                        replaced=replaced)  # fmt: skip
    if used is not None:
        assert state == rules.State.USED  # used stays used, whatever else happened
    elif replaced or status not in ("active", "expired"):
        assert state == rules.State.REPLACED
    else:
        assert state == (rules.State.OPEN if now < expires else rules.State.EXPIRED)


@given(now=instants, offsets=st.lists(st.integers(0, 60 * 86_400), max_size=30),
       cap=st.integers(1, 20))  # fmt: skip
def test_a_reattempt_after_a_new_card_never_breaks_the_30_day_cap(
    now: datetime, offsets: list[int], cap: int
) -> None:
    attempts = [now - timedelta(seconds=s) for s in offsets]
    at = dunning.reattempt_at(now=now, attempts=attempts, cap=cap)
    window = [a for a in attempts if at - dunning.CAP_WINDOW < a <= at]
    assert at >= now
    assert len(window) < cap  # one more attempt at ``at`` stays within the cap
    in_window_now = [a for a in attempts if a > now - dunning.CAP_WINDOW]
    if len(in_window_now) < cap:
        assert at == now  # at once, when the cap allows it
    else:  # the earliest instant the cap allows: a second sooner would break it
        sooner = at - timedelta(seconds=1)
        assert len([a for a in attempts if sooner - dunning.CAP_WINDOW < a <= sooner]) >= cap
