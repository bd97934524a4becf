"""Recurring charges beside the term that prices them: the shared ground of the contract-rate
rules (rate-above-contract, out-of-term-rate, discount-not-applied). Not a rule itself.

Which rate prices a charge (issue 11): a circuit's contract row in force on the period's
start (the latest started; after the last one ends it still governs, out of term), else a
product row whose product the line's description contains (its rate per unit of the line's
quantity), else the inventory's monthly rate with its contract end. A circuit's recurring
lines for one period on one invoice are judged together (a port and its access loop may be
two lines of one contracted rate); a line a product row prices is judged alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pyarrow as pa

from reconcile.core.models import InvoiceLine, Service
from reconcile.core.periods import period_worth, whole_cycles
from reconcile.core.lines import plain_amount
from reconcile.expected import ExpectedCharge, Term, charge_at
from reconcile.rules.context import UNCLAIMED, AuditContext, noun

_CANDIDATES = "_contract_rate_candidates"  # the context's cache of over_bound's answer


@dataclass(frozen=True)
class Priced:
    """Recurring lines of one period on one invoice and the term that prices them. Line
    records are made only for the few a rule reports (`lines`): a batch has millions."""

    ids: tuple[int, ...]  # line ids
    billed: Decimal  # their sum
    invoice: int  # position in the partition's invoices
    service: Service | None  # None: an account-level line a product row prices
    start: date
    end: date
    term: Term
    units: Decimal  # the line's quantity under a per-unit product row, else 1
    description: str = ""  # of a line a product row prices

    @property
    def units_text(self) -> str:
        return f"{self.units.normalize():f}"

    @property
    def out_of_term(self) -> bool:
        """The period starts after the term ended: its after-term rules govern."""
        return self.term.ended_before(self.start)

    def at(self, monthly: Decimal) -> ExpectedCharge:
        """A monthly rate (per unit) for this period and quantity, prorated."""
        return charge_at(self.term, monthly * self.units, self.start, self.end)

    @property
    def contract_rate(self) -> ExpectedCharge:
        return self.at(self.term.monthly_rate)

    def over(self, expected: ExpectedCharge, tolerance: Decimal) -> Decimal | None:
        """What was billed above `expected` (its calendar-day proration), or None when the bill
        is within a legitimate proration of it, plus the tolerance: no overcharge. Whole
        billing cycles are the rate times their number, however the months fall: a 20th-to-
        19th cycle over February is not 6.6 % more for its calendar days."""
        allowed = (expected.primary if whole_cycles(self.start, self.end)
                   else expected.highest_accepted)
        if self.billed <= allowed + tolerance:
            return None
        return self.billed - expected.primary

    def lines(self, ctx: AuditContext) -> list[InvoiceLine]:
        return ctx.lines_at(self.ids)

    def claimed(self, ctx: AuditContext) -> bool:
        """Another rule of the tier took a line of it since the candidates were found."""
        return any(i in ctx.claimed for i in self.ids)

    def subject(self) -> str:
        """'Circuit 12.HCGS.123456..LY', or the charge's description for an account-level line."""
        if self.service is not None:
            return noun(self.service.service_id)
        return f"The '{self.description}' charge"


def over_bound(ctx: AuditContext) -> list[Priced]:
    """Every priced charge that may be above what its term allows: a group whose sum is under
    a lower bound of the least its service could be allowed is left out (most of a batch),
    and so is every claimed line. Worked out once per audit: the rules of one tier judge
    disjoint charges (in the term or out of it) and skip the lines another has claimed."""
    got = getattr(ctx, _CANDIDATES, None)
    if got is None:
        got = list(priced(ctx, bound=True))
        ctx.release()  # the group-by's memory, back at once
        setattr(ctx, _CANDIDATES, got)
    return got


def priced(ctx: AuditContext, *, bound: bool = False, services: set[int] | None = None):
    """Unclaimed recurring charges with a period and the term pricing each. `bound`: only
    groups over the lower bound of their service's lowest rate; `services`: only these
    services' groups (lines a product row prices come whatever their service)."""
    by_product = dict(_product_lines(ctx))
    for ln, svc, term in by_product.values():
        units = ln.quantity if ln.quantity else Decimal(1)
        yield Priced((ln.line_id,), plain_amount(ln.amount), _invoice_position(ctx, ln), svc, ln.period_start,
                     ln.period_end, term, units, ln.description)
    for idx, start, end, invoice, billed, ids in _groups(ctx, bound, services):
        if by_product:
            priced_alone = [by_product[i][0] for i in ids if i in by_product]
            ids = [i for i in ids if i not in by_product]
            billed -= sum((ln.amount for ln in priced_alone), Decimal(0))
        billed = plain_amount(billed)
        term = ctx.expected.circuit_term(idx, start) if ids else None
        if term is not None:
            yield Priced(tuple(ids), billed, invoice, ctx.result.services[idx], start, end, term,
                         Decimal(1))


def _invoice_position(ctx: AuditContext, ln: InvoiceLine) -> int:
    inv = ctx.invoice_of(ln)
    return ctx.result.invoices.index(inv) if inv is not None else -1


def _groups(ctx: AuditContext, bound: bool, services: set[int] | None):
    """(service, period start, period end, invoice, sum, line ids) of each invoice's recurring
    charges, in the order of their first line. Grouped over slices of the services, so memory
    holds one slice's groups at a time (all at once: 133 MiB at 1M lines)."""
    tables: dict[str, pa.Table] = {}
    where = ""
    if bound:
        tables["shapes"] = _shapes(ctx)
        where = f"AND (sh.worth IS NULL OR {_over_lower_bound(ctx)})"
    if services is not None:
        tables["wanted"] = pa.table({"service": pa.array(sorted(services), pa.int32())})
        where += " AND g.service IN (SELECT service FROM wanted)"
    shapes = ("LEFT JOIN shapes sh ON sh.period_start = g.period_start "
              "AND sh.period_end = g.period_end") if bound else ""
    slices = ctx.slices()
    rows = []
    for part in range(slices):
        rows += ctx.sql(f"""
            WITH r AS (
                SELECT line_id, invoice, service, period_start, period_end, amount
                FROM lines
                WHERE charge_type = 'recurring' AND amount > 0 AND service IS NOT NULL
                  AND period_start IS NOT NULL AND period_end IS NOT NULL AND {UNCLAIMED}
                  AND service % {slices} = {part}),
            g AS (
                SELECT invoice, service, period_start, period_end,
                       sum(amount) AS billed, min(line_id) AS first
                FROM r GROUP BY invoice, service, period_start, period_end),
            over AS (
                SELECT g.* FROM g
                JOIN plans p ON p.service = g.service
                {shapes}
                WHERE p.min_rate IS NOT NULL {where})
            SELECT o.first, o.service, o.period_start, o.period_end, o.invoice, o.billed,
                   list(r.line_id ORDER BY r.line_id)
            FROM over o JOIN r USING (invoice, service, period_start, period_end)
            GROUP BY o.invoice, o.service, o.period_start, o.period_end, o.first, o.billed""",
            **tables)
    return [row[1:] for row in sorted(rows, key=lambda row: row[0])]


def _product_lines(ctx: AuditContext):
    """(line id, (line, service, product term)) of each unclaimed recurring line a product
    row prices: its description names a contracted product of its account and no circuit row
    of its service has started by its period."""
    if not ctx.expected.has_products:
        return
    rows = ctx.sql("""
        SELECT DISTINCT account, coalesce(carrier, ''), coalesce(description, '') FROM lines
        WHERE charge_type = 'recurring' AND amount > 0 AND period_start IS NOT NULL""")
    named = [r for r in rows if ctx.expected.product_terms(*r)]
    if not named:
        return
    texts = pa.table({"account": pa.array([r[0] for r in named], pa.string()),
                      "carrier": pa.array([r[1] for r in named], pa.string()),
                      "description": pa.array([r[2] for r in named], pa.string())})
    ids = ctx.sql(f"""
        SELECT l.line_id FROM lines l JOIN texts t ON l.account IS NOT DISTINCT FROM t.account
          AND coalesce(l.carrier, '') = t.carrier AND coalesce(l.description, '') = t.description
        WHERE l.charge_type = 'recurring' AND l.amount > 0 AND l.period_start IS NOT NULL
          AND l.period_end IS NOT NULL AND l.{UNCLAIMED}
        ORDER BY l.line_id""", texts=texts)
    for ln in ctx.lines_at([r[0] for r in ids]):
        svc = ctx.service(ln)
        if svc is not None:
            plan = ctx.expected.plan(svc.index)
            if plan.from_contracts and plan.term_on(ln.period_start) is not None:
                continue  # a circuit row prices it
        term = ctx.expected.product_term(ln.account, ln.carrier, ln.description, ln.period_start)
        if term is not None:
            yield ln.line_id, (ln, svc, term)


def _over_lower_bound(ctx: AuditContext) -> str:
    """Groups billed at or under a lower bound of the highest accepted charge are within
    contract, so only the others reach the exact check. Each convention's charge is the rate
    times the period's worth in months, rounded to the cent: at least rate x worth - 0.005.
    The lowest rate the service may be allowed (plans.min_rate), and a margin for floating
    point, keep the bound under the exact figure."""
    bound = "CAST(p.min_rate AS DOUBLE) * sh.worth"
    return (f"CAST(g.billed AS DOUBLE) > {bound} - 0.005 - 1e-6 - 1e-9 * abs({bound}) "
            f"+ {float(ctx.tolerance)!r}")


def _shapes(ctx: AuditContext) -> pa.Table:
    """The largest worth in months of each distinct period under the conventions of
    reconcile.core.periods (the daily-rounded one excepted: it is checked exactly); whole
    billing cycles are worth their number (Priced.over)."""
    rows = ctx.sql("SELECT DISTINCT period_start, period_end FROM lines "
                   "WHERE charge_type = 'recurring' AND period_start IS NOT NULL "
                   "AND period_end IS NOT NULL")
    worth = [float(period_worth(s, e)[0] if whole_cycles(s, e)
                   else max(x for x in period_worth(s, e) if x is not None)) for s, e in rows]
    return pa.table({"period_start": pa.array([r[0] for r in rows], pa.date32()),
                     "period_end": pa.array([r[1] for r in rows], pa.date32()),
                     "worth": pa.array(worth, pa.float64())})
