"""Typed settings, layered: defaults in code < config/billing.toml < .env < BILLING_* environment.

Nested settings use ``__`` in environment names (``BILLING_TOAST__CLIENT_ID``). The entry point
calls ``load_settings()`` once and passes the result down; nothing here is module-global.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from billing.errors import ConfigError

DEFAULT_LOCATION = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
PLACEHOLDER_SECRET = "sandbox-client-secret"
SANDBOX_API_KEY = "sandbox-api-key"  # the default key: refused in production
MIN_PRODUCTION_API_KEY = 32  # characters
ENV_PREFIX = "BILLING_"


class ToastSettings(BaseModel):
    base_url: str = Field("http://127.0.0.1:8790", description="Hosted checkout API base URL")
    orders_base_url: str | None = Field(
        None, description="Orders API base URL (standard Toast host); defaults to base_url"
    )
    client_id: str = Field("sandbox-client", description="Machine client id")
    client_secret: SecretStr = Field(SecretStr(PLACEHOLDER_SECRET), description="Client secret")
    location_guid: str = Field(DEFAULT_LOCATION, description="Default Toast location GUID")
    rate_per_second: float = Field(20.0, gt=0, description="Per-location request rate limit")
    rate_per_15min: int = Field(10_000, gt=0, description="Per-location 15-minute request limit")
    connect_timeout_s: float = Field(5.0, gt=0, description="TCP connect timeout")
    read_timeout_s: float = Field(30.0, gt=0, description="Read timeout for ordinary calls")
    confirm_timeout_s: float = Field(60.0, gt=0, description="Read timeout for confirm calls")
    max_retries: int = Field(4, ge=0, le=10, description="Transport retries for safe calls")
    retry_deadline_s: float = Field(60.0, gt=0, description="Total time budget for retries")
    retry_base_delay_s: float = Field(0.25, gt=0, description="First backoff step (full jitter)")
    retry_max_delay_s: float = Field(8.0, gt=0, description="Largest backoff step")
    token_refresh_margin_s: float = Field(
        30.0, ge=0, description="Log in again this long before the token expires"
    )
    max_logins_per_hour: int = Field(2, ge=1, description="Login budget (Toast: at most 2/hour)")
    apply_window_s: float = Field(
        300.0, gt=0, le=300,
        description="Toast voids an authorization not applied to a check within this "
        "(5 minutes); the engine plans its deadlines by it. Lower it only for tests",
    )
    max_login_tries_per_hour: int = Field(
        6, ge=1, description="Login requests sent per hour, answered or not (sandbox A28)"
    )

    @field_validator("base_url", "orders_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("location_guid")
    @classmethod
    def _guid(cls, value: str) -> str:
        import uuid

        try:
            return str(uuid.UUID(value))
        except ValueError as exc:
            raise ValueError("must be a location GUID (UUID)") from exc


class SchedulerSettings(BaseModel):
    tick_interval_s: float = Field(30.0, gt=0, description="Seconds between sweep ticks")
    reconcile_interval_s: float = Field(
        5.0, gt=0, description="Seconds between rescue-lane passes (applies and read-backs)"
    )
    claim_batch_size: int = Field(100, ge=1, le=10_000, description="Charges claimed per batch")
    concurrency: int = Field(16, ge=1, le=1_000, description="Charges in flight per worker")
    lease_s: float = Field(
        30.0, gt=0, le=120,
        description="Lease of a claimed attempt; a live worker's heartbeat renews it every "
        "lease_s/4, a dead worker's work is taken over when it lapses",
    )
    drain_s: float = Field(
        60.0, ge=0, description="On SIGTERM: how long in-flight charges may take to finish"
    )
    apply_hold_s: float = Field(
        30.0, gt=0,
        description="After a check refuses a payment, the location starts no fresh charges "
        "for this long (or until an apply succeeds there)",
    )
    dispatch_interval_s: float = Field(
        10.0, gt=0, description="Seconds between passes of the customer-message dispatcher"
    )
    maintain_interval_s: float = Field(
        60.0, gt=0, description="Seconds between passes revoking mandates whose purpose ended"
    )
    status_file: Path | None = Field(
        None, description="billing run rewrites this JSON health file on every heartbeat"
    )
    horizon_days: int = Field(2, ge=1, le=366, description="Charges materialized this far ahead")
    misfire_grace_s: int = Field(60, ge=1, description="APScheduler misfire grace time")


class DunningSettings(BaseModel):
    retry_days: list[int] = Field(
        default_factory=lambda: [1, 3, 7, 14],
        description="Days after the first decline on which a declined charge is retried",
    )
    final_action: Literal["pause", "cancel", "skip"] = Field(
        "pause", description="What happens to a subscription when dunning ends"
    )
    max_attempts_30d: int = Field(15, ge=1, description="Card-network cap on re-attempts/30 days")
    on_default: Literal["cancel", "hold"] = Field(
        "cancel",
        description="A defaulted installment plan's other open charges: cancel them (and "
        "revoke the mandate), or hold them in billing attention for a human",
    )

    @field_validator("retry_days")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(day <= 0 for day in value) or value != sorted(set(value)):
            raise ValueError("must be strictly increasing positive day counts, e.g. [1, 3, 7, 14]")
        return value


class ServeSettings(BaseModel):
    docs: Literal["auto", "public", "key", "off"] = Field(
        "auto",
        description="/docs and /openapi.json: public, behind the API key, or off "
        "(auto: public in sandbox mode, key in production)",
    )
    max_body_bytes: int = Field(
        65_536, ge=1_024, le=16 * 1_048_576,
        description="Largest request body `billing serve` reads (413 beyond)",
    )  # fmt: skip
    public_url: str = Field(
        "http://127.0.0.1:8800",
        description="Where members reach `billing serve` (the base of card-update links)",
    )
    card_link_days: int = Field(
        7, ge=1, le=90,
        description="Days a card-update link or an event payment link works (each is also "
        "single-use)",
    )

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class MailSettings(BaseModel):
    """The SMTP relay the messages go through (any relay: a provider's, or a local one)."""

    host: str = Field("127.0.0.1", description="SMTP relay host")
    port: int = Field(25, ge=1, le=65_535, description="SMTP relay port (587 STARTTLS, 465 TLS)")
    security: Literal["none", "starttls", "tls"] = Field(
        "none", description="none, starttls (upgrade after connecting) or tls (implicit TLS)"
    )
    user: str | None = Field(None, description="SMTP login user (none: no login)")
    password: SecretStr | None = Field(None, description="SMTP login password")
    from_address: str = Field("billing@localhost", description="From: address of every message")
    from_name: str = Field("", description="Display name in From: (default: the merchant name)")
    reply_to: str | None = Field(None, description="Reply-To: address (the merchant's inbox)")
    timeout_s: float = Field(30.0, gt=0, description="SMTP connect and reply timeout")

    @field_validator("from_address", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and ("@" not in value or any(c.isspace() for c in value)):
            raise ValueError("must be an email address like billing@example.com")
        return value


MessageKindName = Literal[
    "receipt", "decline", "final_failure", "cancellation", "reminder", "expiring_card",
    "milestone_notice",
    "release_notice",
]


class PlanMessages(BaseModel):
    """One plan's message settings (keyed by plan code in ``notify.plans``); unset fields
    inherit the global ones."""

    model_config = ConfigDict(extra="forbid")

    kinds_off: list[MessageKindName] | None = Field(
        None, description="Kinds switched off for this plan (replaces notify.kinds_off)"
    )
    reminder_days: int | None = Field(
        None, ge=1, le=60, description="Days before a charge to remind (replaces the global)"
    )


class NotifySettings(BaseModel):
    """Customer messages: which kinds go out, how they read, and how the dispatcher retries."""

    enabled: bool = Field(True, description="Send customer messages at all")
    kinds_off: list[MessageKindName] = Field(
        default_factory=list, description="Message kinds switched off, e.g. [\"reminder\"]"
    )
    reminder_days: int = Field(3, ge=1, le=60, description="Days before a charge to remind")
    milestone_notice_days: int = Field(
        3, ge=1, le=60,
        description="Days before an event milestone's charge to tell the guest its exact amount",
    )  # fmt: skip
    expiring_card_days: list[int] = Field(
        default_factory=lambda: [30, 15, 3],
        description="Days before a card's last day to tell the member (when a charge follows)",
    )
    merchant_name: str = Field("Our restaurant", description="The merchant named in messages")
    manage_url: str = Field(
        "http://127.0.0.1:8800/", description="Where a member manages a subscription"
    )
    cancel_url: str = Field("http://127.0.0.1:8800/", description="Where a member cancels online")
    locale: str = Field("en_US", description="Locale for amounts and dates (Babel name)")
    timezone: str = Field(
        "America/New_York", description="Time zone for dates of charges without a plan"
    )
    templates_dir: Path | None = Field(
        None, description="Folder of templates overriding the built-in ones (same file names)"
    )
    batch_size: int = Field(50, ge=1, le=1_000, description="Events and messages per pass")
    concurrency: int = Field(
        4, ge=1, le=64, description="Messages (emails and webhooks) on the wire at once per pass"
    )
    claim_lease_s: float = Field(
        120.0, gt=0, description="A claim older than this (nothing sent yet) is retried"
    )
    max_attempts: int = Field(8, ge=1, le=50, description="Send attempts before a message fails")
    retry_base_s: float = Field(30.0, gt=0, description="First retry delay (doubles each time)")
    retry_max_s: float = Field(3_600.0, gt=0, description="Largest retry delay")
    plans: dict[str, PlanMessages] = Field(
        default_factory=dict,
        description="Per plan code: {kinds_off, reminder_days}, e.g. "
        '{"wine": {"reminder_days": 7}}; `billing plans messages` overrides them per plan',
    )
    link_secret: SecretStr | None = Field(
        None, description="Signs the unsubscribe links in messages (default: derived from api_key)"
    )

    @field_validator("expiring_card_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(d < 1 or d > 120 for d in value) or len(set(value)) != len(value):
            raise ValueError("must be distinct day counts from 1 to 120, e.g. [30, 15, 3]")
        return sorted(value, reverse=True)

    @field_validator("manage_url", "cancel_url")
    @classmethod
    def _link(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        from babel import Locale, UnknownLocaleError

        try:
            Locale.parse(value)
        except (ValueError, UnknownLocaleError) as exc:
            raise ValueError("must be a locale like en_US or fr_FR") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise ValueError("must be an IANA time zone like America/New_York") from exc
        return value


class WebhookSettings(BaseModel):
    """Signed webhooks to the merchant's systems (Standard Webhooks): how deliveries retry."""

    timeout_s: float = Field(10.0, gt=0, le=120, description="HTTP timeout of one delivery")
    retry_hours: float = Field(
        24.0, gt=0, le=24 * 14, description="Retry a failing delivery this long, then dead letter"
    )
    retry_base_s: float = Field(30.0, gt=0, description="First retry delay (doubles, jittered)")
    retry_max_s: float = Field(3_600.0, gt=0, description="Largest retry delay")


class BillingSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        validate_default=True,
    )

    mode: Literal["sandbox", "production"] = Field(
        "sandbox", description="sandbox allows placeholder credentials; production refuses them"
    )
    database_url: str = Field("sqlite:///billing.db", description="SQLAlchemy database URL")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level")
    api_key: SecretStr = Field(SecretStr(SANDBOX_API_KEY), description="Enrollment API key")
    toast: ToastSettings = Field(default_factory=ToastSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    dunning: DunningSettings = Field(default_factory=DunningSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @model_validator(mode="after")
    def _no_placeholders_in_production(self) -> BillingSettings:
        if self.mode == "production":
            if self.toast.client_secret.get_secret_value() == PLACEHOLDER_SECRET:
                raise ValueError(
                    "toast.client_secret: the sandbox placeholder is refused in production"
                )
            if self.api_key.get_secret_value() == SANDBOX_API_KEY:
                raise ValueError("api_key: the sandbox placeholder is refused in production")
            if not self.toast.base_url.startswith("https://"):
                raise ValueError("toast.base_url: production needs https://")
            if self.serve.docs == "public":
                raise ValueError("serve.docs: production serves the docs behind the key or not "
                                 "at all (key or off)")  # fmt: skip
        return self

    @property
    def docs_access(self) -> Literal["public", "key", "off"]:
        """Who may read /docs and /openapi.json (``auto`` resolved by mode)."""
        if self.serve.docs == "auto":
            return "public" if self.mode == "sandbox" else "key"
        return self.serve.docs

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls),
        )


def api_key_problem(settings: BillingSettings) -> str | None:
    """Why ``billing serve`` must not start with this API key (None: it may). An empty key
    would let every request in, so it is refused in every mode."""
    key = settings.api_key.get_secret_value()
    if not key.strip():
        return "api_key (BILLING_API_KEY) is empty: set the enrollment API key to serve"
    if settings.mode == "production":
        if key == SANDBOX_API_KEY:
            return "api_key (BILLING_API_KEY): the sandbox default is refused in production"
        if len(key) < MIN_PRODUCTION_API_KEY:
            return (f"api_key (BILLING_API_KEY) is {len(key)} characters: production needs "
                    f"at least {MIN_PRODUCTION_API_KEY}")  # fmt: skip
    return None


def sandbox_exposure(settings: BillingSettings) -> str | None:
    """In sandbox mode, what looks like a real Toast account (a non-placeholder secret, a
    non-loopback Toast URL): sandbox mode relaxes the checks meant for real money."""
    if settings.mode != "sandbox":
        return None
    reasons = []
    if settings.toast.client_secret.get_secret_value() != PLACEHOLDER_SECRET:
        reasons.append("toast.client_secret is not the sandbox placeholder")
    urls = {"toast.base_url": settings.toast.base_url,
            "toast.orders_base_url": settings.toast.orders_base_url}  # fmt: skip
    reasons += [f"{name} is not on loopback" for name, url in urls.items()
                if url and not _is_loopback(url)]  # fmt: skip
    if not reasons:
        return None
    return ("sandbox mode (BILLING_MODE=sandbox) with what looks like a real Toast account: "
            + "; ".join(reasons) + ". Use BILLING_MODE=production for real money")  # fmt: skip


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_config_file() -> Path | None:
    """``BILLING_CONFIG_FILE`` if set, else ``config/billing.toml`` in the working directory."""
    explicit = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
    if explicit:
        return Path(explicit)
    candidate = Path("config/billing.toml")
    return candidate if candidate.is_file() else None


def load_settings(
    *, config_file: Path | None = None, env_file: Path | None = Path(".env"), **overrides: Any
) -> BillingSettings:
    """Build the settings once; any invalid value raises ConfigError naming the setting."""
    toml = config_file if config_file is not None else default_config_file()
    if toml is not None and not toml.is_file():
        raise ConfigError(f"config file {toml} does not exist", field="config_file")

    class _Configured(BillingSettings):
        model_config = SettingsConfigDict(toml_file=toml, env_file=env_file)

    try:
        return _Configured(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc), field=_first_field(exc)) from None


def _first_field(exc: ValidationError) -> str:
    errors = exc.errors()
    return ".".join(str(p) for p in errors[0]["loc"]) if errors else ""


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem: the dotted setting, its environment variable, and why."""
    lines = []
    for err in exc.errors():
        dotted = ".".join(str(p) for p in err["loc"]) or "settings"
        env = ENV_PREFIX + "__".join(str(p) for p in err["loc"]).upper()
        msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"invalid setting {dotted} ({env}): {msg}")
    return "; ".join(lines)


def link_secret(settings: BillingSettings) -> str:
    """The key of signed links to members: ``notify.link_secret``, else derived from the API
    key (HMAC-SHA256 with a fixed label: the API key cannot be read back from it)."""
    if settings.notify.link_secret is not None:
        return settings.notify.link_secret.get_secret_value()
    key = settings.api_key.get_secret_value().encode()
    return hmac.new(key, b"billing.notify.link_secret", hashlib.sha256).hexdigest()


def settings_table() -> list[tuple[str, str, str, str]]:
    """(setting, environment variable, default, description) rows for docs and `billing config`."""
    rows: list[tuple[str, str, str, str]] = []
    for name, field in BillingSettings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub, subfield in annotation.model_fields.items():
                default = subfield.get_default(call_default_factory=True)
                rows.append(
                    (
                        f"{name}.{sub}",
                        f"{ENV_PREFIX}{name.upper()}__{sub.upper()}",
                        _show(default),
                        subfield.description or "",
                    )
                )
            continue
        default = field.get_default(call_default_factory=True)
        rows.append((name, f"{ENV_PREFIX}{name.upper()}", _show(default), field.description or ""))
    return rows


def _show(value: object) -> str:
    if isinstance(value, SecretStr):
        return "(secret)"
    return "" if value is None else str(value)
