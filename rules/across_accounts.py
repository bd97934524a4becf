"""duplicate-charge across accounts: one circuit billed for the same dates on two accounts, or by
two carriers (a migration where the old biller kept billing). A helper of duplicate_charge (no
RULE_ID: not a rule of its own).

The old biller is decided plainly from the bills: the account whose recurring billing of the
circuit started earlier in the batch (its earliest period start); on a tie, the account the
inventory does not list for the circuit; else none is called old and nothing is reported.
Accounts are unique across carriers (issue 11), so "by two carriers" is two accounts too.
A later credit of the same amount on the old biller's account for the circuit takes its copy
back: both lines are explained (claimed), and there is no finding.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pyarrow as pa

from reconcile.core.ids import account_key, service_key
from reconcile.core.models import InvoiceLine
from reconcile.core.periods import describe_period
from reconcile.core.values import money
from reconcile.rules.context import UNCLAIMED, AuditContext, noun


def twice_across_accounts(ctx: AuditContext, rule: str, severity):
    """Findings on the old biller's recurring lines for dates another account also billed."""
    services = ctx.result.services
    keys = [service_key(s.service_id) for s in services]
    skeys = pa.table({"service": pa.array(range(len(services)), pa.int32()),
                      "skey": pa.array(keys, pa.string())})
    # the few circuits billed on more than one account (as printed; keys compared below):
    # most batches have none, and then no line is read
    shared = ctx.sql("""
        WITH p AS (SELECT DISTINCT service, account FROM lines WHERE charge_type = 'recurring'
                   AND amount > 0 AND service IS NOT NULL)
        SELECT k.skey, list(DISTINCT p.account) FROM p JOIN skeys k USING (service)
        WHERE k.skey <> '' GROUP BY k.skey HAVING count(DISTINCT p.account) > 1""",
                     skeys=skeys)
    shared = {k: accts for k, accts in shared if len({account_key(a or "") for a in accts}) > 1}
    if not shared:
        return
    skeys = pa.table({"service": pa.array([i for i, k in enumerate(keys) if k in shared],
                                          pa.int32()),
                      "skey": pa.array([k for k in keys if k in shared], pa.string())})
    accounts = sorted({a for accts in shared.values() for a in accts}, key=lambda a: a or "")
    akeys = pa.table({"account": pa.array(accounts, pa.string()),
                      "akey": pa.array([account_key(a or "") for a in accounts], pa.string())})
    rows = ctx.sql(f"""
        WITH r AS (
            SELECT l.line_id, k.skey, a.akey, l.period_start AS s, l.period_end AS e,
                   l.{UNCLAIMED} AS free
            FROM lines l JOIN skeys k ON k.service = l.service JOIN akeys a USING (account)
            WHERE l.charge_type = 'recurring' AND l.amount > 0 AND l.period_start IS NOT NULL
              AND l.period_end IS NOT NULL),
        first AS (SELECT skey, akey, min(s) AS since FROM r GROUP BY skey, akey),
        twice AS (SELECT skey, s, e FROM r WHERE free GROUP BY skey, s, e
                  HAVING count(DISTINCT akey) > 1)
        SELECT r.line_id, r.skey, r.akey, f.since FROM r JOIN twice USING (skey, s, e)
        JOIN first f USING (skey, akey) WHERE r.free ORDER BY r.line_id""",
                   skeys=skeys, akeys=akeys)
    if not rows:
        return
    since = {(skey, akey): first for _, skey, akey, first in rows}
    groups: dict[tuple, dict[str, list[InvoiceLine]]] = defaultdict(lambda: defaultdict(list))
    for ln, (_, skey, akey, _) in zip(ctx.lines_at([r[0] for r in rows]), rows):
        groups[(skey, ln.period_start, ln.period_end)][akey].append(ln)
    credits = ctx.credits_of({ctx.result.matches[r[0]].service for r in rows})
    for (skey, _, _), by_account in groups.items():
        newest = _newest(ctx, skey, by_account, since)
        if newest is None:
            continue
        new_lines = by_account[newest]
        for akey, lines in by_account.items():
            if akey == newest:
                continue
            back = _credited_back(ctx, lines, akey, credits)
            if back is not None:
                ctx.claimed.update([back.line_id, *(ln.line_id for ln in lines)])
                continue
            yield _finding(ctx, rule, severity, lines, new_lines,
                           since[(skey, akey)], since[(skey, newest)])


def _credited_back(ctx: AuditContext, lines: list[InvoiceLine], akey: str,
                   credits: dict[int, list[InvoiceLine]]) -> InvoiceLine | None:
    """An unclaimed credit on the old biller's account, for the circuit, of the amount its
    copy billed, on that bill or a later one."""
    billed = sum((ln.amount for ln in lines), Decimal(0))
    since = min((ln.invoice_date or date.min) for ln in lines)
    service = ctx.result.matches[lines[0].line_id].service
    for c in credits.get(service, ()):
        if c.line_id not in ctx.claimed and account_key(c.account or "") == akey \
                and abs(-c.amount - billed) <= ctx.tolerance and (c.invoice_date or date.min) >= since:
            return c
    return None


def _newest(ctx: AuditContext, skey: str, by_account: dict[str, list[InvoiceLine]],
            since: dict[tuple, date]) -> str | None:
    """The account that took the circuit over: the one whose billing of it started last; on
    a tie, the one the inventory lists for it; else None (no old biller to name)."""
    latest = max(since[(skey, a)] for a in by_account)
    last = [a for a in by_account if since[(skey, a)] == latest]
    if len(last) == 1:
        return last[0]
    listed = {account_key(s.account) for s in ctx.result.services
              if s.account and service_key(s.service_id) == skey}
    last = [a for a in last if a in listed]
    return last[0] if len(last) == 1 else None


def _finding(ctx: AuditContext, rule: str, severity, lines: list[InvoiceLine],
             new_lines: list[InvoiceLine], old_since: date, new_since: date):
    ln, new = lines[0], new_lines[0]
    billed = sum((x.amount for x in lines), Decimal(0))
    svc = ctx.service(ln)
    period = describe_period(ln.period_start, ln.period_end)
    return ctx.finding(
        rule, severity, lines, service=svc, billed=billed, expected=Decimal(0), at_issue=billed,
        explanation=(f"{noun(svc.service_id)} was billed {money(billed)} for {period} on "
                     f"invoice {ln.invoice_number} (account {ln.account}) and again on invoice "
                     f"{new.invoice_number} (account {new.account}), which has billed it since "
                     f"{new_since}: the old biller (billing it since {old_since}) kept "
                     f"billing after the move."),
        billed_by_new_account=[ctx.line_evidence(x) for x in new_lines],
        old_biller_since=str(old_since), new_biller_since=str(new_since),
    )
