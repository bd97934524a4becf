"""A batch audited one account partition at a time gives exactly the findings, lines and
bills of the batch audited whole (every rule is account-local)."""

from __future__ import annotations


import pytest

from reconcile.audit import run_audit
from reconcile.cli import SAMPLE_DIR
from reconcile.partitions import split_by_account
from reconcile.reports.tabular import finding_record, lines_report_table


def audit(partitions: int):
    invoices = sorted(p for p in (SAMPLE_DIR / "invoices").rglob("*") if p.is_file())
    return run_audit(invoices, SAMPLE_DIR / "inventory.xlsx", workers=1, partitions=partitions)


@pytest.fixture(scope="module")
def whole():
    return audit(1)


@pytest.mark.parametrize("n", [2, 5])
def test_partitioned_audit_equals_the_whole(whole, n):
    parts = audit(n)
    assert [finding_record(f) for f in parts.findings] == [finding_record(f) for f in whole.findings]
    assert lines_report_table(parts).equals(lines_report_table(whole))
    assert [i.key for i in parts.invoices] == [i.key for i in whole.invoices]  # reading order


def test_every_account_lands_in_exactly_one_partition(whole):
    table = whole.lines.table
    pieces = split_by_account(table, whole.invoices, 4)
    assert sum(p.num_rows for _, p in pieces) == table.num_rows
    accounts = [set(p.column("account").to_pylist()) for _, p in pieces]
    for i, a in enumerate(accounts):
        for b in accounts[i + 1:]:
            assert not a & b
    assert sum(len(bills) for bills, _ in pieces) == len(whole.invoices)
    assert len([a for a in accounts if a]) > 1, "the sample's accounts should spread over partitions"


def test_an_empty_batch_in_several_partitions_is_an_empty_audit():
    from reconcile.audit import audit_parsed
    from reconcile.core.result import AuditOptions

    got = audit_parsed([], [], [], AuditOptions(), partitions=3)
    assert len(got.lines) == 0 and got.findings == [] and got.invoices == []
