"""missing-from-bill beyond its docstring example: what is not missing."""

from __future__ import annotations

from reconcile.audit import audit_parsed
from reconcile.core.result import AuditOptions
from reconcile.rules.examples import parse_examples

TWICE_IN_INVENTORY = """
Example: a circuit listed twice in the inventory, billed once::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 12/HCGS/123456/LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0199 | account 8310-4471-22 | rate 45.00
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
