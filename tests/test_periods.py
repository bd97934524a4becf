"""Proration conventions a recurring charge may legitimately follow (domain.md R12)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from reconcile.audit import audit_parsed
from reconcile.core.models import ChargeType, Invoice, InvoiceLine, Service
from reconcile.core.periods import expected_charges
from reconcile.core.result import AuditOptions


def test_first_partial_period_may_be_prorated_over_the_billing_cycle_it_closes():
    # installed Mar 9 on a 15th-to-14th cycle: 6 days of the 28-day cycle Feb 15 - Mar 14
    primary, accepted = expected_charges(Decimal("836.25"), date(2025, 3, 9), date(2025, 3, 14))
    assert primary == Decimal("161.85")  # calendar days: 6/31 of the month
    assert Decimal("179.20") in accepted  # 6/28 of the cycle


def _audit(billed: str):
    svc = Service(index=0, source="inv.csv", row=2, service_id="27.LGGS.840314..NY", account="31884007",
                  monthly_rate=Decimal("836.25"), install_date=date(2025, 3, 9))
    inv = Invoice(account="0031884007", invoice_number="00221189", invoice_date=date(2025, 3, 15),
                  source="gp.txt", line_ids=[0])
    line = InvoiceLine(line_id=0, source="gp.txt", row=2, account="0031884007", invoice_number="00221189",
                       invoice_date=date(2025, 3, 15), service_id="27.LGGS.840314..NY",
                       charge_type=ChargeType.RECURRING, period_start=date(2025, 3, 9),
                       period_end=date(2025, 3, 14), amount=Decimal(billed))
    return audit_parsed([svc], [inv], [line], AuditOptions()).findings


def test_cycle_prorated_first_bill_is_not_an_overcharge_but_more_still_is():
    assert _audit("179.20") == []
    [f] = _audit("190.00")
    assert (f.rule, f.amount_at_issue) == ("rate-above-contract", Decimal("28.15"))  # 190.00 - 161.85
