"""The store side of collecting a charge: one short transaction per phase.

Each function records what just happened *before* the next request is sent (write-ahead), so
a crash at any instant leaves a row that says how far the attempt got:

    begin_due        claim due charges; each gets an attempt STARTED with a fresh
                     externalReferenceId, and goes PROCESSING (one transaction per batch)
    intent_created   the Toast intent id and session secret stored, CONFIRM_SENT with them:
                     then the confirm goes out
    confirm_sending  CONFIRM_SENT again (the reconciler re-sends a confirm that never arrived)
    authorized       REQUIRES_CAPTURE seen; the check is not applied yet
    paid             applied to a check: attempt SUCCEEDED, charge PAID
    declined         attempt DECLINED; dunning moves the charge (retry, or give up)
    unknown          outcome unknown: the reconciler reads the intent back later
    abandoned        never confirmed (create not sent or its outcome unknown): a new attempt
    voided           authorized but voided by Toast: a new attempt
    failed           Toast refused the request (not a decline): needs attention
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, TextClause
from sqlmodel import Session, col, select

from billing.domain import dunning, lifecycle, purpose
from billing.domain.states import (
    AttemptStatus,
    ChargeStatus,
    MandateStatus,
    PlanKind,
    SubscriptionStatus,
)
from billing.engine import deadlines, new_card, recovery
from billing.engine.jobs import ChargeJob
from billing.errors import InvalidTransition, NotFound
from billing.store import door, events, hot, leases, notices
from billing.store.db import Store
from billing.store.tables import (
    Attempt,
    Charge,
    Mandate,
    Plan,
    Subscription,
)

FIRST_RECHECK = timedelta(seconds=15)
# A charge whose attempt never reached a confirm (or was voided) is tried again this much later.
RETRY_DELAY = timedelta(seconds=30)
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class MandateToRevoke:
    mandate_id: int
    toast_mandate_id: str
    location_guid: str
    payment_method_id: str | None = None


def _get(session: Session, table: type[T], row_id: int | None) -> T:
    row = session.get(table, row_id) if row_id is not None else None
    if row is None:
        raise NotFound(f"{table.__name__.lower()} {row_id} does not exist")
    return row


def _move_charge(charge: Charge, target: ChargeStatus) -> None:
    charge.status = lifecycle.transition("charge", ChargeStatus(charge.status), target)


def _move_attempt(attempt: Attempt, target: AttemptStatus, now: datetime) -> None:
    attempt.status = lifecycle.transition("attempt", AttemptStatus(attempt.status), target)
    attempt.updated_at = now
    if lifecycle.is_settled(target):
        attempt.settled_at = now
        attempt.next_check_at = None


def _move_subscription(sub: Subscription, target: SubscriptionStatus) -> None:
    current = SubscriptionStatus(sub.status)
    if current != target:
        sub.status = lifecycle.transition("subscription", current, target)


def begin_due(
    store: Store, *, owner: str, now: datetime, lease_s: float, limit: int,
    skip_locations: list[str] | None = None, only_locations: list[str] | None = None,
) -> list[ChargeJob]:  # fmt: skip
    """Claim up to ``limit`` due charges (not at ``skip_locations``; only at
    ``only_locations``, the locations this worker owns, when given) and write ahead an attempt
    for each, in one transaction: a fresh externalReferenceId per attempt, committed before
    any request."""
    if only_locations is not None and not only_locations:
        return []
    with store.connection() as conn:
        ids = leases.claim_due(
            conn, owner=owner, now=now, lease_s=lease_s, limit=limit,
            skip_locations=skip_locations, only_locations=only_locations,
        )  # fmt: skip
        if not ids:
            return []
        rows = conn.execute(hot.CHARGE_DETAILS, {"ids": ids}).all()
        blocked = {r.id: why for r in rows if (why := _blocked(r, now)) is not None}
        for r in rows:  # a business package may refuse to send its charge now (door.veto)
            if r.source is not None and r.id not in blocked:
                why = door.veto(Session(bind=conn), r.id, r.source, now=now)
                blocked |= {r.id: why} if why is not None else {}
        blocked |= notices.unmet(Session(bind=conn), [r.id for r in rows if r.id not in blocked])
        ready = interleaved([r for r in rows if r.id not in blocked])
        if blocked:
            held = [r for r in rows if r.id in blocked]
            _mandates_blocked(Session(bind=conn), held, blocked, now)
        if not ready:
            return []
        conn.execute(hot.START_CHARGES, {"ids": [r.id for r in ready]})
        attempts = [_attempt_values(r, owner, now, lease_s) for r in ready]
        created = conn.execute(hot.INSERT_ATTEMPTS, attempts).all()
        return [
            _job(row, new[0], values)
            for row, new, values in zip(ready, created, attempts, strict=True)
        ]


def interleaved(rows: list[Any]) -> list[Any]:
    """The batch in turns of one per location (each location's own order kept): the charger
    starts its jobs in this order, so no location's limiter queues the whole batch while the
    others sit idle."""
    queues: dict[str, list[Any]] = {}
    for row in rows:
        queues.setdefault(row.location_guid, []).append(row)
    turns = itertools.zip_longest(*queues.values())
    return [row for turn in turns for row in turn if row is not None]


def _attempt_values(row: Any, owner: str, now: datetime, lease_s: float) -> dict[str, Any]:
    return {
        "charge_id": row.id,
        "number": row.attempt_count + 1,
        "external_reference_id": str(uuid.uuid4()),
        "worker": owner,
        "held_by": owner,
        "status": AttemptStatus.STARTED,
        "check_count": 0,
        "created_at": now,
        "updated_at": now,
        "next_check_at": now + timedelta(seconds=lease_s),
    }


def _job(row: Any, attempt_id: Any, values: dict[str, Any]) -> ChargeJob:
    return ChargeJob(
        charge_id=row.id,
        attempt_id=attempt_id,
        attempt_number=values["number"],
        external_reference_id=values["external_reference_id"],
        amount_cents=row.amount_cents,
        location_guid=row.location_guid,
        toast_mandate_id=row.toast_mandate_id,
        payment_method_id=row.toast_payment_method_id,
        toast_customer_id=row.toast_customer_id,
        email=row.email,
        check_item=row.check_item,
        card_known=bool(row.card_exp_month and row.card_exp_year),
    )


def card_seen(
    store: Store, job: ChargeJob, *, brand: str | None, last_four: str | None,
    expiry: tuple[int, int] | None,
) -> None:  # fmt: skip
    """Toast's reply described the card: fill in what the mandate does not know yet (brand,
    last four, expiry), so an expired card is held before it is sent next time."""
    month, year = expiry if expiry else (None, None)
    with store.connection() as conn:
        conn.execute(hot.CARD_SEEN, {"charge_id": job.charge_id, "brand": brand,
                                     "last4": last_four, "month": month, "year": year})  # fmt: skip


def _blocked(row: Any, now: datetime) -> str | None:
    """Why a charge must not be sent (a doomed charge, or one outside the mandate's consent,
    is not sent), or None."""
    if row.mandate_status != MandateStatus.ACTIVE or not row.toast_mandate_id:
        return f"mandate is {row.mandate_status}"
    why = purpose.mismatch(row.standing_instruction, row.kind, mandate_id=row.mandate_id)
    if why is not None:
        return f"not sent: {why}"
    if _card_expired(row, now):
        expiry = f"{row.card_exp_month:02d}/{row.card_exp_year % 100:02d}"
        return f"card expired {expiry}: ask the customer for a new card"
    return None


def _card_expired(row: Any, now: datetime) -> bool:
    return bool(row.card_exp_month and row.card_exp_year) and dunning.card_expired(
        row.card_exp_month, row.card_exp_year, now.date()
    )


def _mandates_blocked(
    session: Session, rows: list[Any], reasons: dict[int, str], now: datetime
) -> None:
    """Hold the charges for a human, and mark mandates whose card has expired EXPIRED (a
    mandate of the wrong type stays as it is: the charge, not the card, is wrong)."""
    for row in rows:
        mandate = _get(session, Mandate, row.mandate_id)
        if mandate.status == MandateStatus.ACTIVE and _card_expired(row, now):
            _expire_mandate(session, mandate, now)
        _needs_attention(session, _get(session, Charge, row.id), now, reasons[row.id])
    session.flush()


def _expire_mandate(session: Session, mandate: Mandate, now: datetime) -> None:
    mandate.status = lifecycle.transition("mandate", MandateStatus.ACTIVE, MandateStatus.EXPIRED)
    events.emit(session, at=now, entity="mandate", entity_id=mandate.id or 0, type="card_expired")


def _id(row: Attempt | Charge) -> int:
    assert row.id is not None
    return row.id


def _hot(store: Store, statement: TextClause, job: ChargeJob, target: str, **params: Any) -> None:
    with store.connection() as conn:
        if not hot.move_attempt(conn, statement, id=job.attempt_id, **params):
            raise InvalidTransition("attempt", "(current)", target)


def intent_created(
    store: Store, job: ChargeJob, *, intent_id: str, session_secret: str, now: datetime,
    lease_s: float, window: timedelta = deadlines.APPLY_WINDOW,
) -> ChargeJob:  # fmt: skip
    """Record the intent and that its confirm is about to go out, in one write."""
    _hot(
        store, hot.CONFIRM_SENT_WITH_INTENT, job, AttemptStatus.CONFIRM_SENT, now=now,
        intent_id=intent_id, secret=session_secret, check_at=now + timedelta(seconds=lease_s),
        deadline=deadlines.apply_deadline(now, window),
    )  # fmt: skip
    return replace(
        job, intent_id=intent_id, session_secret=session_secret,
        attempt_status=AttemptStatus.CONFIRM_SENT,
        apply_deadline_at=deadlines.apply_deadline(now, window),
    )  # fmt: skip


def confirm_sending(
    store: Store, job: ChargeJob, *, now: datetime, lease_s: float,
    window: timedelta = deadlines.APPLY_WINDOW,
) -> ChargeJob:  # fmt: skip
    deadline = deadlines.apply_deadline(now, window)
    _hot(
        store, hot.CONFIRM_SENT, job, AttemptStatus.CONFIRM_SENT, now=now,
        check_at=now + timedelta(seconds=lease_s), deadline=deadline,
    )  # fmt: skip
    return replace(job, attempt_status=AttemptStatus.CONFIRM_SENT, apply_deadline_at=deadline)


def authorized(store: Store, job: ChargeJob, *, now: datetime) -> None:
    _hot(
        store, hot.AUTHORIZED, job, AttemptStatus.AUTHORIZED, now=now,
        check_at=now + FIRST_RECHECK,
    )  # fmt: skip


def apply_failed(
    store: Store, job: ChargeJob, *, now: datetime, error: str,
    window: timedelta = deadlines.APPLY_WINDOW,
) -> None:  # fmt: skip
    """The check refused (or did not answer) the authorized payment: it stays AUTHORIZED and is
    tried again inside the apply window, by whichever worker claims it next."""
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        if attempt.status != AttemptStatus.AUTHORIZED or attempt.settled_at is not None:
            return
        attempt.check_count += 1
        attempt.error = error[:500]
        attempt.held_by = None
        attempt.updated_at = now
        backoff = recovery.next_check_delay(attempt.check_count)
        attempt.next_check_at = deadlines.next_look(
            now, attempt.apply_deadline_at, first=False, backoff=backoff or recovery.HOURLY,
            window=window,
        )  # fmt: skip


def paid(
    store: Store, job: ChargeJob, *, order_guid: str | None, now: datetime
) -> MandateToRevoke | None:
    """Settle as paid (named statements: the hot path); returns the mandate to revoke when
    its purpose has ended."""
    with store.connection() as conn:
        if not hot.move_attempt(conn, hot.SUCCEEDED, id=job.attempt_id, now=now,
                                order_guid=order_guid):  # fmt: skip
            raise InvalidTransition("attempt", "(current)", AttemptStatus.SUCCEEDED)
        charge = conn.execute(hot.CHARGE_PAID, {"id": job.charge_id, "now": now}).one_or_none()
        if charge is None:
            raise InvalidTransition("charge", "(current)", ChargeStatus.PAID)
        hot.event(
            conn, now=now, entity="charge", entity_id=job.charge_id, type="charge_paid",
            attempt_id=job.attempt_id, amount_cents=job.amount_cents,
        )  # fmt: skip
        if charge.source is not None:  # its package decides when the consent ends
            _tell_source(Session(bind=conn), job.charge_id, "paid", now)
            return None
        if charge.subscription_id is None:
            return _one_off_paid(conn, charge.mandate_id, now)
        sub = conn.execute(hot.SUBSCRIPTION_CYCLE_PAID, {"id": charge.subscription_id}).one()
        kind, installments, max_cycles = conn.execute(hot.PLAN_LIMITS, {"id": sub.plan_id}).one()
        limit = installments if kind == PlanKind.INSTALLMENT else max_cycles
        if limit is None or sub.cycles_paid < limit:
            return None
        return _completed(Session(bind=conn), charge.subscription_id, charge.mandate_id, now)


def _tell_source(session: Session, charge_id: int, what: str, now: datetime) -> None:
    door.changed(session, _get(session, Charge, charge_id), what, now=now)


def _one_off_paid(conn: Connection, mandate_id: int, now: datetime) -> MandateToRevoke | None:
    """A one-off fee: an UNSCHEDULED mandate's purpose ends with it, unless another fee on
    the same mandate is still open (it is revoked by the maintain lane after the last one).
    Named statements: this is on the hot path of every charge without a subscription."""
    mandate = conn.execute(hot.MANDATE_OF_FEE, {"id": mandate_id}).one()
    if mandate.standing_instruction != "UNSCHEDULED":
        return None
    conn.execute(hot.FEE_PURPOSE_ENDED, {"id": mandate_id, "now": now})  # the scan's mark
    if conn.execute(hot.OPEN_CHARGE_ON_MANDATE, {"id": mandate_id}).first() is not None:
        return None
    if mandate.status != MandateStatus.ACTIVE or mandate.toast_mandate_id is None:
        return None
    return MandateToRevoke(
        mandate_id=mandate.id, toast_mandate_id=mandate.toast_mandate_id,
        location_guid=mandate.location_guid, payment_method_id=mandate.toast_payment_method_id,
    )  # fmt: skip


def _completed(
    session: Session, sub_id: int, mandate_id: int, now: datetime
) -> MandateToRevoke | None:
    sub = _get(session, Subscription, sub_id)
    _move_subscription(sub, SubscriptionStatus.COMPLETED)
    events.emit(session, at=now, entity="subscription", entity_id=sub_id, type="completed")
    session.flush()
    return _revocation(_get(session, Mandate, mandate_id))


def _revocation(mandate: Mandate) -> MandateToRevoke | None:
    if mandate.status != MandateStatus.ACTIVE or mandate.toast_mandate_id is None:
        return None
    return MandateToRevoke(
        mandate_id=mandate.id or 0,
        toast_mandate_id=mandate.toast_mandate_id,
        location_guid=mandate.location_guid,
        payment_method_id=mandate.toast_payment_method_id,
    )


def ended_mandates(
    store: Store, *, limit: int, locations: list[str] | None = None
) -> list[MandateToRevoke]:
    """Mandates whose purpose has ended (see ``hot.ENDED_MANDATES``), to revoke at Toast; only
    at ``locations`` (the ones this worker owns) when given."""
    if locations is not None and not locations:
        return []
    with store.connection() as conn:
        if locations is None:
            rows = conn.execute(hot.ENDED_MANDATES, {"limit": limit}).all()
        else:
            params = {"limit": limit, "locations": locations}
            rows = conn.execute(hot.ENDED_MANDATES_AT, params).all()
        # A business package may still charge the mandate (a club membership sharing the card
        # of a cancelled subscription): its consent lives on, so the mark is cleared (the
        # package marks it again when its own purpose ends).
        alive = door.in_use(Session(bind=conn), {row.id for row in rows}) if rows else set()
        if alive:
            conn.execute(hot.PURPOSE_LIVES_ON, {"ids": sorted(alive)})
            rows = [row for row in rows if row.id not in alive]
    return [
        MandateToRevoke(
            mandate_id=row.id, toast_mandate_id=row.toast_mandate_id,
            location_guid=row.location_guid, payment_method_id=row.toast_payment_method_id,
        )
        for row in rows
    ]


def mandate_revoked(store: Store, *, mandate_id: int, now: datetime) -> None:
    with store.transaction() as session:
        mandate = _get(session, Mandate, mandate_id)
        if mandate.status == MandateStatus.ACTIVE:
            mandate.status = lifecycle.transition(
                "mandate", MandateStatus.ACTIVE, MandateStatus.REVOKED
            )
            mandate.revoked_at = now
            events.emit(session, at=now, entity="mandate", entity_id=mandate_id, type="revoked")


def declined(
    store: Store,
    job: ChargeJob,
    *,
    decline_type: str | None,
    decline_code: str | None,
    now: datetime,
    policy: dunning.DunningPolicy,
) -> None:
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        attempt.decline_type, attempt.decline_code = decline_type, decline_code
        _move_attempt(attempt, AttemptStatus.DECLINED, now)
        charge = _get(session, Charge, job.charge_id)
        charge.decline_count += 1
        charge.last_decline_code = decline_code or decline_type
        charge.first_declined_at = charge.first_declined_at or now
        _clear_lease(charge)
        policy = _plan_policy(session, charge, policy)
        if _retry_on_new_card(session, charge, now, policy):
            return
        decision = dunning.decide(
            policy,
            decline_type=decline_type,
            decline_code=decline_code,
            attempt_number=charge.decline_count,
            first_declined_at=charge.first_declined_at,
            now=now,
            attempts_last_30d=charge.attempt_count,
        )
        _apply_dunning(session, charge, decision, now, policy)
        if charge.source is not None:
            door.changed(session, charge, charge.status, now=now)


def _retry_on_new_card(
    session: Session, charge: Charge, now: datetime, policy: dunning.DunningPolicy
) -> bool:
    """The card was replaced while this charge was in flight on it: retry on the new one."""
    new = new_card.in_force(session, charge)
    sub = session.get(Subscription, charge.subscription_id) if charge.subscription_id else None
    if new is None or (sub is not None and sub.status == SubscriptionStatus.DEFAULTED):
        return False
    new_card.retry_on(session, charge, new, sub=sub, now=now, cap=policy.max_attempts_30d)
    if charge.source is not None:
        door.changed(session, charge, charge.status, now=now)
    return True


def _plan_policy(
    session: Session, charge: Charge, policy: dunning.DunningPolicy
) -> dunning.DunningPolicy:
    """The plan's own retry schedule, where it overrides the configured one."""
    if charge.source is not None:
        return door.policy(session, charge, policy)
    if charge.subscription_id is None:
        return policy
    sub = _get(session, Subscription, charge.subscription_id)
    days = _get(session, Plan, sub.plan_id).dunning_retry_days
    return replace(policy, retry_days=tuple(days)) if days else policy


def _apply_dunning(
    session: Session,
    charge: Charge,
    decision: dunning.Decision,
    now: datetime,
    policy: dunning.DunningPolicy,
) -> None:
    sub = session.get(Subscription, charge.subscription_id) if charge.subscription_id else None
    if sub is not None and sub.status == SubscriptionStatus.DEFAULTED:
        _declined_after_default(session, charge, now, policy)
        return
    if isinstance(decision, dunning.HoldForNewCard):
        _hold_for_new_card(session, charge, sub, decision, now)
        return
    if isinstance(decision, dunning.RetryAt):
        _move_charge(charge, ChargeStatus.RETRY_SCHEDULED)
        charge.next_attempt_at = decision.at
        if sub is not None and sub.status == SubscriptionStatus.ACTIVE:
            _move_subscription(sub, SubscriptionStatus.PAST_DUE)
        events.emit(
            session, at=now, entity="charge", entity_id=_id(charge), type="retry_scheduled",
            retry_at=decision.at.isoformat(), decline_code=charge.last_decline_code,
        )  # fmt: skip
        return
    _move_charge(charge, ChargeStatus.FAILED)
    charge.settled_at = now
    events.emit(
        session, at=now, entity="charge", entity_id=_id(charge), type="charge_failed",
        reason=decision.reason,
    )  # fmt: skip
    if sub is not None:
        plan = _get(session, Plan, sub.plan_id)
        _end_dunning(session, sub, plan, now, policy)


def _hold_for_new_card(
    session: Session, charge: Charge, sub: Subscription | None, decision: dunning.HoldForNewCard,
    now: datetime,
) -> None:  # fmt: skip
    """An expired card: the charge waits in ``billing attention`` (never retried on this
    card), the mandate is marked expired; a replaced card collects the charge at once."""
    _needs_attention(session, charge, now, decision.reason)
    mandate = _get(session, Mandate, charge.mandate_id)
    if mandate.status == MandateStatus.ACTIVE:
        _expire_mandate(session, mandate, now)
    if sub is not None and sub.status == SubscriptionStatus.ACTIVE:
        _move_subscription(sub, SubscriptionStatus.PAST_DUE)


def _declined_after_default(
    session: Session, charge: Charge, now: datetime, policy: dunning.DunningPolicy
) -> None:
    """A charge that was in flight when its installment plan defaulted, then declined: it
    is not retried; it fails (``on_default = "cancel"``) or is held for a human."""
    why = "the installment plan has defaulted"
    if policy.on_default == "hold":
        _needs_attention(session, charge, now, f"{why}: collect or write off by hand")
        return
    _move_charge(charge, ChargeStatus.FAILED)
    charge.settled_at = now
    events.emit(session, at=now, entity="charge", entity_id=_id(charge), type="charge_failed",
                reason=why)  # fmt: skip


def _end_dunning(
    session: Session, sub: Subscription, plan: Plan, now: datetime, policy: dunning.DunningPolicy
) -> None:
    outcome = dunning.end_of_dunning(policy, PlanKind(plan.kind))
    if outcome is None:  # "skip": keep billing the next cycles
        if sub.status == SubscriptionStatus.PAST_DUE:
            _move_subscription(sub, SubscriptionStatus.ACTIVE)
        return
    if sub.status == SubscriptionStatus.ACTIVE:
        _move_subscription(sub, SubscriptionStatus.PAST_DUE)
    _move_subscription(sub, outcome)
    if outcome == SubscriptionStatus.CANCELLED:
        sub.cancelled_at = now
    data: dict[str, Any] = {}
    if outcome == SubscriptionStatus.DEFAULTED:
        data = _default_open_charges(session, sub, now, policy)
    events.emit(
        session, at=now, entity="subscription", entity_id=sub.id or 0, type=str(outcome),
        **data,
    )  # fmt: skip


def _default_open_charges(
    session: Session, sub: Subscription, now: datetime, policy: dunning.DunningPolicy
) -> dict[str, Any]:
    """A defaulted plan stops collecting: its other charges not in flight are cancelled (or
    held for a human, ``on_default = "hold"``); one in flight finishes. Once nothing is open
    the reconciler revokes the mandate (``hot.ENDED_MANDATES``). Returns the event's data."""
    query = select(Charge).where(
        Charge.subscription_id == sub.id, col(Charge.status).in_(lifecycle.CLAIMABLE_CHARGES)
    )
    charges = list(session.exec(query).all())
    for charge in charges:
        if policy.on_default == "hold":
            _needs_attention(session, charge, now, "the installment plan has defaulted: "
                             "collect or write off by hand")  # fmt: skip
            continue
        _move_charge(charge, ChargeStatus.CANCELLED)
        charge.settled_at = now
        _clear_lease(charge)
        events.emit(session, at=now, entity="charge", entity_id=_id(charge), type="cancelled",
                    reason="installment plan defaulted")  # fmt: skip
    ids = [_id(c) for c in charges]
    if policy.on_default == "hold":
        return {"on_default": "hold", "charges_held": ids, "mandate": "kept while charges are held"}
    return {"on_default": "cancel", "charges_cancelled": ids,
            "mandate": "revoked once no charge is in flight"}  # fmt: skip


def unknown(
    store: Store, job: ChargeJob, *, now: datetime, reason: str,
    window: timedelta = deadlines.APPLY_WINDOW,
) -> None:  # fmt: skip
    """Outcome unknown (or still PROCESSING): read back later on the backoff schedule; after a
    day of read-backs the charge needs a human (``billing attention``)."""
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        if attempt.status == AttemptStatus.UNKNOWN:
            attempt.check_count += 1
        else:
            _move_attempt(attempt, AttemptStatus.UNKNOWN, now)
            events.emit(
                session, at=now, entity="attempt", entity_id=job.attempt_id,
                type="outcome_unknown", reason=reason[:200],
            )  # fmt: skip
        attempt.error = reason[:500]
        attempt.held_by = None
        delay = recovery.next_check_delay(attempt.check_count)
        attempt.next_check_at = deadlines.next_look(
            now, attempt.apply_deadline_at, first=attempt.check_count == 0, backoff=delay,
            window=window,
        )  # fmt: skip
        if attempt.next_check_at is None:
            charge = _get(session, Charge, job.charge_id)
            _needs_attention(session, charge, now, f"outcome unknown: {reason}")


def abandoned(
    store: Store, job: ChargeJob, *, now: datetime, reason: str, due_now: bool = False
) -> None:
    """The intent was never confirmed: settle the attempt and make the charge due again, after
    ``RETRY_DELAY`` (Toast refused or did not answer the create) or at once (``due_now``: the
    worker that started it died or stopped before it could send anything that may authorize)."""
    with store.transaction() as session:
        _settle_and_retry(
            session, job.charge_id, job.attempt_id, AttemptStatus.ABANDONED, now=now,
            reason=reason, due_at=now if due_now else now + RETRY_DELAY,
        )  # fmt: skip


def released(store: Store, jobs: list[ChargeJob], *, now: datetime, reason: str) -> int:
    """Give back claimed charges whose create was never sent (a stop, or a location on hold):
    each is due again at once for any worker, in one transaction."""
    if not jobs:
        return 0
    with store.transaction() as session:
        for job in jobs:
            _settle_and_retry(
                session, job.charge_id, job.attempt_id, AttemptStatus.ABANDONED, now=now,
                reason=reason, due_at=now,
            )  # fmt: skip
    return len(jobs)


def voided(store: Store, job: ChargeJob, *, now: datetime, why: str | None = None) -> None:
    """Toast voided the authorization (not applied to a check in time): recorded with why, shown
    in ``billing attention``, and the charge gets a new attempt."""
    reason = "authorization voided" + (f": {why}" if why else "")
    with store.transaction() as session:
        _settle_and_retry(
            session, job.charge_id, job.attempt_id, AttemptStatus.VOIDED, now=now,
            reason=reason, due_at=now + RETRY_DELAY,
        )  # fmt: skip


def _settle_and_retry(
    session: Session, charge_id: int, attempt_id: int, target: AttemptStatus, *,
    now: datetime, reason: str, due_at: datetime,
) -> None:  # fmt: skip
    attempt = _get(session, Attempt, attempt_id)
    attempt.error = reason[:500]
    attempt.held_by = None
    _move_attempt(attempt, target, now)
    charge = _get(session, Charge, charge_id)
    back = ChargeStatus.RETRY_SCHEDULED if charge.decline_count else ChargeStatus.SCHEDULED
    _move_charge(charge, back)
    charge.next_attempt_at = due_at
    _clear_lease(charge)
    events.emit(
        session, at=now, entity="attempt", entity_id=attempt_id, type=str(target),
        reason=reason[:200],
    )  # fmt: skip


def renew(store: Store, *, owner: str, attempt_ids: list[int], until: datetime) -> int:
    """The heartbeat: push the read-back of the attempts this live worker is working on."""
    if not attempt_ids:
        return 0
    with store.connection() as conn:
        result = conn.execute(
            hot.RENEW_ATTEMPTS, {"ids": attempt_ids, "owner": owner, "until": until}
        )
        return int(result.rowcount)


def failed(store: Store, job: ChargeJob, *, now: datetime, error: str) -> None:
    with store.transaction() as session:
        attempt = _get(session, Attempt, job.attempt_id)
        attempt.error = error[:500]
        attempt.held_by = None
        _move_attempt(attempt, AttemptStatus.FAILED, now)
        charge = _get(session, Charge, job.charge_id)
        _needs_attention(session, charge, now, error)


def _needs_attention(session: Session, charge: Charge, now: datetime, why: str) -> None:
    _move_charge(charge, ChargeStatus.NEEDS_ATTENTION)
    _clear_lease(charge)
    events.emit(
        session, at=now, entity="charge", entity_id=_id(charge), type="needs_attention",
        reason=why[:200],
    )  # fmt: skip


def _clear_lease(charge: Charge) -> None:
    charge.lease_owner = None
    charge.lease_expires_at = None
