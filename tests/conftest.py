"""Shared fixtures. Each fixture is named for what it holds; add yours below, don't reuse these."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reconcile.core.models import Category, ChargeType, Finding, InputError, Invoice, InvoiceLine, Service, Severity
from reconcile.core.result import AuditResult, Match

XSS = "<script>alert(1)</script>"


@pytest.fixture
def report_audit_result() -> AuditResult:
    """A small hand-built audit for the HTML report: 2 invoices, 5 lines, 2 services, 3 findings, 1 input problem."""
    d = date(2025, 3, 1)
    line = dict(source="acme_march.csv", carrier="Acme", invoice_date=d,
                period_start=date(2025, 3, 1), period_end=date(2025, 3, 31))
    lines = [
        InvoiceLine(line_id=0, row=2, account="1001", invoice_number="INV-1", service_id="CKT-100",
                    description="Ethernet 100M", charge_type=ChargeType.RECURRING, amount=Decimal("1234.50"), **line),
        InvoiceLine(line_id=1, row=3, account="1001", invoice_number="INV-1", service_id="CKT-200",
                    description="MPLS port", charge_type=ChargeType.RECURRING, amount=Decimal("800.00"), **line),
        InvoiceLine(line_id=2, row=4, account="1001", invoice_number="INV-1", service_id="CKT-999",
                    description="Old T1", charge_type=ChargeType.RECURRING, amount=Decimal("450.00"), **line),
        InvoiceLine(line_id=3, row=5, account="2002", invoice_number="INV-2", service_id="",
                    description="Late payment fee", charge_type=ChargeType.LATE_FEE, amount=Decimal("35.00"), **line),
        InvoiceLine(line_id=4, row=6, account="2002", invoice_number="INV-2", service_id="",
                    description="Goodwill credit", charge_type=ChargeType.CREDIT, amount=Decimal("-12.00"), **line),
    ]
    services = [
        Service(index=0, source="inventory.xlsx", row=2, service_id="CKT-100", account="1001", carrier="Acme",
                monthly_rate=Decimal("1000.00"), location="Main St"),
        Service(index=1, source="inventory.xlsx", row=3, service_id="CKT-200", account="1001", carrier="Acme",
                monthly_rate=Decimal("800.00")),
    ]
    matches = [
        Match(service=0, method="exact", score=100.0, reason="same circuit ID"),
        Match(service=1, method="fuzzy", score=93.4, reason="same circuit ID after normalising"),
        Match(service=None, method="none", score=0.0, reason="no inventory service", candidates=((0, 61.0),)),
        Match(service=None, method="account-level", score=0.0, reason="account-level charge"),
        Match(service=None, method="account-level", score=0.0, reason="account-level charge"),
    ]
    invoices = [
        Invoice(carrier="Acme", account="1001", invoice_number="INV-1", invoice_date=d, source="acme_march.csv",
                line_ids=[0, 1, 2]),
        Invoice(carrier="Acme", account="2002", invoice_number="INV-2", invoice_date=d, source="acme_march.csv",
                line_ids=[3, 4]),
    ]
    findings = [
        Finding(rule="rate_mismatch", severity=Severity.MEDIUM, category=Category.OVERCHARGE,
                carrier="Acme", account="1001",
                invoice_number="INV-1", invoice_date=d, service_id="CKT-100", matched_service_id="CKT-100",
                period_start=date(2025, 3, 1), period_end=date(2025, 3, 31),
                billed_amount=Decimal("1234.50"), expected_amount=Decimal("1000.00"),
                amount_at_issue=Decimal("234.50"),
                explanation="Billed $1,234.50 for CKT-100 but the contracted rate is $1,000.00.",
                evidence={"inventory_row": services[0].evidence(),
                          "lines": [{"where": "acme_march.csv row 2", "amount": Decimal("1234.50")}]}),
        Finding(rule="not_in_inventory", severity=Severity.HIGH, category=Category.UNVERIFIED,
                carrier="Acme", account="1001",
                invoice_number="INV-1", invoice_date=d, service_id="CKT-999",
                billed_amount=Decimal("450.00"), amount_at_issue=Decimal("450.00"),
                explanation="CKT-999 is billed but is not in the inventory.",
                evidence={"candidates": [{"service_id": "CKT-100", "score": 61.0}], "note": XSS}),
        Finding(rule="late_fee", severity=Severity.LOW, category=Category.OVERCHARGE, carrier="Acme", account="2002",
                invoice_number="INV-2", invoice_date=d, billed_amount=Decimal("35.00"),
                amount_at_issue=Decimal("35.00"),
                explanation=f"Late fee charged {XSS}",
                evidence={"lines": [3], "nested": {"deep": {"list": [{"a": [1, 2]}, "x"]}}}),
    ]
    return AuditResult(
        invoices=invoices, lines=lines, matches=matches, services=services, findings=findings,
        errors=[InputError(file="verizon_march.pdf", page=3, reason="table has no amount column",
                           effect="page skipped")],
        notes=["Inventory column 'MRC' read as monthly_rate."],
        files=["acme_march.csv", "verizon_march.pdf"], inventory_file="inventory.xlsx",
    )
