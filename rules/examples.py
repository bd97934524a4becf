"""Named examples in a rule's docstring: what the rule is held to (tests/test_rules.py runs
each one through the whole engine) and what the rule glossary shows.

An example is a titled block, indented under its title, of records one a line; it ends with
the findings the whole engine gives on it (every one, so it also shows that the legitimate
lines beside the error are left alone):

    Example: disconnected in March, billed for April::

        service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-03-10
        invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
        line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        expect | billed-after-disconnect | 12.HCGS.123456..LY | 88231 | 450.00

    Not a finding: the month of the disconnect, billed in advance::

        ...
        expect | nothing

`Example:` must show its rule firing; `Not a finding:` is a legitimate look-alike the rule must
leave alone (other rules may still fire on it, and are then expected). Fields are separated by
`|`: the kind, its positional fields, then `key value` fields in any order; a key alone is a
yes/no flag. A line starting with `|` goes on with the record above it; a line starting with
`#` is a comment. Unknown kinds and keys are refused.

    service | <service id> [| account <a>] [| carrier <c>] [| rate <monthly rate>]
        [| installed <date>] [| disconnected <date>] [| contract-end <date>]
    invoice | <number> | account <a> | billed <date> [| carrier <c>] [| due <date>]
        [| total <stated total>] [| previous-balance <m>] [| payments <m>] [| adjustments <m>]
        [| current-charges <m>] [| amount-due <m>]
    line | <service id or -> | <type> | <start>..<end> or - | <amount> [| <description>]
        [| qty <n>] [| unit <unit price>]
    contract | <service id or -> [| product <name>] [| carrier <c>] [| account <a>]
        [| rate <monthly>] [| one-time <m>] [| discount <pct>] [| term <start>..<end>]
        [| after-term hold|month-to-month] [| mtm <pct>] [| dispute-window <days>]
        [| late-fee <pct>] [| nrc-waived] [| notice <days>]
    order | <order id> | action install|change|disconnect | status completed|pending|cancelled
        [| carrier <c>] [| account <a>] [| service <id>] [| ordered <date>] [| due <date>]
        [| foc <date>] [| completed <date>] [| nrc <quoted nrc>] [| new-rate <m>]
        [| description <text>]
    payment | <account> | paid <date> | amount <m> [| reference <r>] [| invoice <number>]
    as-of | <date>          (the date the audit speaks from; default 2025-12-31 in examples)
    expect | <rule id> | <service id or -> | <invoice number or -> | <money at issue>
    expect | nothing

A line belongs to the invoice record above it; its type is read like a bill's (MRC, NRC, usage,
tax, credit, late fee...). Dates are ISO, money is exact, percentages may end in `%`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from reconcile.core.charge_types import charge_type_of
from reconcile.core.models import Contract, Invoice, InvoiceLine, Order, Payment, Service
from reconcile.core.records import Records
from reconcile.core.values import parse_date

EXAMPLES_AS_OF = date(2025, 12, 31)  # examples do not change meaning with the day they run
_TITLE = re.compile(r"^(Example|Not a finding): (.+)::\s*$")
_TITLE_START = re.compile(r"^(Example|Not a finding): ")
# positional fields of each kind (the line's description is optional), then its known keys
POSITIONAL = {
    "service": ("service",), "invoice": ("invoice",), "contract": ("service",),
    "order": ("order",), "payment": ("account",), "as-of": ("date",),
    "line": ("service", "type", "period", "amount", "description"),
}
KEYS = {
    "service": {"account", "carrier", "rate", "installed", "disconnected", "contract-end"},
    "invoice": {"account", "carrier", "billed", "due", "total", "previous-balance", "payments",
                "adjustments", "current-charges", "amount-due"},
    "line": {"qty", "unit"},
    "contract": {"product", "carrier", "account", "rate", "one-time", "discount", "term",
                 "after-term", "mtm", "dispute-window", "late-fee", "nrc-waived", "notice"},
    "order": {"action", "status", "carrier", "account", "service", "ordered", "due", "foc",
              "completed", "nrc", "new-rate", "description"},
    "payment": {"paid", "amount", "reference", "invoice"},
    "as-of": set(),
}
REQUIRED = {"invoice": {"account", "billed"}, "order": {"action", "status"},
            "payment": {"paid", "amount"}}
_LINE_KEY = re.compile(r"^(qty|unit) \S+$")  # a 5th line field like this is a key, no description


class ExampleError(ValueError):
    """A docstring example that cannot be read; the message names the example and record."""


@dataclass(frozen=True)
class Record:
    """One record as written: its kind and its (name, text) fields, positional ones first."""

    kind: str
    fields: tuple[tuple[str, str], ...]
    text: str

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.fields if k == name), default)


@dataclass(frozen=True)
class Expected:
    rule: str
    service_id: str  # "" for an invoice- or account-level finding
    invoice_number: str
    at_issue: Decimal


@dataclass
class ExampleInputs:
    """Fresh records for one run (the engine fills in carriers and periods on what it gets)."""

    services: list[Service] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    lines: list[InvoiceLine] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    as_of: date = EXAMPLES_AS_OF

    @property
    def records(self) -> Records:
        """Contracts, orders and payments as the engine takes them: a kind is given when the
        example has one."""
        return Records.of(self.contracts, self.orders, self.payments)


@dataclass(frozen=True)
class Example:
    name: str
    is_finding: bool  # False: a legitimate look-alike ("Not a finding:")
    records: tuple[Record, ...]
    expected: tuple[Expected, ...]  # every finding of the whole engine; () for `expect | nothing`

    @property
    def title(self) -> str:
        return f"{'Example' if self.is_finding else 'Not a finding'}: {self.name}"

    def inputs(self) -> ExampleInputs:
        out = ExampleInputs()
        for n, rec in enumerate(self.records, start=1):
            try:
                _BUILD[rec.kind](out, rec, n)
            except ValueError as e:
                raise ExampleError(f"{self.title}: {rec.text}: {e}") from None
        return out


def parse_examples(doc: str) -> tuple[Example, ...]:
    """Every titled example block in a docstring, in order; each one checked by building it."""
    examples = []
    rows = doc.splitlines()
    for i, row in enumerate(rows):
        title = _TITLE.match(row)
        if not title:
            if _TITLE_START.match(row):  # else the example would silently not be one
                raise ExampleError(f"{row.strip()}: an example's title is one line ending "
                                   f"with '::'")
            continue
        body = []
        for text in rows[i + 1:]:
            if text.strip() and not text[:1].isspace():
                break  # back at the docstring's margin: the block ended
            text = text.strip()
            if text.startswith("|") and body:  # a long record goes on under itself
                body[-1] += " " + text
            elif text and not text.startswith("#"):
                body.append(text)
        examples.append(_example(title.group(1) == "Example", title.group(2).strip(), body))
    return tuple(examples)


def _example(is_finding: bool, name: str, body: list[str]) -> Example:
    kind = "Example" if is_finding else "Not a finding"
    records, expected, nothing = [], [], False
    for text in body:
        try:
            if text.split("|")[0].strip() == "expect":
                parts = [p.strip() for p in text.split("|")[1:]]
                if parts == ["nothing"]:
                    nothing = True
                    continue
                if len(parts) != 4:
                    raise ValueError("write `expect | <rule> | <service id or -> | <invoice> | "
                                     "<money at issue>` or `expect | nothing`")
                rule, sid, invoice, amount = parts
                expected.append(Expected(rule, "" if sid == "-" else sid,
                                         "" if invoice == "-" else invoice, _amount(amount)))
            else:
                records.append(_record(text))
        except ValueError as e:
            raise ExampleError(f"{kind}: {name}: {text}: {e}") from None
    if nothing == bool(expected):
        raise ExampleError(f"{kind}: {name}: end it with its `expect | <rule> | <service> | "
                           f"<invoice> | <money>` lines, or with `expect | nothing`")
    example = Example(name, is_finding, tuple(records), tuple(expected))
    example.inputs()  # a typo in a date or amount shows here, not in the first test run
    return example


def _record(text: str) -> Record:
    kind, *parts = [p.strip() for p in text.split("|")]
    if kind not in POSITIONAL:
        raise ValueError(f"unknown record kind {kind!r} (known: {', '.join(POSITIONAL)}, expect)")
    names = POSITIONAL[kind]
    n = len(names)
    if kind == "line":  # the description is optional
        n = 5 if len(parts) > 4 and not _LINE_KEY.match(parts[4]) else 4
    if len(parts) < n:
        raise ValueError(f"a {kind} record starts with {' | '.join(names[:n])}")
    fields = list(zip(names, parts[:n]))
    for part in parts[n:]:
        key, _, value = part.partition(" ")
        if key not in KEYS[kind]:
            known = ", ".join(sorted(KEYS[kind]))
            raise ValueError(f"unknown {kind} field {key!r} (known: {known})")
        fields.append((key, value.strip()))
    missing = REQUIRED.get(kind, set()) - {k for k, _ in fields}
    if missing:
        raise ValueError(f"a {kind} record needs {', '.join(sorted(missing))}")
    return Record(kind, tuple(fields), text)


# --- building the engine's records ------------------------------------------------------------


def _amount(v: str) -> Decimal:
    try:
        return Decimal(v)
    except InvalidOperation:
        raise ValueError(f"not an amount: {v!r}") from None


def _money(v: str | None) -> Decimal | None:
    return None if v is None else _amount(v)


def _pct(v: str | None) -> Decimal | None:
    return None if v is None else _amount(v.rstrip("%").strip())


def _days(v: str | None) -> int | None:
    return None if v is None else int(v.removesuffix("days").strip())


def _dates(v: str | None) -> tuple:
    """'<start>..<end>' or '-' -> (start, end)."""
    if v is None or v == "-":
        return None, None
    a, sep, b = v.partition("..")
    if not sep:
        raise ValueError(f"a period is written <start>..<end>, not {v!r}")
    return parse_date(a), parse_date(b)


def _service(out: ExampleInputs, r: Record, n: int) -> None:
    out.services.append(Service(
        index=len(out.services), source="example", row=n, service_id=r.get("service"),
        account=r.get("account", ""), carrier=r.get("carrier", ""),
        monthly_rate=_money(r.get("rate")), install_date=parse_date(r.get("installed")),
        disconnect_date=parse_date(r.get("disconnected")),
        contract_end=parse_date(r.get("contract-end"))))


def _invoice(out: ExampleInputs, r: Record, n: int) -> None:
    out.invoices.append(Invoice(
        carrier=r.get("carrier", ""), account=r.get("account"), invoice_number=r.get("invoice"),
        invoice_date=parse_date(r.get("billed")), due_date=parse_date(r.get("due")),
        source="example",
        stated_total=_money(r.get("total")), total_where="example" if r.get("total") else "",
        previous_balance=_money(r.get("previous-balance")), payments=_money(r.get("payments")),
        adjustments=_money(r.get("adjustments")), current_charges=_money(r.get("current-charges")),
        amount_due=_money(r.get("amount-due"))))


def _line(out: ExampleInputs, r: Record, n: int) -> None:
    if not out.invoices:
        raise ValueError("a line belongs to the invoice record above it; there is none")
    inv = out.invoices[-1]
    start, end = _dates(r.get("period"))
    sid, desc = r.get("service"), r.get("description", "")
    line = InvoiceLine(
        line_id=len(out.lines), source="example", row=n, carrier=inv.carrier, account=inv.account,
        invoice_number=inv.invoice_number, invoice_date=inv.invoice_date,
        service_id="" if sid == "-" else sid, description=desc,
        charge_type=charge_type_of(r.get("type"), desc), period_start=start, period_end=end,
        quantity=_money(r.get("qty")), unit_price=_money(r.get("unit")),
        amount=_amount(r.get("amount")))
    inv.line_ids.append(line.line_id)
    out.lines.append(line)


def _contract(out: ExampleInputs, r: Record, n: int) -> None:
    start, end = _dates(r.get("term"))
    sid = r.get("service")
    out.contracts.append(Contract(
        carrier=r.get("carrier", ""), account=r.get("account", ""),
        service_id="" if sid == "-" else sid, product=r.get("product", ""),
        monthly_rate=_money(r.get("rate")), one_time_rate=_money(r.get("one-time")),
        discount_pct=_pct(r.get("discount")), term_start=start, term_end=end,
        after_term=r.get("after-term"), mtm_rate_pct=_pct(r.get("mtm")),
        dispute_window_days=_days(r.get("dispute-window")), late_fee_pct=_pct(r.get("late-fee")),
        nrc_waived=r.get("nrc-waived") is not None, notice_days=_days(r.get("notice"))))


def _order(out: ExampleInputs, r: Record, n: int) -> None:
    out.orders.append(Order(
        order_id=r.get("order"), carrier=r.get("carrier", ""), account=r.get("account", ""),
        service_id=r.get("service", ""), action=r.get("action"), status=r.get("status"),
        order_date=parse_date(r.get("ordered")), due_date=parse_date(r.get("due")),
        foc_date=parse_date(r.get("foc")), completed_date=parse_date(r.get("completed")),
        quoted_nrc=_money(r.get("nrc")), new_rate=_money(r.get("new-rate")),
        description=r.get("description", "")))


def _payment(out: ExampleInputs, r: Record, n: int) -> None:
    out.payments.append(Payment(
        account=r.get("account"), date=parse_date(r.get("paid")), amount=_amount(r.get("amount")),
        reference=r.get("reference", ""), invoice_number=r.get("invoice", "")))


def _as_of(out: ExampleInputs, r: Record, n: int) -> None:
    out.as_of = parse_date(r.get("date"))


_BUILD = {"as-of": _as_of, "service": _service, "invoice": _invoice, "line": _line, "contract": _contract,
          "order": _order, "payment": _payment}
