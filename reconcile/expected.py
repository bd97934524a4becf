"""The expected bill: what each service should be billed, and when, compared with the bill
the carrier sent (Chellow's "virtual bill" beside the actual one).

Rules that judge a charge against what should have been billed (rate above contract, billed
before install or after disconnect, missing from the bill) ask this layer, never the
inventory row directly:

    plan = expected.plan(service_index)        # when it bills, at which terms
    plan.active_on(day), plan.starts, plan.stops
    expected.recurring(service_index, start, end)  # the charge for a period, or None

Today a plan is built from the inventory row alone: billing from its install date to its
disconnect date, one open-ended term at its monthly rate (its contract end noted; after the
end the rate holds). Effective-dated contract terms and orders (renewals, month-to-month
rates, start and stop dates from orders) add terms and dates here without changing the rules.
Every date and term keeps its source, so a finding's evidence can say where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

import pyarrow as pa

from reconcile.core.models import Service
from reconcile.core.periods import expected_charges


@dataclass(frozen=True, slots=True)
class Term:
    """One rate the service is billed at, from `start` (None: from the beginning)."""

    monthly_rate: Decimal
    start: date | None
    end: date | None  # the contract's end; after it the rate holds (after_term "hold")
    end_text: str  # e.g. "MTM" when the contract end is not a date
    source: str  # where a person checks it, e.g. "inventory.xlsx row 12"
    after_term: str = "hold"


@dataclass(frozen=True, slots=True)
class Plan:
    """When one service should bill, and at which terms."""

    service: Service
    starts: date | None  # first day it may bill (install date); None: unknown
    starts_from: str  # the source of that date
    stops: date | None  # disconnect date: periods starting after it are not billable
    stops_from: str
    terms: tuple[Term, ...]

    def active_on(self, day: date) -> bool:
        """Installed by `day` (or install date unknown) and not disconnected before it."""
        if self.starts is not None and self.starts > day:
            return False
        return self.stops is None or self.stops > day

    def term_on(self, day: date) -> Term | None:
        """The term in force on `day`: the latest that has started."""
        found = None
        for term in self.terms:
            if term.start is None or term.start <= day:
                found = term
        return found


@dataclass(frozen=True, slots=True)
class ExpectedCharge:
    """A recurring charge as it should have been billed for one period."""

    primary: Decimal  # prorated by calendar days (or exactly the rate for a whole cycle)
    accepted: tuple[Decimal, ...]  # every legitimate proration convention (periods.py)
    term: Term

    @property
    def highest_accepted(self) -> Decimal:
        return max(self.accepted)


def plan_from_inventory(service: Service) -> Plan:
    where = f"{service.source} row {service.row}"
    terms = ()
    if service.monthly_rate is not None:
        terms = (Term(monthly_rate=service.monthly_rate, start=None, end=service.contract_end,
                      end_text=service.contract_end_text, source=where),)
    return Plan(service=service, starts=service.install_date,
                starts_from=f"install date, {where}" if service.install_date else "",
                stops=service.disconnect_date,
                stops_from=f"disconnect date, {where}" if service.disconnect_date else "",
                terms=terms)


class ExpectedBill:
    """Plans for every service of the inventory, and the charges they expect. Plans are made
    when a rule asks for one: most services of a big inventory are never in question."""

    def __init__(self, services: list[Service]):
        self.services = services
        self._plans: dict[int, Plan] = {}

    def plan(self, service_index: int) -> Plan:
        got = self._plans.get(service_index)
        if got is None:
            got = self._plans[service_index] = plan_from_inventory(self.services[service_index])
        return got

    def table(self) -> pa.Table:
        """service, starts, stops and the lowest term rate of every plan, as columns for
        queries (built from the inventory without making each plan)."""
        svc = self.services
        return pa.table({
            "service": pa.array(range(len(svc)), pa.int32()),
            "starts": pa.array([s.install_date for s in svc], pa.date32()),
            "stops": pa.array([s.disconnect_date for s in svc], pa.date32()),
            "min_rate": pa.array([s.monthly_rate for s in svc], pa.decimal128(38, 6)),
        })

    def recurring(self, service_index: int, start: date, end: date) -> ExpectedCharge | None:
        """The recurring charge expected for [start, end], by the term in force at its start;
        None when no rate is known."""
        term = self.plan(service_index).term_on(start)
        if term is None:
            return None
        primary, accepted = _prorated(term.monthly_rate, start, end)
        return ExpectedCharge(primary=primary, accepted=accepted, term=term)


@lru_cache(maxsize=65536)
def _prorated(rate: Decimal, start: date, end: date) -> tuple[Decimal, tuple[Decimal, ...]]:
    # a batch has few distinct rate x period pairs and up to millions of lines
    primary, accepted = expected_charges(rate, start, end)
    return primary, tuple(accepted)
