"""rate-above-contract: a recurring charge above the contracted monthly rate.

The contracted rate is the inventory's monthly rate (contracts with effective dates come
later). Partial periods are prorated by days (domain.md R1, R12): the expected charge is
the rate times the calendar-day share of each month, or exactly the rate for a whole
billing cycle (e.g. the 15th to the 14th). Carriers prorate in several ways (30-day
months, anniversary cycles, a daily rate rounded to cents), so a charge is flagged only
when it is above every one of those by more than the tolerance; the money at issue is
the charge minus the days-prorated expected charge. Recurring lines of one service for
one period on one invoice are added up first (a port and its access loop may be billed
as two lines of one contracted MRC).

Billed::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 319.35 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 495.00 | MPLS port

Expected::

    rate-above-contract | 12.HCGS.123456..LY | 88231 | 45.00
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from reconcile.core.models import Severity
from reconcile.core.periods import describe_period
from reconcile.core.values import money
from reconcile.rules.context import AuditContext, noun, on_invoice

RULE_ID = "rate-above-contract"
SEVERITY = Severity.MEDIUM


def check(ctx: AuditContext):
    groups = defaultdict(list)
    for ln, svc in ctx.recurring_charges():
        if ln.period_start is None or ln.period_end is None:
            continue
        groups[(ln.carrier, ln.account, ln.invoice_number, svc.index, ln.period_start,
                ln.period_end)].append(ln)
    for (_, _, _, idx, start, end), lines in groups.items():
        expected = ctx.expected.recurring(idx, start, end)
        if expected is None:  # no contracted rate known
            continue
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
            note = (f" The contract term ended on {term.end}; the carrier may be applying "
                    f"out-of-term rates.")
        yield ctx.finding(
            RULE_ID, SEVERITY, lines, service=svc, billed=billed, expected=primary, at_issue=over,
            explanation=(f"{noun(svc.service_id)} is {rate_text} but was billed {money(billed)} for "
                         f"{period} on {on_invoice(lines[0])}: {money(over)} above contract.{note}"),
            contract_rate=money(term.monthly_rate),
            rate_from=term.source,
            accepted_prorations=[money(a) for a in sorted(set(expected.accepted))],
        )
