"""A past run's folder as the tables `reconcile explain` needs, without auditing again.

What the reports wrote is enough to explain any bill of the run: lines.parquet (typed lines,
their match and `service_index`), findings.json (sentences and line_ids), invoices.csv (the
printed totals), and two small tables written for this:

    services.parquet  the inventory as read, one row per service (index = service_index),
                      services added from completed install orders included
    records.json      the contracts, orders and payments the audit was given

From those, the expected bill (reconcile.expected) is built again for the one bill asked for,
so "what it should have cost" is the audit's own answer, worked out for that bill's lines only.
"""

from __future__ import annotations

import csv
import difflib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reconcile.core.ids import account_key
from reconcile.core.lines import plain_amount
from reconcile.core.models import Contract, Order, Payment, Service
from reconcile.core.records import Records
from reconcile.core.result import AuditResult
from reconcile.expected import ExpectedBill
from reconcile.reports.cells import FORMULA_STARTS
from reconcile.reports.out_folder import RECORDS_FILE, SERVICES_FILE

DEFAULT_RUN = Path("reconcile-report")  # the audit's default --out

# lines.parquet columns a bill's explanation reads
LINE_FIELDS = ("line_id", "source", "row", "page", "carrier", "account", "invoice_number",
               "invoice_date", "service_id", "description", "charge_type", "period_start",
               "period_end", "period_inferred", "quantity", "unit_price", "amount", "section",
               "invoice", "match_method", "match_reason", "matched_service_id", "service_index")


# -- writing --------------------------------------------------------------------------------

def write_services_parquet(result: AuditResult, path: Path) -> None:
    pq.write_table(result.services_table(), path, compression="zstd")


def write_records_json(result: AuditResult, path: Path) -> None:
    r = result.records
    data = {"given": sorted(r.given),
            "files": [list(f) for f in r.files],
            "contracts": [c.model_dump(mode="json") for c in r.contracts],
            "orders": [o.model_dump(mode="json") for o in r.orders],
            "payments": [p.model_dump(mode="json") for p in r.payments]}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# -- reading --------------------------------------------------------------------------------

class RunFolderError(LookupError):
    """The folder is not a run's reports, or the bill asked for is not (only) in it."""


class UnknownBill(RunFolderError):
    pass


class AmbiguousBill(RunFolderError):
    pass


@dataclass
class BillTables:
    """One bill's rows of the run's tables: what `explain_bill` takes."""

    bill: dict
    lines: list[dict]
    findings: list[dict]
    services: dict[int, Service]
    expected: ExpectedBill | None
    keys: list[tuple[str, str, str]]  # every bill of the run (carrier, account, number)


def load_bill(run: Path, number: str, account: str | None = None) -> BillTables:
    """The tables of bill `number` in the run folder `run`. UnknownBill (with the nearest
    numbers) when no bill has that number, AmbiguousBill (listing carrier and account) when
    several do and `account` does not pick one."""
    run = Path(run)
    lines_path = run / "lines.parquet"
    if not lines_path.is_file():
        raise RunFolderError(f"{run} is not a reconcile run's folder (no lines.parquet): give "
                             f"--run DIR, the --out folder of the audit")
    invoices = read_invoices_csv(run / "invoices.csv")
    rows = _bill_lines(lines_path, number)
    owners = sorted({(r["carrier"] or "", r["account"] or "") for r in rows}
                    | {(b["carrier"], b["account"]) for b in invoices if b["invoice_number"] == number})
    if account is not None:
        owners = [o for o in owners if o[1] == account or account_key(o[1]) == account_key(account)]
    if not owners:
        raise UnknownBill(_unknown_message(lines_path, invoices, number, account))
    if len(owners) > 1:
        listed = "\n".join(f"  {c or '(no carrier)'}  account {a}" for c, a in owners)
        raise AmbiguousBill(f"invoice {number} is on {len(owners)} accounts:\n{listed}\n"
                            f"say which with --account ACCOUNT")
    carrier, acct = owners[0]
    rows = [r for r in rows if (r["carrier"] or "", r["account"] or "") == (carrier, acct)]
    bill = _bill_row(invoices, rows, carrier, acct, number)
    ids = {r["line_id"] for r in rows}
    findings = [f for f in _findings(run / "findings.json")
                if (f.get("invoice_number") == number and f.get("account") == acct
                    and f.get("carrier", "") == carrier) or ids.intersection(f.get("line_ids") or ())]
    services, expected = _services(run, {r["service_index"] for r in rows
                                         if r.get("service_index") is not None})
    keys = [(b["carrier"], b["account"], b["invoice_number"]) for b in invoices]
    return BillTables(bill, rows, findings, services, expected, keys)


def _bill_lines(path: Path, number: str) -> list[dict]:
    names = set(pq.read_schema(path).names)
    columns = [c for c in LINE_FIELDS if c in names]
    table = pq.read_table(path, columns=columns, filters=[("invoice_number", "=", number)])
    rows = table.to_pylist()
    for r in rows:
        r.setdefault("service_index", None)
    return rows


def _bill_row(invoices: list[dict], rows: list[dict], carrier: str, account: str, number: str) -> dict:
    """The invoices.csv row of the bill: by the lines' `invoice` position when they have it."""
    at = next((r["invoice"] for r in rows if r.get("invoice") is not None), None)
    if at is not None and 0 <= at < len(invoices) and invoices[at]["invoice_number"] == number:
        return invoices[at]
    for b in invoices:
        if (b["carrier"], b["account"], b["invoice_number"]) == (carrier, account, number):
            return b
    first = rows[0] if rows else {}
    return {"carrier": carrier, "account": account, "invoice_number": number,
            "invoice_date": first.get("invoice_date"), "source": first.get("source", "")}


def _unknown_message(lines_path: Path, invoices: list[dict], number: str, account: str | None) -> str:
    known = {b["invoice_number"] for b in invoices}
    col = pq.read_table(lines_path, columns=["invoice_number"]).column("invoice_number")
    known.update(v for v in pc.unique(col.combine_chunks().cast(pa.string())).to_pylist() if v)
    near = difflib.get_close_matches(number, sorted(known), n=5, cutoff=0.3)
    where = f" on account {account}" if account else ""
    msg = f"no invoice {number}{where} in this run ({len(known):,} invoices)"
    return msg + (": nearest " + ", ".join(near) if near else "")


def read_invoices_csv(path: Path) -> list[dict]:
    """invoices.csv back as the reports had it: text un-neutralised (the quote the CSV puts
    before a leading `=`, `+`, `-`, `@` taken off), money as Decimal, dates as dates."""
    if not path.is_file():
        return []
    out = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            b = {k: _text(v) for k, v in row.items()}
            for k in ("stated_total", "previous_balance", "payments", "adjustments", "amount_due",
                      "lines_total"):
                b[k] = Decimal(b[k]) if b.get(k) else None
            for k in ("invoice_date", "due_date"):
                b[k] = date.fromisoformat(b[k]) if b.get(k) else None
            out.append(b)
    return out


def _text(v: str | None) -> str:
    v = v or ""
    return v[1:] if v.startswith("'") and v[1:].startswith(FORMULA_STARTS) else v


def _findings(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8")).get("findings", [])


def _services(run: Path, wanted: set[int]) -> tuple[dict[int, Service], ExpectedBill | None]:
    path = run / SERVICES_FILE
    if not path.is_file():  # a folder written before services.parquet existed
        return {}, None
    table = pq.read_table(path)
    index = table.column("index").to_numpy()
    rows = table.take(pa.array([i for i, v in enumerate(index) if int(v) in wanted], pa.int64()))
    services = {r["index"]: service_from_row(r) for r in rows.to_pylist()}
    return services, ExpectedBill(services, read_records(run / RECORDS_FILE))  # type: ignore[arg-type]


def service_from_row(r: dict) -> Service:
    rate = r["monthly_rate"]
    return Service(index=r["index"], source=r["source"] or "", row=r["row"],
                   service_id=r["service_id"] or "", account=r["account"] or "",
                   carrier=r["carrier"] or "", description=r["description"] or "",
                   location=r["location"] or "",
                   monthly_rate=plain_amount(rate),
                   install_date=r["install_date"], disconnect_date=r["disconnect_date"],
                   contract_end=r["contract_end"], contract_end_text=r["contract_end_text"] or "",
                   extra=json.loads(r["extra"]) if r["extra"] else {})


def read_records(path: Path) -> Records:
    if not path.is_file():
        return Records()
    data = json.loads(path.read_text(encoding="utf-8"))
    return Records(contracts=tuple(Contract.model_validate(c) for c in data.get("contracts", ())),
                   orders=tuple(Order.model_validate(o) for o in data.get("orders", ())),
                   payments=tuple(Payment.model_validate(p) for p in data.get("payments", ())),
                   given=frozenset(data.get("given", ())),
                   files=tuple(tuple(f) for f in data.get("files", ())))
