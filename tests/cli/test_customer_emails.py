"""One customer per email address, in any case (issue 14, item 8): the CLI refuses a second."""

from __future__ import annotations

from tests.cli.conftest import Cli


def test_customers_create_refuses_a_duplicate_email_in_any_case(cli: Cli) -> None:
    # Given a customer
    ann = cli.json("customers", "create", "--email", "ann@example.com", "--ref", "m-1",
                   spawn=False)  # fmt: skip
    # When another is created with the same address in another case (and another reference)
    line = cli.refused("customers", "create", "--email", "Ann@Example.COM", "--ref", "m-2",
                       says="email", spawn=True)  # fmt: skip
    # Then one line names the field and the customer who has it; nothing was written
    assert line.startswith(f"error: email 'ann@example.com' already belongs to customer "
                           f"{ann['id']}"), line  # fmt: skip
    # And lookups by email, in any case, find the one customer
    assert cli.json("customers", "show", "ANN@example.com", spawn=False)["id"] == ann["id"]
