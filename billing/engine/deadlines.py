"""Toast's apply-or-void window, as values: when an attempt's authorization must be on a check,
and when to look at an attempt next so that no check falls past that deadline.

Toast voids an authorization that is not applied to a check within 5 minutes (toast-api.md
§9.1, §10). The engine cannot know the instant Toast authorized, only that it was after the
confirm went out, so the deadline is counted from the confirm: ``confirm sent + 5 min`` is never
later than ``authorized + 5 min``.

Read-backs of an attempt that may hold an authorization (confirm sent, outcome unknown,
authorized but not applied) are spaced by what is left of the window: a quarter of the time
left, between ``MIN_SPACING`` and ``MAX_SPACING``. So an answer missing 60 s after the confirm
(the confirm timeout) is followed by read-backs at about +15 s, +56 s, +42 s, +32 s, ... : many
more than three tries before the deadline. After the deadline the plain backoff of
``recovery.BACKOFF`` applies (an authorization, if there was one, is void by then).
"""

from __future__ import annotations

from datetime import datetime, timedelta

APPLY_WINDOW = timedelta(minutes=5)
# Spacing of looks inside the window, as fractions of it (5 min: first look after at most
# 15 s, then every quarter of the time left, never closer than 5 s nor further than 60 s).
FIRST_READ_BACK = 1 / 20
MIN_SPACING = 1 / 60
MAX_SPACING = 1 / 5


def apply_deadline(confirm_sent_at: datetime, window: timedelta = APPLY_WINDOW) -> datetime:
    """The instant by which an authorization from a confirm sent at ``confirm_sent_at`` must be
    applied to a check."""
    return confirm_sent_at + window


def in_window_delay(
    now: datetime, deadline: datetime, *, first: bool, window: timedelta = APPLY_WINDOW
) -> timedelta | None:
    """The delay before the next look at an attempt whose deadline is ``deadline``, or None
    when the deadline has passed (the caller falls back to its ordinary backoff)."""
    left = deadline - now
    if left <= timedelta(0):
        return None
    spacing = min(window * MAX_SPACING, max(window * MIN_SPACING, left / 4))
    if first:
        spacing = min(spacing, window * FIRST_READ_BACK)
    return min(spacing, left)


def next_look(
    now: datetime, deadline: datetime | None, *, first: bool, backoff: timedelta | None,
    window: timedelta = APPLY_WINDOW,
) -> datetime | None:  # fmt: skip
    """When to look at the attempt next: inside the window by its spacing, never later than
    the deadline, else ``now + backoff`` (None: stop looking, a human takes over)."""
    if deadline is not None:
        delay = in_window_delay(now, deadline, first=first, window=window)
        if delay is not None:
            return now + delay
    return None if backoff is None else now + backoff
