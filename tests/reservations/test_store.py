"""Fee policies and reservation rows in the store, on SQLite and PostgreSQL: versions, which
policy applies to a slot, errors that name the field, and the constraints behind idempotency."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from billing.errors import DomainError, DuplicateKey
from billing.manage import members
from billing.reservations import policies
from billing.store.db import Store
from billing.store.tables import Enrollment, Reservation, ReservationReport
from tests.factories import T0

LOCATION = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
FRIDAY_DINNER = datetime(2027, 1, 9, 0, 30, tzinfo=UTC)  # Fri 19:30 in New York
TUESDAY_LUNCH = datetime(2027, 1, 5, 17, 0, tzinfo=UTC)  # Tue 12:00 in New York


def _spec(name: str, **over: object) -> policies.PolicySpec:
    values: dict[str, object] = {
        "code": name, "name": name.title(), "per": "person", "amount_cents": 2000,
        "consent_text": "A fee applies", "location_guid": LOCATION,
        "timezone": "America/New_York",
    }  # fmt: skip
    values.update(over)
    return policies.PolicySpec(**values)  # type: ignore[arg-type]


def test_versions_and_the_policy_that_applies_to_a_slot(store: Store) -> None:
    with store.transaction() as session:
        policies.create(session, _spec("default"), now=T0)
        weekend = _spec("weekend-dinner", amount_cents=5000, days="fri,sat",
                        window_start="17:00", window_end="23:00")  # fmt: skip
        policies.create(session, weekend, now=T0)
        policies.create(session, _spec("brunch", service="brunch"), now=T0)
    with store.transaction() as session:
        pick = policies.for_slot(session, LOCATION, FRIDAY_DINNER, service=None, code=None)
        assert pick.code == "weekend-dinner"
        pick = policies.for_slot(session, LOCATION, TUESDAY_LUNCH, service=None, code=None)
        assert pick.code == "default"
        pick = policies.for_slot(session, LOCATION, TUESDAY_LUNCH, service="brunch", code=None)
        assert pick.code == "brunch"
        v2 = policies.update(session, LOCATION, "default", now=T0, amount_cents=3000)
        assert (v2.version, v2.amount_cents, v2.consent_text) == (2, 3000, "A fee applies")
    with store.transaction() as session:
        old = policies.get(session, LOCATION, "default", 1)
        assert (old.active, old.amount_cents) == (False, 2000)
        pick = policies.for_slot(session, LOCATION, TUESDAY_LUNCH, service=None, code=None)
        assert pick.version == 2


@pytest.mark.parametrize(("over", "field"), [
    ({"per": "table"}, "per"), ({"amount_cents": -1}, "amount"), ({"cap_cents": 0}, "cap"),
    ({"free_cancel_hours": 1000}, "window"), ({"days": "fri,funday"}, "days"),
    ({"window_start": "25:00", "window_end": "23:00"}, "window_start"),
    ({"window_start": "17:00"}, "window_end"), ({"timezone": "Mars/Base"}, "timezone"),
    ({"code": "Bad Code"}, "code"), ({"last_moment_hours": 0}, "last_moment"),
])  # fmt: skip
def test_a_bad_policy_names_its_field_and_writes_nothing(
    store: Store, over: dict[str, object], field: str
) -> None:
    with pytest.raises(DomainError) as info, store.transaction() as session:
        policies.create(session, _spec("p", **over), now=T0)
    assert info.value.field == field
    with store.transaction() as session:
        assert policies.list_all(session, every_version=True) == []


def test_one_report_id_per_reservation_and_one_reference_per_location_in_the_store(
    store: Store,
) -> None:
    with store.transaction() as session:
        policy = policies.create(session, _spec("p"), now=T0)
        customer = members.create_customer(session, email=f"{uuid.uuid4().hex[:6]}@e.com", now=T0)
        mandate = members.add_pending_mandate(
            session, customer=customer, location_guid=LOCATION,
            standing_instruction="UNSCHEDULED", now=T0,
        )  # fmt: skip
        enrollment = Enrollment(id=str(uuid.uuid4()), idempotency_key="k", request_hash="h",
                                purpose="fee", customer_id=customer.id or 0,
                                mandate_id=mandate.id or 0, location_guid=LOCATION,
                                created_at=T0)  # fmt: skip
        session.add(enrollment)
        session.flush()
        row = Reservation(location_guid=LOCATION, external_ref="R-1", idempotency_key="R-1",
                          request_hash="h", slot_at=FRIDAY_DINNER, party_size=2,
                          customer_id=customer.id or 0, mandate_id=mandate.id or 0,
                          enrollment_id=enrollment.id, policy_id=policy.id or 0, accepted_at=T0,
                          created_at=T0)  # fmt: skip
        session.add(row)
        session.flush()
        values = {"reservation_id": row.id or 0, "report_id": "same", "status": "no_show",
                  "at": T0, "reported_at": T0, "reported_by": "host"}  # fmt: skip
        session.add(ReservationReport(**values))  # type: ignore[arg-type]
        twin = row.model_copy(update={"id": None, "idempotency_key": "other"})
    with pytest.raises(DuplicateKey) as report, store.transaction() as session:
        session.add(ReservationReport(**values))  # type: ignore[arg-type]
    assert report.value.constraint == "uq_reservation_report_reservation_id_report_id"
    with pytest.raises(DuplicateKey) as ref, store.transaction() as session:
        session.add(Reservation(**twin.model_dump()))
    assert ref.value.constraint == "uq_reservation_location_guid_external_ref"
