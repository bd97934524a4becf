"""An account's bills in order and its billing cycle, for the rules that read bills as a sequence
(missing-invoice, balance-forward-mismatch, payment-not-applied, late-fee). Not a rule.

Each account (compared by `account_key`: accounts are unique across carriers) has a cycle of
whole months: the period most of its recurring lines cover (a monthly MRC says monthly even
when only two bills two months apart are here), unless its bills never come that often, else
the shortest gap between its bills. Each bill gets a cycle number counted from the first: a
bill date that moves a day or two keeps its place, and an extra bill within the same cycle (a
corrected bill) shares it. Copies of one bill were already set aside (reconcile.bills).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reconcile.core.ids import account_key
from reconcile.core.models import Invoice, Payment
from reconcile.core.values import add_months, money
from reconcile.rules.context import AuditContext

MONTH_DAYS = 30.4375  # a mean month: gaps in days -> months, robust to a moved bill date


@dataclass(frozen=True)
class Bill:
    """One bill of an account in date order: its batch index, the bill and its cycle number."""

    index: int
    invoice: Invoice
    cycle: int

    @property
    def date(self) -> date:
        return self.invoice.invoice_date


@dataclass(frozen=True)
class Account:
    key: str
    bills: tuple[Bill, ...]  # by bill date
    months: int  # the cycle, in months

    def pairs(self):
        """(previous bill, bill, cycles between): each bill after the first with the one before."""
        return ((a, b, b.cycle - a.cycle) for a, b in zip(self.bills, self.bills[1:]))

    def cycle_date(self, after: Bill, steps: int) -> date:
        """The date the bill `steps` cycles after `after` is expected on."""
        return add_months(after.date, steps * self.months)

    def bill_due(self, day: date) -> Bill | None:
        """The first bill of the account dated on or after `day`, when it is the first cycle on
        or after `day` (None when that cycle's bill is not in the batch, or none is after)."""
        for n, b in enumerate(self.bills):
            if b.date < day:
                continue
            before = self.bills[n - 1] if n else None
            if before is None:  # the cycle before the first bill here may be the one due
                return b if add_months(b.date, -self.months) < day else None
            steps = b.cycle - before.cycle
            missing = [self.cycle_date(before, j) for j in range(1, steps)]
            return None if any(d >= day for d in missing) else b
        return None


def accounts(ctx: AuditContext) -> list[Account]:
    """Every account with dated bills, its bills in order and its cycle."""
    by_key: dict[str, list[tuple[int, Invoice]]] = defaultdict(list)
    for n, inv in enumerate(ctx.result.invoices):
        if inv.invoice_date is not None:
            by_key[account_key(inv.account)].append((n, inv))
    line_months = _line_months(ctx)
    out = []
    for key, bills in by_key.items():
        bills.sort(key=lambda b: (b[1].invoice_date, b[1].seq or 0, b[0]))
        gaps = [round((b[1].invoice_date - a[1].invoice_date).days / MONTH_DAYS)
                for a, b in zip(bills, bills[1:])]
        months = _cycle(gaps, line_months.get(key))
        cycle, seq = 0, []
        for n, gap in enumerate([0, *gaps]):
            cycle += round(gap / months)
            seq.append(Bill(bills[n][0], bills[n][1], cycle))
        out.append(Account(key, tuple(seq), months))
    return sorted(out, key=lambda a: a.bills[0].index)


def _cycle(gaps: list[int], from_lines: int | None) -> int:
    seen = sorted({g for g in gaps if g >= 1})
    if from_lines and (from_lines in seen or len(gaps) == 1):
        return from_lines
    return seen[0] if seen else 1


def _line_months(ctx: AuditContext) -> dict[str, int]:
    """Account key -> the months most of its recurring lines cover (printed periods only)."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for invoice, days, n in ctx.sql("""
            SELECT invoice, date_diff('day', period_start, period_end) + 1 AS days, count(*)
            FROM lines WHERE charge_type = 'recurring' AND NOT coalesce(period_inferred, false)
              AND period_start IS NOT NULL AND period_end IS NOT NULL AND amount > 0
            GROUP BY ALL"""):
        months = round(days / MONTH_DAYS)
        if months >= 1 and invoice is not None:
            votes[account_key(ctx.result.invoices[invoice].account)][months] += n
    return {k: c.most_common(1)[0][0] for k, c in votes.items()}


def payments_by_account(ctx: AuditContext) -> dict[str, list[Payment]]:
    """The payments file's rows by account key, in date order (then file order)."""
    out: dict[str, list[Payment]] = defaultdict(list)
    for p in sorted(ctx.records.payments, key=lambda p: (p.date, p.row)):
        out[account_key(p.account)].append(p)
    return out


def received(inv: Invoice) -> Decimal | None:
    """Payments a bill shows as received, as a magnitude whatever its printed sign; worked out
    from the other summary figures when the bill prints none."""
    if inv.payments is not None:
        return abs(inv.payments)
    if None in (inv.previous_balance, inv.current_charges, inv.amount_due):
        return None
    return abs(inv.previous_balance + (inv.adjustments or 0) + inv.current_charges
               - inv.amount_due)


def bill_evidence(inv: Invoice) -> dict[str, str]:
    """A bill's number, dates and summary figures, as a person checks them on it."""
    out = {"invoice": inv.invoice_number, "account": inv.account,
           "bill_date": inv.invoice_date.isoformat() if inv.invoice_date else "",
           "due_date": inv.due_date.isoformat() if inv.due_date else "",
           "previous_balance": _m(inv.previous_balance), "payments": _m(inv.payments),
           "adjustments": _m(inv.adjustments), "current_charges": _m(inv.current_charges),
           "amount_due": _m(inv.amount_due), "file": inv.source}
    return {k: v for k, v in out.items() if v}


def _m(v: Decimal | None) -> str:
    return "" if v is None else f"{v:.2f}"


def payments_text(payments: list[Payment]) -> str:
    """'$450.00 paid 2025-03-20 (ACH-3311)' joined, for sentences."""
    return ", ".join(f"{money(p.amount)} paid {p.date}" + (f" ({p.reference})" if p.reference
                                                          else "") for p in payments)
