"""rate-above-contract: a recurring charge above the contracted monthly rate, partial periods
prorated by days.

The contracted rate is the inventory's monthly rate (contracts with effective dates come
later). Partial periods are prorated by days (domain.md R1, R12): the expected charge is
the rate times the calendar-day share of each month, or exactly the rate for a whole
billing cycle (e.g. the 15th to the 14th). Carriers prorate in several ways (30-day
months, anniversary cycles, a daily rate rounded to cents), so a charge is flagged only
when it is above every one of those by more than the tolerance. Recurring lines of one
service for one period on one invoice are added up first (a port and its access loop may
be billed as two lines of one contracted MRC). It sees only lines no earlier rule explained.

Money at issue: the charge minus the contracted rate prorated by calendar days for its period.

Example: a whole month above the rate, beside a correct partial month::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | product MPLS port | rate 450.00
        | term 2025-03-10..2028-03-09 | after-term month-to-month | mtm 25%
        | dispute-window 60 days | late-fee 1.5% | notice 30 days
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 319.35 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 495.00 | MPLS port
    expect | rate-above-contract | 12.HCGS.123456..LY | 88231 | 45.00

Example: a whole month's rate billed for a partial month::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 450.00 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | rate-above-contract | 12.HCGS.123456..LY | 88231 | 130.65

Example: a port and its access loop that add up to more than the rate::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 300.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 195.00 | Access loop
    expect | rate-above-contract | 12.HCGS.123456..LY | 88231 | 45.00

Not a finding: a partial month prorated by 30-day months::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 330.00 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a billing cycle from the 15th to the 14th::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-03-15
    line | 12.HCGS.123456..LY | MRC | 2025-03-15..2025-04-14 | 450.00 | MPLS port
    expect | nothing

Not a finding: a port and its access loop, two lines of one contracted rate::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 300.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 150.00 | Access loop
    expect | nothing

Not a finding: a cent above the rate, within the tolerance::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.01 | MPLS port
    expect | nothing

Not a finding: a month billed twice on one bill is a duplicate, not a rate above contract::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | duplicate-charge | 12.HCGS.123456..LY | 88231 | 450.00
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from reconcile.core.models import Category, Severity
from reconcile.core.periods import describe_period, period_worth
from reconcile.core.values import money
from reconcile.rules.context import UNCLAIMED, AuditContext, noun, on_invoice

RULE_ID = "rate-above-contract"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 50  # tiers: rules/__init__.py
NEEDS = ("monthly_rate",)  # of the inventory: without it, not checked (rules/registry.py)


def check(ctx: AuditContext):
    # the sums of every group first; the line ids of the few over the bound after
    groups = ctx.sql(f"""
        WITH r AS (
            SELECT line_id, invoice, service, period_start, period_end, amount
            FROM lines
            WHERE charge_type = 'recurring' AND amount > 0 AND service IS NOT NULL
              AND period_start IS NOT NULL AND period_end IS NOT NULL AND {UNCLAIMED}),
        g AS (
            SELECT invoice, service, period_start, period_end,
                   sum(amount) AS billed, min(line_id) AS first
            FROM r GROUP BY invoice, service, period_start, period_end),
        over AS (
            SELECT g.* FROM g
            JOIN plans p ON p.service = g.service
            LEFT JOIN shapes sh ON sh.period_start = g.period_start AND sh.period_end = g.period_end
            WHERE p.min_rate IS NOT NULL AND (sh.worth IS NULL OR {_over_lower_bound(ctx)}))
        SELECT o.service, o.period_start, o.period_end, list(r.line_id ORDER BY r.line_id)
        FROM over o JOIN r USING (invoice, service, period_start, period_end)
        GROUP BY o.invoice, o.service, o.period_start, o.period_end, o.first
        ORDER BY o.first""", shapes=_shapes(ctx))
    for idx, start, end, ids in groups:
        expected = ctx.expected.recurring(idx, start, end)
        if expected is None:  # no contracted rate known
            continue
        lines = ctx.lines_at(ids)
        billed = sum((ln.amount for ln in lines), Decimal(0))
        if billed <= expected.highest_accepted + ctx.tolerance:
            continue
        svc, term, primary = ctx.result.services[idx], expected.term, expected.primary
        period = describe_period(start, end)
        full = primary == term.monthly_rate
        rate_text = f"contracted at {money(term.monthly_rate)} a month" + (
            "" if full else f" ({money(primary)} for {period}, prorated by days)")
        over = billed - primary
        note = ""
        if term.end and start > term.end:
            note = (f", billed after the contract term ended on {term.end} (the carrier may be "
                    f"applying out-of-term rates)")
        yield ctx.finding(
            RULE_ID, SEVERITY, lines, service=svc, billed=billed, expected=primary, at_issue=over,
            explanation=(f"{noun(svc.service_id)} is {rate_text} but was billed {money(billed)} for "
                         f"{period} on {on_invoice(lines[0])}: {money(over)} above contract{note}."),
            contract_rate=money(term.monthly_rate),
            rate_from=term.source,
            accepted_prorations=[money(a) for a in sorted(set(expected.accepted))],
        )


def _over_lower_bound(ctx: AuditContext) -> str:
    """Groups billed at or under a lower bound of the highest accepted charge are within
    contract, so only the others reach the exact check. Each convention's charge is the rate
    times the period's worth in months, rounded to the cent: at least rate x worth - 0.005.
    The lowest rate the service's terms have, and a margin for floating point, keep the bound
    under the exact figure."""
    bound = "CAST(p.min_rate AS DOUBLE) * sh.worth"
    return (f"CAST(g.billed AS DOUBLE) > {bound} - 0.005 - 1e-6 - 1e-9 * abs({bound}) "
            f"+ {float(ctx.tolerance)!r}")


def _shapes(ctx: AuditContext) -> pa.Table:
    """The largest worth in months of each distinct period under the conventions of
    reconcile.core.periods (the daily-rounded one excepted: it is checked exactly)."""
    rows = ctx.sql("SELECT DISTINCT period_start, period_end FROM lines "
                   "WHERE charge_type = 'recurring' AND period_start IS NOT NULL "
                   "AND period_end IS NOT NULL")
    worth = [float(max(x for x in period_worth(s, e) if x is not None)) for s, e in rows]
    return pa.table({"period_start": pa.array([r[0] for r in rows], pa.date32()),
                     "period_end": pa.array([r[1] for r in rows], pa.date32()),
                     "worth": pa.array(worth, pa.float64())})
