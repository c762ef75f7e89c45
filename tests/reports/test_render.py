"""The views: JSON shape (through the CLI), terminal tables, and HTML that escapes user strings
and draws its charts as inline SVG without any external resource."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from billing.cli.main import app
from billing.reports import aggregate, html, terminal
from billing.reports.aggregate import ChargeFact, EndFact
from billing.reports.model import PlanInfo
from billing.reports.period import Month, Period
from tests.reports.conftest import Quarter

EVIL = '<script>alert("x")</script> [bold]club[/bold]'
JAN = datetime(2027, 1, 5, 10, tzinfo=UTC)


def _evil_report() -> aggregate.CollectionsReport:
    facts = [
        ChargeFact(plan="evil", location="<b>loc</b>", amount_cents=4500, status="paid",
                   decline_count=1, due_at=JAN, first_declined_at=JAN, settled_at=JAN),
        ChargeFact(plan="evil", location="<b>loc</b>", amount_cents=1200, status="failed",
                   decline_count=5, due_at=JAN, first_declined_at=JAN, settled_at=JAN),
    ]  # fmt: skip
    ends = [EndFact(plan="evil", location="<b>loc</b>", kind="paused", at=JAN)]
    return aggregate.build(
        Period(first=Month(2027, 1), last=Month(2027, 2)), charges=facts, ends=ends,
        plans=[PlanInfo(code="evil", name=EVIL, kind="RECURRING")], generated_at=JAN,
    )  # fmt: skip


def test_html_escapes_every_user_string() -> None:
    page = html.render(_evil_report())
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; [bold]club[/bold]" in page
    assert "<b>loc</b>" not in page
    assert "&lt;b&gt;loc&lt;/b&gt;" in page


def test_html_is_self_contained_with_svg_charts() -> None:
    page = html.render(_evil_report())
    assert page.count('<svg class="chart"') == 3  # collected, recovered/failed, MRR
    assert re.search(r'<rect class="bar collected"', page)
    assert re.search(r'<rect class="bar recovered"', page)
    assert re.search(r'<rect class="bar failed"', page)
    # nothing to fetch: no scripts, no external URLs, no web fonts
    assert not re.search(r"<script|<link|@import|url\(|src=", page)
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"] * 3


def test_terminal_tables_show_months_plans_and_locations() -> None:
    console = Console(width=120, record=True)
    terminal.show(_evil_report(), console)
    text = console.export_text()
    assert "2027-01" in text
    assert "2027-02" in text
    assert EVIL in text  # printed as text, not read as Rich markup
    assert "$45.00" in text
    assert "$12.00" in text


@pytest.fixture
def runner_env(quarter: Quarter) -> dict[str, str]:
    return {"BILLING_DATABASE_URL": quarter.url}


def test_json_output_shape(runner_env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["report", "--json", "--from", "2027-01", "--to", "2027-03"],
                                env=runner_env)  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"schema", "period", "generatedAt", "currency", "totals", "months",
                         "plans", "locations", "lines", "series", "eventMilestones",
                         "eventBalances"}  # fmt: skip
    assert (data["eventMilestones"], data["eventBalances"]) == ([], [])  # no catering events
    assert data["period"] == {"from": "2027-01", "to": "2027-03", "timezone": "UTC"}
    assert set(data["totals"]) == {"charged", "declined", "recovered", "failed", "outstanding",
                                   "churned"}  # fmt: skip
    assert data["totals"]["charged"] == {"count": 10, "cents": 129_500}
    assert data["totals"]["churned"] == {"cancelled": 0, "paused": 1, "defaulted": 0, "total": 1}
    assert [m["month"] for m in data["months"]] == ["2027-01", "2027-02", "2027-03"]
    assert [p["code"] for p in data["plans"]] == ["deposit", "wine", "(one-off)"]
    assert data["series"][0] == {"month": "2027-01", "collectedCents": 44_834,
                                 "recoveredCents": 4500, "failedCents": 4500,
                                 "activeMembers": 3, "mrrCents": 13_500}  # fmt: skip


def test_report_command_month_table_and_html(runner_env: dict[str, str], tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", "--month", "2027-01", "--html", str(page)],
                                env=runner_env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2027-01" in result.stdout
    assert "$448.34" in result.stdout
    assert page.read_text().startswith("<!doctype html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2027-13"], "not a month"),
        (["--month", "2027-01", "--from", "2027-01"], "not both"),
        (["--from", "2027-05", "--to", "2027-01"], "before it starts"),
        (["--tz", "Mars/Olympus"], "unknown IANA time zone"),
    ],
)
def test_report_refuses_bad_periods(
    runner_env: dict[str, str], args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["report", *args], env=runner_env)
    assert result.exit_code == 1
    assert message in result.stderr
