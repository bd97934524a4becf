"""The expected bill built from the inventory: when a service bills and at what rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from reconcile.core.models import Service
from reconcile.expected import ExpectedBill, plan_for


def service(**kw) -> Service:
    base = dict(index=0, source="inventory.xlsx", row=7, service_id="12.HCGS.123456..LY",
                account="8310", monthly_rate=Decimal("450.00"))
    return Service(**{**base, **kw})


def test_a_plan_bills_from_the_install_date_up_to_the_disconnect_date():
    plan = plan_for(service(install_date=date(2025, 3, 10),
                                       disconnect_date=date(2025, 6, 10)))
    assert not plan.active_on(date(2025, 3, 9))
    assert plan.active_on(date(2025, 3, 10))  # the install day bills
    assert plan.active_on(date(2025, 6, 9))
    assert not plan.active_on(date(2025, 6, 10))  # gone on its disconnect date
    assert plan.starts_from == "install date, inventory.xlsx row 7"
    assert plan.stops_from == "disconnect date, inventory.xlsx row 7"


def test_without_dates_a_service_is_active_and_its_dates_have_no_source():
    plan = plan_for(service())
    assert plan.active_on(date(1990, 1, 1)) and plan.active_on(date(2090, 1, 1))
    assert (plan.starts, plan.stops, plan.starts_from, plan.stops_from) == (None, None, "", "")


def test_the_inventory_rate_is_one_open_ended_term_that_holds_after_the_contract_end():
    plan = plan_for(service(contract_end=date(2025, 1, 31)))
    [term] = plan.terms
    assert term.start is None and term.end == date(2025, 1, 31) and term.after_term == "hold"
    assert plan.term_on(date(2026, 1, 1)) is term
    assert term.source == "inventory.xlsx row 7"


def test_no_rate_no_term_no_expected_charge():
    bill = ExpectedBill([service(monthly_rate=None)])
    assert bill.plan(0).terms == ()
    assert bill.recurring(0, date(2025, 4, 1), date(2025, 4, 30)) is None


def test_a_whole_month_is_expected_at_the_rate_and_a_partial_one_prorated_by_days():
    bill = ExpectedBill([service()])
    whole = bill.recurring(0, date(2025, 4, 1), date(2025, 4, 30))
    assert whole.primary == Decimal("450.00") and whole.highest_accepted == Decimal("450.00")
    part = bill.recurring(0, date(2025, 3, 10), date(2025, 3, 31))
    assert part.primary == Decimal("319.35")  # 22/31 of 450.00
    assert part.highest_accepted == Decimal("330.00")  # 22 of 30 days, a convention carriers use
    assert part.term is bill.plan(0).terms[0]


def test_the_term_in_force_is_the_latest_started():
    plan = plan_for(service())
    from dataclasses import replace

    first = plan.terms[0]
    renewal = replace(first, monthly_rate=Decimal("400.00"), start=date(2025, 6, 1))
    plan = replace(plan, terms=(first, renewal))
    assert plan.term_on(date(2025, 5, 31)) is first
    assert plan.term_on(date(2025, 6, 1)) is renewal


def test_the_plans_table_rules_query_agrees_with_each_plan():
    services = [service(index=0), service(index=1, install_date=date(2025, 3, 10)),
                service(index=2, disconnect_date=date(2025, 6, 10), monthly_rate=None)]
    bill = ExpectedBill(services)
    for row in bill.table().to_pylist():
        plan = bill.plan(row["service"])
        assert (row["starts"], row["stops"]) == (plan.starts, plan.stops)
        rates = [t.monthly_rate for t in plan.terms]
        assert row["min_rate"] == (min(rates) if rates else None)


def test_the_plans_table_from_the_services_columns_is_the_one_from_the_records():
    """The audit builds the plans table from the services' columns (reconcile.core.
    service_table) when no contract or order changes a plan: the same table as the one worked
    out service by service."""
    from reconcile.core.records import Records
    from reconcile.core.models import Contract
    from reconcile.core.service_table import service_table

    services = [service(index=0), service(index=1, install_date=date(2025, 3, 10)),
                service(index=2, disconnect_date=date(2025, 6, 10), monthly_rate=None)]
    columns = service_table(services)
    bill = ExpectedBill(services)
    assert bill.table(columns).equals(bill.table())
    renewal = Contract(service_id="12.HCGS.123456..LY", account="8310", monthly_rate="400.00",
                       start=date(2025, 6, 1))
    priced = ExpectedBill(services, Records(contracts=[renewal]))
    assert priced.table(columns).equals(priced.table())
    assert priced.table(columns).column("min_rate").to_pylist()[0] == Decimal("400.00")


def test_the_services_columns_examples():
    import doctest

    from reconcile.core import service_table as module

    got = doctest.testmod(module)
    assert got.attempted and not got.failed
