"""Dispute packets an agent sends the same day: one per carrier x account x rule, for findings
with money at issue on the answer's bills (dated in the --months up to as-of) whose dispute
deadline is on or after as-of (`--all-disputes` adds the expired ones, marked), so the packets
add up to the answer's claimable money. Unknown services get packets too, worded as a request to identify or
credit the charges.

    disputes/index.csv                       one row per packet: total, deadline, folder
    disputes/<carrier>_<account>_<rule>/claim.xlsx, claim.csv, letter.pdf

A packet's total is the sum of its findings' money at issue, to the cent. The claim sheet has
the fields carriers ask for (bill date, BAN, invoice, circuit or number, charge, period, billed,
disputed, reason, finding id, deadline, evidence); the letter (reportlab) says who, which
account, the total, the reason in plain words, the table, the evidence and the deadline.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from reconcile.core.models import Category, Finding
from reconcile.core.periods import describe_period
from reconcile.core.result import AuditResult
from reconcile.core.values import money
from reconcile.reports.answer import Deadline, deadline_of, months_back
from reconcile.reports.cells import BOM, safe_text
from reconcile.reports.workbook import Book
from reconcile.rules import RULES

CLAIM_COLUMNS = [("bill_date", "date"), ("account", "text"), ("invoice_number", "text"),
                 ("circuit_or_number", "text"), ("charge", "text"), ("service_period", "text"),
                 ("amount_billed", "money"), ("amount_disputed", "money"), ("reason", "text"),
                 ("finding_id", "text"), ("dispute_deadline", "date"), ("evidence", "text")]
INDEX_COLUMNS = ["folder", "carrier", "account", "rule", "findings", "total", "earliest_deadline",
                 "expired"]
DISPUTED = (Category.OVERCHARGE, Category.UNVERIFIED)


@dataclass
class Packet:
    carrier: str
    account: str
    rule: str
    claims: list[tuple[Finding, Deadline | None]]

    @property
    def total(self) -> Decimal:
        return sum((f.amount_at_issue for f, _ in self.claims), Decimal(0))

    @property
    def deadline(self):
        days = [d.day for _, d in self.claims if d is not None]
        return min(days) if days else None

    @property
    def unknown(self) -> bool:
        return self.rule == "unknown-service"


def packets(result: AuditResult) -> list[Packet]:
    """The packets of a run, biggest first: claimable findings (and expired ones with
    --all-disputes), grouped by carrier, account and rule."""
    as_of = result.options.as_of
    since = months_back(as_of, result.options.months)
    groups: dict[tuple[str, str, str], list] = defaultdict(list)
    for f in result.findings:
        if f.category not in DISPUTED or f.amount_at_issue <= 0:
            continue
        if f.invoice_date is None or not since < f.invoice_date <= as_of:
            continue  # the answer's bills only: a bill dated after as-of is not claimed yet
        d = deadline_of(result, f)
        if d is not None and d.day < as_of and not result.options.all_disputes:
            continue
        groups[(f.carrier, f.account, f.rule)].append((f, d))
    out = [Packet(c, a, r, sorted(claims, key=lambda x: (x[0].invoice_date or as_of,
                                                         x[0].service_id)))
           for (c, a, r), claims in groups.items()]
    return sorted(out, key=lambda p: (-p.total, p.carrier, p.account, p.rule))


def write_disputes(result: AuditResult, folder: Path) -> list[Packet]:
    folder.mkdir()
    made = packets(result)
    used: set[str] = set()
    with (folder / "index.csv").open("w", newline="", encoding="utf-8") as fh:
        fh.write(BOM)
        index = csv.writer(fh)
        index.writerow(INDEX_COLUMNS)
        for p in made:
            name = _folder_name(p, used)
            where = folder / name
            where.mkdir()
            rows = [_claim_row(result, f, d) for f, d in p.claims]
            _write_claim_csv(rows, where / "claim.csv")
            wb = Book(where / "claim.xlsx")
            wb.add_sheet("Claim", CLAIM_COLUMNS, rows)
            wb.close()
            write_letter(result, p, rows, where / "letter.pdf")
            expired = p.deadline is not None and p.deadline < result.options.as_of
            index.writerow([name, safe_text(p.carrier), safe_text(p.account), p.rule,
                            len(p.claims), f"{p.total:.2f}",
                            p.deadline.isoformat() if p.deadline else "",
                            "yes" if expired else "no"])
    return made


def _folder_name(p: Packet, used: set[str]) -> str:
    base = "_".join(_slug(x) or "none" for x in (p.carrier, p.account, p.rule))[:120]
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}-{n}"
    used.add(name)
    return name


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def _claim_row(result: AuditResult, f: Finding, d: Deadline | None) -> list:
    return [f.invoice_date, f.account, f.invoice_number, f.service_id or f.matched_service_id,
            f.description, describe_period(f.period_start, f.period_end)
            if f.period_start else "", f.billed_amount, f.amount_at_issue, f.explanation, f.id,
            d.day if d else None, evidence_reference(f)]


def evidence_reference(f: Finding) -> str:
    """Where a person checks the finding: the bill lines, then the customer's own records."""
    ev = f.evidence
    refs = [ln["where"] for ln in ev.get("lines", []) if isinstance(ln, dict) and "where" in ln]
    for key, label in (("inventory_row", "inventory_row"), ("contract", "contract_row"),
                       ("order", "order_row"), ("payment", "payment_row")):
        item = ev.get(key)
        if isinstance(item, dict) and item.get(label):
            refs.append(f"{key.replace('_row', '')}: {item[label]}")
    for key in ("stop_from", "start_from"):
        if ev.get(key):
            refs.append(str(ev[key]))
    return "; ".join(refs)


def _write_claim_csv(rows: list[list], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(BOM)
        w = csv.writer(fh)
        w.writerow([name for name, _ in CLAIM_COLUMNS])
        for row in rows:
            w.writerow([_csv_value(v, kind) for v, (_, kind) in zip(row, CLAIM_COLUMNS)])


def _csv_value(v, kind: str) -> str:
    if v is None:
        return ""
    if kind == "money":
        return f"{v:.2f}"
    if kind == "date":
        return v.isoformat()
    return safe_text(v)


def write_letter(result: AuditResult, p: Packet, rows: list[list], path: Path) -> None:
    """The letter to the carrier's billing-dispute desk."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=7, leading=8)
    rule = next((r for r in RULES if r.id == p.rule), None)
    what = rule.summary if rule else p.rule
    as_of = result.options.as_of
    deadline = f"{p.deadline:%d %B %Y}" if p.deadline else "as soon as possible"
    expired = p.deadline is not None and p.deadline < as_of

    def para(text: str, style=body):
        return Paragraph(escape(text), style)

    story = [para(f"To: {p.carrier or 'the carrier'}, billing disputes", styles["Heading2"]),
             para(f"Date: {as_of:%d %B %Y}"),
             para(f"Account (BAN): {p.account}"),
             Spacer(0, 8)]
    if p.unknown:
        story.append(para(
            f"We ask you to identify the services behind the charges below, or to credit them: "
            f"they are billed to our account for circuits or numbers we have no record of "
            f"ordering. Total in question: {money(p.total)}."))
    else:
        story.append(para(f"We dispute {money(p.total)} billed on this account and ask for a "
                          f"credit. The reason, in plain words: {what}"))
    story.append(para(f"Please respond before {deadline}, the end of the dispute window."
                      + (" (This deadline has passed; we ask you to consider the claim in "
                         "good faith.)" if expired else "")))
    story.append(Spacer(0, 8))
    head = ["Bill date", "Invoice", "Circuit / number", "Period", "Billed", "Disputed",
            "Reason"]
    table = [head] + [[
        r[0].isoformat() if r[0] else "", para(str(r[2]), small), para(str(r[3]), small),
        para(r[5], small), money(r[6]), money(r[7]), para(r[8], small)] for r in rows]
    table.append(["", "", "", "Total", "", money(p.total), ""])
    t = Table(table, colWidths=[52, 60, 80, 70, 52, 52, 170], repeatRows=1)
    t.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 7), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                           ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey)]))
    story += [t, Spacer(0, 8), para("Evidence", styles["Heading3"])]
    for r in rows:
        story.append(para(f"{r[9]}: {r[11] or 'the bill line above'}", small))
    SimpleDocTemplate(str(path), pagesize=letter, title=f"Dispute {p.account} {p.rule}",
                      leftMargin=36, rightMargin=36).build(story)
