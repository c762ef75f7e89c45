"""Collects one charge through Toast: create, confirm, apply to a check, each phase recorded first.

Money rules (shared/design.md invariants 2 and 3):
- a create whose outcome is unknown leaves an orphan intent that is never confirmed (harmless;
  it expires), and the charge gets a new attempt with a new externalReferenceId;
- a confirm whose outcome is unknown is settled by reading *that* intent back (the
  reconciler); it is never replaced by a new intent while it may still authorize.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

from billing.clock import Clock
from billing.domain import dunning
from billing.domain.states import AttemptStatus
from billing.engine import deadlines, phases
from billing.engine.gate import LocationGate
from billing.engine.group_commit import GroupCommit
from billing.engine.holdings import Holdings
from billing.engine.jobs import ChargeJob
from billing.enroll import cards
from billing.store.db import Store
from billing.toast import errors as toast_errors
from billing.toast.facade import ToastClient
from billing.toast.models.orders import OrderPayment
from billing.toast.models.payment_intents import PaymentIntent, PaymentIntentStatus
from billing.toast.ratelimit import urgent

# Off. It was switched off after the crash test failed with it on ("no worker request reached
# the sandbox for 120 s"); that failure was the location-lease bug fixed in ec0fe45 (a take did
# not stamp logged_at), and with the fix the crash and worker tests passed 3 of 3 runs on both
# databases with it on. It stays off because it buys nothing measurable now: with the aiohttp
# transport fewer attempts meet in one commit (2.6 commits a charge instead of 3), and
# bench/throughput.py (CPU 1.07-1.12x the bare loop on, 1.09-1.19x off) and bench/workers.py
# (9.6 vs 9.7-10.8 CPU ms a charge) cannot tell it apart from noise (README, "Group commit").
GROUP_COMMIT = False

log = logging.getLogger("billing.engine")
R = TypeVar("R")

# Errors after which the create certainly or possibly did not produce a confirmable intent.
RETRY_LATER = (
    toast_errors.ToastTransportError,
    toast_errors.ToastRateLimited,
    toast_errors.ToastServerError,
)


class Charger:
    def __init__(
        self,
        *,
        store: Store,
        client: ToastClient,
        clock: Clock,
        policy: dunning.DunningPolicy,
        lease_s: float,
        gate: LocationGate | None = None,
        window: timedelta = deadlines.APPLY_WINDOW,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.policy = policy
        self.lease_s = lease_s
        self.gate = gate or LocationGate()
        self.window = window
        self.holdings = Holdings()
        self.inline_db = store.dialect == "sqlite"
        self.group = GroupCommit(store, inline=self.inline_db)

    async def db(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run one store transaction. SQLite's are sub-millisecond and serialized anyway, so
        they run inline (a thread hand-off costs more than the write); PostgreSQL's run in a
        worker thread so a slow round trip never stalls the event loop."""
        if self.inline_db:
            return fn(self.store, *args, **kwargs)
        return await asyncio.to_thread(fn, self.store, *args, **kwargs)

    async def record(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Write one attempt's phase record; return once it is committed. Concurrent
        attempts' records share a commit (``group_commit``): the write-ahead rule holds per
        attempt, since each waits for the commit that holds its own record."""
        if not GROUP_COMMIT:
            return await self.db(fn, *args, **kwargs)
        return await self.group.run(fn, *args, **kwargs)

    def _log(self, action: str, job: ChargeJob, **extra: Any) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        log.info(
            action,
            extra={"action": action, "charge_id": job.charge_id, "attempt_id": job.attempt_id}
            | extra,
        )

    async def collect(self, job: ChargeJob) -> None:
        """Create and confirm a fresh intent for ``job`` (an attempt already written ahead)."""
        try:
            intent = await self.client.payment_intents.create(
                location=job.location_guid,
                amount=job.amount_cents,
                external_reference_id=job.external_reference_id,
                email=job.email,
                customer_id=job.toast_customer_id,
                off_session=True,
                mandate_id=job.toast_mandate_id,
            )
        except toast_errors.ToastLocationNotOwned as exc:  # not sent: the owner takes it now
            self._log("intent_create_not_owned", job)
            await self.record(phases.abandoned, job, now=self.clock.now(), reason=str(exc),
                          due_now=True)  # fmt: skip
            return
        except RETRY_LATER as exc:
            self._log("intent_create_unsettled", job, error=type(exc).__name__)
            await self.record(phases.abandoned, job, now=self.clock.now(), reason=str(exc))
            return
        except toast_errors.ToastAPIError as exc:
            self._log("intent_create_refused", job, error=type(exc).__name__)
            await self.record(phases.failed, job, now=self.clock.now(), error=str(exc))
            return
        secret = intent.session_secret.get_secret_value() if intent.session_secret else ""
        job = await self.record(
            phases.intent_created, job, intent_id=intent.id, session_secret=secret,
            now=self.clock.now(), lease_s=self.lease_s, window=self.window,
        )  # fmt: skip
        await self._send_confirm(job)

    async def confirm(self, job: ChargeJob) -> None:
        """Send the confirm of an existing intent (recorded as sent first); act on the answer."""
        job = await self.record(
            phases.confirm_sending, job, now=self.clock.now(), lease_s=self.lease_s,
            window=self.window,
        )  # fmt: skip
        await self._send_confirm(job)

    async def _send_confirm(self, job: ChargeJob) -> None:
        assert job.intent_id is not None
        try:
            intent = await self.client.payment_intents.confirm(
                job.intent_id,
                location=job.location_guid,
                session_secret=job.session_secret,
                payment_method_id=job.payment_method_id,
                customer_id=job.toast_customer_id,
            )
        except toast_errors.ToastDeclined as exc:
            if isinstance(exc.intent, PaymentIntent):
                await self._card_seen(job, exc.intent)
            await self._declined(job, exc.decline_type, exc.decline_code)
            return
        except toast_errors.ToastConflict:
            await self.read_back(job, may_confirm=False)
            return
        except toast_errors.ToastError as exc:
            self._log("intent_confirm_unknown", job, error=type(exc).__name__)
            await self._unknown(job, str(exc))
            return
        await self.act_on(job, intent)

    async def read_back(self, job: ChargeJob, *, may_confirm: bool = True) -> None:
        """GET the intent and act on its real status (after a 409, or for the reconciler)."""
        assert job.intent_id is not None
        try:
            intent = await self.client.payment_intents.get(
                job.intent_id, location=job.location_guid
            )
        except toast_errors.ToastError as exc:
            await self._unknown(job, str(exc))
            return
        await self.act_on(job, intent, may_confirm=may_confirm)

    async def act_on(
        self, job: ChargeJob, intent: PaymentIntent, *, may_confirm: bool = True
    ) -> None:
        """Settle the attempt from the intent's real status (shared with the reconciler)."""
        status = intent.status
        await self._card_seen(job, intent)
        if status in (PaymentIntentStatus.REQUIRES_CAPTURE, PaymentIntentStatus.SUCCEEDED):
            if job.attempt_status != AttemptStatus.AUTHORIZED:
                # Only an answer to our own confirm proves no apply was sent yet (an UNKNOWN
                # attempt may have been AUTHORIZED, and a captured intent is on a check).
                first_sight = (
                    job.attempt_status == AttemptStatus.CONFIRM_SENT
                    and status == PaymentIntentStatus.REQUIRES_CAPTURE
                )
                await self.record(phases.authorized, job, now=self.clock.now())
                job = replace(
                    job, attempt_status=AttemptStatus.AUTHORIZED, known_unapplied=first_sight
                )
            await self.apply_to_check(job, OrderPayment.for_intent(intent))
        elif intent.declined or status == PaymentIntentStatus.FAILED:
            error = intent.last_payment_error
            await self._declined(
                job, error.type if error else "FAILED", error.code if error else None
            )
        elif status == PaymentIntentStatus.CANCELLED:
            await self._voided(job)
        elif status == PaymentIntentStatus.REQUIRES_PAYMENT_METHOD and may_confirm:
            await self.confirm(job)  # the confirm never reached Toast: send it (same intent)
        else:  # PROCESSING, or a status this client does not know yet
            self._log("intent_processing", job, status=str(status))
            await self._unknown(job, f"status {status}")

    async def _card_seen(self, job: ChargeJob, intent: PaymentIntent | None) -> None:
        """Record the card Toast describes, once, when the mandate lacks its expiry."""
        card = intent.latest_payment.card if intent and intent.latest_payment else None
        if job.card_known or card is None:
            return
        seen = cards.summary_of(card)
        if seen.expiry or seen.brand or seen.last_four:
            await self.record(phases.card_seen, job, brand=seen.brand, last_four=seen.last_four,
                          expiry=seen.expiry)  # fmt: skip

    async def _unknown(self, job: ChargeJob, reason: str) -> None:
        await self.record(
            phases.unknown, job, now=self.clock.now(), reason=reason, window=self.window
        )

    async def _declined(self, job: ChargeJob, kind: str | None, code: str | None) -> None:
        self._log("intent_declined", job, decline_type=kind, decline_code=code)
        await self.record(
            phases.declined, job, decline_type=kind, decline_code=code, now=self.clock.now(),
            policy=self.policy,
        )  # fmt: skip

    async def _voided(self, job: ChargeJob) -> None:
        """Toast voided the authorization anyway: say so loudly, with why, and charge again."""
        deadline = job.apply_deadline_at
        why = (
            f"not applied to a check by its deadline {deadline.isoformat()}"
            if deadline is not None and self.clock.now() >= deadline
            else "Toast cancelled the payment intent"
        )
        log.error(
            "authorization voided: charge %s attempt %s (%s)", job.charge_id, job.attempt_id, why,
            extra={"action": "authorization_voided", "charge_id": job.charge_id,
                   "attempt_id": job.attempt_id, "reason": why},
        )  # fmt: skip
        await self.record(phases.voided, job, now=self.clock.now(), why=why)

    async def apply_authorized(self, job: ChargeJob) -> None:
        """An attempt recorded AUTHORIZED: inside its window, apply it straight away (no need
        to read the intent back first); past it, read back (it may have been voided)."""
        deadline = job.apply_deadline_at
        if deadline is not None and self.clock.now() < deadline:
            payment = OrderPayment.for_charge(job.external_reference_id, job.amount_cents)
            await self.apply_to_check(job, payment)
        else:
            await self.read_back(job)

    async def apply_to_check(self, job: ChargeJob, payment: OrderPayment) -> None:
        """Apply the authorized payment to a Toast check (Toast voids it after 5 minutes). The
        requests are urgent: they go before fresh charges at the location. A refusal leaves the
        attempt AUTHORIZED for the rescue lane, inside its deadline, and holds fresh charges at
        the location (``gate``) until an apply succeeds there."""
        try:
            with urgent():
                order_guid = None
                if not await self._already_on_a_check(job):
                    order = await self.client.orders.create_order(
                        location=job.location_guid, payments=[payment]
                    )
                    order_guid = order.guid
        except toast_errors.ToastError as exc:
            self._log("check_apply_unknown", job, error=type(exc).__name__)
            self.gate.apply_failed(job.location_guid, self.clock.monotonic())
            await self.record(
                phases.apply_failed, job, now=self.clock.now(), error=str(exc), window=self.window
            )
            return
        self.gate.apply_succeeded(job.location_guid)
        revoke = await self.record(phases.paid, job, order_guid=order_guid, now=self.clock.now())
        self._log("charge_paid", job, amount_cents=job.amount_cents)
        if revoke is not None:
            await self.revoke_mandate(revoke)

    async def _already_on_a_check(self, job: ChargeJob) -> bool:
        """After a lost answer the payment may already be on a check: look it up by guid."""
        if job.attempt_status != AttemptStatus.AUTHORIZED or job.known_unapplied:
            return False
        try:
            await self.client.orders.get_payment(
                job.external_reference_id, location=job.location_guid
            )
        except toast_errors.ToastNotFound:
            return False
        return True

    async def revoke_mandate(self, revoke: phases.MandateToRevoke) -> None:
        """Revoke a mandate whose purpose has ended, then detach its card-on-file (Toast:
        revoke first, then delete the payment method)."""
        try:
            await self.client.mandates.revoke(
                revoke.toast_mandate_id, location=revoke.location_guid
            )
        except toast_errors.ToastNotFound:
            pass  # already gone at Toast: record it revoked here too
        except toast_errors.ToastError as exc:
            log.warning(
                "mandate_revoke_failed",
                extra={"action": "mandate_revoke_failed", "mandate_id": revoke.mandate_id,
                       "error": type(exc).__name__},
            )  # fmt: skip
            return
        await self.record(
            phases.mandate_revoked, mandate_id=revoke.mandate_id, now=self.clock.now()
        )
        if revoke.payment_method_id is not None:
            await self._detach(revoke)

    async def _detach(self, revoke: phases.MandateToRevoke) -> None:
        assert revoke.payment_method_id is not None
        try:
            await self.client.payment_methods.detach(
                revoke.payment_method_id, location=revoke.location_guid
            )
        except toast_errors.ToastNotFound:
            return  # already gone
        except toast_errors.ToastError as exc:
            log.warning(
                "card_detach_failed",
                extra={"action": "card_detach_failed", "mandate_id": revoke.mandate_id,
                       "error": type(exc).__name__},
            )  # fmt: skip
