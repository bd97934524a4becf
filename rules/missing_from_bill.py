"""missing-from-bill: an installed, active service of the account that is not on its invoice
(back-billing risk or wrong inventory).

Reconciliation runs both ways (domain.md R8, Calero's "bi-directional" audit). A service
of the invoice's account, installed on or before the bill date (or with no install date)
and not disconnected by then, that no line of the invoice matches is no overcharge today
but a risk: the carrier may back-bill it, or the inventory is wrong (the service was moved,
renamed or cancelled without updating it). A number the bill lists at 0.00 (zero-rated
detail a reader skips, such as usage within the plan) is on the bill: its ID is kept on
the invoice (`Invoice.zero_rated_ids`) and counts as billed, matched by its normalised ID.

An inventory with no install date at all cannot say when a service began: every service
would be "missing" from every bill before its first one (a flood, and false). The rule then
checks a service only on the bills of its account dated between the first and the last
bill that charge it (a gap: billed, then left off, then billed again), and the report says
it was only partly checked; a service on none of its account's bills is reported once, on
the account's latest bill, not once per bill. Without accounts in the inventory it cannot
tell which bill a service belongs on, and does not run.

Money at issue: none today (0.00), as the risk is a later back-bill or a wrong inventory.

Example: one of the account's numbers is not on its bill::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0147 | account 8310-4471-22 | rate 45.00 | installed 2025-04-10
    service | 212-555-0188 | account 8310-4471-22 | rate 45.00 | disconnected 2025-03-20
    service | 212-555-0199 | account 8310-4471-22 | rate 45.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | missing-from-bill | 212-555-0199 | 88231 | 0.00

Not a finding: a number installed after the bill date::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0147 | account 8310-4471-22 | rate 45.00 | installed 2025-04-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a number disconnected before the bill date::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0188 | account 8310-4471-22 | rate 45.00 | disconnected 2025-03-20
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a number the bill lists at 0.00 (zero-rated, on the bill)::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0199 | account 8310-4471-22 | rate 45.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 212-555-0199 | usage | - | 0.00 | Calls within the plan
    expect | nothing

Not a finding: a circuit listed twice in the inventory, billed once::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 12/HCGS/123456/LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pyarrow as pa

from reconcile.core.ids import account_key, service_key
from reconcile.core.models import Category, Severity
from reconcile.rules.context import AuditContext, noun

RULE_ID = "missing-from-bill"
SEVERITY = Severity.LOW
CATEGORY = Category.RISK
PRECEDENCE = 80  # tiers: rules/__init__.py
NEEDS = ("account",)  # which bill a service belongs on
LIMITED_WITHOUT = {  # without install dates it checks less: (the rule's docstring)
    "install_date": "only between each service's first and last bill, and once for one on no bill"}


def _code(codes: dict[str, int], key: str) -> int:
    return codes.setdefault(key, len(codes))


def check(ctx: AuditContext):
    res = ctx.result
    # accounts and service keys as integer codes (one code per distinct key): the query
    # below pairs every bill with every service of its account, and joins on these
    accounts: dict[str, int] = {}
    skeys: dict[str, int] = {}
    bills = pa.table({
        "invoice": pa.array(range(len(res.invoices)), pa.int32()),
        "account_key": pa.array([_code(accounts, account_key(i.account))
                                 for i in res.invoices], pa.int32()),
        "bill_date": pa.array([i.invoice_date for i in res.invoices], pa.date32())})
    # by service key, not inventory row: a circuit listed twice in the inventory is billed once
    keys = pa.table({
        "service": pa.array([s.index for s in res.services], pa.int32()),
        "account_key": pa.array([_code(accounts, account_key(s.account))
                                 for s in res.services], pa.int32()),
        "skey": pa.array([_code(skeys, service_key(s.service_id))
                          for s in res.services], pa.int32())})
    # numbers billed at 0.00 on rows the reader skipped are on the bill too
    zero = pa.table({
        "invoice": pa.array([n for n, i in enumerate(res.invoices) for _ in i.zero_rated_ids],
                            pa.int32()),
        "skey": pa.array([_code(skeys, service_key(s))
                          for i in res.invoices for s in i.zero_rated_ids], pa.int32())})
    dated = ctx.sql("SELECT count(*) FROM plans WHERE starts IS NOT NULL")[0][0] > 0
    # no install date anywhere: a service is expected only between its first and last bill;
    # one never billed on its account is said once, on the account's latest bill
    between = "" if dated else """
          AND (EXISTS (SELECT 1 FROM span s WHERE s.account_key = b.account_key
                       AND s.skey = k.skey AND s.first < b.bill_date AND b.bill_date < s.last)
               OR (b.invoice = (SELECT invoice FROM latest l WHERE l.account_key = b.account_key)
                   AND NOT EXISTS (SELECT 1 FROM span s WHERE s.account_key = b.account_key
                                   AND s.skey = k.skey)))"""
    missing = ctx.sql(f"""
        WITH billed AS (  -- a pair may come twice (one circuit on two inventory rows):
            -- it is only looked up, and made distinct as (invoice, service) numbers, not keys
            SELECT x.invoice, k.skey FROM (SELECT DISTINCT invoice, service FROM lines) x
            JOIN keys k ON k.service = x.service
            UNION ALL SELECT invoice, skey FROM zero),
        span AS (
            SELECT b.account_key, x.skey, min(b.bill_date) AS first, max(b.bill_date) AS last
            FROM billed x JOIN bills b ON b.invoice = x.invoice GROUP BY b.account_key, x.skey),
        latest AS (
            SELECT account_key, max(invoice) AS invoice FROM (
                SELECT *, max(bill_date) OVER (PARTITION BY account_key) AS newest FROM bills
                WHERE bill_date IS NOT NULL) WHERE bill_date = newest GROUP BY account_key)
        SELECT b.invoice, k.service, NOT EXISTS (
                   SELECT 1 FROM span s WHERE s.account_key = b.account_key AND s.skey = k.skey)
        FROM bills b
        JOIN keys k ON k.account_key = b.account_key
        JOIN plans p ON p.service = k.service
        WHERE b.bill_date IS NOT NULL
          AND (p.starts IS NULL OR p.starts <= b.bill_date)
          AND (p.stops IS NULL OR p.stops > b.bill_date){between}
          AND NOT EXISTS (SELECT 1 FROM billed x WHERE x.invoice = b.invoice AND x.skey = k.skey)
        ORDER BY b.invoice, k.service""", bills=bills, keys=keys, zero=zero)
    ctx.release()  # its joins' memory, back at once
    per_account = Counter(account_key(i.account) for i in res.invoices if i.invoice_date)
    for n, index, never in missing:
        inv, svc = res.invoices[n], res.services[index]
        plan = ctx.expected.plan(svc.index)
        since = f"installed on {plan.starts}" if plan.starts else "in the inventory"
        where = (f"on invoice {inv.invoice_number}" if dated or not never else
                 f"on any of the {per_account[account_key(inv.account)]} bill(s) of its account "
                 f"here, the latest invoice {inv.invoice_number}")
        yield ctx.finding(
            RULE_ID, SEVERITY, [], service=svc, invoice=inv, billed=Decimal(0),
            expected=plan.terms[-1].monthly_rate if plan.terms else Decimal(0),
            at_issue=Decimal(0), claim=False,
            service_id=svc.service_id,
            explanation=(f"{noun(svc.service_id)} is {since} and not disconnected, but is not "
                         f"{where} (account {inv.account}, billed "
                         f"{inv.invoice_date}): nothing is overcharged now, but the carrier may "
                         f"back-bill it later, or the inventory is wrong."),
            invoice_file=inv.source,
        )
