"""The README documents every setting (its environment variable) and the quick start."""

from __future__ import annotations

from pathlib import Path

from billing.settings import settings_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [env for _, env, _, _ in settings_table() if f"`{env}`" not in README]
    assert missing == []


def test_quick_start_is_the_two_commands() -> None:
    assert "make demo" in README
    assert "make test" in README
