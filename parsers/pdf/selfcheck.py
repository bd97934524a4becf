"""Every PDF invoice checks itself: parsed lines against the carrier's printed figures.

Lines must add up to each printed section subtotal and, together, to the printed current
charges. A subtotal the lines miss means we misread something on that page: an error names
the page and section and the invoice is marked `self_check_failed`. When every section
agrees with its subtotal but the subtotals don't make the printed current charges, the
carrier's own figures disagree: that is a finding for the engine (invoice-total-mismatch
via `stated_total`), not a reading error -- unless a page of the invoice could not be read,
when the gap may be ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from reconcile.core.models import ChargeType
from reconcile.core.values import money

ZERO = Decimal(0)


@dataclass
class Row:
    """One charge row as read, before it becomes an InvoiceLine."""

    page: int
    no: int
    y: float
    service_id: str
    description: str
    amount: Decimal
    period: tuple | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    type_text: str = ""  # a Type column, when the table has one


@dataclass
class Section:
    name: str
    kind: ChargeType | str | None
    page: int
    period: tuple | None = None
    rows: list[Row] = field(default_factory=list)
    total: Decimal = ZERO
    verified: int = 0  # rows (from the first) a printed subtotal has confirmed
    group_start: int = 0  # first row after the last printed subtotal
    failed: bool = False
    stated: Decimal | None = None  # a total printed on the heading line, for the whole section
    stated_where: str = ""

    def add(self, row: Row) -> None:
        self.rows.append(row)
        self.total += row.amount

    def subtotal(self, printed: Decimal, page: int) -> str | None:
        """Check a printed subtotal; the reason when the lines don't make it."""
        group = sum((r.amount for r in self.rows[self.group_start:]), ZERO)
        start, self.group_start = self.group_start, len(self.rows)
        if printed == group or printed == self.total:
            self.verified = len(self.rows)
            return None
        self.failed = True
        first = self.rows[start].page if start < len(self.rows) else page
        pages = f"page {page}" if first == page else f"pages {first}-{page}"
        return (f"section '{self.name}' ({pages}): the lines read add up to {money(group)}"
                f" but the printed subtotal is {money(printed)} (difference "
                f"{money(printed - group)}); a charge line was misread or missed")

    def check_stated(self) -> tuple[str, str] | None:
        """The total printed with the heading, once every row is read: (error, note) text.
        When the section's own subtotals already vouch for its lines, a heading figure that
        differs is the carrier's figures disagreeing (a note); else our misreading (unless a
        failed subtotal has already said so)."""
        if self.stated is None or not self.rows or self.stated == self.total or self.failed:
            if self.stated is not None and self.rows:
                self.verified = len(self.rows)
            return None
        text = (f"section '{self.name}': the lines read add up to {money(self.total)} but the "
                f"total printed with its heading ({self.stated_where}) is {money(self.stated)} "
                f"(difference {money(self.stated - self.total)})")
        if self.verified == len(self.rows):
            return "", f"{text}; its printed subtotals agree with the lines"
        self.failed = True
        return f"{text}; a charge line was misread or missed", ""

    @property
    def unchecked(self) -> bool:
        return bool(self.rows) and self.verified < len(self.rows)


def take_charge_summary(sections: list[Section]) -> list[str]:
    """A "summary of charges" printed as a table (Description | Amount) reads like charge
    rows, one per section: a section whose every row is only a description naming another
    section of this bill, and an amount, is that summary. It is removed from the sections
    (its figures are not charges); what it says is checked against the sections it names."""
    by_name = {_name_key(s.name): s for s in sections if s.name}
    notes: list[str] = []
    for sec in list(sections):
        named = [by_name.get(_name_key(r.description)) for r in sec.rows]
        if not sec.rows or any(t is None or t is sec for t in named) or any(
                r.service_id or r.period or r.quantity is not None or r.unit_price is not None
                for r in sec.rows):
            continue
        sections.remove(sec)
        for row, target in zip(sec.rows, named):
            if row.amount != target.total:
                notes.append(f"the summary of charges (page {row.page}) gives '{target.name}' as "
                             f"{money(row.amount)} but its lines add up to {money(target.total)}")
    return notes


def _name_key(text: str) -> str:
    return " ".join(text.lower().replace("&", "and").split())


@dataclass
class Verdict:
    stated_total: Decimal | None = None
    total_where: str = ""
    failed: bool = False
    error: str = ""  # a reading problem to report (page in error_page)
    error_page: int | None = None
    note: str = ""


def check_invoice(sections: list[Section], printed: Decimal | None, printed_where: str,
                  adjustments: Decimal | None, unread_pages: list[int] = ()) -> Verdict:
    """Lines vs the printed current charges, once all subtotals have been checked.
    `unread_pages`: pages of this invoice that could not be read (images, damaged)."""
    v = Verdict(failed=any(s.failed for s in sections))
    lines_total = sum((s.total for s in sections), ZERO)
    unchecked = [s for s in sections if s.unchecked]
    if printed is None:
        if not any(s.verified for s in sections):
            v.failed = True
            v.error = ("no printed current charges or section subtotals found: the lines read "
                       f"({money(lines_total)}) could not be checked")
        return v
    v.stated_total, v.total_where = printed, printed_where
    if lines_total == printed:
        return v
    if adjustments and lines_total == printed + adjustments:
        # adjustments printed apart from current charges but listed with the lines
        v.stated_total = printed + adjustments
        v.total_where += f" plus adjustments {money(adjustments)}"
        return v
    if v.failed:
        return v  # the failed subtotals already say where
    if unread_pages:
        # the gap may be charges on a page we could not read: never the carrier's figures
        v.failed, v.error_page = True, unread_pages[0]
        pages = ", ".join(str(p) for p in unread_pages)
        v.error = (f"the lines read add up to {money(lines_total)} but the printed current charges "
                   f"are {money(printed)} (difference {money(printed - lines_total)}); page(s) "
                   f"{pages} could not be read and may hold the missing charges")
        return v
    if not unchecked:
        v.note = (f"printed section subtotals add up to {money(lines_total)} but the printed "
                  f"current charges are {money(printed)}: the carrier's figures disagree")
        return v
    v.failed = True
    first = unchecked[0]
    v.error_page = first.page
    names = ", ".join(f"'{s.name or 'before any section'}' (page {s.rows[0].page})" for s in unchecked)
    v.error = (f"the lines read add up to {money(lines_total)} but the printed current charges "
               f"are {money(printed)} (difference {money(printed - lines_total)}); sections with "
               f"no printed subtotal to tell which: {names}")
    return v
