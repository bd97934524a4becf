"""A bill's account summary in a carrier export: previous balance, payments received,
adjustments, current charges, amount due and due date.

Exports print them as columns repeated on every row of an invoice, or as summary rows whose
description is the label ("Balance Forward", "Payments Received - Thank You", "Total Amount
Due") with the value in the amount column, whatever it holds (a date for the due date). A
summary row is never a charge, and never an unreadable row: a value that cannot be read is
ignored and reported. Current charges are the bill's own charges, the figure its lines must
make; the amount due adds what was carried from the last bill.
"""

from __future__ import annotations

import re

from reconcile.core.models import Invoice
from reconcile.parsers.columns import norm_header

MONEY_FIELDS = ("previous_balance", "payments", "adjustments", "current_charges", "amount_due")
FIELDS = (*MONEY_FIELDS, "due_date")

# normalised label (parsers/columns.py norm_header) -> field; payments may be thanked for
_LABELS = [(re.compile(rx), name) for rx, name in [
    (r"^(?:previousbalance|balanceforward|priorbalance|previousbalancedue)$", "previous_balance"),
    (r"^(?:total)?payments?(?:received)?(?:thankyou|applied)?$", "payments"),
    (r"^(?:total)?adjustments?$", "adjustments"),
    (r"^(?:total)?(?:current|new)charges$", "current_charges"),
    (r"^(?:total)?(?:amount|balance)due$|^totaldue$", "amount_due"),
    (r"^(?:payment)?(?:duedate|due|datedue)$|^paymentduedate$", "due_date"),
]]


def summary_label(text: str) -> str | None:
    """The summary field a row's label names ('Total Amount Due' -> 'amount_due'), or None."""
    key = norm_header(text)
    if not key:
        return None
    return next((name for rx, name in _LABELS if rx.match(key)), None)


def set_summary(inv: Invoice, name: str, value, where: str) -> str:
    """Record a summary value on its invoice; the reason to report when the invoice already
    has another one ('' when taken or the same). Current charges are also the total its
    lines are checked against, unless the export prints an invoice total of its own."""
    if value is None:
        return ""
    old = getattr(inv, name)
    if old is not None:
        return "" if old == value else (f"{name.replace('_', ' ')} {value} differs from {old} "
                                        f"read before for invoice {inv.invoice_number}")
    setattr(inv, name, value)
    if name == "current_charges" and (inv.stated_total is None
                                      or inv.total_where.startswith("current charges")):
        inv.stated_total, inv.total_where = value, f"current charges, {where}"
    return ""
