"""Reads a PDF's printed lines into invoices: header fields, sections, charge rows, totals.

Lines come page by page, top down. Outside a charge table (the header block, the account
summary) lines are read for header fields; inside one (from a column header row, one or two
lines of titles, or on a continuation page from the first row with an amount under the
carried Amount column) each line is a charge row, a subtotal, a section heading (perhaps
with the section's total on its line), a service ID printed above its charges, or the
wrapped rest of the description above. A line with an amount that is none
of these is reported with its page and text, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from reconcile.core.charge_types import charge_type_of
from reconcile.parsers.pdf.header import label_at, line_fields, read_date
from reconcile.parsers.pdf.layout import Layout
from reconcile.parsers.pdf.lines import MONEY, MONEY_ANYWHERE, Line
from reconcile.parsers.pdf.charge_rows import Row
from reconcile.parsers.pdf.table import Columns, header_row
from reconcile.parsers.selfcheck import Section
from reconcile.parsers.columns import norm_header
from reconcile.core.models import ChargeType, InputError
from reconcile.core.values import DATE_PATTERN, parse_money, parse_period, parse_yearless_period

_PERIOD_IN_TEXT = re.compile(rf"\(?({DATE_PATTERN})\s*(?:-|–|—|to|thru|through)\s*({DATE_PATTERN})\)?", re.I)
_CONTINUED = re.compile(r"[\s(:-]*\bcontinued\b\)?\s*$|[\s:]+$", re.I)
# a service ID as printed: phone numbers start "(" or "+", and IDs may be spaced
# ("+1 212 555 0190", "17 DFGS 212 555 0273 T27"); it has a digit
_ID_LIKE = re.compile(r"^(?=\D*\d)[(+]?[A-Za-z0-9][\w./:()#+-]*(?: [\w./:()#+-]+)*$")
_ID_TOKEN = re.compile(r"^[(+]?[\w./:()#+-]*\d[\w./:()#+-]*$|^[A-Za-z]{1,5}$")  # no long words
_ID_END = re.compile(r"\s+-\s|\s{2,}")  # "ID - description" in one cell: the ID ends here
_TOTAL_KINDS = {"current_charges", "amount_due", "previous_balance", "payments", "adjustments"}
# figures no charge row starts with, whatever words follow ("Payments Received - Thank You"):
# an adjustment may be a credit row, "Total current charges for ..." a group's subtotal
_NEVER_CHARGES = {"amount_due", "previous_balance", "payments"}
_OTHER_COLUMNS = ("service_id", "period", "period_start", "period_end", "quantity", "unit_price")
_TOTAL_WORD = re.compile(r"^\s*(?:sub-?\s?)?total(?: for)?:?\s*|\s*(?:sub-?\s?)?total:?\s*$", re.I)
_PLAIN_NUMBER = re.compile(r"^\d{1,3}(?:,\d{3})*(?:\.\d+)?$|^\d+(?:\.\d+)?$")
WRAP_GAP = 1.8  # a wrapped description line sits within this many font sizes of its row


@dataclass
class Draft:
    """One invoice being read."""

    fields: dict[str, object] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    detail_total: tuple[Decimal, str] | None = None  # "Total current charges" after the detail
    first_page: int = 0
    last_page: int = 0
    unreadable: int = 0
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def section(self) -> Section | None:
        return self.sections[-1] if self.sections else None

    @property
    def rows(self) -> int:
        return sum(len(s.rows) for s in self.sections)


class PdfReader:
    def __init__(self, src: str, layout: Layout):
        self.src, self.layout = src, layout
        self.drafts = [Draft()]
        self.cols: Columns | None = None
        self.in_table = False
        self.service = ""  # service ID printed above the rows that follow
        self.row_service = ""  # the ID in the service column of the last row that printed one
        self.prev: Row | None = None  # last charge row, for its wrapped description
        self.prev_y = 0.0
        self.prev_line: Line | None = None  # the printed line of the last charge row
        self.carrier_guess = ""
        self.used: set[int] = set()  # pages that gave fields, headings, rows or totals
        self._touched: tuple[Draft | None, int] = (None, 0)  # the last (invoice, page) marked
        self.notes: list[str] = []
        self._unknown_titles: set[str] = set()
        # a bill repeats its periods and amounts (rate = amount at quantity 1): each distinct
        # text is parsed once
        self._periods: dict[str, tuple | ValueError] = {}
        self._amounts: dict[str, Decimal] = {}
        self._dates: dict[str, date | None] = {}
        self._headings: dict[str, tuple] = {}  # text -> _heading_parts
        self._fields: dict[tuple, dict] = {}  # a line's and the next's cells -> line_fields
        self._starts_total: dict[str, bool] = {}
        self._ends_total: dict[str, bool] = {}

    @property
    def d(self) -> Draft:
        return self.drafts[-1]

    @property
    def prev_bold(self) -> bool:
        """Whether the last charge row was printed in bold: a font lookup, so only asked when
        a line might be its wrapped description (few are)."""
        return self.prev_line is not None and self.prev_line.bold

    # --- page and line dispatch --------------------------------------------------------

    def page(self, lines: list[Line]) -> None:
        if not self.carrier_guess and lines and not self.layout.carrier:  # a layout's name wins
            self.carrier_guess = _largest_top_text(lines)
        self.in_table = False
        self.prev = None  # a description doesn't wrap across pages
        skip = -1
        for i, ln in enumerate(lines):
            if i == skip:
                continue  # the second line of two-line column titles
            money = ln.money
            if not money:
                cols = header_row(ln, self.layout, lines[i + 1] if i + 1 < len(lines) else None)
                if cols is not None:
                    self.cols, self.in_table, self.prev = cols, True, None
                    self._touch(ln)
                    skip = i + cols.rows - 1
                    self._note_unknown(cols, ln)
                    continue
            elif not self.in_table and self.cols is not None and self._amount_cell(ln) is not None:
                self.in_table = True  # a continuation page without its own header row
            if self.in_table:
                self.table_line(ln, money)
            else:
                self.outside_line(ln, money, lines[i + 1] if i + 1 < len(lines) else None)

    def _note_unknown(self, cols: Columns, ln: Line) -> None:
        """A column nobody names is not read: say so once, so its values never vanish unseen."""
        for title in cols.unknown:
            if title not in self._unknown_titles:
                self._unknown_titles.add(title)
                self.notes.append(f"{self.src}: page {ln.page} line {ln.no}: column '{title}' is not a "
                                  "known column and was not read (a layout YAML in parsers/layouts can "
                                  "name it)")

    def _touch(self, ln: Line) -> None:
        d, page = self.drafts[-1], ln.page
        if page == self._touched[1] and d is self._touched[0]:
            return  # nearly every line: this page of this invoice is marked already
        self._touched = d, page
        self.used.add(page)
        d.first_page = d.first_page or page
        d.last_page = max(d.last_page, page)

    def outside_line(self, ln: Line, money, below: Line | None) -> None:
        # line_fields reads only the two lines' cells: once per distinct pair (a page's top
        # lines and continued headings repeat on every page; the label regexes cost ~30 us)
        key = (_cells_key(ln), _cells_key(below) if below is not None else None)
        found = self._fields.get(key)
        if found is None:
            found = self._fields[key] = line_fields(ln, below, self.layout)
        if found:
            self.header(found, ln)
            return
        if money:
            self.heading_with_total(ln, money)  # else account summary figures: not charges
            return
        if self.heading(ln, strong=True):
            return
        if self.d.sections:
            self.service_line(ln)

    def table_line(self, ln: Line, money) -> None:
        self._touch(ln)
        if money:
            kind = self.total_kind(ln)
            if kind == "adjustments" and self.heading_with_total(ln, money):
                return  # "Adjustments (12.00)" in bold in the detail: a section and its total
            if kind:
                self.total(kind, ln, money)
            elif not self.heading_with_total(ln, money):
                self.charge_row(ln)
            return
        cont = self.is_continuation(ln)
        stands_out = cont and ln.bold and not self.prev_bold  # bold under a plain row: no wrap
        if self.heading(ln, strong=not cont or stands_out):
            return
        if self.service_line(ln, by_position=False):
            return
        if cont and not stands_out:
            self.prev.description = f"{self.prev.description} {ln.text}"
            self.prev_y = ln.y
            if self.prev.period is None:
                period_in_description(self.prev)
            return
        if self.service_line(ln) or self.heading(ln, strong=ln.bold, any_words=True):
            return
        if MONEY_ANYWHERE.search(ln.text):
            self.error(ln, "a line with an amount that is not under any column")

    # --- header fields and new invoices --------------------------------------------------

    def header(self, found: dict, ln: Line) -> None:
        d = self.d
        for key in ("invoice_number", "account"):
            new, old = found.get(key), d.fields.get(key)
            if new and old and new != old and d.rows:
                self.drafts.append(Draft())  # the next invoice in the same file
                self.cols, self.in_table, self.prev = None, False, None
                self.service = self.row_service = ""
                d = self.d
                break
        self._touch(ln)
        for f, v in found.items():
            if f not in d.fields:
                d.fields[f] = v
                d.where[f] = f"page {ln.page} line {ln.no}"

    # --- sections and services --------------------------------------------------------

    def heading_with_total(self, ln: Line, money) -> bool:
        """A bold section heading with the section's total on its line ("Monthly Charges
        1,234.56"): a heading, and a figure the section's lines must make. Only a line of
        a label and one amount is looked at (a charge row with just a description and an
        amount is not bold)."""
        if len(money) != 1 or len(ln.cells) != 2 or ln.cells[1] is not money[0]:
            return False
        label = ln.cells[0].text
        first = label.split(None, 1)[0].lower()
        if first in ("total", "totals", "subtotal", "sub-total") or not ln.bold:
            return False
        if not self.heading(ln, strong=True, any_words=self.in_table, text=label):
            return False
        sec = self.d.section
        if sec.stated is None:
            sec.stated, sec.stated_where = money_value(money[0].text), f"page {ln.page} line {ln.no}"
        return True

    def heading(self, ln: Line, strong: bool, any_words: bool = False, text: str | None = None) -> bool:
        """A section heading starts a section (or continues the current one on a new page)."""
        if not strong or len(ln.cells) > 3 or len(ln.text) > 90:
            return False
        raw = ln.text if text is None else text
        parts = self._headings.get(raw)
        if parts is None:
            parts = self._headings[raw] = _heading_parts(raw, self.layout)
        sentence, text, period, kind, digits = parts
        if sentence and not self.in_table:
            return False  # the end of a sentence ("... under Other Charges and Credits."), no heading
        if text is None:
            return False  # no name, or too long for one
        if kind is None:
            # an unknown heading: only a bold line of words inside a table
            if not any_words or digits or not self.in_table:
                return False
            kind = charge_type_of(text, "")
        cur = self.d.section
        if cur is not None and cur.name.lower() == text.lower():
            return True  # the same section, continued on a new page
        self.d.sections.append(Section(text, kind, ln.page, period))
        self.service, self.row_service, self.prev = "", "", None
        self._touch(ln)
        return True

    def service_line(self, ln: Line, by_position: bool = True) -> bool:
        lay = self.layout
        m = lay.service_line.match(ln.cells[0].text) if lay.service_line else None
        if m:
            sid = _service_id_in(ln.cells[0].text, m)
            if sid:
                self.service, self.row_service, self.prev = sid, "", None
                return True
        if lay.account_level and lay.account_level.match(ln.text):
            self.service, self.row_service, self.prev = "", "", None
            return True
        cols = self.cols
        if not by_position or not self.in_table or cols is None:
            return False
        first = ln.cells[0]
        sid_col = cols.by_field.get("service_id")
        in_sid = sid_col is not None and all(cols.column_of(c.x0, c.x1) is sid_col for c in ln.cells)
        # no service column: the ID left of the descriptions, or a bare ID heading its group
        # in bold at the table's left edge ("(212) 555-0145", "17 DFGS 212 555 0273 T27"); a
        # plain line there ("1 Dock Rd", the circuit's address) is no ID
        left = sid_col is None and (first.x1 <= cols.left_of_description() + 1 or (
            first.x0 <= cols.cols[0].x0 + 1 and all(map(_ID_TOKEN.match, first.text.split()))
            and ln.bold))
        if (in_sid or left) and _ID_LIKE.match(first.text):
            self.service, self.row_service, self.prev = first.text, "", None
            return True
        return False

    def is_continuation(self, ln: Line) -> bool:
        p = self.prev
        if p is None or p.page != ln.page or self.cols is None:
            return False
        desc = self.cols.by_field.get("description")
        if desc is None or not all(self.cols.column_of(c.x0, c.x1) is desc for c in ln.cells):
            return False
        return ln.y - self.prev_y <= WRAP_GAP * (ln.size or ln.h)  # the font size last: a lookup

    # --- rows and totals ------------------------------------------------------------------

    def _amount_cell(self, ln: Line):
        col = self.cols.by_field.get("amount") if self.cols else None
        if col is None:
            return None
        return next((c for c in ln.money if self.cols.column_of(c.x0, c.x1) is col), None)

    def total_kind(self, ln: Line) -> str | None:
        cells = ln.cells
        if len(ln.money) == len(cells):
            return "subtotal"  # an amount alone under a section: its total
        i, j = 0, len(cells) - 1  # the first and last cells of words
        while cells[i].money:
            i += 1
        while cells[j].money:
            j -= 1
        if not (self._may_start_total(cells[i].text) or self._may_end_total(cells[j].text)):
            return None  # the common case, a charge row: no label lookups
        words = [c for c in cells if not c.money]
        label = " ".join(c.text for c in words)
        sec = self.d.section
        if sec is not None and _TOTAL_WORD.sub("", label.lower()).strip() == sec.name.lower():
            return "subtotal"  # "Total Adjustments" under the Adjustments section
        hit = label_at(label, self.layout)
        if hit and hit[0] in _TOTAL_KINDS and (not hit[1] or hit[0] in _NEVER_CHARGES):
            return hit[0]
        n = norm_header(words[0].text)
        if n.startswith(("total", "subtotal", "sectiontotal")) or norm_header(label).endswith(("total", "totals")):
            # "Total Care Plan" with a period or a rate is a charge, not a total
            other = {self.cols.column_of(c.x0, c.x1).field for c in words[1:]} if self.cols else set()
            if not other & set(_OTHER_COLUMNS):
                return "subtotal"
        return None

    def _may_start_total(self, text: str) -> bool:
        """The text's first word begins total labels ("Total", "Subtotal", "Amount ..."), once
        per distinct text: a bill repeats its descriptions and IDs."""
        got = self._starts_total.get(text)
        if got is None:
            got = self._starts_total[text] = text.split(None, 1)[0].lower() in self.layout.total_words
        return got

    def _may_end_total(self, text: str) -> bool:
        """The text's last word is "total" ("Monthly Charges Total:")."""
        got = self._ends_total.get(text)
        if got is None:
            got = self._ends_total[text] = text.rsplit(None, 1)[-1].lower().rstrip(":") in ("total", "totals")
        return got

    def total(self, kind: str, ln: Line, money) -> None:
        cell = self._amount_cell(ln) or money[-1]
        amount = money_value(cell.text)
        self.prev = None
        d = self.d
        if kind == "subtotal":
            sec = d.section
            if sec is None or not sec.rows:
                return  # a summary figure above the detail
            reason = sec.subtotal(amount, ln.page)
            if reason:
                self.error(ln, reason, effect="self-check failed", quote=False)
            return
        if kind == "current_charges":
            d.detail_total = d.detail_total or (amount, f"page {ln.page} line {ln.no}")
        d.fields.setdefault(kind, amount)
        d.where.setdefault(kind, f"page {ln.page} line {ln.no}")

    def charge_row(self, ln: Line) -> None:
        got = self.cols.assign(ln)
        amount_text = got.get("amount", "")
        # one cell under Amount (the usual case: the line's last amount) was matched when the
        # line was read
        if (ln.money[-1].text != amount_text and amount_text not in [c.text for c in ln.money]
                and not MONEY.match(amount_text)):
            title = self.cols.by_field["amount"].title
            self.error(ln, f"a line with an amount but none under '{title}'")
            return
        description = got.get("description", "").strip()
        if not description:
            self.error(ln, "a charge line with no description")
            return
        type_text = got.get("charge_type", "")
        sid = got.get("service_id", "")
        if sid:
            self.row_service = sid
        else:
            sid = self.blank_service(description, type_text)
        row = Row(ln.page, ln.no, ln.y, sid, description, self._amount(amount_text), type_text=type_text)
        self.values(row, got, ln)
        if row.period is None:
            period_in_description(row)
        sections = self.drafts[-1].sections
        if sections:
            sec = sections[-1]
        else:
            sec = Section("", None, ln.page)
            sections.append(sec)
        if row.period is None and sec.period is not None:
            row.period = sec.period
        sec.add(row)
        self.prev, self.prev_y, self.prev_line = row, ln.y, ln

    def blank_service(self, description: str, type_text: str) -> str:
        """Whose charge a row with an empty service ID cell is. Under a service line, that
        service's. Many carriers print the ID once, on a service's first row, and leave the
        cell empty on its other rows (a loop under its port, a feature under its line); but a
        tax, surcharge or late fee with no ID under them is billed to the account (USF, state
        tax), as is any row once an account-level line or a new section has begun."""
        mode = self.layout.service_id_blank
        if self.service or mode == "none" or not self.row_service:
            return self.service
        if mode == "auto":
            sec = self.d.section
            kind = sec.kind if sec is not None and isinstance(sec.kind, ChargeType) else None
            kind = charge_type_of(type_text, description) if type_text or kind is None else kind
            if kind in (ChargeType.TAX, ChargeType.LATE_FEE):
                return ""
        return self.row_service

    def values(self, row: Row, got: dict, ln: Line) -> None:
        """Period, quantity and rate: a bad one is reported and left blank; the line stays."""
        try:
            if got.get("period"):
                text = got["period"]
                try:
                    row.period = self._period(text)
                except ValueError:  # "Apr 01 - Apr 30": the year is the bill's
                    row.period = parse_yearless_period(text, self.d.fields.get("invoice_date"))
                    if row.period is None:
                        raise
            elif got.get("period_start") or got.get("period_end"):
                start = self._date(got.get("period_start", ""))
                end = self._date(got.get("period_end", ""))
                if start is None or end is None or end < start:
                    raise ValueError(f"not a service period: {got.get('period_start', '')!r} to "
                                     f"{got.get('period_end', '')!r}")
                row.period = (start, end)
        except ValueError as e:
            self.error(ln, f"service period: {e}", effect="value ignored")
        for name in ("quantity", "unit_price"):
            text = got.get(name)
            if text:
                try:
                    setattr(row, name, self._amount(text))
                except ValueError as e:
                    self.error(ln, f"{name}: {e}", effect="value ignored")

    def _period(self, text: str) -> tuple | None:
        """parse_period, once per distinct text (its ValueError too)."""
        got = self._periods.get(text)
        if got is None:
            try:
                got = parse_period(text)
            except ValueError as e:
                got = e
            self._periods[text] = got
        if isinstance(got, ValueError):
            raise got
        return got

    def _date(self, text: str) -> date | None:
        """read_date, once per distinct text."""
        try:
            return self._dates[text]
        except KeyError:
            got = self._dates[text] = read_date(text, self.layout)
            return got

    def _amount(self, text: str) -> Decimal:
        """money_value, once per distinct text (a Decimal is immutable: shared safely)."""
        got = self._amounts.get(text)
        if got is None:
            got = self._amounts[text] = money_value(text)
        return got

    def error(self, ln: Line, reason: str, effect: str = "row skipped", quote: bool = True) -> None:
        if quote:
            reason = f"{reason}: {ln.text!r}"
        self.d.errors.append(InputError(file=self.src, page=ln.page, row=ln.no, reason=reason,
                                        effect=effect))
        if effect == "row skipped":
            self.d.unreadable += 1


def _cells_key(ln: Line) -> tuple:
    return tuple([(c.text, c.x0, c.x1) for c in ln.cells])


def _heading_parts(raw: str, layout: Layout) -> tuple[bool, str | None, tuple | None, ChargeType | str | None, bool]:
    """What a line's text says as a heading, whatever the reader's state: (it ends a sentence,
    the heading's name or None when it can't be one, the period printed in it, the section
    kind the layout gives the name, the name has a digit). Once per distinct text: the regexes
    cost ~20 us a line, and a bill repeats its headings ("... (continued)") and labels."""
    text = _CONTINUED.sub("", raw).strip()
    sentence = text.endswith(".")
    period = None
    m = _PERIOD_IN_TEXT.search(text)
    if m:
        try:
            period = parse_period(f"{m.group(1)} - {m.group(2)}")
        except ValueError:
            period = None
        text = (text[:m.start()] + text[m.end():]).strip(" -:")
    name_key = " ".join(text.lower().replace("&", "and").split())
    if not name_key or len(name_key.split()) > 9:
        return sentence, None, period, None, False
    return sentence, text, period, layout.section_type(name_key), any(ch.isdigit() for ch in text)


def _service_id_in(cell: str, m: re.Match) -> str:
    """The ID a service line's label introduces. It runs to the end of its cell, so a spaced
    ID is not cut at its first space; "" when that is no ID (no digit in it)."""
    group = "id" if "id" in m.re.groupindex else 1
    sid = _ID_END.split(cell[m.start(group):].strip(), 1)[0]
    return sid if _ID_LIKE.match(sid) else ""


def period_in_description(row: Row) -> None:
    """A period printed in the description ("Long distance usage (03/01/25-03/31/25)"), as
    bills with no period column do: it becomes the row's period and leaves the description."""
    found = _period_in_text(row.description)
    if found is not None:
        row.period, row.description = found


@lru_cache(maxsize=4096)
def _period_in_text(description: str) -> tuple[tuple, str] | None:
    """(period, the description without it), once per distinct description."""
    m = _PERIOD_IN_TEXT.search(description)
    if m is None:
        return None
    try:
        period = parse_period(f"{m.group(1)} - {m.group(2)}")
    except ValueError:
        return None
    rest = f"{description[:m.start()]} {description[m.end():]}"
    return period, " ".join(rest.split()).strip(" -:,")


def money_value(text: str) -> Decimal:
    """parse_money, with a short cut for the plain 1,234.56 that most cells hold."""
    if _PLAIN_NUMBER.match(text):
        return Decimal(text.replace(",", "") if "," in text else text)
    return parse_money(text)


def _largest_top_text(lines: list[Line]) -> str:
    """The carrier's name is usually the biggest text at the top of page 1."""
    top = [ln for ln in lines[:8] if not any(ch.isdigit() for ch in ln.cells[0].text)]
    if not top:
        return ""
    best = max(top, key=lambda ln: ln.size)
    return best.cells[0].text if best.size > min(ln.size for ln in lines[:8]) else ""
