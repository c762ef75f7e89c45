"""Named SQL for the charging hot path: one short statement per phase, no ORM round trips.

Status guards are written from the lifecycle tables, so a statement only moves a row along an
allowed transition (a zero row count means the row was elsewhere, and the caller raises).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, TextClause, bindparam, insert, text
from sqlmodel import col

from billing.domain import lifecycle
from billing.domain.states import AttemptStatus, ChargeStatus, SubscriptionStatus
from billing.store.tables import Attempt
from billing.store.types import UTCDateTime


def _sources(table: dict[Any, frozenset[Any]], target: str, *, keep: bool) -> str:
    states = sorted(str(s) for s, exits in table.items() if target in exits)
    states += [target] if keep else []
    return ", ".join(f"'{s}'" for s in states)


def _instants(sql: str, *names: str) -> TextClause:
    return text(sql).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in names))


def _attempt_update(target: AttemptStatus, assignments: str, *instants: str) -> TextClause:
    return _instants(
        f"UPDATE attempt SET status = '{target}', updated_at = :now, {assignments} "
        f"WHERE id = :id AND status IN ({_sources(lifecycle.ATTEMPT, target, keep=True)})",
        "now", *instants,
    )  # fmt: skip


CONFIRM_SENT_WITH_INTENT = _attempt_update(
    AttemptStatus.CONFIRM_SENT,
    "toast_intent_id = :intent_id, session_secret = :secret, next_check_at = :check_at, "
    "apply_deadline_at = :deadline",
    "check_at", "deadline",
)  # fmt: skip
CONFIRM_SENT = _attempt_update(
    AttemptStatus.CONFIRM_SENT, "next_check_at = :check_at, apply_deadline_at = :deadline",
    "check_at", "deadline",
)  # fmt: skip
AUTHORIZED = _attempt_update(AttemptStatus.AUTHORIZED, "next_check_at = :check_at", "check_at")
# The heartbeat: a live worker pushes the read-back of the attempts it is working on.
RENEW_ATTEMPTS = _instants(
    "UPDATE attempt SET next_check_at = :until WHERE id IN :ids AND held_by = :owner "
    "AND settled_at IS NULL",
    "until",
).bindparams(bindparam("ids", expanding=True))
SUCCEEDED = _attempt_update(
    AttemptStatus.SUCCEEDED,
    "order_guid = :order_guid, settled_at = :now, next_check_at = NULL",
)
CHARGE_PAID = _instants(
    f"UPDATE charge SET status = '{ChargeStatus.PAID}', settled_at = :now, "
    "lease_owner = NULL, lease_expires_at = NULL "
    f"WHERE id = :id AND status IN ({_sources(lifecycle.CHARGE, ChargeStatus.PAID, keep=False)}) "
    "RETURNING subscription_id, mandate_id, source",
    "now",
)
SUBSCRIPTION_CYCLE_PAID = text(
    "UPDATE subscription SET cycles_paid = cycles_paid + 1, status = CASE "
    f"WHEN status = '{SubscriptionStatus.PAST_DUE}' THEN '{SubscriptionStatus.ACTIVE}' "
    "ELSE status END WHERE id = :id RETURNING cycles_paid, plan_id"
)
PLAN_LIMITS = text("SELECT kind, installments, max_cycles FROM plan WHERE id = :id")
EVENT = _instants(
    "INSERT INTO event (at, entity, entity_id, type, data) "
    "VALUES (:now, :entity, :entity_id, :type, :data)",
    "now",
).bindparams(bindparam("data", type_=JSON()))


def move_attempt(conn: Connection, statement: TextClause, **params: Any) -> bool:
    """Run an attempt transition; False if the attempt was not in an allowed state."""
    return bool(conn.execute(statement, params).rowcount == 1)


def event(
    conn: Connection, *, now: datetime, entity: str, entity_id: int, type: str, **data: Any
) -> None:
    conn.execute(
        EVENT, {"now": now, "entity": entity, "entity_id": entity_id, "type": type, "data": data}
    )


CHARGE_DETAILS = text(
    "SELECT c.id, c.amount_cents, c.location_guid, c.check_item, c.attempt_count, c.kind, "
    "c.source, "
    "m.id AS mandate_id, m.status AS mandate_status, m.standing_instruction, m.toast_mandate_id, "
    "m.toast_payment_method_id, m.card_exp_month, m.card_exp_year, "
    "cu.toast_customer_id, cu.email "
    "FROM charge c JOIN mandate m ON m.id = c.mandate_id JOIN customer cu ON cu.id = m.customer_id "
    "WHERE c.id IN :ids ORDER BY c.next_attempt_at"
).bindparams(bindparam("ids", expanding=True))
CARD_SEEN = text(
    "UPDATE mandate SET card_brand = COALESCE(card_brand, :brand), "
    "card_last4 = COALESCE(card_last4, :last4), "
    "card_exp_month = COALESCE(card_exp_month, :month), "
    "card_exp_year = COALESCE(card_exp_year, :year) "
    "WHERE id = (SELECT mandate_id FROM charge WHERE id = :charge_id)"
)
START_CHARGES = text(
    f"UPDATE charge SET status = '{ChargeStatus.PROCESSING}', attempt_count = attempt_count + 1 "
    f"WHERE id IN :ids AND status IN "
    f"({_sources(lifecycle.CHARGE, ChargeStatus.PROCESSING, keep=False)})"
).bindparams(bindparam("ids", expanding=True))
INSERT_ATTEMPTS = insert(Attempt).returning(
    col(Attempt.id), col(Attempt.charge_id), sort_by_parameter_order=True
)


# Mandates whose purpose has ended but are still ACTIVE at Toast: every subscription on them
# is cancelled, completed or defaulted (a paused one may still be resumed), nothing is left
# to charge (a defaulted plan's held charges keep it until a human settles them), or
# (UNSCHEDULED) the fee was paid. The engine revokes them.
# Cost: one pass over the live mandates (the partial index ``ix_mandate_live``) with an index
# probe of ``ix_charge_mandate_id_status`` / ``ix_subscription_mandate_id_status`` each, so it
# does not grow with paid charges or ended members. ``LIMIT 1`` keeps each probe a probe: it
# stops PostgreSQL from turning a subquery into a hash of every paid charge (history).
# Only mandates marked ``purpose_ended_at`` are read (the partial index ix_mandate_purpose_ended:
# the scan is flat in the number of live mandates); the mark is set where a purpose may end
# (``billing.store.purpose_marks``, a paid one-off fee, ``door.end_purpose``) and the scan still
# waits for the last live subscription and open charge on the mandate.
ENDED_MANDATES = text(
    "SELECT m.id, m.toast_mandate_id, m.location_guid, m.toast_payment_method_id "
    "FROM mandate m WHERE m.status = 'active' AND m.toast_mandate_id IS NOT NULL "
    "AND m.purpose_ended_at IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM charge c WHERE c.mandate_id = m.id AND c.status IN "
    "('scheduled', 'processing', 'retry_scheduled', 'needs_attention') LIMIT 1 OFFSET 0) "
    "AND NOT EXISTS (SELECT 1 FROM subscription s WHERE s.mandate_id = m.id AND s.status IN "
    "('pending_mandate', 'active', 'past_due', 'paused') LIMIT 1 OFFSET 0) "
    "ORDER BY m.id LIMIT :limit"
)
# The same, at the locations one worker owns (``billing.engine.ownership``).
ENDED_MANDATES_AT = text(
    ENDED_MANDATES.text.replace("ORDER BY m.id", "AND m.location_guid IN :locations ORDER BY m.id")
).bindparams(bindparam("locations", expanding=True))
# A paid one-off fee: its mandate, and whether another fee on it is still open.
MANDATE_OF_FEE = text(
    "SELECT id, standing_instruction, status, toast_mandate_id, location_guid, "
    "toast_payment_method_id FROM mandate WHERE id = :id"
)
PURPOSE_LIVES_ON = text(
    "UPDATE mandate SET purpose_ended_at = NULL WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))
FEE_PURPOSE_ENDED = _instants(
    "UPDATE mandate SET purpose_ended_at = :now WHERE id = :id AND purpose_ended_at IS NULL",
    "now",
)
OPEN_CHARGE_ON_MANDATE = text(
    "SELECT 1 FROM charge WHERE mandate_id = :id AND status IN ("
    + ", ".join(f"'{s}'" for s in sorted(lifecycle.OPEN_CHARGES))
    + ") LIMIT 1"
)
