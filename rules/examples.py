"""Reading the billed example in a rule's docstring, so tests can hold the rule to it.

A docstring has a `Billed::` block and an `Expected::` block, one record a line, fields
separated by ' | ':

    service | <service id> | account <a> | rate <mrc> [| installed <date>] [| disconnected <date>]
    invoice | <number> | account <a> | billed <date> [| total <amount>]
    line | <service id or -> | <type> | <start>..<end> or - | <amount> [| <description>]

    <rule id> | <service id or -> | <invoice number> | <money at issue>

`Expected::` lists every finding the whole engine gives on the example (or `(none)`), so an
example also shows that the legitimate lines beside the error are left alone.
"""

from __future__ import annotations

import re
from decimal import Decimal

from reconcile.core.charge_types import charge_type_of
from reconcile.core.models import Invoice, InvoiceLine, Service
from reconcile.core.values import parse_date


def _block(doc: str, name: str) -> list[str]:
    m = re.search(rf"^\s*{name}::\s*\n(.*?)(?=^\s*\w+::\s*$|\Z)", doc, re.S | re.M)
    if not m:
        raise ValueError(f"docstring has no {name}:: block")
    return [ln.strip() for ln in m.group(1).splitlines() if ln.strip()]


def _fields(parts: list[str]) -> dict[str, str]:
    out = {}
    for p in parts:
        key, _, value = p.partition(" ")
        out[key] = value.strip()
    return out


def parse_example(doc: str):
    """-> (services, invoices, lines, expected [(rule, service_id, invoice, amount)])."""
    services: list[Service] = []
    invoices: list[Invoice] = []
    lines: list[InvoiceLine] = []
    for n, text in enumerate(_block(doc, "Billed"), start=1):
        kind, *parts = [p.strip() for p in text.split(" | ")]
        if kind == "service":
            f = _fields(parts[1:])
            services.append(Service(
                index=len(services), source="example", row=n, service_id=parts[0],
                account=f.get("account", ""), monthly_rate=Decimal(f["rate"]) if "rate" in f else None,
                install_date=parse_date(f.get("installed")), disconnect_date=parse_date(f.get("disconnected"))))
        elif kind == "invoice":
            f = _fields(parts[1:])
            invoices.append(Invoice(
                account=f["account"], invoice_number=parts[0], invoice_date=parse_date(f["billed"]),
                source="example", stated_total=Decimal(f["total"]) if "total" in f else None,
                total_where="example"))
        elif kind == "line":
            inv = invoices[-1]
            sid, ctype, period, amount, *desc = parts
            start = end = None
            if period != "-":
                a, b = period.split("..")
                start, end = parse_date(a), parse_date(b)
            line = InvoiceLine(
                line_id=len(lines), source="example", row=n, account=inv.account,
                invoice_number=inv.invoice_number, invoice_date=inv.invoice_date,
                service_id="" if sid == "-" else sid, description=desc[0] if desc else "",
                charge_type=charge_type_of(ctype, desc[0] if desc else ""),
                period_start=start, period_end=end, amount=Decimal(amount))
            inv.line_ids.append(line.line_id)
            lines.append(line)
        else:
            raise ValueError(f"unknown example record {kind!r}: {text}")
    expected = []
    for text in _block(doc, "Expected"):
        if text == "(none)":
            continue
        rule, sid, invoice, amount = [p.strip() for p in text.split(" | ")]
        expected.append((rule, "" if sid == "-" else sid, invoice, Decimal(amount)))
    return services, invoices, lines, expected
