"""duplicate-charge: the same service, charge and overlapping period billed twice, in one invoice
or across invoices; identical usage rows on one invoice; the same circuit billed for the same
dates on two accounts (or by two carriers).

Within one account: a repeated row on one invoice, or next month's bill re-billing last
month's period (domain.md R6 a); the later occurrence is the finding. Usage is a duplicate
when a later invoice bills the same usage period again for the same amount, or when one
invoice holds two identical usage rows (same description, period, amount, quantity and unit
price); two calls that differ in any of these are per-call detail, not a repeat. Across
accounts (R6 c, a migration where the old biller kept billing): the recurring charges of one
circuit (IDs compared as usual; a ported number keeps its number) for exactly the same dates
on two accounts, or by two carriers. The finding is on the old biller's copy, and the old
biller is decided plainly from the bills: the account whose recurring billing of the circuit
started earlier in the batch (its earliest period start); on a tie, the account the inventory
does not list for the circuit; else no finding. Not duplicates: a first bill's partial month
plus the next month in advance (the periods don't overlap), a duplicate that a later credit
of the same amount cancels (within one account, or on the old biller's account across two),
overlapping but different periods on two accounts (a hand-over mid-cycle).

Money at issue: the part of the later charge that overlaps the earlier one; across accounts,
the old biller's whole charge for the dates billed twice.

Example: next month's bill re-bills last month::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 319.35 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    invoice | 88302 | account 8310-4471-22 | billed 2025-05-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-05-01..2025-05-31 | 450.00 | MPLS port
    expect | duplicate-charge | 12.HCGS.123456..LY | 88302 | 450.00

Example: the installation charged twice on one bill::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 500.00 | Installation
    line | 12.HCGS.123456..LY | NRC | - | 500.00 | Installation
    expect | duplicate-charge | 12.HCGS.123456..LY | 88231 | 500.00

Example: a month billed twice, and a smaller goodwill credit that does not cancel it::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    invoice | 88302 | account 8310-4471-22 | billed 2025-05-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-05-01..2025-05-31 | 450.00 | MPLS port
    invoice | 88377 | account 8310-4471-22 | billed 2025-06-01
    line | 12.HCGS.123456..LY | credit | - | -50.00 | Goodwill credit
    line | 12.HCGS.123456..LY | MRC | 2025-06-01..2025-06-30 | 450.00 | MPLS port
    expect | duplicate-charge | 12.HCGS.123456..LY | 88302 | 450.00

Not a finding: the first bill's partial month plus the next month in advance::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 319.35 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a month billed twice, cancelled by a later credit of the same amount::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    invoice | 88302 | account 8310-4471-22 | billed 2025-05-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-05-01..2025-05-31 | 450.00 | MPLS port
    invoice | 88377 | account 8310-4471-22 | billed 2025-06-01
    line | 12.HCGS.123456..LY | credit | - | -450.00 | MPLS port April billed twice
    line | 12.HCGS.123456..LY | MRC | 2025-06-01..2025-06-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a month re-billed on the next bill and credited on that same bill::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    invoice | 88302 | account 8310-4471-22 | billed 2025-05-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-05-01..2025-05-31 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | credit | - | -450.00 | MPLS port April billed twice
    expect | nothing

Example: one month's usage row billed twice on one bill::

    service | 212-555-0147 | account 8310-4471-22 | rate 45.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    line | 212-555-0147 | usage | 2025-03-01..2025-03-31 | 2.40 | Long distance calls | qty 48 | unit 0.05
    line | 212-555-0147 | usage | 2025-03-01..2025-03-31 | 2.40 | Long distance calls | qty 48 | unit 0.05
    expect | duplicate-charge | 212-555-0147 | 88231 | 2.40

Example: a ported number still billed by the old carrier for the same month::

    service | 212-555-0147 | account NEW-77 | carrier Bluestem | rate 45.00
    invoice | 5501 | account OLD-12 | carrier Northwind | billed 2025-03-01
    line | 212-555-0147 | MRC | 2025-03-01..2025-03-31 | 45.00 | Business line
    invoice | 7701 | account NEW-77 | carrier Bluestem | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    invoice | 5502 | account OLD-12 | carrier Northwind | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    expect | duplicate-charge | 212-555-0147 | 5502 | 45.00

Not a finding: the old carrier billed a ported number's month, then credited it back::

    service | 212-555-0147 | account NEW-77 | carrier Bluestem | rate 45.00
    invoice | 5501 | account OLD-12 | carrier Northwind | billed 2025-03-01
    line | 212-555-0147 | MRC | 2025-03-01..2025-03-31 | 45.00 | Business line
    invoice | 7701 | account NEW-77 | carrier Bluestem | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    invoice | 5502 | account OLD-12 | carrier Northwind | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    invoice | 5503 | account OLD-12 | carrier Northwind | billed 2025-05-01
    line | 212-555-0147 | credit | - | -45.00 | Credit: billed after port-out
    expect | nothing

Not a finding: two calls of the same price in one month's usage detail, to different places::

    service | 212-555-0147 | account 8310-4471-22 | rate 45.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    line | 212-555-0147 | usage | 2025-03-01..2025-03-31 | 2.40 | Calls to Chicago | qty 48 | unit 0.05
    line | 212-555-0147 | usage | 2025-03-01..2025-03-31 | 2.40 | Calls to Boston | qty 48 | unit 0.05
    expect | nothing

Not a finding: a number handed over mid-cycle, each carrier billing its own days::

    service | 212-555-0147 | account NEW-77 | carrier Bluestem | rate 45.00
    invoice | 5502 | account OLD-12 | carrier Northwind | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-03-01..2025-03-14 | 20.32 | Business line final
    invoice | 7701 | account NEW-77 | carrier Bluestem | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-03-15..2025-03-31 | 24.68 | Business line partial
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    expect | nothing
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.core.ids import account_key, service_key
from reconcile.core.models import Category, ChargeType, InvoiceLine, Severity
from reconcile.core.periods import describe_period, overlap_days
from reconcile.core.values import CENT, money
from reconcile.rules.across_accounts import twice_across_accounts
from reconcile.rules.context import UNCLAIMED, AuditContext, noun

RULE_ID = "duplicate-charge"
SEVERITY = Severity.HIGH
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 30  # tiers: rules/__init__.py
_CHECKED = {ChargeType.RECURRING, ChargeType.ONE_TIME, ChargeType.USAGE, ChargeType.OTHER}
_DATES = re.compile(r"\d{1,4}[/-]\d{1,2}(?:[/-]\d{2,4})?")
_MIN = date.min


@lru_cache(maxsize=65536)
def _description_key(description: str) -> str:
    """The charge, blind to case, punctuation and dates printed in the description."""
    return re.sub(r"[^a-z0-9]", "", _DATES.sub("", description.lower()))


def _identity(ctx: AuditContext, ln: InvoiceLine):
    m = ctx.result.matches[ln.line_id]
    if m.service is not None:  # within one account: across accounts is _migrations'
        return ("service", m.service, account_key(ln.account))
    if ln.service_id:
        return ("id", service_key(ln.service_id), account_key(ln.account))
    return ("account", account_key(ln.account))


def _order(ln: InvoiceLine):
    return (ln.invoice_date or ln.period_start or ln.period_end or _MIN, ln.invoice_number, ln.line_id)


def check(ctx: AuditContext):
    yield from twice_across_accounts(ctx, RULE_ID, SEVERITY)
    keys = _keys(ctx)
    rows = _candidate_groups(ctx, keys)
    ctx.release()  # the self-join's memory, back at once
    if not rows:
        return
    groups: dict[tuple, list[InvoiceLine]] = defaultdict(list)
    for ln in ctx.lines_at([r[0] for r in rows]):
        groups[(_identity(ctx, ln), ln.charge_type, _description_key(ln.description))].append(ln)
    credits = _credits(ctx, keys, {r[1] for r in rows})
    used_credits: set[int] = set()
    for (ident, ctype, _), lines in groups.items():
        lines.sort(key=_order)
        kept: list[InvoiceLine] = []
        for ln in lines:
            first, at_issue = _earlier_copy(ln, kept, ctype)
            if first is None:
                kept.append(ln)
                continue
            if _cancelled(ln, credits.get(ident, ()), used_credits, ctx.tolerance):
                ctx.claimed.add(ln.line_id)  # billed twice, credited back: explained, not at issue
                continue
            svc = ctx.service(ln)
            same = first.invoice_number == ln.invoice_number
            where = f"again on the same invoice {ln.invoice_number}" if same else \
                f"on invoice {first.invoice_number} and again on invoice {ln.invoice_number}"
            what = noun(svc.service_id if svc else ln.service_id) if (svc or ln.service_id) \
                else f"Account {ln.account}"
            yield ctx.finding(
                RULE_ID, SEVERITY, [ln], service=svc, billed=ln.amount,
                expected=ln.amount - at_issue, at_issue=at_issue,
                explanation=(f"{what} was billed {money(ln.amount)} for '{ln.description}' "
                             f"({describe_period(ln.period_start, ln.period_end)}) {where} "
                             f"(account {ln.account})."),
                first_billed=ctx.line_evidence(first),
            )


def _keys(ctx: AuditContext) -> dict[str, pa.Table]:
    """The grouping keys of _identity and _description_key, worked out once per distinct
    value, as small integer codes (the self-join of _candidate_groups holds a row per line:
    codes keep it narrow): `idents` (service, service_id, account -> ident and its code gid),
    `charges` (description -> its code dc, dkey and its code dk), `bills` (invoice_number ->
    its code inv)."""
    rows = ctx.sql("SELECT DISTINCT service, service_id, account FROM lines")
    ident = [("s%d|%s" % (svc, account_key(acct))) if svc is not None else
             ("i%s|%s" % (service_key(sid), account_key(acct)) if sid else "a" + account_key(acct))
             for svc, sid, acct in rows]
    descriptions = _distinct(ctx.result.lines.table.column("description"))
    dkeys = _description_keys(descriptions)
    numbers = [r[0] for r in ctx.sql("SELECT DISTINCT invoice_number FROM lines")]
    return {
        "idents": pa.table({"service": pa.array([r[0] for r in rows], pa.int32()),
                            "service_id": pa.array([r[1] for r in rows], pa.string()),
                            "account": pa.array([r[2] for r in rows], pa.string()),
                            "ident": pa.array(ident, pa.string()),
                            "gid": _codes(ident)}),
        "charges": pa.table({"description": descriptions,
                             "dc": pa.array(range(len(descriptions)), pa.int32()),
                             "dkey": dkeys,
                             "dk": pc.dictionary_encode(dkeys).indices.cast(pa.int32())}),
        "bills": pa.table({"invoice_number": pa.array(numbers, pa.string()),
                           "inv": pa.array(range(len(numbers)), pa.int32())}),
    }


def _distinct(column: pa.ChunkedArray) -> pa.Array:
    """The distinct texts of a text column, as Arrow strings (a batch of per-call usage rows
    has hundreds of thousands: as Python strings, with their keys, 240 MiB at 1M lines)."""
    column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        return column.dictionary.take(pc.unique(column.indices)).cast(pa.string())
    return pc.unique(column).cast(pa.string())


def _description_keys(descriptions: pa.Array) -> pa.Array:
    """_description_key of each text: by Arrow for ASCII texts (the same lower case, the same
    regular expressions there), by Python for the others (Unicode digits and case)."""
    keys = pc.replace_substring_regex(
        pc.replace_substring_regex(pc.utf8_lower(descriptions), _DATES.pattern, ""),
        "[^a-z0-9]", "")
    ascii_ = pc.fill_null(pc.string_is_ascii(descriptions), True)
    other = np.flatnonzero(~ascii_.to_numpy(zero_copy_only=False))
    if not len(other):
        return keys
    values = keys.to_pylist()
    for i in other.tolist():
        values[i] = _description_key(descriptions[i].as_py())
    return pa.array(values, pa.string())


def _codes(values: list[str]) -> pa.Array:
    """The same code for the same value: equal keys, equal codes."""
    seen: dict[str, int] = {}
    return pa.array([seen.setdefault(v, len(seen)) for v in values], pa.int32())


def _candidate_groups(ctx: AuditContext, keys: dict[str, pa.Table]) -> list[tuple[int, str]]:
    """Lines of the groups (same identity, charge type and description) that hold at least
    one pair _earlier_copy could take for a repeat: only those need the sequential check.
    Run over slices of the identities, so memory holds one slice's pairs at a time. `h`
    stands for description, quantity and unit price together: two rows that differ in them
    and share a hash only add a group to the check, which compares them exactly."""
    kinds = ", ".join(f"'{t.value}'" for t in _CHECKED)
    slices = ctx.slices()
    rows: list[tuple[int, str]] = []
    for part in range(slices):
        rows += ctx.sql(f"""
            WITH g AS (
                SELECT l.line_id, i.gid, l.charge_type AS ct, c.dk, b.inv, l.amount,
                       l.period_start AS s, l.period_end AS e,
                       hash(c.dc, l.quantity, l.unit_price) AS h
                FROM lines l
                JOIN idents i ON i.service IS NOT DISTINCT FROM l.service
                             AND i.service_id = l.service_id AND i.account = l.account
                JOIN charges c ON c.description = l.description
                JOIN bills b ON b.invoice_number = l.invoice_number
                WHERE l.amount > 0 AND l.charge_type IN ({kinds}) AND l.{UNCLAIMED}
                  AND i.gid % {slices} = {part}),
            pairs AS (
                SELECT DISTINCT a.gid, a.ct, a.dk FROM g a JOIN g b
                  ON a.gid = b.gid AND a.ct = b.ct AND a.dk = b.dk AND a.line_id < b.line_id
                WHERE (a.s IS NOT NULL AND a.e IS NOT NULL AND b.s IS NOT NULL AND b.e IS NOT NULL
                       AND a.s <= b.e AND b.s <= a.e
                       AND (a.ct <> 'usage' OR (a.inv <> b.inv AND a.amount = b.amount)
                            OR (a.s = b.s AND a.e = b.e AND {_SAME_USAGE_ROW})))
                   OR (a.s IS NULL AND b.s IS NULL AND a.amount = b.amount
                       AND (a.ct = 'one_time' OR (a.ct <> 'usage' AND a.inv = b.inv)
                            OR {_SAME_USAGE_ROW}))),
            ids AS (SELECT DISTINCT gid, ident FROM idents)
            SELECT g.line_id, ids.ident FROM g JOIN pairs p USING (gid, ct, dk)
            JOIN ids USING (gid)""", **keys)
    return sorted(rows)


# two usage rows of one invoice that are one row billed twice: every printed field the same
_SAME_USAGE_ROW = "a.ct = 'usage' AND a.inv = b.inv AND a.amount = b.amount AND a.h = b.h"


def _same_usage_row(a: InvoiceLine, b: InvoiceLine) -> bool:
    return (a.invoice_number == b.invoice_number and a.amount == b.amount
            and a.description == b.description and a.quantity == b.quantity
            and a.unit_price == b.unit_price and a.period_start == b.period_start
            and a.period_end == b.period_end)


def _credits(ctx: AuditContext, keys: dict[str, pa.Table], idents: set[str]
             ) -> dict[tuple, list[InvoiceLine]]:
    """Unclaimed credits on the identities that have a repeat, in line order."""
    out: dict[tuple, list[InvoiceLine]] = defaultdict(list)
    rows = ctx.sql(f"""
        SELECT l.line_id FROM lines l
        JOIN idents i ON i.service IS NOT DISTINCT FROM l.service
                     AND i.service_id = l.service_id AND i.account = l.account
        WHERE l.amount < 0 AND l.{UNCLAIMED} AND i.ident IN (SELECT ident FROM wanted)
        ORDER BY l.line_id""", idents=keys["idents"],
        wanted=pa.table({"ident": pa.array(sorted(idents), pa.string())}))
    for ln in ctx.lines_at([r[0] for r in rows]):
        out[_identity(ctx, ln)].append(ln)
    return out


def _earlier_copy(ln: InvoiceLine, kept: list[InvoiceLine], ctype: ChargeType):
    """The earlier line this one repeats, and the money of the repeat."""
    start, end = ln.period_start, ln.period_end
    for k in kept:
        if start and end and k.period_start and k.period_end:
            if k.period_start > end or start > k.period_end:
                continue  # no overlap: the usual case, so no arithmetic for it
            days = overlap_days(start, end, k.period_start, k.period_end)
            if ctype is ChargeType.USAGE and (k.amount != ln.amount or (
                    k.invoice_number == ln.invoice_number and not _same_usage_row(k, ln))):
                continue
            own = (ln.period_end - ln.period_start).days + 1
            part = ln.amount if days >= own else \
                (ln.amount * days / own).quantize(CENT, rounding=ROUND_HALF_UP)
            return k, part
        if ln.period_start is None and k.period_start is None and k.amount == ln.amount:
            if ctype is ChargeType.ONE_TIME or (ctype is not ChargeType.USAGE
                                                and k.invoice_number == ln.invoice_number):
                return k, ln.amount
            if ctype is ChargeType.USAGE and _same_usage_row(k, ln):
                return k, ln.amount
    return None, Decimal(0)


def _cancelled(ln: InvoiceLine, credits, used: set[int], tol: Decimal) -> bool:
    """A later credit of the same amount on the same service takes the duplicate back."""
    for c in credits:
        if c.line_id in used or abs(-c.amount - ln.amount) > tol:
            continue
        if (c.invoice_date or _MIN) >= (ln.invoice_date or _MIN):
            used.add(c.line_id)
            return True
    return False
