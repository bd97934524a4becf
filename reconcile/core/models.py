"""The normalised records every parser produces and every rule reads.

Parsers turn carrier files into `Invoice` + `InvoiceLine`, inventories into `Service`;
matching links lines to services; rules turn them into `Finding`s. Money is always
`Decimal`; identifiers (accounts, circuit IDs, phone numbers) are always text.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChargeType(str, Enum):
    """What kind of charge a line is; decides which rules look at it."""

    RECURRING = "recurring"  # MRC, billed a month in advance
    ONE_TIME = "one_time"  # NRC: installation, change, activation
    USAGE = "usage"  # billed in arrears
    TAX = "tax"  # taxes, surcharges, regulatory fees
    CREDIT = "credit"  # credits and adjustments
    LATE_FEE = "late_fee"
    OTHER = "other"


class InvoiceLine(BaseModel):
    """One charge as the carrier billed it."""

    model_config = ConfigDict(validate_assignment=False)

    line_id: int  # position in the batch (run-local; `key` is the stable id)
    key: str = ""  # stable across runs: file content hash + row, or page and line
    source: str  # file the line came from
    row: int  # row (CSV/XLSX, 1-based physical line) or printed line on its page (PDF)
    page: int | None = None
    carrier: str = ""
    account: str
    invoice_number: str
    invoice_date: date | None = None
    service_id: str = ""  # as billed; "" for account-level charges
    description: str = ""
    charge_type: ChargeType = ChargeType.OTHER
    period_start: date | None = None
    period_end: date | None = None
    period_inferred: bool = False  # True when the period was derived from the bill date
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal
    section: str = ""  # PDF section heading or export category, for evidence

    @property
    def where(self) -> str:
        """Where a person finds this line: file and row, or file, page and line on the page."""
        if self.page is not None:
            return f"{self.source} page {self.page} line {self.row}"
        return f"{self.source} row {self.row}"

    def __reduce__(self):
        # Lines cross process boundaries by the million (reader pool): plain values pickle
        # ~4x faster than pydantic's default state, and they were validated when built.
        return (_line_from_values, (tuple(self.__dict__.values()),))


_LINE_FIELDS = tuple(InvoiceLine.model_fields)


def _line_from_values(values: tuple) -> InvoiceLine:
    line = InvoiceLine.__new__(InvoiceLine)
    object.__setattr__(line, "__dict__", dict(zip(_LINE_FIELDS, values)))
    object.__setattr__(line, "__pydantic_fields_set__", set(_LINE_FIELDS))
    object.__setattr__(line, "__pydantic_extra__", None)
    object.__setattr__(line, "__pydantic_private__", None)
    return line


class Invoice(BaseModel):
    """One carrier invoice (bill) for one account."""

    carrier: str = ""
    account: str
    invoice_number: str
    invoice_date: date | None = None
    due_date: date | None = None
    source: str
    stated_total: Decimal | None = None  # the carrier's own total, when printed
    total_where: str = ""  # which column or row the stated total came from
    # the account summary, when the bill prints one (PDF): for balance-forward checks later
    previous_balance: Decimal | None = None
    payments: Decimal | None = None
    adjustments: Decimal | None = None
    current_charges: Decimal | None = None  # this bill's new charges, as printed
    amount_due: Decimal | None = None
    line_ids: list[int] = Field(default_factory=list)
    unreadable_rows: int = 0  # rows of this invoice that could not be read
    pages: int | None = None
    self_check_failed: bool = False  # parsed lines don't reproduce the printed subtotals
    seq: int | None = None  # the bill's place in the batch (run-local), for report order
    copies: list[str] = Field(default_factory=list)  # files with the same bill, set aside
    level: str = "detail"  # how fine its lines are: account (category totals), line, detail
    # service IDs of 0.00 rows the reader skipped (zero-rated detail): on the bill, at nothing
    zero_rated_ids: list[str] = Field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.carrier, self.account, self.invoice_number)


class Service(BaseModel):
    """One row of the provisioning inventory: a circuit, line or trunk the business has."""

    index: int  # position in the inventory
    source: str
    row: int
    service_id: str
    account: str = ""
    carrier: str = ""
    description: str = ""
    location: str = ""
    monthly_rate: Decimal | None = None
    install_date: date | None = None
    disconnect_date: date | None = None
    contract_end: date | None = None
    contract_end_text: str = ""  # e.g. "MTM" when the term has no end date
    extra: dict[str, str] = Field(default_factory=dict)  # columns we don't interpret

    def evidence(self) -> dict[str, str]:
        """The inventory row as a person would check it."""
        out = {
            "inventory_row": f"{self.source} row {self.row}",
            "service_id": self.service_id,
            "account": self.account,
            "carrier": self.carrier,
            "description": self.description,
            "location": self.location,
            "monthly_rate": _money_text(self.monthly_rate),
            "install_date": _date_text(self.install_date),
            "disconnect_date": _date_text(self.disconnect_date),
            "contract_end": _date_text(self.contract_end) or self.contract_end_text,
        }
        out.update(self.extra)
        return {k: v for k, v in out.items() if v}


class Contract(BaseModel):
    """One contract term: the agreed price of a circuit, or of a product on an account (a row of
    the contracts file). A renewal is a new row whose term starts where the last one ended."""

    source: str = ""  # the contracts file, for evidence
    row: int = 0
    carrier: str = ""
    account: str = ""  # "": every account of the carrier
    service_id: str = ""  # the circuit or number it prices, or "" when it prices a product
    product: str = ""  # e.g. "DIA 100M": applies to lines whose description contains it
    monthly_rate: Decimal | None = None  # during the term, before any discount; per unit
    one_time_rate: Decimal | None = None
    discount_pct: Decimal | None = None  # percent off the recurring rate
    term_start: date | None = None
    term_end: date | None = None
    after_term: Literal["hold", "month-to-month"] | None = None  # None: hold
    mtm_rate_pct: Decimal | None = None  # under month-to-month, the most billed, % of the rate
    dispute_window_days: int | None = None
    late_fee_pct: Decimal | None = None  # percent a month of the past-due balance
    nrc_waived: bool = False
    notice_days: int | None = None  # notice a disconnect needs (None: the default, 30)

    @property
    def where(self) -> str:
        return f"{self.source} row {self.row}" if self.source else "contract"

    def evidence(self) -> dict[str, str]:
        """The contract row as a person would check it."""
        out = {
            "contract_row": self.where, "carrier": self.carrier, "account": self.account,
            "service_id": self.service_id, "product": self.product,
            "monthly_rate": _money_text(self.monthly_rate),
            "one_time_rate": _money_text(self.one_time_rate),
            "discount_pct": _plain(self.discount_pct),
            "term_start": _date_text(self.term_start), "term_end": _date_text(self.term_end),
            "after_term": self.after_term or "", "mtm_rate_pct": _plain(self.mtm_rate_pct),
            "nrc_waived": "yes" if self.nrc_waived else "",
        }
        return {k: v for k, v in out.items() if v}


class Order(BaseModel):
    """A service order placed with a carrier: install, change or disconnect (a row of the
    orders file)."""

    source: str = ""
    row: int = 0
    order_id: str
    carrier: str = ""
    account: str = ""
    service_id: str = ""
    action: Literal["install", "change", "disconnect"]
    status: Literal["completed", "pending", "cancelled"]
    order_date: date | None = None
    due_date: date | None = None
    foc_date: date | None = None  # firm order commitment: the date the carrier promised
    completed_date: date | None = None
    quoted_nrc: Decimal | None = None
    new_rate: Decimal | None = None
    description: str = ""

    @property
    def where(self) -> str:
        return f"{self.source} row {self.row}" if self.source else f"order {self.order_id}"

    def evidence(self) -> dict[str, str]:
        out = {
            "order_row": self.where, "order_id": self.order_id, "action": self.action,
            "status": self.status, "account": self.account, "service_id": self.service_id,
            "order_date": _date_text(self.order_date), "due_date": _date_text(self.due_date),
            "foc_date": _date_text(self.foc_date),
            "completed_date": _date_text(self.completed_date),
            "quoted_nrc": _money_text(self.quoted_nrc), "new_rate": _money_text(self.new_rate),
        }
        return {k: v for k, v in out.items() if v}


class Payment(BaseModel):
    """Money the business paid a carrier on an account (a row of the payments file)."""

    source: str = ""
    row: int = 0
    account: str
    date: date
    amount: Decimal
    reference: str = ""
    invoice_number: str = ""  # the invoice it pays, when the remittance says

    @property
    def where(self) -> str:
        return f"{self.source} row {self.row}" if self.source else f"payment {self.reference}"

    def evidence(self) -> dict[str, str]:
        out = {"payment_row": self.where, "account": self.account,
               "payment_date": _date_text(self.date), "amount": _money_text(self.amount),
               "reference": self.reference, "invoice_number": self.invoice_number}
        return {k: v for k, v in out.items() if v}


class Severity(str, Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Category(str, Enum):
    """What a finding's money means; only overcharges are money at issue in the headline."""

    OVERCHARGE = "overcharge"  # the carrier billed what it should not: money it owes back
    UNVERIFIED = "unverified"  # billed for a service the inventory does not list: ask first
    RISK = "risk"  # no money now (a service missing from a bill: back-billing risk)
    ADVICE = "advice"  # no money now; a saving to act on (a contract ending)
    IN_YOUR_FAVOUR = "in_your_favour"  # the carrier under-billed: shown, never added


def severity_for(category: Category, at_issue: Decimal) -> Severity:
    """Severity follows the money and what it means, not only the rule."""
    if category is Category.OVERCHARGE:
        return Severity.HIGH if at_issue >= 500 else Severity.MEDIUM if at_issue >= 50 \
            else Severity.LOW
    if category is Category.UNVERIFIED:
        return Severity.MEDIUM if at_issue >= 500 else Severity.LOW
    return Severity.LOW


class Finding(BaseModel):
    """One problem found on a bill, with the money at issue and the evidence to check it."""

    id: str = ""  # stable across runs of the same inputs; see `finding_id`
    rule: str
    severity: Severity
    category: Category | None = None  # set by the rule, else its module's CATEGORY
    carrier: str = ""
    account: str = ""
    invoice_number: str = ""
    invoice_date: date | None = None
    service_id: str = ""  # as billed
    matched_service_id: str = ""  # as in the inventory
    description: str = ""
    period_start: date | None = None
    period_end: date | None = None
    billed_amount: Decimal = Decimal("0")
    expected_amount: Decimal = Decimal("0")
    amount_at_issue: Decimal = Decimal("0")  # never negative
    explanation: str
    evidence: dict = Field(default_factory=dict)
    line_ids: list[int] = Field(default_factory=list)  # the lines it is about (lines.csv line_id)

    def model_post_init(self, __context) -> None:
        if not self.id:
            self.id = finding_id(self)


def finding_id(f: Finding) -> str:
    """A short hash of what the finding is about, so the same problem keeps its id across runs:
    what was billed, not where the file was (paths change between runs). The audit numbers
    true repeats (one row billed three times) with -2, -3 (reconcile.audit)."""
    parts = [f.rule, f.carrier, f.account, f.invoice_number, f.service_id,
             str(f.period_start or ""), str(f.period_end or ""), f.description,
             f"{f.billed_amount:.2f}"]
    return f.rule[:3].upper() + "-" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


class InputError(BaseModel):
    """A file, page, row or value that could not be read; the batch goes on without it."""

    file: str
    row: int | None = None
    page: int | None = None
    reason: str
    effect: str = "row skipped"  # "file skipped" | "row skipped" | "value ignored" | "page skipped"

    def __str__(self) -> str:
        where = self.file
        if self.page is not None:
            where += f" page {self.page}"
        if self.row is not None:
            where += f" row {self.row}"
        return f"{where}: {self.reason} ({self.effect})"


def _money_text(v: Decimal | None) -> str:
    return "" if v is None else f"{v:.2f}"


def _date_text(v: date | None) -> str:
    return "" if v is None else v.isoformat()


def _plain(v: Decimal | None) -> str:
    return "" if v is None else f"{v.normalize():f}"
