"""Settings: layered sources, validation naming the setting, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from billing.errors import ConfigError
from billing.settings import load_settings, settings_table


def test_defaults_are_sandbox_and_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.mode == "sandbox"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.dunning.retry_days == [1, 3, 7, 14]


def test_layers_toml_then_dotenv_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "billing.toml"
    toml.write_text("[scheduler]\nconcurrency = 3\nclaim_batch_size = 7\nlease_s = 90\n")
    dotenv = tmp_path / ".env"
    dotenv.write_text("BILLING_SCHEDULER__CLAIM_BATCH_SIZE=8\nBILLING_SCHEDULER__LEASE_S=91\n")
    monkeypatch.setenv("BILLING_SCHEDULER__LEASE_S", "92")
    settings = load_settings(config_file=toml, env_file=dotenv)
    assert settings.scheduler.concurrency == 3  # TOML over default
    assert settings.scheduler.claim_batch_size == 8  # .env over TOML
    assert settings.scheduler.lease_s == 92  # environment over .env


def test_invalid_setting_fails_with_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BILLING_SCHEDULER__CONCURRENCY", "0")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "\n" not in info.value.message
    assert "scheduler.concurrency" in info.value.message
    assert "BILLING_SCHEDULER__CONCURRENCY" in info.value.message


@pytest.mark.parametrize(
    ("variable", "value", "name"),
    [
        ("BILLING_DATABASE_URL", "mysql://x", "database_url"),
        ("BILLING_TOAST__LOCATION_GUID", "not-a-guid", "toast.location_guid"),
        ("BILLING_TOAST__BASE_URL", "ftp://x", "toast.base_url"),
        ("BILLING_DUNNING__RETRY_DAYS", "[3, 1]", "dunning.retry_days"),
        ("BILLING_DUNNING__FINAL_ACTION", "explode", "dunning.final_action"),
    ],
)
def test_each_bad_value_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=name.replace(".", r"\.")):
        load_settings()


def test_production_refuses_placeholder_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BILLING_MODE", "production")
    with pytest.raises(ConfigError, match="client_secret"):
        load_settings()


def test_secret_never_in_repr_or_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BILLING_TOAST__CLIENT_SECRET", "s3cr3t-value-xyz")
    settings = load_settings()
    assert settings.toast.client_secret.get_secret_value() == "s3cr3t-value-xyz"
    assert "s3cr3t" not in repr(settings)
    assert "s3cr3t" not in str(settings_table())


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=tmp_path / "nope.toml")


def test_shipped_config_file_is_valid() -> None:
    shipped = Path(__file__).resolve().parents[2] / "config" / "billing.toml"
    settings = load_settings(config_file=shipped, env_file=None)
    assert settings.toast.rate_per_second == 20
