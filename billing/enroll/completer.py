"""The scheduled job that completes enrollments left pending (a customer who authorized the
card and closed the tab before the website called ``complete`` is not lost), and expires
the ones whose 30 minutes are over. ``billing run`` calls ``run`` on an interval."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from billing.engine.sweeper import Engine
from billing.enroll import service
from billing.enroll.models import EnrollmentStatus
from billing.errors import BillingError
from billing.store.tables import PENDING_ENROLLMENT_PREDICATE, Enrollment

log = logging.getLogger("billing.enroll")
INTERVAL_S = 60.0
BATCH = 200


def pending_ids(
    ctx: service.Context, *, limit: int = BATCH, locations: list[str] | None = None
) -> list[str]:
    """Pending enrollments, only at ``locations`` (those this worker sends to) when given."""
    if locations is not None and not locations:
        return []
    query = pending_query(limit)
    if locations is not None:
        query = query.where(col(Enrollment.location_guid).in_(locations))
    with ctx.store.transaction() as session:
        return list(session.exec(query).all())


def pending_query(limit: int) -> SelectOfScalar[str]:
    """A range scan of the partial index ``ix_enrollment_pending`` (predicate repeated)."""
    return (
        select(Enrollment.id)
        .where(text(PENDING_ENROLLMENT_PREDICATE))
        .where(col(Enrollment.intent_id).is_not(None))
        .order_by(col(Enrollment.created_at))
        .limit(limit)
    )


async def complete_pending(
    ctx: service.Context, *, locations: list[str] | None = None
) -> dict[str, int]:
    """Read each pending enrollment's intent back; returns how many ended in each status."""
    counts: dict[str, int] = {}
    for enrollment_id in pending_ids(ctx, locations=locations):
        try:
            view = await service.refresh(ctx, enrollment_id)
        except BillingError as exc:
            log.warning("enrollment_complete_failed", extra={
                "action": "enrollment_complete_failed", "enrollment": enrollment_id,
                "error": type(exc).__name__})  # fmt: skip
            continue
        counts[view.enrollment.status] = counts.get(view.enrollment.status, 0) + 1
    return counts


async def run(engine: Engine) -> None:
    """The APScheduler job: the engine's store, Toast client and clock."""
    ctx = service.Context(engine.store, engine.charger.client, engine.clock,
                          engine.settings.toast.location_guid)  # fmt: skip
    counts = await complete_pending(ctx, locations=await engine.own())
    if counts.get(EnrollmentStatus.COMPLETED) or counts.get(EnrollmentStatus.EXPIRED):
        log.info("enrollments_settled", extra={"action": "enrollments_settled", **counts})
