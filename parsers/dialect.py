"""Known carrier export layouts, described as data in `parsers/dialects/*.yaml`.

A dialect says how to recognise an export (headers it always has), which of its columns
hold which invoice field, how its category values map to charge types, and, for wide
exports that put each charge category in its own column, which columns to unpivot
("melt") into one invoice line each. A new carrier export is one YAML file and one test.
See parsers/dialects/README.md for the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from reconcile.parsers.columns import INVOICE_FIELDS, norm_header
from reconcile.core.models import ChargeType

DIALECT_DIR = Path(__file__).parent / "dialects"

_KEYS = {"name", "carrier", "recognise", "columns", "charge_types", "default_charge_type", "melt",
         "skip_zero", "skip_rows", "invoice_number_from", "period_without_year", "level"}
# how fine an export's lines are: a bill's finest source is audited, coarser ones only checked
LEVELS = ("account", "line", "detail")
MELT_ROW_TYPE = "row"  # melt value: the line's type comes from the row's charge_type column


@dataclass
class Dialect:
    name: str
    carrier: str
    recognise: list[str]  # headers the export always has
    columns: dict[str, str] = field(default_factory=dict)  # invoice field -> header
    unmapped: list[str] = field(default_factory=list)  # fields this export has no column for
    charge_types: dict[str, ChargeType] = field(default_factory=dict)  # category value -> type
    default_charge_type: ChargeType | None = None
    # header -> type of its line; None: the row's own charge type (melt value "row")
    melt: dict[str, ChargeType | None] = field(default_factory=dict)
    skip_zero: bool = False  # rows of 0.00 are detail of allowances, not charges
    skip_rows: dict[str, set[str]] = field(default_factory=dict)  # header -> values (normed)
    invoice_number_from: list[str] = field(default_factory=list)  # fields to build one from
    period_without_year: bool = False  # "Jul 17 -Aug 16": the year comes from the bill date
    level: str = "detail"  # account: category totals; line: totals per number; detail
    source: str = ""

    def matches(self, headers: list[str]) -> bool:
        have = {norm_header(h) for h in headers}
        return all(norm_header(h) in have for h in self.recognise)

    def charge_type(self, value: str) -> ChargeType | None:
        return self.charge_types.get(norm_header(value))


def _load(path: Path) -> Dialect:
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}; keys are {sorted(_KEYS)}")
    columns = data.get("columns") or {}
    bad = set(columns) - set(INVOICE_FIELDS)
    if bad:
        raise ValueError(f"{path}: columns has unknown field(s) {sorted(bad)}; "
                         f"fields are {sorted(INVOICE_FIELDS)}")
    number_from = list(data.get("invoice_number_from") or [])
    bad = set(number_from) - set(INVOICE_FIELDS)
    if bad:
        raise ValueError(f"{path}: invoice_number_from has unknown field(s) {sorted(bad)}")
    return Dialect(
        name=data["name"],
        carrier=data.get("carrier", ""),
        recognise=list(data["recognise"]["headers"]),
        columns={k: str(v) for k, v in columns.items() if v is not None},
        unmapped=[k for k, v in columns.items() if v is None],
        charge_types={norm_header(k): ChargeType(v)
                      for k, v in (data.get("charge_types") or {}).items()},
        default_charge_type=(ChargeType(data["default_charge_type"])
                             if data.get("default_charge_type") else None),
        melt={k: (None if v == MELT_ROW_TYPE else ChargeType(v))
              for k, v in (data.get("melt") or {}).items()},
        skip_zero=bool(data.get("skip_zero", False)),
        skip_rows={str(k): {norm_header(x) for x in (v if isinstance(v, list) else [v])}
                   for k, v in (data.get("skip_rows") or {}).items()},
        invoice_number_from=number_from,
        period_without_year=bool(data.get("period_without_year", False)),
        level=_level(path, data.get("level", "detail")),
        source=str(path),
    )


def _level(path: Path, value) -> str:
    if value not in LEVELS:
        raise ValueError(f"{path}: level must be one of {list(LEVELS)}, not {value!r}")
    return value


@lru_cache(maxsize=1)
def load_dialects() -> tuple[Dialect, ...]:
    out = [_load(path) for path in sorted(DIALECT_DIR.glob("*.yaml"))]
    # most specific first: a dialect recognised by more headers wins
    return tuple(sorted(out, key=lambda d: -len(d.recognise)))


def find_dialect(headers: list[str]) -> Dialect | None:
    for d in load_dialects():
        if d.matches(headers):
            return d
    return None


def all_signature_headers() -> set[str]:
    """Headers that help find a dialect export's header row beyond the field aliases. Aliases
    themselves are left out: the header scorer already counts them, and counting a cell twice
    would let a title line such as 'Invoice Date:  06-Feb-23' pass for a header."""
    aliases = {norm_header(a) for name, al in INVOICE_FIELDS.items()
               for a in [name.replace("_", " "), *al]}
    return {h for d in load_dialects() for h in d.recognise if norm_header(h) not in aliases}
