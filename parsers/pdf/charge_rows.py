"""A PDF's charge rows as read, and the "summary of charges" table that only looks like them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from reconcile.core.values import money
from reconcile.parsers.selfcheck import Section


@dataclass(slots=True)  # thousands a bill: slots make them cheaper to make and read
class Row:
    """One charge row as read, before it becomes an InvoiceLine."""

    page: int
    no: int  # printed line on its page
    y: float
    service_id: str
    description: str
    amount: Decimal
    period: tuple | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    type_text: str = ""  # a Type column, when the table has one


def take_charge_summary(sections: list[Section]) -> list[str]:
    """A "summary of charges" printed as a table (Description | Amount) reads like charge
    rows, one per section: a section whose every row is only a description naming another
    section of this bill, and an amount, is that summary. It is removed from the sections
    (its figures are not charges); what it says is checked against the sections it names."""
    by_name = {_name_key(s.name): s for s in sections if s.name}
    notes: list[str] = []
    for sec in list(sections):
        named = []
        for r in sec.rows:  # up to the first row that is a charge (the first, nearly always)
            t = by_name.get(_name_key(r.description))
            if (t is None or t is sec or r.service_id or r.period or r.quantity is not None
                    or r.unit_price is not None):
                break
            named.append(t)
        if not sec.rows or len(named) < len(sec.rows):
            continue
        sections.remove(sec)
        for row, target in zip(sec.rows, named):
            if row.amount != target.total:
                notes.append(f"the summary of charges (page {row.page}) gives '{target.name}' as "
                             f"{money(row.amount)} but its lines add up to {money(target.total)}")
    return notes


def _name_key(text: str) -> str:
    return " ".join(text.lower().replace("&", "and").split())
