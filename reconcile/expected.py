"""The expected bill: what each service should be billed, and when, compared with the bill
the carrier sent (Chellow's "virtual bill" beside the actual one).

Rules that judge a charge against what should have been billed (rate above contract, billed
before install or after disconnect, missing from the bill) ask this layer, never the
inventory row directly:

    plan = expected.plan(service_index)        # when it bills, at which terms
    plan.active_on(day), plan.starts, plan.stops
    expected.recurring(service_index, start, end)  # the charge for a period, or None
    expected.orders_done(service_index, account, bill_date)  # what explains a one-time charge
    expected.one_time(service_index, account, description, bill_date)  # the most it may be

A plan is built from the inventory row, the service's circuit contract rows and its orders:
billing from its start date to its stop date (the first day not billed), at the term in force
on a period's start. Terms are the contract rows (a renewal is a row starting where the last
ended); with none, the inventory's monthly rate is one term ending at its contract end, after
which the rate holds. Product contract rows price lines by description (`product_terms`).
Every date and term keeps its source, so a finding's evidence can say where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import PurePath

import pyarrow as pa

from reconcile.core.ids import account_key, service_key
from reconcile.core.lines import MONEY
from reconcile.core.models import Contract, Order, Service
from reconcile.core.periods import expected_charges
from reconcile.core.records import NO_RECORDS, Records
from reconcile.core.values import CENT


NOTICE_DAYS = 30  # a disconnect needs this much notice unless the contract says (seed 003)
ORDER_WINDOW = timedelta(days=90)  # a one-time charge follows its order within this (issue 11)


@dataclass(frozen=True, slots=True)
class Term:
    """One rate the service is billed at, from `start` (None: from the beginning) to `end`
    (the contract's end; None: open). After the end, `after_term` decides: the rate holds, or
    the carrier may bill month-to-month up to `allowed_after_end`."""

    monthly_rate: Decimal
    start: date | None
    end: date | None
    end_text: str  # e.g. "MTM" when the contract end is not a date
    source: str  # where a person checks it, e.g. "inventory.xlsx row 12"
    after_term: str = "hold"
    contract: Contract | None = None  # the contract row, when the term comes from one
    per_unit: bool = False  # a product row: the rate is per unit of a line's quantity

    def in_force(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def ended_before(self, day: date) -> bool:
        """`day` is after the term's end: its after-term rules govern (out of term)."""
        return self.end is not None and day > self.end

    @property
    def discount_pct(self) -> Decimal | None:
        """The contracted discount off the rate (a percent), when the row gives one above 0."""
        pct = self.contract.discount_pct if self.contract else None
        return pct if pct else None

    def describe(self) -> str:
        """Where the rate comes from, for sentences: 'the contract, contracts.xlsx row 4'."""
        if self.contract is None:  # its row is in the evidence: a path is no part of a sentence
            return "the inventory"
        kind = "product " if self.per_unit else ""
        c = self.contract  # the file's name, not its path: sentences stay when files move
        return f"the {kind}contract" + (f", {PurePath(c.source).name} row {c.row}" if c.source else "")

    @property
    def allowed_after_end(self) -> Decimal | None:
        """The most a month may cost after the term ends; None when the contract does not say
        (month-to-month with no percent)."""
        if self.after_term != "month-to-month":
            return self.monthly_rate
        pct = self.contract.mtm_rate_pct if self.contract else None
        return None if pct is None else (self.monthly_rate * pct / 100).quantize(CENT)


@dataclass(frozen=True, slots=True)
class Plan:
    """When one service should bill, and at which terms; every date names its source."""

    service: Service
    starts: date | None  # first day it may bill (install date); None: unknown
    starts_from: str  # the source of that date
    stops: date | None  # stop date: the first day not billed; None: still in service
    stops_from: str
    terms: tuple[Term, ...]  # in start order; contract rows when there are any
    orders: tuple[Order, ...] = ()  # every order for the service, cancelled ones included
    start_order: Order | None = None  # the order that gave `starts`, when one did
    stop_order: Order | None = None  # the order that gave `stops`, when one did

    def active_on(self, day: date) -> bool:
        """Installed by `day` (or install date unknown) and not stopped on or before it."""
        if self.starts is not None and self.starts > day:
            return False
        return self.stops is None or self.stops > day

    def term_on(self, day: date) -> Term | None:
        """The term that governs `day`: the latest that has started (it may have ended: then
        its after-term rules apply)."""
        found = None
        for term in self.terms:
            if term.start is None or term.start <= day:
                found = term
        return found

    @property
    def from_contracts(self) -> bool:
        return any(t.contract is not None for t in self.terms)


@dataclass(frozen=True, slots=True)
class ExpectedCharge:
    """A recurring charge as it should have been billed for one period."""

    primary: Decimal  # prorated by calendar days (or exactly the rate for a whole cycle)
    accepted: tuple[Decimal, ...]  # every legitimate proration convention (periods.py)
    term: Term

    @property
    def highest_accepted(self) -> Decimal:
        return max(self.accepted)


@dataclass(frozen=True, slots=True)
class OneTimeLimit:
    """The most a one-time charge may be, and what says so: a waiver (0.00) beats the order's
    quoted NRC, which beats the contract's one-time rate."""

    amount: Decimal
    basis: str  # "waived", "quoted" or "contract"
    source: str  # where a person checks it
    order: Order | None = None
    contract: Contract | None = None


def plan_for(service: Service, contracts: list[Contract] = (), orders: list[Order] = ()
             ) -> Plan:
    """The plan of one service from its inventory row, its circuit contract rows and its
    orders. Dates come from, in order: the inventory, a completed order, a pending disconnect
    order (billing stops at the later of its due date and order date + notice days)."""
    where = f"{service.source} row {service.row}"
    if contracts:
        terms = tuple(_contract_term(c, service) for c in
                      sorted(contracts, key=lambda c: (c.term_start or date.min, c.row)))
        terms = tuple(t for t in terms if t is not None)
    else:
        terms = tuple(t for t in [inventory_term(service)] if t is not None)
    live = [o for o in orders if o.status != "cancelled"]
    starts, starts_from, start_order = service.install_date, f"install date, {where}", None
    if starts is None:
        starts, starts_from, start_order = _order_date(live, "install")
    stops, stops_from, stop_order = service.disconnect_date, f"disconnect date, {where}", None
    if stops is None:
        stops, stops_from, stop_order = _order_date(live, "disconnect")
    if stops is None:
        stops, stops_from, stop_order = _pending_stop(live, terms)
    return Plan(service=service, starts=starts, starts_from=starts_from if starts else "",
                stops=stops, stops_from=stops_from if stops else "", terms=terms,
                orders=tuple(orders), start_order=start_order, stop_order=stop_order)


def inventory_term(service: Service) -> Term | None:
    """The inventory's monthly rate as one term ending at its contract end; after it the rate
    holds (issue 11's definitions)."""
    if service.monthly_rate is None:
        return None
    return Term(monthly_rate=service.monthly_rate, start=None, end=service.contract_end,
                end_text=service.contract_end_text, source=f"{service.source} row {service.row}")


def _contract_term(c: Contract, service: Service) -> Term | None:
    rate = c.monthly_rate if c.monthly_rate is not None else service.monthly_rate
    if rate is None:
        return None
    return Term(monthly_rate=rate, start=c.term_start, end=c.term_end, end_text="",
                source=f"contract, {c.where}", after_term=c.after_term or "hold", contract=c)


def _order_date(orders: list[Order], action: str) -> tuple[date | None, str, Order | None]:
    """The completion date of the latest completed order of this action, its source, the order."""
    done = [o for o in orders if o.action == action and o.status == "completed"
            and o.completed_date is not None]
    if not done:
        return None, "", None
    o = max(done, key=lambda o: o.completed_date)
    return o.completed_date, f"completed {action} order {o.order_id}, {o.where}", o


def _pending_stop(orders: list[Order], terms: tuple[Term, ...]
                  ) -> tuple[date | None, str, Order | None]:
    pending = [o for o in orders if o.action == "disconnect" and o.status == "pending"
               and (o.due_date or o.order_date)]
    if not pending:
        return None, "", None
    o = min(pending, key=lambda o: o.order_date or o.due_date)
    notice = next((t.contract.notice_days for t in reversed(terms)
                   if t.contract and t.contract.notice_days is not None), NOTICE_DAYS)
    candidates = [d for d in (o.due_date, o.order_date and o.order_date + timedelta(notice))
                  if d is not None]
    return max(candidates), (f"pending disconnect order {o.order_id}, {o.where}: the later of "
                             f"its due date and {notice} days' notice"), o


def services_from_orders(services: list[Service], orders) -> list[Service]:
    """Services the inventory does not list but a completed install order does (the
    spreadsheet was not updated): their lines belong to the order, not to an unknown service."""
    installs = [o for o in orders if o.service_id and o.action == "install"
                and o.status == "completed"]
    if not installs:  # no need of the inventory's keys (50,000 of them: 0.1 s)
        return []
    known = {service_key(s.service_id) for s in services}
    out: list[Service] = []
    for o in installs:
        key = service_key(o.service_id)
        if not key or key in known:
            continue
        known.add(key)
        out.append(Service(index=len(services) + len(out), source=o.source or "orders",
                           row=o.row, service_id=o.service_id, account=o.account,
                           carrier=o.carrier, description=o.description,
                           monthly_rate=o.new_rate, install_date=o.completed_date,
                           extra={"from_order": f"order {o.order_id}: not in the inventory"}))
    return out


class ExpectedBill:
    """Plans for every service of the inventory, and the charges they expect. Plans are made
    when a rule asks for one: most services of a big inventory are never in question."""

    def __init__(self, services: list[Service], records: Records = NO_RECORDS):
        self.services = services
        self.records = records
        self._plans: dict[int, Plan] = {}
        self._contracts = _by_service(records.contracts, lambda c: bool(c.service_id))
        self._orders = _by_service(records.orders, lambda o: bool(o.service_id))
        self._products = [c for c in records.contracts if not c.service_id and c.product]
        self._carriers: dict[str, str] | None = None

    def plan(self, service_index: int) -> Plan:
        got = self._plans.get(service_index)
        if got is None:
            svc = self.services[service_index]
            key = service_key(svc.service_id)
            got = self._plans[service_index] = plan_for(
                svc, [c for c in self._contracts.get(key, ()) if _same_owner(c, svc)],
                [o for o in self._orders.get(key, ()) if _same_owner(o, svc)])
        return got

    def table(self, columns: pa.Table | None = None) -> pa.Table:
        """service, starts, stops and the lowest rate of every plan (its terms, what they allow
        after their end, the inventory rate), a lower bound for queries, as columns for
        queries: from the inventory, with the plans of services that have contract rows or
        orders made in full. `columns`: the services as columns (reconcile.core.service_table),
        when the caller has them: without contracts or orders, the table is theirs as it is."""
        svc = self.services
        if columns is not None and columns.num_rows == len(svc) and not (self._contracts or self._orders):
            return pa.table({"service": pa.array(range(len(svc)), pa.int32()),
                             "starts": columns.column("install_date"),
                             "stops": columns.column("disconnect_date"),
                             "min_rate": columns.column("monthly_rate")})
        starts = [s.install_date for s in svc]
        stops = [s.disconnect_date for s in svc]
        rates = [s.monthly_rate for s in svc]
        for i, s in enumerate(svc):
            key = service_key(s.service_id)
            if key in self._contracts or key in self._orders:
                plan = self.plan(i)
                starts[i], stops[i] = plan.starts, plan.stops
                rates[i] = min((r for t in plan.terms for r in (t.monthly_rate, t.allowed_after_end)
                                if r is not None), default=None)
                if s.monthly_rate is not None:  # the rate before the first contract row
                    rates[i] = s.monthly_rate if rates[i] is None else min(rates[i], s.monthly_rate)
        return pa.table({
            "service": pa.array(range(len(svc)), pa.int32()),
            "starts": pa.array(starts, pa.date32()),
            "stops": pa.array(stops, pa.date32()),
            "min_rate": pa.array(rates, MONEY),
        })

    def orders_done(self, service_index: int, account: str, bill_date: date
                    ) -> tuple[Order | None, list[Order]]:
        """The install or change order of the service, on the bill's account, completed within
        [bill date - 90 days, bill date] (the latest), and the cancelled ones of the service;
        a one-time charge without the first is unexplained. A completed order with no
        completion date counts from its due date."""
        done, cancelled = None, []
        for o in self._orders_of(service_index, account):
            if o.action not in ("install", "change"):
                continue
            if o.status == "cancelled":
                cancelled.append(o)
                continue
            day = o.completed_date or o.due_date
            if o.status == "completed" and day is not None \
                    and bill_date - ORDER_WINDOW <= day <= bill_date:
                if done is None or day > (done.completed_date or done.due_date):
                    done = o
        return done, cancelled

    def one_time(self, service_index: int, account: str, carrier: str, description: str,
                 bill_date: date) -> OneTimeLimit | None:
        """The most a one-time charge on the service may be on a bill of this date: 0.00 when
        the contract in force waives one-time charges; else the quoted NRC of the install or
        change order that explains it (completed in the 90 days before the bill: orders_done);
        else the contract's one-time rate (the circuit's row in force, then a product row for
        the line's description). None when nothing says."""
        contracts = self._contracts_on(service_index, account, carrier, description, bill_date)
        waived = next((c for c in contracts if c.nrc_waived), None)
        if waived is not None:
            return OneTimeLimit(Decimal(0), "waived", f"contract, {waived.where}",
                                contract=waived)
        quoted, _ = self.orders_done(service_index, account, bill_date)
        if quoted is not None and quoted.quoted_nrc is not None:
            return OneTimeLimit(quoted.quoted_nrc, "quoted",
                                f"order {quoted.order_id}, {quoted.where}", order=quoted)
        rated = next((c for c in contracts if c.one_time_rate is not None), None)
        if rated is not None:
            return OneTimeLimit(rated.one_time_rate, "contract", f"contract, {rated.where}",
                                contract=rated)
        return None

    def _orders_of(self, service_index: int, account: str) -> list[Order]:
        """The service's orders on this account (an order naming no account: any)."""
        acct = account_key(account) if account else ""
        return [o for o in self.plan(service_index).orders
                if not o.account or not acct or account_key(o.account) == acct]

    def _contracts_on(self, service_index: int, account: str, carrier: str, description: str,
                      day: date) -> list[Contract]:
        """The contract rows that price the service on `day`: its circuit row in force, then
        the product row in force for the line's description (a circuit row before a product
        row)."""
        out = []
        term = self.plan(service_index).term_on(day)
        if term is not None and term.contract is not None:
            out.append(term.contract)
        products = [c for c in self.product_terms(account, carrier, description)
                    if c.term_start is None or c.term_start <= day]
        if products:
            out.append(products[-1])
        return out

    def recurring(self, service_index: int, start: date, end: date) -> ExpectedCharge | None:
        """The recurring charge expected for [start, end], by the term in force at its start;
        None when no rate is known."""
        term = self.circuit_term(service_index, start)
        return None if term is None else charge_at(term, term.monthly_rate, start, end)

    def product_terms(self, account: str, carrier: str, description: str) -> list[Contract]:
        """Product contract rows that apply to a line: its account (or every account of its
        carrier) and a product whose text its description contains, blind to case, spaces and
        punctuation; in start order."""
        text = _blind(description)
        carrier = carrier or self.carrier_of(account)
        return sorted((c for c in self._products if _blind(c.product) in text
                       and _owns(c, account, carrier)),
                      key=lambda c: (c.term_start or date.min, c.row))

    def contracted(self) -> list[int]:
        """The services that have circuit contract rows (of their own account), by index."""
        return [s.index for s in self.services if service_key(s.service_id) in self._contracts
                and self.plan(s.index).from_contracts]

    @property
    def has_products(self) -> bool:
        return bool(self._products)

    def carrier_of(self, account: str) -> str:
        """The carrier an account belongs to when its bill does not say: from the inventory,
        else from the contract and order rows naming the account (accounts decide carriers)."""
        if self._carriers is None:
            found: dict[str, str] = {}
            for r in (*self.services, *self.records.contracts, *self.records.orders):
                if r.account and r.carrier:
                    found.setdefault(account_key(r.account), r.carrier)
            self._carriers = found
        return self._carriers.get(account_key(account), "") if account else ""

    def product_term(self, account: str, carrier: str, description: str, day: date
                     ) -> Term | None:
        """The product row pricing a line on `day`: of the rows whose product its description
        contains, the most specific product text (the longest), the latest started by `day`;
        None when none has started. Its rate is per unit of the line's quantity."""
        started = [c for c in self.product_terms(account, carrier, description)
                   if c.monthly_rate is not None and (c.term_start is None or c.term_start <= day)]
        if not started:
            return None
        c = max(started, key=lambda c: (len(_blind(c.product)), c.term_start or date.min, c.row))
        return Term(monthly_rate=c.monthly_rate, start=c.term_start, end=c.term_end, end_text="",
                    source=f"contract, {c.where}", after_term=c.after_term or "hold", contract=c,
                    per_unit=True)

    def circuit_term(self, service_index: int, day: date) -> Term | None:
        """The term a service's recurring charge for a period starting on `day` is judged by:
        its circuit contract rows' (the latest started, perhaps ended), or, with no circuit row
        started by then, the inventory's rate with its contract end. Product rows are asked
        line by line (`product_term`)."""
        plan = self.plan(service_index)
        term = plan.term_on(day)
        if term is not None or not plan.from_contracts:
            return term
        return inventory_term(self.services[service_index])


def charge_at(term: Term, monthly: Decimal, start: date, end: date) -> ExpectedCharge:
    """`monthly` (a term's rate, times a line's quantity, or what it allows after its end)
    for [start, end], prorated by every accepted convention."""
    primary, accepted = _prorated(monthly, start, end)
    return ExpectedCharge(primary=primary, accepted=accepted, term=term)


def _by_service(records, keep) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in records:
        if keep(r):
            out.setdefault(service_key(r.service_id), []).append(r)
    return out


def _same_owner(record, service: Service) -> bool:
    return _owns(record, service.account, service.carrier)


def _owns(record, account: str, carrier: str) -> bool:
    """A record with no account applies to every account of its carrier (or of any carrier,
    with neither)."""
    if record.account:
        return not account or account_key(record.account) == account_key(account)
    return not record.carrier or not carrier or _blind(record.carrier) == _blind(carrier)


def _blind(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


@lru_cache(maxsize=65536)
def _prorated(rate: Decimal, start: date, end: date) -> tuple[Decimal, tuple[Decimal, ...]]:
    # a batch has few distinct rate x period pairs and up to millions of lines
    primary, accepted = expected_charges(rate, start, end)
    return primary, tuple(accepted)
