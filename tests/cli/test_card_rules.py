"""`billing charges create` refuses a fee on a mandate given for another purpose."""

from __future__ import annotations

from tests.cli.conftest import Cli
from tests.cli.test_billing import member


def test_a_no_show_fee_is_refused_on_an_installment_mandate(cli: Cli) -> None:
    cli.ok("plans", "create", "deposit", "--kind", "INSTALLMENT", "--total", "900",
           "--payments", "3", spawn=False)  # fmt: skip
    catering = member(cli, "deposit")
    line = cli.refused("charges", "create", "--mandate", str(catering["mandate_id"]),
                       "--amount", "25", "--reason", "no-show", says="INSTALLMENT")  # fmt: skip
    assert "UNSCHEDULED" in line
