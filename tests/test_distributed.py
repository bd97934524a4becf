"""The audit on a Dask cluster (reconcile/distributed.py) gives the local run's result: a
LocalCluster of two worker processes reads the files, shuffles their lines by account into 3
partitions and audits them; findings, lines, bills, errors and notes equal run_audit's. The
local default neither needs nor imports Dask."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from fixtures.independent_scenario import generate
from reconcile.audit import run_audit
from reconcile.cli import SAMPLE_DIR, main
from reconcile.reports.tabular import finding_record, lines_report_table, summary_record

ROOT = Path(__file__).resolve().parent.parent
P = 3
VICTIM = 20  # the file of the independent batch that breaks its reader


def test_the_local_audit_runs_and_imports_no_dask_when_dask_is_not_installed(tmp_path):
    script = textwrap.dedent(f"""
        import sys

        class NoDask:  # as if dask and distributed were not installed
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("dask", "distributed"):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, NoDask())
        from click.testing import CliRunner
        from reconcile.audit import run_audit
        from reconcile.cli import SAMPLE_DIR, main

        import reconcile.reports.outputs

        result = run_audit([SAMPLE_DIR / "invoices"], SAMPLE_DIR / "inventory.xlsx")
        assert result.findings and not result.errors
        loaded = [m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")]
        assert not loaded, loaded
        run = CliRunner().invoke(main, ["audit", str(SAMPLE_DIR / "invoices"), "--inventory",
                                        str(SAMPLE_DIR / "inventory.xlsx"), "--out",
                                        {str(tmp_path / "out")!r}, "--scheduler", "tcp://h:1"])
        assert run.exit_code == 2 and "pip install 'telecom-reconcile[dask]'" in run.output, \\
            run.output
    """)
    env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER_ADDRESS"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def client():
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    # a file that kills its reader's process is given up after one death, not four: quicker
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           dashboard_address=None)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """name -> (invoice paths, inventory, the local run's result)."""
    folder = tmp_path_factory.mktemp("independent")
    scenario = generate(folder, 1)
    out = {"sample": ([SAMPLE_DIR / "invoices"], SAMPLE_DIR / "inventory.xlsx"),
           "independent": (sorted(scenario.invoice_files), scenario.inventory_xlsx)}
    files = out["independent"][0]
    out["independent but the victim"] = (files[:VICTIM] + files[VICTIM + 1:], out["independent"][1])
    out["with copies"] = ([_with_copies(tmp_path_factory.mktemp("copies"))],
                          SAMPLE_DIR / "inventory.xlsx")
    return {name: (files, inventory, run_audit(files, inventory, workers=1))
            for name, (files, inventory) in out.items()}


def _with_copies(folder: Path) -> Path:
    """The sample's bills as a folder holds them: a file downloaded twice, and one bill again
    in an export of its own, with a line fewer and the carrier in capitals (a copy by its
    charges, not its total)."""
    bills = folder / "bills"
    shutil.copytree(SAMPLE_DIR / "invoices", bills)
    detail = bills / "northwind_invoice_detail.csv"
    shutil.copy(detail, bills / "northwind_invoice_detail (1).csv")
    header, *rows = detail.read_text().splitlines()
    number = rows[0].split(",")[2]
    bill = [r.replace("Northwind Communications", "NORTHWIND COMMUNICATIONS") for r in rows
            if r.split(",")[2] == number]
    (bills / "zz_one_bill.csv").write_text("\n".join([header, *bill[:-1]]) + "\n")
    return bills


def _decoded(table: pa.Table) -> pa.Table:
    """Values as written, whatever dictionaries encode them (they differ by partition)."""
    return pa.table({name: col.cast(col.type.value_type) if pa.types.is_dictionary(col.type)
                     else col for name, col in zip(table.column_names, table.columns)})


def _bill_keys(result) -> list[str]:
    """Each line's bill, by key (bills are numbered in the order of the result)."""
    return [result.invoices[i].key for i in result.lines.table.column("invoice").to_pylist()]


def _assert_same(got, want):
    assert [finding_record(f) for f in got.findings] == [finding_record(f) for f in want.findings]
    assert lines_report_table(got).equals(lines_report_table(want))
    assert _decoded(got.lines.table).equals(_decoded(want.lines.table))
    assert list(got.matches) == list(want.matches)
    # bills in reading order, whichever partition audited them
    assert [i.model_dump() for i in got.invoices] == [i.model_dump() for i in want.invoices]
    assert _bill_keys(got) == _bill_keys(want)
    assert [e.model_dump() for e in got.errors] == [e.model_dump() for e in want.errors]
    assert got.notes == want.notes
    assert (got.files, got.inventory_file) == (want.files, want.inventory_file)


@pytest.mark.parametrize("batch", ["sample", "independent", "with copies"])
def test_the_audit_on_a_cluster_equals_the_local_run(client, batches, batch):
    from reconcile.distributed import run_audit_on_dask

    invoices, inventory, want = batches[batch]
    timings: dict[str, float] = {}
    got = run_audit_on_dask(invoices, inventory, client, partitions=P, timings=timings)
    assert got.findings and len(got.lines) == len(want.lines)
    _assert_same(got, want)
    assert set(timings) == {"read", "match", "rules"}
    if batch == "with copies":  # the copies were set aside, on the cluster too
        assert [n for n in got.notes if "set aside" in n] and len(got.invoices) == len(
            batches["sample"][2].invoices)
        assert any("zz_one_bill.csv" in c for inv in got.invoices for c in inv.copies)


def failing_reader(real, victim: str, how: str, many: bool = False):
    """read_invoice_file (read_invoice_files, `many`), but file `victim` raises, or kills its
    reader's process as a crash in a native PDF library does."""
    def read(path, **kwargs):
        if any(p.name == victim for p in (path if many else [path])):
            if how == "dies":
                os._exit(1)
            raise RuntimeError("a bug in a reader")
        return real(path, **kwargs)
    return read


def break_readers(module, victim: str, how: str, setattr=setattr) -> dict:
    """failing_reader in place of the module's readers of one file and of many; returns the
    real ones."""
    real = {name: getattr(module, name) for name in ("read_invoice_file", "read_invoice_files")}
    for name, fn in real.items():
        setattr(module, name, failing_reader(fn, victim, how, many=name.endswith("files")))
    return real


def break_reader(victim: str, how: str):
    """A worker plugin: failing_reader on every worker (restarted ones too)."""
    from distributed import WorkerPlugin

    class BreakReader(WorkerPlugin):
        name = "reconcile-break-reader"

        def setup(self, worker):
            import reconcile.audit as audit_module

            self.real = break_readers(audit_module, victim, how)

        def teardown(self, worker):
            import reconcile.audit as audit_module

            for name, fn in self.real.items():
                setattr(audit_module, name, fn)

    return BreakReader()


@pytest.mark.parametrize("how", ["raises", "dies"])
def test_a_file_that_breaks_its_reader_on_a_worker_is_one_error_and_the_rest_is_audited(
        client, batches, monkeypatch, how):
    import reconcile.audit as audit_module
    from reconcile.distributed import run_audit_on_dask

    files, inventory, _ = batches["independent"]
    victim = files[VICTIM]
    # on the client too: the files a dead worker held are read again there
    break_readers(audit_module, victim.name, how, setattr=monkeypatch.setattr)
    plugin = break_reader(victim.name, how)
    client.register_plugin(plugin)
    try:
        got = run_audit_on_dask(files, inventory, client, partitions=P)
    finally:
        client.unregister_worker_plugin(plugin.name)
    assert [e.file for e in got.errors] == [str(victim)]
    reason = got.errors[0].reason
    assert ("reader failed on this file (RuntimeError" in reason if how == "raises" else
            "process died on this file" in reason), reason
    assert got.errors[0].effect == "file skipped"
    want = batches["independent but the victim"][2]
    assert [finding_record(f) for f in got.findings] == [finding_record(f) for f in want.findings]
    assert lines_report_table(got).equals(lines_report_table(want))


def test_reconcile_audit_with_a_scheduler_writes_the_local_findings(client, batches, tmp_path):
    invoices, inventory, want = batches["sample"]
    run = CliRunner().invoke(main, ["audit", *map(str, invoices), "--inventory", str(inventory),
                                    "--out", str(tmp_path)],
                             env={"DASK_SCHEDULER_ADDRESS": client.scheduler.address})
    assert run.exit_code == 0, run.output
    assert f"Auditing on the Dask cluster at {client.scheduler.address} (DASK_SCHEDULER_ADDRESS)" \
        in run.stderr
    written = json.loads((tmp_path / "findings.json").read_text())
    # the files read are named as the console shows them (relative to the folder given)
    shown = written["summary"].pop("inputs")
    assert list(shown) == ["inventory"] and Path(shown["inventory"]).name == inventory.name
    local = {"summary": summary_record(want), "findings": [finding_record(f) for f in want.findings]}
    del local["summary"]["inputs"]
    assert written == json.loads(json.dumps(local))


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path):
    pytest.importorskip("distributed")
    invoices, inventory = [SAMPLE_DIR / "invoices"], SAMPLE_DIR / "inventory.xlsx"
    run = CliRunner().invoke(main, ["audit", *map(str, invoices), "--inventory", str(inventory),
                                    "--out", str(tmp_path), "--scheduler", "not-an-address"])
    assert run.exit_code == 2 and "could not reach the Dask scheduler" in run.output, run.output


def test_contracts_orders_and_payments_on_the_cluster_as_locally(client, tmp_path):
    from fixtures.records_scenario import scenario
    from reconcile.distributed import run_audit_on_dask

    bills = scenario(tmp_path)
    kwargs = dict(contracts=bills / "contracts.xlsx", orders=bills / "orders.csv",
                  payments=bills / "payments.csv")
    local = run_audit([bills], tmp_path / "inventory.csv", **kwargs)
    remote = run_audit_on_dask([bills], tmp_path / "inventory.csv", client, **kwargs)
    assert [finding_record(f) for f in remote.findings] == [finding_record(f) for f in local.findings]
    assert [f.rule for f in remote.findings] == ["rate-above-contract"]  # the renewal's rate
    assert remote.records == local.records and remote.record_paths == local.record_paths
    assert [str(e) for e in remote.errors] == [str(e) for e in local.errors]


def test_limits_reach_the_workers(client, tmp_path):
    from reconcile.distributed import run_audit_on_dask
    from reconcile.parsers.limits import Limits

    bill = tmp_path / "bill.csv"
    bill.write_text("Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Charge Amount\n"
                    + "".join(f"8310,F-7,2025-03-01,CKT-{i},Port,1.00\n" for i in range(5)))
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("Circuit ID,BAN\nCKT-1,8310\n")
    result = run_audit_on_dask([bill], inventory, client, limits=Limits(rows=3))
    (err,) = [e for e in result.errors if e.file.endswith("bill.csv")]
    assert "past the rows limit (3)" in err.reason and not len(result.lines)


def test_the_batch_row_errors_limit_on_the_cluster_as_locally(client, tmp_path):
    from reconcile.audit import run_audit
    from reconcile.distributed import run_audit_on_dask
    from reconcile.parsers.limits import Limits

    folder = tmp_path / "bills"
    folder.mkdir()
    head = "Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Charge Amount\n"
    for k in range(5):
        folder.joinpath(f"f{k}.csv").write_text(
            head + f"8310,F-{k},2025-03-01,CKT-1,Port,1.00\n"
            + "".join(f"8310,F-{k},2025-03-01,CKT-{i},Port,lots\n" for i in range(4)))
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("Circuit ID,BAN\nCKT-1,8310\n")
    limits = Limits(batch_row_errors=6)
    local = run_audit([folder], inventory, limits=limits, workers=1)
    remote = run_audit_on_dask([folder], inventory, client, limits=limits)
    assert [str(e) for e in remote.errors] == [str(e) for e in local.errors]
    assert sum(e.effect == "row skipped" for e in local.errors) == 6
    assert "past the batch-row-errors limit, 6 for all the files" in local.errors[-1].reason
