"""unused-service: a service that had usage is billed its recurring charge on 3 or more
consecutive bills with no usage: possibly unused, a saving to act on.

Zero use over 30 to 90 days is the usual test for a line nobody uses any more (domain.md R13):
it is billed correctly, so it is no overcharge, but cancelling or suspending it saves its
recurring charge every month. Only a service with usage history counts (a data circuit never
bills usage), and only after its first usage in the batch. The bills counted are the service's
bills that carry its recurring charge, in date order; a usage line of 0.00 is no usage. A
service is reported once, on the latest bill of its latest such run.

Money at issue: none (0.00): advice; the explanation gives the monthly saving (the recurring
charge on the latest bill of the run).

Example: a number with no calls for three months::

    service | 212-555-0147 | account 8310-4471-22 | rate 45.00
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 212-555-0147 | MRC | 2025-03-01..2025-03-31 | 45.00 | Business line
    line | 212-555-0147 | usage | 2025-02-01..2025-02-28 | 12.40 | Long distance
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    invoice | 88300 | account 8310-4471-22 | billed 2025-05-01
    line | 212-555-0147 | MRC | 2025-05-01..2025-05-31 | 45.00 | Business line
    line | 212-555-0147 | usage | 2025-04-01..2025-04-30 | 0.00 | Long distance
    invoice | 88400 | account 8310-4471-22 | billed 2025-06-01
    line | 212-555-0147 | MRC | 2025-06-01..2025-06-30 | 45.00 | Business line
    expect | unused-service | 212-555-0147 | 88400 | 0.00

Not a finding: two quiet months, then calls again::

    service | 212-555-0147 | account 8310-4471-22 | rate 45.00
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 212-555-0147 | MRC | 2025-03-01..2025-03-31 | 45.00 | Business line
    line | 212-555-0147 | usage | 2025-02-01..2025-02-28 | 12.40 | Long distance
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    invoice | 88300 | account 8310-4471-22 | billed 2025-05-01
    line | 212-555-0147 | MRC | 2025-05-01..2025-05-31 | 45.00 | Business line
    invoice | 88400 | account 8310-4471-22 | billed 2025-06-01
    line | 212-555-0147 | MRC | 2025-06-01..2025-06-30 | 45.00 | Business line
    line | 212-555-0147 | usage | 2025-05-01..2025-05-31 | 3.10 | Long distance
    expect | nothing

Not a finding: a circuit that never bills usage::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    invoice | 88300 | account 8310-4471-22 | billed 2025-05-01
    line | 12.HCGS.123456..LY | MRC | 2025-05-01..2025-05-31 | 450.00 | MPLS port
    expect | nothing
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pyarrow as pa

from reconcile.core.models import Category, Severity
from reconcile.core.values import money
from reconcile.rules.context import AuditContext, noun

RULE_ID = "unused-service"
SEVERITY = Severity.LOW
CATEGORY = Category.ADVICE
PRECEDENCE = 80  # tiers: rules/__init__.py (advice; claims nothing)
RUN = 3  # consecutive bills without usage that make a service look unused


def check(ctx: AuditContext):
    res = ctx.result
    # per (service, bill): its recurring charge and lines, and whether it billed any usage,
    # for services with usage; `grp` counts the usage bills so far, so a run of quiet bills
    # (no usage, a recurring charge) is the quiet bills of one `grp` after the first usage. A
    # bill without the recurring charge neither counts nor breaks a run. Only the bills of
    # each service's latest run of RUN or more come back: most services have none.
    dated = [(k, inv.invoice_date, inv.seq or 0) for k, inv in enumerate(res.invoices)
             if inv.invoice_date is not None]
    bills = pa.table({"invoice": pa.array([b[0] for b in dated], pa.int32()),
                      "day": pa.array([b[1] for b in dated], pa.date32()),
                      "seq": pa.array([b[2] for b in dated], pa.int64())})
    rows = ctx.sql(f"""
        WITH b AS (
            SELECT service, invoice,
                   sum(amount) FILTER (WHERE charge_type = 'recurring') AS mrc,
                   list(line_id ORDER BY line_id) FILTER (WHERE charge_type = 'recurring') AS ids,
                   coalesce(bool_or(charge_type = 'usage' AND amount <> 0), false) AS used
            FROM lines
            WHERE service IS NOT NULL AND invoice IS NOT NULL
              AND charge_type IN ('recurring', 'usage')
              AND service IN (SELECT DISTINCT service FROM lines
                              WHERE charge_type = 'usage' AND amount <> 0 AND service IS NOT NULL)
            GROUP BY ALL),
        g AS (
            SELECT b.*, k.day, k.seq,
                   sum(b.used::INTEGER) OVER (PARTITION BY b.service ORDER BY k.day, k.seq, b.invoice
                                              ROWS UNBOUNDED PRECEDING) AS grp
            FROM b JOIN bills k ON k.invoice = b.invoice),
        quiet AS (SELECT * FROM g WHERE NOT used AND grp > 0 AND mrc > 0),
        latest AS (
            SELECT service, max(grp) AS grp FROM (
                SELECT service, grp FROM quiet GROUP BY service, grp HAVING count(*) >= {RUN})
            GROUP BY service)
        SELECT q.service, q.invoice, q.mrc, q.ids FROM quiet q JOIN latest USING (service, grp)
        ORDER BY q.service, q.day, q.seq, q.invoice""", bills=bills)
    ctx.release()  # the group-by's memory, back at once
    runs: dict[int, list] = defaultdict(list)
    for service, invoice, mrc, ids in rows:
        inv = res.invoices[invoice]
        runs[service].append((inv.invoice_date, inv.seq or 0, invoice, mrc, ids))
    ctx.lines_at([i for run in runs.values() for i in run[-1][4]])  # read at once, not per run
    for service, run in runs.items():
        yield _finding(ctx, res.services[service], run)


def _finding(ctx, svc, run):
    first, last = ctx.result.invoices[run[0][2]], ctx.result.invoices[run[-1][2]]
    lines = ctx.lines_at(run[-1][4])
    saving = Decimal(run[-1][3])
    sid = lines[0].service_id
    return ctx.finding(
        RULE_ID, SEVERITY, lines, service=svc, invoice=last, billed=saving, expected=saving,
        at_issue=Decimal(0), claim=False, service_id=sid,
        explanation=(f"{noun(sid)} (account {last.account}) billed no usage on {len(run)} bills "
                     f"in a row, invoice {first.invoice_number} ({first.invoice_date}) to invoice "
                     f"{last.invoice_number} ({last.invoice_date}), though it had usage before: "
                     f"if it is no longer used, cancelling it saves {money(saving)} a month."),
        monthly_saving=f"{saving:.2f}",  # the answer's savings_monthly adds these up
        quiet_bills=[{"invoice": ctx.result.invoices[b[2]].invoice_number,
                      "bill_date": b[0].isoformat(), "recurring": f"{b[3]:.2f}"} for b in run])
