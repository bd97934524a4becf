"""The customer's own records beyond the inventory: contract terms, orders and payments, as
read from their files, and the date the audit speaks from.

Each file is optional. `given` says which were given, so a rule that needs one that was not
stays silent and the reports say so once, instead of reading "no contracts" as "nothing
contracted"."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconcile.core.ids import account_key
from reconcile.core.models import Contract, Order, Payment

KINDS = ("contracts", "orders", "payments")


@dataclass(frozen=True)
class Records:
    contracts: tuple[Contract, ...] = ()
    orders: tuple[Order, ...] = ()
    payments: tuple[Payment, ...] = ()
    given: frozenset[str] = field(default_factory=frozenset)  # of KINDS: files the user gave
    files: tuple[tuple[str, str], ...] = ()  # (kind, path) read, for the reports
    unreadable: frozenset[str] = field(default_factory=frozenset)  # given, but not readable

    @classmethod
    def of(cls, contracts=(), orders=(), payments=(), given=None) -> Records:
        """Records handed over directly (docstring examples, tests): a kind counts as given
        when it has at least one record, unless `given` says otherwise."""
        contracts, orders, payments = tuple(contracts), tuple(orders), tuple(payments)
        if given is None:
            given = {k for k, v in zip(KINDS, (contracts, orders, payments)) if v}
        return cls(contracts, orders, payments, frozenset(given))

    def dispute_window(self, carrier: str, account: str) -> tuple[int, Contract] | None:
        """The days after a bill's date to dispute it, and the contract row that says so: a
        row for the account beats one for every account of the carrier; None: no row says."""
        best: tuple[int, int, Contract] | None = None
        for c in self.contracts:
            if c.dispute_window_days is None:
                continue
            if c.account:
                if not account or account_key(c.account) != account_key(account):
                    continue
                rank = 0
            elif c.carrier and carrier and _blind(c.carrier) == _blind(carrier):
                rank = 1
            else:
                continue
            if best is None or (rank, c.row) < best[:2]:
                best = (rank, c.row, c)
        return None if best is None else (best[2].dispute_window_days, best[2])


def _blind(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


NO_RECORDS = Records()  # only the inventory: no contracts, orders or payments given
