"""Carrier PDF layouts, described as data in `parsers/layouts/*.yaml`.

`generic.yaml` holds what most bills print (header labels, section headings, column names);
a carrier layout says how to recognise it (phrases on page 1) and adds its own labels,
header regexes, headings and column names, which are tried before the generic ones. A new
carrier is one YAML file and one test; an unseen carrier is read with `generic` alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from reconcile.parsers.columns import norm_header
from reconcile.parsers.pdf.layout_schema import BY_LINE, read_layout_file
from reconcile.core.models import ChargeType

LAYOUT_DIR = Path(__file__).resolve().parent.parent / "layouts"
TOTAL_FIELDS = ("previous_balance", "payments", "adjustments", "current_charges", "amount_due")


@dataclass
class Layout:
    name: str
    carrier: str = ""
    recognise: list[str] = field(default_factory=list)  # phrases all found on page 1
    labels: list[tuple[str, str]] = field(default_factory=list)  # (normalised label, field), longest first
    label_index: dict[str, str] = field(default_factory=dict)  # normalised label -> field
    total_words: frozenset[str] = frozenset()  # first words of total-like labels, lower case
    patterns: dict[str, list[re.Pattern]] = field(default_factory=dict)  # field -> regexes (group 1)
    sections: list[tuple[re.Pattern, ChargeType | str]] = field(default_factory=list)
    by_line_default: ChargeType = ChargeType.ONE_TIME
    columns: dict[str, str] = field(default_factory=dict)  # normalised header -> field
    service_line: re.Pattern | None = None
    account_level: re.Pattern | None = None
    # an empty service ID cell: "auto" the ID above unless the row is a tax or late fee (the
    # account's), "above" always the ID above, "none" the account (or the service line above)
    service_id_blank: str = "auto"
    date_formats: list[str] = field(default_factory=list)
    source: str = ""

    def section_type(self, heading: str) -> ChargeType | str | None:
        for pattern, kind in self.sections:
            if pattern.match(heading):
                return kind
        return None

    def recognised_by(self, page1_text: str) -> int:
        """How many of this layout's phrases page 1 has; 0 unless it has all of them."""
        if not self.recognise:
            return 0
        text = " ".join(page1_text.lower().split())
        return len(self.recognise) if all(p in text for p in self.recognise) else 0


def _compile(rx: str) -> re.Pattern:
    return re.compile(rx, re.IGNORECASE)


def _kind(value: str) -> ChargeType | str:
    return BY_LINE if value == BY_LINE else ChargeType(value)


def load_layout(path: Path, base: Layout | None) -> Layout:
    """One layout file, on top of `base` (generic) for a carrier's; ValueError naming the file
    and the key for a file that doesn't follow layout_schema."""
    data = read_layout_file(path)
    lay = Layout(name=data["name"], carrier=str(data.get("carrier") or ""), source=str(path))
    lay.recognise = [" ".join(str(p).lower().split()) for p in (data.get("recognise") or [])]
    labels = {(norm_header(lab), f) for f, labs in (data.get("labels") or {}).items() for lab in labs}
    lay.patterns = {f: [_compile(rx) for rx in rxs] for f, rxs in (data.get("patterns") or {}).items()}
    lay.sections = [(_compile(rx), _kind(v)) for rx, v in (data.get("sections") or {}).items()]
    lay.columns = {norm_header(h): f for f, hs in (data.get("columns") or {}).items() for h in hs}
    if data.get("service_line"):
        lay.service_line = _compile(data["service_line"])
    if data.get("account_level"):
        lay.account_level = _compile(data["account_level"])
    if data.get("by_line_default"):
        lay.by_line_default = ChargeType(data["by_line_default"])
    lay.service_id_blank = (data.get("service_id_blank")
                            or (base.service_id_blank if base else "auto"))
    lay.date_formats = list(data.get("date_formats") or [])
    own_labels = set(labels)
    if base is not None:  # the carrier's entries first, then the generic ones
        labels |= set(base.labels)
        for f, rxs in base.patterns.items():
            lay.patterns.setdefault(f, []).extend(rxs)
        lay.sections += base.sections
        lay.columns = {**base.columns, **lay.columns}
        lay.service_line = lay.service_line or base.service_line
        lay.account_level = lay.account_level or base.account_level
    lay.labels = sorted(labels, key=lambda lf: (-len(lf[0]), lf))
    own = {lab: f for lab, f in sorted(own_labels)}
    lay.label_index = {**(base.label_index if base else {}), **own}  # the carrier's word wins
    lay.total_words = frozenset({"total", "totals", "subtotal", "sub-total", "sub", "section"} | {
        str(lab).split()[0].lower() for f, labs in (data.get("labels") or {}).items()
        if f in TOTAL_FIELDS for lab in labs} | (base.total_words if base else frozenset()))
    return lay


@lru_cache(maxsize=1)
def load_layouts() -> tuple[Layout, tuple[Layout, ...]]:
    """(generic, carrier layouts)."""
    generic = load_layout(LAYOUT_DIR / "generic.yaml", None)
    carriers = tuple(load_layout(p, generic) for p in sorted(LAYOUT_DIR.glob("*.yaml"))
                     if p.name != "generic.yaml")
    return generic, carriers


def find_layout(page1_text: str) -> Layout:
    generic, carriers = load_layouts()
    best = max(carriers, key=lambda lay: lay.recognised_by(page1_text), default=None)
    if best is not None and best.recognised_by(page1_text):
        return best
    return generic
