"""What a PDF layout YAML (parsers/layouts/*.yaml) may hold, checked before it is used.

A misspelt key would otherwise be ignored and the layout silently read less: it is refused,
naming the file, the key and the nearest valid key; a value of the wrong type (a list where a
mapping belongs, a section type that doesn't exist, a regex that doesn't compile) is refused
too. Word lists (labels, columns, patterns, recognise) take one string or a list of them.
See generic.yaml for what each key means.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, create_model, field_validator

from reconcile.core.models import ChargeType

BY_LINE = "by_line"  # section type: decided per line (negative = credit, else description)
COLUMN_FIELDS = ("service_id", "description", "period", "period_start", "period_end", "quantity",
                 "unit_price", "amount", "charge_type", "ignore")
HEADER_FIELDS = ("account", "invoice_number", "invoice_date", "due_date", "previous_balance",
                 "payments", "adjustments", "current_charges", "amount_due", "carrier")
SECTION_TYPES = tuple(t.value for t in ChargeType) + (BY_LINE,)


def _as_list(value):
    return [value] if isinstance(value, str) else value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as e:
        raise ValueError(f"{value!r} is not a regular expression ({e})") from None
    return value


def _words_by_field(name: str, fields: tuple[str, ...], regexes: bool = False) -> type[BaseModel]:
    """A mapping of the given field names to one string or a list of them."""

    def check(cls, value):
        value = _as_list(value)
        if regexes and isinstance(value, list):
            for rx in value:
                if isinstance(rx, str):
                    _regex(rx)
        return value

    return create_model(name, __config__=ConfigDict(extra="forbid"),
                        __validators__={"one_or_many": field_validator("*", mode="before")(check)},
                        **{f: (list[str], []) for f in fields})


HeaderLabels = _words_by_field("HeaderLabels", HEADER_FIELDS)
HeaderPatterns = _words_by_field("HeaderPatterns", HEADER_FIELDS, regexes=True)
ColumnTitles = _words_by_field("ColumnTitles", COLUMN_FIELDS)


class LayoutFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    carrier: str | None = ""
    recognise: list[str] = []  # phrases all found on page 1
    labels: HeaderLabels = HeaderLabels()
    patterns: HeaderPatterns = HeaderPatterns()
    sections: dict[str, str] = {}  # heading regex -> section type
    by_line_default: ChargeType | None = None
    columns: ColumnTitles = ColumnTitles()
    service_line: str | None = None
    account_level: str | None = None
    service_id_blank: Literal["auto", "above", "none"] | None = None  # None: generic's
    date_formats: list[str] = []

    @field_validator("recognise", "date_formats", mode="before")
    @classmethod
    def one_or_many(cls, value):
        return _as_list(value)

    @field_validator("sections")
    @classmethod
    def section_types(cls, sections: dict[str, str]) -> dict[str, str]:
        for rx, kind in sections.items():
            _regex(rx)
            if kind not in SECTION_TYPES:
                near = difflib.get_close_matches(kind, SECTION_TYPES, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ValueError(f"section {rx!r}: {kind!r} is no section type{hint}; "
                                 f"types are {', '.join(SECTION_TYPES)}")
        return sections

    @field_validator("service_line", "account_level")
    @classmethod
    def compiles(cls, value: str | None) -> str | None:
        return value if value is None else _regex(value)


def read_layout_file(path: Path) -> dict:
    """The layout's keys as written (word lists as lists), or ValueError naming the file and
    every problem in it."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a layout is a mapping of keys (name, recognise, labels, ...)")
    try:
        return LayoutFile.model_validate(data).model_dump(exclude_unset=True)
    except ValidationError as e:
        raise ValueError(f"{path}: " + "; ".join(_problem(err) for err in e.errors())) from None


def _problem(err: dict) -> str:
    *parents, key = err["loc"] or ("",)
    where = f" under {'.'.join(map(str, parents))}" if parents else ""
    if err["type"] == "extra_forbidden":
        valid = _keys_at(parents)
        near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
        hint = f"did you mean {near[0]!r}?" if near else f"keys are {', '.join(valid)}"
        return f"unknown key {key!r}{where} ({hint})"
    if err["type"] in ("model_type", "dict_type"):
        message = f"should be a mapping (indented key: value lines), not {type(err['input']).__name__}"
    else:
        message = err["msg"].removeprefix("Value error, ")
    return f"{'.'.join(map(str, err['loc']))}: {message}"


def _keys_at(parents: list) -> list[str]:
    model = LayoutFile
    for name in parents:
        model = model.model_fields[name].annotation
    return list(model.model_fields)
