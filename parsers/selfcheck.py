"""Every invoice checks itself: its lines against the carrier's printed figures, whatever the format.

Lines must add up to each printed subtotal and, together, to the printed total (current
charges). A subtotal the lines miss means we misread something: an error names the page (PDF)
or row (table) and section, and the invoice is marked `self_check_failed`. When every section
agrees with its subtotal but the subtotals don't make the printed total, the carrier's own
figures disagree: that is a finding for the engine (invoice-total-mismatch via
`stated_total`), not a reading error -- unless a page of the invoice could not be read, when
the gap may be ours.

A reader fills `Section`s with its charge rows (anything with `amount`, and `page` in a PDF or
`row` in a table), calls `Section.subtotal` at each printed subtotal, and `check_invoice` once
the invoice is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from reconcile.core.models import ChargeType
from reconcile.core.values import money

ZERO = Decimal(0)


@dataclass
class Section:
    """Charge rows under one heading (PDF), or a table's rows up to the subtotal that closes them."""

    name: str
    kind: ChargeType | str | None = None
    page: int | None = None
    period: tuple | None = None
    rows: list = field(default_factory=list)  # with .amount, and .page (PDF) or .row (table)
    total: Decimal = ZERO
    verified: int = 0  # rows (from the first) a printed subtotal has confirmed
    group_start: int = 0  # first row after the last printed subtotal
    failed: bool = False
    stated: Decimal | None = None  # a total printed on the heading line, for the whole section
    stated_where: str = ""

    def add(self, row) -> None:
        self.rows.append(row)
        self.total += row.amount

    def subtotal(self, printed: Decimal, page: int | None = None, row: int | None = None) -> str | None:
        """Check a subtotal printed on `page` (PDF) or `row` (table) against the rows since
        the last one (or all rows: a running subtotal); the reason when the lines don't make it."""
        group = sum((r.amount for r in self.rows[self.group_start:]), ZERO)
        start, self.group_start = self.group_start, len(self.rows)
        if printed == group or printed == self.total:
            self.verified = len(self.rows)
            return None
        self.failed = True
        return (f"section '{self.name}' ({self._span(start, page, row)}): the lines read add up to "
                f"{money(group)} but the printed subtotal is {money(printed)} (difference "
                f"{money(printed - group)}); a charge line was misread or missed")

    def _span(self, start: int, page: int | None, row: int | None) -> str:
        """Where the rows a subtotal closes lie: "pages 2-3" of a PDF, "rows 5-9" of a table."""
        unit, end = ("page", page) if page is not None else ("row", row)
        first = getattr(self.rows[start], unit) if start < len(self.rows) else end
        return f"{unit} {end}" if first == end else f"{unit}s {first}-{end}"

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


@dataclass
class Verdict:
    stated_total: Decimal | None = None
    total_where: str = ""
    failed: bool = False
    error: str = ""  # a reading problem to report (page in error_page)
    error_page: int | None = None
    note: str = ""


def check_invoice(sections: list[Section], printed: Decimal | None, printed_where: str,
                  adjustments: Decimal | None = None, unread_pages: list[int] = (),
                  rows_may_go_unseen: bool = True) -> Verdict:
    """Lines vs the printed total (current charges), once all subtotals have been checked.
    `unread_pages`: pages of this invoice that could not be read (images, damaged).
    `rows_may_go_unseen`: a PDF row misread as something else leaves no trace, so a gap no
    subtotal explains may be ours; a table's row is read or reported (False), so such a gap is
    the carrier's figures, and an invoice that prints no figures at all is no reading problem."""
    v = Verdict(failed=any(s.failed for s in sections))
    lines_total = sum((s.total for s in sections), ZERO)
    unchecked = [s for s in sections if s.unchecked]
    if printed is None:
        if rows_may_go_unseen and not any(s.verified for s in sections):
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
    if unchecked and not rows_may_go_unseen:
        return v  # every row was read or reported: the gap is the carrier's, the rules' to find
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
