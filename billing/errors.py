"""The exception tree of billing. Every error the product raises derives from ``BillingError``.

    BillingError
    ├── ConfigError              invalid settings; message names the setting
    ├── DomainError              a rule of the pure core was broken
    │   ├── InvalidAmount        amount outside 1..99,999,999 minor units, or unsupported currency
    │   ├── InvalidSchedule      a billing rule that cannot produce due dates
    │   ├── InvalidTransition    a state change that the lifecycle does not allow
    │   └── AmbiguousLookup      a reference that matches more than one row
    ├── StoreError               the schedule store refused a write
    │   ├── ChargeAlreadyExists      uq_charge_subscription_cycle
    │   ├── AttemptAlreadyOpen       uq_attempt_one_unsettled
    │   ├── DuplicateKey             another named unique constraint
    │   │   └── DuplicateEmail       uq_customer_email_key (one customer per email)
    │   └── NotFound                 a row looked up by id does not exist
    └── ToastError               defined in billing.toast.errors (transport / API axes)

Each class carries a ``field`` where one input is to blame, so the CLI and API can name it.
"""

from __future__ import annotations


class BillingError(Exception):
    """Root of every error raised by billing."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigError(BillingError):
    pass


class DomainError(BillingError):
    pass


class InvalidAmount(DomainError):
    pass


class InvalidSchedule(DomainError):
    pass


class InvalidTransition(DomainError):
    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity} cannot go from {current} to {target}")
        self.entity = entity
        self.current = current
        self.target = target


class AmbiguousLookup(DomainError):
    pass


class StoreError(BillingError):
    pass


class DuplicateKey(StoreError):
    def __init__(self, constraint: str, message: str | None = None) -> None:
        super().__init__(message or f"duplicate value violates {constraint}")
        self.constraint = constraint


class ChargeAlreadyExists(DuplicateKey):
    pass


class AttemptAlreadyOpen(DuplicateKey):
    pass


class DuplicateEmail(DuplicateKey):
    """One customer per email address, compared case-insensitively."""

    def __init__(
        self, constraint: str = "uq_customer_email_key", message: str | None = None,
        *, field: str = "email",
    ) -> None:  # fmt: skip
        super().__init__(constraint, message or "a customer with this email already exists")
        self.field = field


class NotFound(StoreError):
    pass
