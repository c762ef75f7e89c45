"""Trust at the edges (issue 14, items 9-11 and 14): empty values, the shared input rules,
no tracebacks, usage errors that look like every other error, choices, panels, version,
events and config sources."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pydantic
import pytest

from billing.enroll.models import CustomerIn, EnrollmentCreate
from tests.cli.conftest import Cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
APPROVE = "4111111111111111"
HUGE = "x" * 10_000
ESC = "Wine \x1b[31mclub"


class failures:  # the documented exit codes (billing.cli.failures), spelled out here
    REFUSED, USAGE, UNAVAILABLE, INTERNAL, INTERRUPTED = 1, 2, 3, 70, 130
    MAX_LINE = 300


def test_exit_codes_are_documented() -> None:
    from billing.cli import failures as real

    for name in ("REFUSED", "USAGE", "UNAVAILABLE", "INTERNAL", "INTERRUPTED", "MAX_LINE"):
        assert getattr(real, name) == getattr(failures, name)
    for code in (1, 2, 3, 70, 130):
        assert f"\n| {code} | " in README


def plans_and_member(cli: Cli) -> None:
    cli.ok("plans", "create", "wine", "--kind", "RECURRING", "--amount", "45", spawn=False)
    cli.ok("plans", "create", "noshow", "--kind", "UNSCHEDULED", "--amount", "25", spawn=False)
    cli.ok("customers", "create", "--email", "ann@example.com", "--ref", "m-1", spawn=False)


def refused(cli: Cli, *args: str, says: str, code: int, spawn: bool = False) -> str:
    """One ``error:`` line naming ``says``, the documented exit code, nothing written, and no
    more than ~80 characters of any bad value echoed."""
    line = cli.refused(*args, says=says, spawn=spawn)
    done = cli.run(*args, spawn=spawn)
    assert done.returncode == code, (args, done.returncode, line)
    assert len(line) <= failures.MAX_LINE, line
    assert "x" * 81 not in line, line
    assert "site-packages" not in line, line
    return line


# -- item 9: an empty value is an error naming the option, never "not given" -------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("tick", "--now", ""), "--now"),
        (("simulate", "--until", "2027-01-02", "--from", ""), "--from"),
        (("enroll", "--customer", "m-1", "--plan", "wine", "--start", ""), "--start"),
        (("enroll", "--customer", "m-1", "--plan", "wine", "--test-card", ""), "--test-card"),
        (("report", "--month", ""), "--month"),
        (("report", "--html", ""), "--html"),
        (("charges", "create", "--mandate", "1", "--amount", "5", "--reason", "x", "--due", ""),
         "--due"),
        (("charges", "list", "--due-before", ""), "--due-before"),
        (("plans", "create", "x", "--kind", "RECURRING", "--amount", "4", "--location", ""),
         "--location"),
        (("plans", "create", "x", "--kind", "RECURRING", "--amount", "4", "--name", ""), "--name"),
        (("plans", "update", "wine", "--timezone", ""), "--timezone"),
        (("customers", "create", "--email", "bob@example.com", "--ref", ""), "--ref"),
        (("customers", "create", "--email", "bob@example.com", "--name", ""), "--name"),
    ],
)  # fmt: skip
def test_empty_values_are_errors_naming_the_option(
    cli: Cli, args: tuple[str, ...], option: str
) -> None:
    plans_and_member(cli)
    line = refused(cli, *args, says=option, code=failures.USAGE)
    assert "empty value" in line
    assert "tick at" not in cli.run(*args, spawn=False).stdout  # no pass ran at wall clock


# -- item 10: one set of rules for the CLI and the API -----------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--location", "not-a-guid"), "--location: 'not-a-guid' is not a GUID"),
        (("--location", HUGE), "--location"),
        (("--location", "1; DROP TABLE plan"), "is not a GUID"),
        (("--name", ESC), "--name: control characters"),
        (("--name", "two\nlines"), "--name: control characters"),
        (("--name", "a\x9b31mb"), "--name: control characters"),  # one-byte CSI
        (("--check-item", ESC), "--check-item: control characters"),
        (("--name", HUGE), "200 characters"),
        (("--total", "100", "--payments", "3"), "a RECURRING plan takes --amount, not --total"),
        (("--interval", "week", "--anchor-day", "3"), "--anchor-day applies to monthly"),
        (("--timezone", "America"), "--timezone: unknown IANA time zone 'America'"),
        (("--timezone", HUGE), "--timezone: unknown IANA time zone"),
        (("--max-cycles", str(10**30)), "--max-cycles"),
    ],
)
def test_plans_create_refuses_what_it_used_to_accept(
    cli: Cli, args: tuple[str, ...], says: str
) -> None:
    create = ("plans", "create", "x", "--kind", "RECURRING", "--amount", "4")
    code = failures.USAGE if "--max-cycles" in args else failures.REFUSED
    refused(cli, *create, *args, says=says, code=code)


def test_member_and_charge_inputs_follow_the_shared_rules(cli: Cli) -> None:
    plans_and_member(cli)
    enroll = ("enroll", "--customer", "m-1", "--plan", "wine")
    refused(cli, *enroll, "--start", "0001-01-01", says="--start: the year must be 2000..2100",
            code=failures.REFUSED)  # fmt: skip
    refused(cli, *enroll, "--start", "2027-W09-1", says="--start: '2027-W09-1' is not a date",
            code=failures.REFUSED)  # fmt: skip
    new = ("customers", "create", "--email")
    refused(cli, *new, HUGE + "@example.com", says="--email: at most 254 characters",
            code=failures.REFUSED)  # fmt: skip
    refused(cli, *new, "bob@example.com", "--ref", HUGE, says="--ref: at most 200",
            code=failures.REFUSED)  # fmt: skip
    refused(cli, *new, "bob@example.com", "--name", ESC, says="--name: control characters",
            code=failures.REFUSED)  # fmt: skip
    one_off = ("charges", "create", "--mandate", "1", "--amount", "5")
    refused(cli, *one_off, "--reason", HUGE, says="--reason: at most 200", code=failures.REFUSED)
    refused(cli, *one_off, "--reason", "no-show\x1b[2J", says="--reason: control characters",
            code=failures.REFUSED)  # fmt: skip
    refused(cli, *one_off, "--reason", "x", "--due", "0001-01-01T00:00:00Z",
            says="--due: the year must be 2000..2100", code=failures.REFUSED)  # fmt: skip
    refused(cli, *one_off, "--reason", "x", "--due", "2027-W09-1T10:00:00Z",
            says="--due: '2027-W09-1T10:00:00Z' is not an ISO 8601 instant",
            code=failures.REFUSED)  # fmt: skip


@pytest.mark.parametrize(
    ("customer", "start"),
    [
        ({"email": "ann@example.com", "name": "a\x9b31mb"}, None),  # C1 CSI: was let in
        ({"email": "ann@example.com", "reference": "r\u202eevil"}, None),  # bidi override
        ({"email": "ann@example.com"}, "2999-01-01"),  # the old API range was 2000-2999
    ],
)
def test_the_enrollment_api_uses_the_same_rules(
    customer: dict[str, str], start: str | None
) -> None:
    with pytest.raises(pydantic.ValidationError) as refused_body:
        EnrollmentCreate(plan="wine", customer=CustomerIn(**customer), start_date=start)
    assert len(refused_body.value.errors()) == 1


# -- item 11: one line, never a traceback ------------------------------------------------------


def test_no_tracebacks(cli: Cli, tmp_path: Path) -> None:
    plans_and_member(cli)
    refused(cli, "report", "--html", "/nonexistent/dir/x.html",
            says="--html: the directory '/nonexistent/dir' does not exist",
            code=failures.REFUSED)  # fmt: skip
    refused(cli, "tick", "--now", "9999-12-31T23:59:59Z", says="--now: the year must be",
            code=failures.REFUSED)  # fmt: skip
    refused(cli, "subscriptions", "show", str(10**30), says="out of range", code=failures.USAGE)
    refused(cli, "charges", "show", str(10**30), says="out of range", code=failures.USAGE)
    refused(cli, "report", "--from", "0001-01", "--to", "9999-12", says="--from: the year",
            code=failures.REFUSED)  # fmt: skip
    refused(cli, "report", "--tz", "America", says="--tz: unknown IANA time zone",
            code=failures.REFUSED)  # fmt: skip
    refused(cli, "simulate", "--until", "2027-01-02", "--from", "2027-01-01T00:00:00Z",
            "--step", "99999999999999d", says="--step", code=failures.REFUSED)  # fmt: skip
    dup = refused(cli, "customers", "create", "--email", "bob@example.com", "--ref", "m-1",
                  says="--ref: a customer with reference 'm-1' already exists",
                  code=failures.REFUSED)  # fmt: skip
    assert "uq_" not in dup


def test_a_busy_port_is_one_line(cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        refused(cli, "sandbox", "serve", "--port", port, says=f"--port: cannot listen on "
                f"127.0.0.1:{port}", code=failures.REFUSED, spawn=True)  # fmt: skip
        refused(cli, "serve", "--port", port, says="--port: cannot listen",
                code=failures.REFUSED, spawn=True)  # fmt: skip


def test_toast_not_answering_names_the_url_and_a_hint(cli: Cli) -> None:
    plans_and_member(cli)
    cli.ok("enroll", "--customer", "m-1", "--plan", "wine", "--test-card", APPROVE, spawn=False)
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    cli.env["BILLING_TOAST__BASE_URL"] = f"http://127.0.0.1:{port}"
    cli.env["BILLING_TOAST__MAX_RETRIES"] = "0"
    line = refused(cli, "subscriptions", "cancel", "1", "--yes",  # revokes the mandate first
                   says=f"cannot reach Toast at http://127.0.0.1:{port}",
                   code=failures.UNAVAILABLE)  # fmt: skip
    assert "billing sandbox serve" in line
    assert cli.json("subscriptions", "show", "1", spawn=False)["status"] == "active"


# -- item 14: usage errors look like every error; choices; help; version; events; config ------


def test_usage_errors_are_one_line_with_exit_code_2(cli: Cli) -> None:
    assert "Did you mean 'tick'" in refused(cli, "tik", says="No such command",
                                            code=failures.USAGE)  # fmt: skip
    refused(cli, "tick", "--nwo", "x", says="No such option: --nwo", code=failures.USAGE)
    refused(cli, "plans", "create", says="Missing argument", code=failures.USAGE, spawn=True)
    kind = refused(cli, "plans", "create", "x", "--kind", "recuring", "--amount", "4",
                   says="'recuring' is not one of", code=failures.USAGE)  # fmt: skip
    assert "Did you mean 'recurring'" in kind
    assert "Did you mean 'week'" in refused(
        cli, "plans", "create", "x", "--kind", "RECURRING", "--amount", "4", "--interval",
        "weak", says="--interval", code=failures.USAGE,
    )  # fmt: skip
    for group in ("subscriptions", "charges", "mandates"):
        line = refused(cli, group, "list", "--status", "activ", says="--status",
                       code=failures.USAGE)  # fmt: skip
        assert "is not one of" in line


def test_help_lists_choices_groups_commands_and_shows_no_bool(cli: Cli) -> None:
    top = cli.ok("--help")
    for panel in ("Set up", "Members and money", "Engine and API", "What is happening"):
        assert panel in top
    create = cli.ok("plans", "create", "--help", spawn=False)
    assert "recurring|installment|un" in create  # the choices, listed
    assert "day|week|month|year" in create
    for text in (top, create, cli.ok("charges", "list", "--help", spawn=False)):
        assert "<bool>" not in text
    assert cli.ok("--version").strip() == "billing 0.1.0"


def test_log_reads_the_event_log(cli: Cli) -> None:
    plans_and_member(cli)
    cli.ok("enroll", "--customer", "m-1", "--plan", "wine", "--test-card", APPROVE, spawn=False)
    mandate = cli.json("log", "--entity", "mandate", spawn=False)
    assert [(e["entity"], e["type"]) for e in mandate] == [("mandate", "active")]
    everything = cli.json("log", spawn=False)
    assert {"mandate", "subscription"} <= {e["entity"] for e in everything}
    assert "subscription" in cli.ok("log", "--limit", "5", spawn=False)
    refused(cli, "log", "--id", "1", says="--id needs --entity", code=failures.REFUSED)


def test_config_shows_each_value_and_its_source(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BILLING_LOG_LEVEL=ERROR\n")
    toml = tmp_path / "billing.toml"
    toml.write_text("[scheduler]\nconcurrency = 4\n")
    cli.env |= {"BILLING_CONFIG_FILE": str(toml), "BILLING_API_KEY": "a-very-secret-api-key"}
    cli.env.pop("BILLING_LOG_LEVEL")
    rows = {r["setting"]: r for r in cli.json("config")}
    assert (rows["scheduler.concurrency"]["value"], rows["scheduler.concurrency"]["source"]) == (
        "4", "file",
    )  # fmt: skip
    assert (rows["log_level"]["value"], rows["log_level"]["source"]) == ("ERROR", ".env")
    assert rows["database_url"]["source"] == "env"
    assert rows["toast.client_id"]["source"] == "default"
    assert (rows["api_key"]["value"], rows["api_key"]["source"]) == ("(secret)", "env")
    everything = json.dumps(list(rows.values())) + cli.ok("config", spawn=False)
    assert "a-very-secret-api-key" not in everything
    assert "sandbox-client-secret" not in everything
