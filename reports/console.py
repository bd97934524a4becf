"""The short summary `reconcile audit` prints, and the run's messages made readable by people:
file paths relative to the folder given, repeated notes grouped, what was not checked."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pyarrow.compute as pc

from reconcile.core.models import Category
from reconcile.core.result import AuditResult
from reconcile.core.values import money
from reconcile.reports.answer import answer, answer_lines
from reconcile.rules import RULES, NotChecked, not_checked

NOTES_IN_CONSOLE = 5
FILES_NAMED_IN_A_NOTE = 3


@dataclass(frozen=True)
class BatchRead:
    """How much of the batch was read, and how much of its money the inventory explains."""

    files: int  # invoice files looked at (the inventory not counted)
    files_read: int  # of them, read (a file skipped whole is not)
    bills: int
    lines: int
    billed: Decimal
    to_services: Decimal | None  # billed on lines with a service ID (None: matches unknown)
    matched: Decimal | None  # of it, on lines matched to an inventory service

    @property
    def matched_share(self) -> Decimal | None:
        """Matched money as a share (0-100) of the money billed to services."""
        if self.to_services is None or self.matched is None or self.to_services <= 0:
            return None
        return (self.matched * 100 / self.to_services).quantize(Decimal("0.1"))


def batch_read(result: AuditResult) -> BatchRead:
    skipped = {e.file for e in result.errors
               if e.effect == "file skipped" and e.row is None and e.page is None
               and e.file != result.inventory_file and e.file not in result.record_paths.values()}
    looked = set(result.files) | skipped
    to_services = matched = None
    t = result.lines.table
    if "match_method" in t.column_names and "service" in t.column_names:
        method = t.column("match_method")
        if hasattr(method.type, "value_type"):  # dictionary-encoded
            method = method.cast(method.type.value_type)
        billed_to_service = pc.not_equal(method, "account-level")
        to_services = _sum(pc.filter(t.column("amount"), billed_to_service))
        matched = _sum(pc.filter(t.column("amount"), pc.is_valid(t.column("service"))))
    return BatchRead(files=len(looked), files_read=len(looked - skipped),
                     bills=len(result.invoices), lines=len(result.lines),
                     billed=result.total_billed, to_services=to_services, matched=matched)


def _sum(column) -> Decimal:
    total = pc.sum(column).as_py()
    return Decimal(0) if total is None else total


def unchecked(result: AuditResult) -> list[NotChecked]:
    """The rules the inventory did not let run, or run in full (rules/registry.py)."""
    if not result.services:
        return []  # an audit without an inventory is refused before it gets here
    return not_checked(result.services, result.inventory_columns or None, result.records.given,
                       result.records.unreadable)


def unchecked_lines(gaps: list[NotChecked]) -> list[str]:
    """One line per reason: rules silent for want of one file are named together, once."""
    grouped: dict[str, list[str]] = {}
    out: list[str] = []
    for gap in gaps:
        if gap.limit:
            out.append(str(gap))
        else:
            grouped.setdefault(gap.reason, []).append(gap.rule)
    out[:0] = [f"not checked: {', '.join(rules)} ({reason})" for reason, rules in grouped.items()]
    return [text[0].upper() + text[1:] for text in out]


def summary_text(result: AuditResult, out_dir: str, a: dict | None = None) -> str:
    """What the console prints after a run (`a`: the answer, when the caller has it)."""
    read = batch_read(result)
    unread = read.files - read.files_read
    files = (f"Read {read.files_read:,} of {read.files:,} file(s)" if unread
             else f"Read {read.files:,} file(s)")
    lines = answer_lines(answer(result) if a is None else a) + [
        f"{files}: {read.bills:,} bill(s), {read.lines:,} line(s), {money(read.billed)} billed, "
        f"against {len(result.services):,} inventory service(s).",
    ]
    lines.append(inputs_line(result))
    if read.matched_share is not None:
        lines.append(f"Matched the inventory: {read.matched_share}% of the money billed to services "
                     f"({money(read.matched)} of {money(read.to_services)}).")
    by_rule = result.by_rule()
    if by_rule:
        lines.append(f"Overcharged: {money(result.total_at_issue)} (money the carriers owe back; "
                     f"{len(result.findings):,} finding(s) in all).")
        if result.total_unverified:
            lines.append(f"Unverified: {money(result.total_unverified)} billed for services your "
                         f"inventory does not list; confirm them before disputing.")
        favour = result.total_of(Category.IN_YOUR_FAVOUR)
        if favour:
            lines.append(f"In your favour: {money(favour)} under-billed (shown, not counted).")
        labels = {r.id: r.label for r in RULES}
        rows = [(labels.get(rule, rule), rule, n, amount)
                for rule, (n, amount) in sorted(by_rule.items(), key=lambda kv: -kv[1][1])]
        lw, iw = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
        for label, rule, n, amount in rows:
            lines.append(f"  {label:<{lw}}  {rule:<{iw}}  {n:>6,}  {money(amount):>14}")
    else:
        lines.append("Findings: none.")
    lines.extend(unchecked_lines(unchecked(result)))
    notes = [n for n in result.notes if not n.startswith(("not checked: ", "partly checked: "))]
    if notes:
        lines.append(f"Notes: {len(notes):,} (in the report)")
        lines.extend(f"  {n}" for n in notes[:NOTES_IN_CONSOLE])
        if len(notes) > NOTES_IN_CONSOLE:
            lines.append(f"  ... and {len(notes) - NOTES_IN_CONSOLE:,} more")
    if unread:
        lines.append(f"Not read: {unread:,} file(s), listed in {out_dir}/errors.json.")
    if result.errors:
        lines.append(f"Input problems: {len(result.errors)} (see {out_dir}/errors.json)")
        for e in result.errors[:5]:
            lines.append(f"  {e}")
        if len(result.errors) > 5:
            lines.append(f"  ... and {len(result.errors) - 5} more")
    if result.paths_relative_to:
        lines.append(f"File paths are relative to {result.paths_relative_to}")
    lines.append(f"Report: {out_dir}/report.html")
    return "\n".join(lines)


RECORD_NOUNS = {"contracts": "term", "orders": "order", "payments": "payment"}


def inputs_line(result: AuditResult) -> str:
    """The files read beside the invoices, and the date the audit speaks from."""
    parts = [f"inventory {result.inventory_file}"] if result.inventory_file else []
    for kind, path in result.records.files:
        n = len(getattr(result.records, kind))
        parts.append(f"{kind} {path} ({n:,} {RECORD_NOUNS[kind]}{'' if n == 1 else 's'})")
    return f"Inputs: {', '.join(parts)}; as of {result.options.as_of.isoformat()}." if parts \
        else f"As of {result.options.as_of.isoformat()}."


# -- readable by people -------------------------------------------------------------------------

def for_people(result: AuditResult, given: Iterable[Path]) -> AuditResult:
    """The result's messages as a person reads them (the console, errors.json, the report):
    file paths relative to the folder the paths given have in common (or to the working folder
    when that folder is inside it: paths as typed), repeated notes grouped
    ("skipped 3 title line(s) above the header at row 4: 28 files (a.csv, b.csv, c.csv, ...)"),
    and what was not checked first among the notes. Lines, findings and their evidence keep
    their paths as read."""
    given = list(given)
    cwd = Path(os.path.abspath(Path.cwd()))
    bases = [common_folder(given)]
    if bases[0].is_relative_to(cwd):  # under the working folder: paths as typed from here
        bases = [cwd]
    elif len(bases[0].parts) <= 1:  # nothing in common but the root: each relative to its own
        bases = sorted({common_folder([p]) if Path(p).is_file() else Path(os.path.abspath(p)).parent
                        for p in given}, key=lambda b: -len(b.parts))
    show = _relative_to(tuple(bases))
    known = set(result.files) | {result.inventory_file} | {e.file for e in result.errors} \
        | set(result.record_paths.values())
    notes = [str(gap) for gap in unchecked(result)]
    notes += group_notes(result.notes, known, show)
    result.errors = [e.model_copy(update={"file": show(e.file)}) for e in result.errors]
    result.files = [show(f) for f in result.files]
    result.inventory_file = show(result.inventory_file) if result.inventory_file else ""
    result.record_paths = {kind: show(path) for kind, path in result.record_paths.items()}
    result.records = replace(result.records, files=tuple(
        (kind, show(path)) for kind, path in result.records.files))
    result.notes = notes
    result.paths_relative_to = ("" if bases == [cwd]
                                else ", ".join(str(b) for b in bases))
    return result


def common_folder(given: Iterable[Path]) -> Path:
    """The deepest folder holding every path given (a file counts by its folder)."""
    dirs = []
    for p in given:
        p = Path(os.path.abspath(p))
        dirs.append(p if p.is_dir() else p.parent)
    try:
        return Path(os.path.commonpath(dirs)) if dirs else Path(os.path.abspath(Path.cwd()))
    except ValueError:  # different drives
        return Path(os.path.abspath(Path.cwd()))


def _relative_to(bases: tuple[Path, ...]):
    """A path as text relative to the first of `bases` (deepest first) holding it."""
    @lru_cache(maxsize=65536)
    def show(path: str) -> str:
        if not path:
            return path
        # absolute, not resolved: a link is shown by its own name, not its target's
        full = Path(os.path.abspath(path))
        for base in bases:
            if full.is_relative_to(base):
                return full.relative_to(base).as_posix()
        return path  # outside every folder given: as given
    return show


def group_notes(notes: Iterable[str], files: set[str], show=lambda p: p) -> list[str]:
    """Notes as '<file>: <message>' grouped by message: one line per message, naming the file
    when there is one, else how many files and the first few. Notes that name no known file
    are kept as they are. Order: first appearance."""
    groups: dict[str, list[str]] = defaultdict(list)
    order: list[str] = []
    for note in notes:
        path, message = _split(note, files)
        if message not in groups:
            order.append(message)
        if path is not None:
            groups[message].append(show(path))
        else:
            groups[message]  # noqa: B018 - the message alone, kept in order
    out = []
    for message in order:
        paths = list(dict.fromkeys(groups[message]))
        if not paths:
            out.append(message)
        elif len(paths) == 1:
            out.append(f"{paths[0]}: {message}")
        else:
            named = ", ".join(paths[:FILES_NAMED_IN_A_NOTE])
            more = ", ..." if len(paths) > FILES_NAMED_IN_A_NOTE else ""
            out.append(f"{message}: {len(paths):,} files ({named}{more})")
    return out


def _split(note: str, files: set[str]) -> tuple[str | None, str]:
    """(file, message) of '<file>: <message>': a file of the run, or one that exists."""
    start = 0
    while (i := note.find(": ", start)) != -1:
        if note[:i] in files or _is_file(note[:i]):
            return note[:i], note[i + 2:]
        start = i + 1
    return None, note


@lru_cache(maxsize=4096)
def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False
