"""late-fee: a late fee when the last bill was paid in full by its due date, or above the
contract's late-fee percent of the past-due balance.

Late fees are avoidable money, often billed in error (domain.md R10: $3.6 million of them at one
government customer, $1.1 million reversed). A late fee on a bill is judged against the account's
last bill, the one of the cycle before, when both are in the batch and the last one prints its
amount due and due date. Payments come from the payments file: a payment pays the invoice it
names, or else the account's oldest unpaid bill (billed on or before the payment); what is left
over pays the next. The past-due balance is the last bill's amount due less what was paid
towards it by its due date; the contract's `late_fee_pct` (a row for the account, or for every
account of its carrier) caps the fee at that percent of it.

Money at issue: the whole fee when the last bill was paid in full by its due date, else the fee
above the contract's percent of the past-due balance.

Example: a late fee although March's bill was paid on time::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    payment | 8310-4471-22 | paid 2025-03-20 | amount 450.00 | reference ACH-3311 | invoice 88100
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01 | due 2025-03-25
        | previous-balance 0.00 | payments 0.00 | current-charges 450.00 | amount-due 450.00
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25
        | previous-balance 450.00 | payments -450.00 | current-charges 456.75
        | amount-due 456.75
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | late fee | - | 6.75 | Late payment charge
    expect | late-fee | - | 88200 | 6.75

Example: a fee above the contract's 1.5 % of the past-due balance::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | - | account 8310-4471-22 | late-fee 1.5%
    payment | 8310-4471-22 | paid 2025-03-29 | amount 450.00 | reference ACH-3311 | invoice 88100
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01 | due 2025-03-25
        | previous-balance 0.00 | payments 0.00 | current-charges 450.00 | amount-due 450.00
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25
        | previous-balance 450.00 | payments 0.00 | current-charges 475.00 | amount-due 925.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | late fee | - | 25.00 | Late payment charge
    expect | late-fee | - | 88200 | 18.25

Not a finding: a late fee within the contract's percent, the payment really late::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | - | account 8310-4471-22 | late-fee 1.5%
    payment | 8310-4471-22 | paid 2025-03-29 | amount 450.00 | reference ACH-3311 | invoice 88100
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01 | due 2025-03-25
        | previous-balance 0.00 | payments 0.00 | current-charges 450.00 | amount-due 450.00
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25
        | previous-balance 450.00 | payments 0.00 | current-charges 456.75 | amount-due 906.75
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | late fee | - | 6.75 | Late payment charge
    expect | nothing
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from reconcile.core.ids import account_key
from reconcile.core.models import Category, Contract, Payment, Severity
from reconcile.core.values import cents, money
from reconcile.rules.bill_sequence import (Account, accounts, bill_evidence, payments_by_account,
                                           payments_text)
from reconcile.rules.context import UNCLAIMED, AuditContext

RULE_ID = "late-fee"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 50  # tiers: rules/__init__.py (the line's amount)
NEEDS = ("payments",)


def check(ctx: AuditContext):
    fees = defaultdict(list)  # bill index -> late-fee line ids
    for invoice, line_id in ctx.sql(f"""
            SELECT invoice, line_id FROM lines
            WHERE charge_type = 'late_fee' AND amount > 0 AND {UNCLAIMED}
            ORDER BY line_id"""):
        fees[invoice].append(line_id)
    if not fees:
        return
    paid = payments_by_account(ctx)
    for acct in accounts(ctx):
        applied = None
        for before, bill, steps in acct.pairs():
            last = before.invoice
            if (bill.index not in fees or steps != 1 or last.amount_due is None
                    or last.due_date is None):
                continue
            if applied is None:
                applied = _applied(acct, paid.get(acct.key, ()))
            on_time = [(p, a) for p, a in applied.get(before.index, ()) if p.date <= last.due_date]
            paid_in_time = sum((a for _, a in on_time), Decimal(0))
            past_due = max(last.amount_due - paid_in_time, Decimal(0))
            lines = ctx.lines_at(fees[bill.index])
            fee = sum((ln.amount for ln in lines), Decimal(0))
            inv = bill.invoice
            evidence = dict(bill=bill_evidence(inv), last_bill=bill_evidence(last),
                            payments=[p.evidence() for p, _ in on_time])
            if past_due <= ctx.tolerance:
                paid_how = (f"was paid in full by its due date {last.due_date} "
                            f"({payments_text([p for p, _ in on_time])})" if on_time else
                            f"asked for nothing (amount due {money(last.amount_due)})")
                yield ctx.finding(
                    RULE_ID, SEVERITY, lines, service=None, invoice=inv, billed=fee,
                    expected=Decimal(0), at_issue=fee,
                    explanation=(f"Invoice {inv.invoice_number} (account {inv.account}) bills a "
                                 f"late fee of {money(fee)}, but the last bill, invoice "
                                 f"{last.invoice_number}, {paid_how}."), **evidence)
                continue
            contract = _late_fee_terms(ctx, inv.account, inv.carrier, inv.invoice_date)
            if contract is None:
                continue
            allowed = cents(past_due * contract.late_fee_pct / 100)
            if fee - allowed <= ctx.tolerance:
                continue
            yield ctx.finding(
                RULE_ID, SEVERITY, lines, service=None, invoice=inv, billed=fee,
                expected=allowed, at_issue=fee - allowed,
                explanation=(f"Invoice {inv.invoice_number} (account {inv.account}) bills a late "
                             f"fee of {money(fee)}, but the contract allows "
                             f"{contract.late_fee_pct.normalize():f} % of the "
                             f"{money(past_due)} past due on invoice {last.invoice_number} "
                             f"(due {last.due_date}), {money(allowed)}: {money(fee - allowed)} "
                             f"too much."),
                contract=contract.evidence() | {"late_fee_pct": f"{contract.late_fee_pct}"},
                past_due=f"{past_due:.2f}", **evidence)


def _applied(acct: Account, payments) -> dict[int, list[tuple[Payment, Decimal]]]:
    """Bill index -> (payment, amount of it applied there): a payment pays the bill it names,
    else the oldest bill billed by its date not yet paid in full; the rest pays the next."""
    by_number = {b.invoice.invoice_number: b for b in acct.bills}
    owed = {b.index: b.invoice.amount_due for b in acct.bills}
    out: dict[int, list[tuple[Payment, Decimal]]] = defaultdict(list)
    settled: dict[int, Decimal] = defaultdict(Decimal)
    for p in payments:
        if p.amount <= 0:
            continue
        named = by_number.get(p.invoice_number) if p.invoice_number else None
        if named is not None:
            out[named.index].append((p, p.amount))
            settled[named.index] += p.amount
            continue
        left = p.amount
        for b in acct.bills:
            if b.date > p.date or left <= 0:
                break
            open_ = (owed[b.index] or Decimal(0)) - settled[b.index]
            if open_ <= 0:
                continue
            part = min(open_, left)
            out[b.index].append((p, part))
            settled[b.index] += part
            left -= part
    return out


def _late_fee_terms(ctx: AuditContext, account: str, carrier: str, day: date) -> Contract | None:
    """The contract row giving the account's late-fee percent on `day`: one for the account
    before one for every account of its carrier; a row in force before one that is not."""
    key = account_key(account)
    if not carrier:  # the account decides the carrier when the bill does not name it
        carrier = next((s.carrier for s in ctx.result.services
                        if s.carrier and account_key(s.account) == key), "")
    blind = _blind(carrier)
    rows = [c for c in ctx.records.contracts if c.late_fee_pct is not None and (
        account_key(c.account) == key if c.account else
        not c.carrier or not blind or _blind(c.carrier) == blind)]

    def fit(c: Contract):
        in_force = (c.term_start is None or c.term_start <= day) and (
            c.term_end is None or day <= c.term_end)
        return (bool(c.account), in_force, c.term_start or date.min)
    return max(rows, key=fit, default=None)


def _blind(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())
