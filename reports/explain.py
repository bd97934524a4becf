"""One bill explained line by line, in plain words: what each charge is, what it should have
cost and whether it is right, then the bill's arithmetic.

Pure functions over a run's tables, so the same explanation comes from an audit in memory
(the bill pages `reports/bill_page.py` writes) and from a past run's folder alone
(`reports/run_folder.py` reads it back for `reconcile explain`):

    bill     the invoices.csv row (carrier, account, number, totals as printed)
    lines    the bill's rows of lines.parquet (line_id, amounts, period, match, service_index)
    findings findings.json records whose line_ids or invoice are this bill's
    services inventory rows by index (services.parquet), and the expected bill built from them
             and the contracts and orders the audit had (records.json)

A line's verdict follows the findings first: a finding on it says what is wrong, in its own
sentence. Without one, the line is compared with what the expected bill (reconcile.expected)
says it should cost, or said to be unpriced (usage, taxes) or unexplained (a service nobody
lists: "ask the carrier what this is").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from reconcile.core.lines import plain_amount
from reconcile.core.models import Service
from reconcile.core.periods import describe_period
from reconcile.core.values import money
from reconcile.expected import ExpectedBill

TOLERANCE = Decimal("0.01")  # billed and expected this close are the same charge

# what a line is, when the bill names no section
KIND_WORDS = {"recurring": "Monthly recurring charges", "one_time": "One-time charges",
              "usage": "Usage", "credit": "Credits and adjustments", "tax": "Taxes and surcharges",
              "late_fee": "Late fees", "other": "Other charges"}

# verdicts, from worst to best: the page colours and the console's marks follow them
WRONG, ASK, CHECK, FAVOUR, RIGHT, UNPRICED = ("wrong", "ask the carrier", "check",
                                              "in your favour", "right", "no problem found")


@dataclass
class LineFinding:
    id: str
    rule: str
    category: str
    explanation: str
    amount_at_issue: Decimal


@dataclass
class ExplainedLine:
    line_id: int
    where: str  # file and row, or page and line
    section: str
    service_id: str  # as billed
    description: str
    charge_type: str
    period: str
    amount: Decimal
    what: str  # what the charge is: the circuit, its location and product, contract, order
    should_cost: str  # what it should have cost, and from which record
    expected: Decimal | None
    verdict: str
    findings: list[LineFinding] = field(default_factory=list)
    service_index: int | None = None  # the inventory service, for its history
    inventory_id: str = ""  # its ID as the inventory spells it


@dataclass
class Arithmetic:
    lines_total: Decimal
    line_count: int
    current_charges: Decimal | None  # as printed
    difference: Decimal | None  # printed minus the lines
    previous_balance: Decimal | None
    payments: Decimal | None
    adjustments: Decimal | None
    amount_due: Decimal | None
    sentences: list[str]


@dataclass
class BillExplanation:
    carrier: str
    account: str
    invoice_number: str
    invoice_date: date | None
    due_date: date | None
    source: str
    sections: list[tuple[str, list[ExplainedLine]]]
    arithmetic: Arithmetic
    bill_findings: list[LineFinding]  # on the bill, on no line of it (a missing service, a total)
    notes: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[ExplainedLine]:
        return [ln for _, lines in self.sections for ln in lines]

    def verdict_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for ln in self.lines:
            out[ln.verdict] = out.get(ln.verdict, 0) + 1
        return out


def explain_bill(bill: dict, lines: list[dict], findings: list[dict],
                 services: dict[int, Service], expected: ExpectedBill | None,
                 said: dict | None = None) -> BillExplanation:
    """The explanation of one bill from its tables (see the module docstring). `lines` in any
    order: they are explained in the bill's order (line_id). `services` holds at least the
    services its lines matched; `expected` is None when the run folder has no inventory table
    (then lines are judged by their findings alone). `said`: what each service's lines were
    said to be, kept across the bills explained with the same services and expected bill (a
    service has a few lines a bill, and lines on many bills)."""
    said = {} if said is None else said
    lines = sorted(lines, key=lambda r: r["line_id"])
    ids = {r["line_id"] for r in lines}
    on_line: dict[int, list[LineFinding]] = {}
    bill_level: list[LineFinding] = []
    for f in findings:
        lf = LineFinding(id=f["id"], rule=f["rule"], category=f.get("category") or "",
                         explanation=f["explanation"], amount_at_issue=_dec(f["amount_at_issue"]))
        mine = [i for i in f.get("line_ids") or () if i in ids]
        for i in mine:
            on_line.setdefault(i, []).append(lf)
        if not mine and _same_bill(f, bill):
            bill_level.append(lf)
    sections: list[tuple[str, list[ExplainedLine]]] = []
    for row in lines:
        ln = _explain_line(row, on_line.get(row["line_id"], []), services, expected, said)
        if not sections or sections[-1][0] != ln.section:
            sections.append((ln.section, []))
        sections[-1][1].append(ln)
    notes = [] if expected is not None else [
        "This run's folder has no inventory table (services.parquet): lines are judged by "
        "their findings alone. Audit again with this version for the full explanation."]
    return BillExplanation(
        carrier=bill.get("carrier") or "", account=bill.get("account") or "",
        invoice_number=bill.get("invoice_number") or "",
        invoice_date=_day(bill.get("invoice_date")), due_date=_day(bill.get("due_date")),
        source=bill.get("source") or "", sections=sections,
        arithmetic=arithmetic(bill, [r["amount"] for r in lines]), bill_findings=bill_level,
        notes=notes)


def _same_bill(f: dict, bill: dict) -> bool:
    return (f.get("invoice_number") == bill.get("invoice_number")
            and f.get("account", "") == bill.get("account", "")
            and f.get("carrier", "") == bill.get("carrier", ""))


def _explain_line(row: dict, found: list[LineFinding], services: dict[int, Service],
                  expected: ExpectedBill | None, said: dict) -> ExplainedLine:
    kind = row.get("charge_type") or "other"
    start, end = row.get("period_start"), row.get("period_end")
    period = _period_words(start, end) if start else "no period stated"
    if start and row.get("period_inferred"):
        period += " (from the bill date)"
    amount = plain_amount(_dec(row["amount"]))
    index = row.get("service_index")
    service = services.get(index) if index is not None else None
    # what the line is depends on its service, the ID billed and how it was matched only
    key = (index if service is not None else None, row.get("service_id") or "",
           row.get("match_method"))
    what = said.get(key)
    if what is None:
        what = said[key] = _what(row, service, expected, index)
    should, exp = should_cost(row, kind, amount, service, expected, index)
    verdict = _verdict(found, row, kind, amount, exp, service)
    return ExplainedLine(
        line_id=row["line_id"], where=_where(row), section=row.get("section") or KIND_WORDS.get(kind, kind),
        service_id=row.get("service_id") or "", description=row.get("description") or "",
        charge_type=kind, period=period, amount=amount, what=what, should_cost=should,
        expected=exp, verdict=verdict, findings=found,
        service_index=index if service is not None else None,
        inventory_id=service.service_id if service is not None else "")


@lru_cache(maxsize=4096)
def _period_words(start: date, end: date | None) -> str:
    return describe_period(start, end)  # a batch has few distinct periods


def _where(row: dict) -> str:
    if row.get("page") is not None:
        return f"{row.get('source', '')} page {row['page']} line {row.get('row')}"
    return f"{row.get('source', '')} row {row.get('row')}"


def _account_level(row: dict) -> bool:
    """A charge of the account, not of a service: no ID on the line, or the matching took
    the ID for the account's own."""
    return not row.get("service_id") or row.get("match_method") == "account-level"


def _what(row: dict, service: Service | None, expected: ExpectedBill | None, index) -> str:
    billed_id = row.get("service_id") or ""
    if service is None:
        if _account_level(row):
            return "An account-level charge (no circuit or number of yours on the line)."
        if row.get("match_method") in (None, "", "none"):
            return f"{billed_id}: not in your inventory, no order: ask the carrier what this is."
        return f"{billed_id}: matched to an inventory service this run's folder does not hold."
    parts = [service.service_id]
    if billed_id and billed_id != service.service_id:
        parts[0] += f" (billed as {billed_id})"
    product = ", ".join(p for p in (service.description, service.location and f"at {service.location}") if p)
    if product:
        parts.append(product)
    parts.append(f"inventory {service.source} row {service.row}")
    if service.extra.get("from_order"):
        parts.append(service.extra["from_order"])
    if expected is not None and index is not None:
        plan = expected.plan(index)
        if plan.starts_from and not plan.starts_from.startswith("install date,"):
            parts.append(f"in service from {plan.starts} ({plan.starts_from})")
        if plan.stops:
            parts.append(f"stopped {plan.stops} ({plan.stops_from})")
        if plan.orders:
            parts.append("orders: " + "; ".join(f"{o.order_id} {o.action} {o.status}"
                                                for o in plan.orders))
    return "; ".join(parts) + "."


def should_cost(row: dict, kind: str, amount: Decimal, service: Service | None,
                 expected: ExpectedBill | None, index) -> tuple[str, Decimal | None]:
    """(what the line should have cost, in words with its source; the amount, or None)."""
    if kind == "recurring" and service is not None and expected is not None:
        start, end = row.get("period_start"), row.get("period_end")
        got = recurring_cost(start, end, row.get("quantity"), amount, expected, index)
        if got is not None:
            cost, charge, units = got
            plan = expected.plan(index)
            if charge is None and start and plan.stops and start >= plan.stops:
                return f"nothing: the service stopped on {plan.stops} ({plan.stops_from})", cost
            if charge is None:
                return f"nothing: the service starts on {plan.starts} ({plan.starts_from})", cost
            rate = money(charge.term.monthly_rate) + " a month"
            whole = charge.primary == charge.term.monthly_rate
            how = rate if whole else f"{rate}, prorated for {describe_period(start, end)}"
            if units:
                how += f" x {units.normalize():f}"
            return f"{money(cost)} ({how}; {charge.term.source})", cost
        if service.monthly_rate is None and not expected.plan(index).terms:
            return "not priced: your inventory has no rate for it", None
    if kind == "one_time" and service is not None and expected is not None:
        quoted = [o for o in expected.plan(index).orders if o.quoted_nrc is not None
                  and o.status != "cancelled"]
        if quoted:
            o = quoted[-1]
            return f"{money(o.quoted_nrc)} (quoted on order {o.order_id}, {o.where})", o.quoted_nrc
        return "not priced: no order quotes this one-time charge", None
    if kind == "usage":
        return "usage, billed in arrears: not priced by your records", None
    if kind == "credit":
        return "a credit: money back", None
    if service is None and _account_level(row):
        return "not priced: an account-level charge", None
    if service is None:
        return "unknown: nothing you keep lists it", None
    return "not priced by your records", None


def _verdict(found: list[LineFinding], row: dict, kind: str, amount: Decimal,
             expected: Decimal | None, service: Service | None) -> str:
    if found:
        cats = {f.category for f in found}
        if "overcharge" in cats:
            return WRONG
        if "unverified" in cats:
            return ASK
        if "in_your_favour" in cats:
            return FAVOUR
        return CHECK
    if service is None and not _account_level(row):
        return ASK
    if expected is None:
        return UNPRICED
    if abs(amount - expected) <= TOLERANCE:
        return RIGHT
    return FAVOUR if amount < expected else CHECK


def verdict_sentence(ln: ExplainedLine) -> str:
    """The line's verdict in words, with what is wrong when it is."""
    if ln.findings:
        return " ".join(f.explanation for f in ln.findings)
    if ln.verdict == RIGHT:
        return "Right: billed as expected."
    if ln.verdict == ASK:
        return "Not in your inventory, no order: ask the carrier what this is."
    if ln.verdict == UNPRICED:
        return "No problem found."
    gap = money(abs(ln.amount - (ln.expected or Decimal(0))))
    if ln.verdict == FAVOUR:
        return f"Billed {gap} less than expected (in your favour); no finding raised."
    return (f"Billed {gap} more than expected, but no rule raised it (a proration or billing "
            f"convention the rules accept, or money counted on another line): check it.")


# -- the bill's arithmetic -----------------------------------------------------------------

def arithmetic(bill: dict, amounts: list) -> Arithmetic:
    total = plain_amount(sum((_dec(a) for a in amounts), Decimal(0)))
    stated = _dec_or_none(bill.get("stated_total"))
    prev, paid = _dec_or_none(bill.get("previous_balance")), _dec_or_none(bill.get("payments"))
    adj, due = _dec_or_none(bill.get("adjustments")), _dec_or_none(bill.get("amount_due"))
    n = len(amounts)
    says = [f"The {n:,} line{'s' if n != 1 else ''} add up to {money(total)}."]
    diff = None
    if stated is not None:
        diff = stated - total
        if abs(diff) <= TOLERANCE:
            says.append(f"That is the bill's current charges, {money(stated)}: the lines add up.")
        else:
            way = "more" if diff > 0 else "less"
            says.append(f"The bill states current charges of {money(stated)}: {money(abs(diff))} "
                        f"{way} than its lines.")
    else:
        says.append("The bill states no total to check them against.")
    if due is not None and prev is not None:
        current = stated if stated is not None else total
        p, a = paid or Decimal(0), adj or Decimal(0)
        parts = [f"previous balance {money(prev)}"]
        if paid is not None:
            parts.append(f"payments {money(-abs(p))}")
        if adj is not None:
            parts.append(f"adjustments {money(a)}")
        parts.append(f"current charges {money(current)}")
        computed = prev - abs(p) + a + current
        if abs(computed - due) <= TOLERANCE or abs(prev + p + a + current - due) <= TOLERANCE:
            says.append(f"Amount due {money(due)} = " + " + ".join(parts) + ".")
        else:
            says.append(f"Amount due is printed as {money(due)}, but " + " + ".join(parts)
                        + f" = {money(computed)}: {money(abs(due - computed))} apart.")
    elif due is not None:
        says.append(f"Amount due: {money(due)}.")
    return Arithmetic(lines_total=total, line_count=n, current_charges=stated, difference=diff,
                      previous_balance=prev, payments=paid, adjustments=adj, amount_due=due,
                      sentences=says)


# -- plain text ----------------------------------------------------------------------------

def explanation_text(ex: BillExplanation) -> str:
    """The console's page: a heading, each section's lines, the bill-level findings, the sums."""
    head = f"Invoice {ex.invoice_number}"
    who = ", ".join(p for p in (ex.carrier, ex.account and f"account {ex.account}") if p)
    if who:
        head += f" ({who})"
    if ex.invoice_date:
        head += f", dated {ex.invoice_date.isoformat()}"
    out = [head, f"from {ex.source}" if ex.source else "", ""]
    counts = ex.verdict_counts()
    out.append(f"{len(ex.lines):,} lines: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + "."
               if ex.lines else "No lines were read from this bill.")
    number = 0
    for name, lines in ex.sections:
        out += ["", name.upper() if name else "CHARGES"]
        for ln in lines:
            number += 1
            label = " ".join(p for p in (ln.service_id, ln.description) if p) or "(no description)"
            out.append(f"{number:>4}. {label}  {ln.period}  {money(ln.amount)}  [{ln.verdict.upper()}]")
            out.append(f"      What: {ln.what}")
            out.append(f"      Should cost: {ln.should_cost}")
            out.append(f"      {verdict_sentence(ln)}" + "".join(
                f" ({f.id}, {money(f.amount_at_issue)} at issue)" for f in ln.findings))
            out.append(f"      Where: {ln.where}")
    if ex.bill_findings:
        out += ["", "ON THE BILL AS A WHOLE"]
        out += [f"  - {f.explanation} ({f.id}, {money(f.amount_at_issue)})" for f in ex.bill_findings]
    out += ["", "THE BILL'S ARITHMETIC", *[f"  {s}" for s in ex.arithmetic.sentences]]
    out += [f"Note: {n}" for n in ex.notes]
    return "\n".join(out).replace("\n\n\n", "\n\n") + "\n"


def recurring_cost(start: date | None, end: date | None, quantity, amount: Decimal,
                   expected: ExpectedBill, index: int):
    """What a recurring line of service `index` for [start, end] should have cost, as
    (cost, the expected charge or None when nothing was due, units it was billed for or None);
    None when the records do not price it. Nothing is due for a period from the service's stop
    date on, or one that ends before it starts."""
    plan = expected.plan(index)
    if start and plan.stops and start >= plan.stops:
        return Decimal(0), None, None
    if end and plan.starts and end < plan.starts:
        return Decimal(0), None, None
    if not (start and end):
        return None
    charge = expected.recurring(index, start, end)
    if charge is None:
        return None
    qty = _dec(quantity) if quantity is not None else None
    units = qty if qty is not None and qty > 1 and charge.primary * qty == amount else None
    return (charge.primary * units if units else charge.primary), charge, units

def _dec(v) -> Decimal:
    if isinstance(v, Decimal):
        return v
    return Decimal(str(v)) if v not in (None, "") else Decimal(0)


def _dec_or_none(v) -> Decimal | None:
    return None if v in (None, "") else _dec(v)


def _day(v) -> date | None:
    if v in (None, ""):
        return None
    return v if isinstance(v, date) else date.fromisoformat(str(v))

