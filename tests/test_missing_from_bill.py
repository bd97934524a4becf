"""missing-from-bill beyond its docstring example: what is not missing."""

from __future__ import annotations

from reconcile.audit import audit_parsed
from reconcile.core.result import AuditOptions
from reconcile.rules.examples import parse_examples

TWICE_IN_INVENTORY = """
Example: a circuit listed twice in the inventory, billed once::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 12/HCGS/123456/LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0199 | account 8310-4471-22 | rate 45.00 | installed 2025-01-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | missing-from-bill | 212-555-0199 | 88231 | 0.00
"""


def test_a_circuit_listed_twice_in_the_inventory_is_not_missing_when_billed_once():
    [example] = parse_examples(TWICE_IN_INVENTORY)
    given = example.inputs()
    result = audit_parsed(given.services, given.invoices, given.lines, AuditOptions())
    got = [(f.rule, f.service_id, f.invoice_number) for f in result.findings]
    assert got == [("missing-from-bill", "212-555-0199", "88231")]


NO_INSTALL_DATES = """
Example: an inventory with no install dates: a gap between bills, or never billed once::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0147 | account 8310-4471-22 | rate 45.00
    service | 212-555-0199 | account 8310-4471-22 | rate 45.00
    invoice | A1 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | A2 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    invoice | A3 | account 8310-4471-22 | billed 2025-05-01
    line | 212-555-0147 | MRC | 2025-05-01..2025-05-31 | 45.00 | Business line
    invoice | A4 | account 8310-4471-22 | billed 2025-06-01
    line | 12.HCGS.123456..LY | MRC | 2025-06-01..2025-06-30 | 450.00 | MPLS port
    line | 212-555-0147 | MRC | 2025-06-01..2025-06-30 | 45.00 | Business line
    expect | missing-from-bill | 12.HCGS.123456..LY | A3 | 0.00
    expect | missing-from-bill | 212-555-0199 | A4 | 0.00
"""


def test_without_install_dates_a_gap_between_bills_is_missing_and_never_billed_is_said_once():
    """No install date anywhere: 212-555-0147 first billed on A2 may simply be new (not missing
    from A1), the circuit billed on A1, A2 and A4 but not A3 is missing from A3, and 212-555-0199,
    on no bill, is said once (on the latest bill), not on each. Before, there were 6 findings."""
    [example] = parse_examples(NO_INSTALL_DATES)
    given = example.inputs()
    result = audit_parsed(given.services, given.invoices, given.lines, AuditOptions())
    got = [(f.rule, f.service_id, f.invoice_number) for f in result.findings]
    assert got == [("missing-from-bill", "12.HCGS.123456..LY", "A3"),
                   ("missing-from-bill", "212-555-0199", "A4")]
    assert "is not on any of the 4 bill(s) of its account here, the latest invoice A4" in \
        result.findings[1].explanation


def test_a_number_billed_only_at_zero_is_on_the_bill(tmp_path):
    """A Verizon charges detail export drops its 0.00 rows (usage within the plan: skip_zero),
    so a number billed only at 0.00 had no line and was reported missing from its bill. It is
    kept on the invoice (Invoice.zero_rated_ids) and counts as billed."""
    from reconcile.audit import run_audit

    head = ("Bill Cycle Date\tAccount Number\tInvoice Number\tWireless Number\tItem Category\t"
            "Item Type\tItem Description\tCost\n")
    rows = ["Aug 16, 2021\t0471\t5029\t212-555-0147\tMonthly Charges\tplan\tUnlimited plan\t30.00",
            "Aug 16, 2021\t0471\t5029\t212-555-0188\tData\tgigabytes\tGIGABYTE USAGE\t0.00",
            "Aug 16, 2021\t0471\t5029\t212-555-0188\tVoice\tminutes\tCALLS\t0.00"]
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "charges.txt").write_text(head + "\n".join(rows) + "\n")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("TN,Account,MRC,Install Date\n212-555-0147,0471,30.00,2020-01-01\n"
                         "(212) 555-0188,0471,0.00,2020-01-01\n")
    result = run_audit([tmp_path / "bills"], inventory, workers=1)
    [inv] = result.invoices
    assert inv.zero_rated_ids == ["212-555-0188"] and len(result.lines) == 1
    assert [f.rule for f in result.findings] == []
