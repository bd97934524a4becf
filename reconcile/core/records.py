"""The customer's own records beyond the inventory: contract terms, orders and payments, as
read from their files, and the date the audit speaks from.

Each file is optional. `given` says which were given, so a rule that needs one that was not
stays silent and the reports say so once, instead of reading "no contracts" as "nothing
contracted"."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconcile.core.models import Contract, Order, Payment

KINDS = ("contracts", "orders", "payments")


@dataclass(frozen=True)
class Records:
    contracts: tuple[Contract, ...] = ()
    orders: tuple[Order, ...] = ()
    payments: tuple[Payment, ...] = ()
    given: frozenset[str] = field(default_factory=frozenset)  # of KINDS: files the user gave
    files: tuple[tuple[str, str], ...] = ()  # (kind, path) read, for the reports

    @classmethod
    def of(cls, contracts=(), orders=(), payments=(), given=None) -> Records:
        """Records handed over directly (docstring examples, tests): a kind counts as given
        when it has at least one record, unless `given` says otherwise."""
        contracts, orders, payments = tuple(contracts), tuple(orders), tuple(payments)
        if given is None:
            given = {k for k, v in zip(KINDS, (contracts, orders, payments)) if v}
        return cls(contracts, orders, payments, frozenset(given))


NO_RECORDS = Records()  # only the inventory: no contracts, orders or payments given
