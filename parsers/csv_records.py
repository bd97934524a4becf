"""A delimited text file's records, each numbered by its first physical line, none lost.

csv.reader does the splitting (in C); lines reach it a batch at a time (`_Batches`: ~1 MB of
lines decoded at once), so a row costs no Python call of its own. What it cannot see is
watched here, per record:

- A quote that never closes swallows the rows after it into one cell. A record over several
  lines that lacks the file's number of cells, or whose later lines would each be a row of
  their own, or one whose last cell ends in a line break (still open at the end of the file),
  is that: its first row is a `BadRow` (an error for whoever reads the rows) and its other
  lines are read again as rows of their own.
- A UTF-8 file with some lines in Windows-1252 (a line pasted from another export): those lines
  are read as Windows-1252, counted, and noted with the first one's number.
- `Limits`: cells per row, rows, characters in one cell (csv's field size limit).
"""

from __future__ import annotations

import csv
import re
from collections import deque
from itertools import chain
from typing import Iterator

from reconcile.parsers.limits import Limits

BATCH_BYTES = 1 << 20
_CR_SPLIT = re.compile(rb"(?<=\r)(?!\n)")  # after a lone \r (old Mac line ends)


class BadRow(list):
    """A row the file holds but that cannot be read as cells (a quote that never closes): no
    cells, and `reason`. Whoever reads the rows reports it as that row's error."""

    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason


class _Batches:
    """The file's lines in batches, decoded; the batches a record may still need are kept
    (`kept`: first line number, lines) so its lines can be read again."""

    def __init__(self, fh, encoding: str, text: bool):
        self.fh, self.encoding, self.text = fh, encoding, text
        self.kept: deque[tuple[int, list[str]]] = deque()
        self.next_no = 1
        self.mixed = 0  # lines not in the file's encoding (read as Windows-1252)
        self.first_mixed = 0

    def __iter__(self) -> Iterator[list[str]]:
        while batch := self.fh.readlines(BATCH_BYTES):
            lines = batch if self.text else self._decode(batch)
            self.kept.append((self.next_no, lines))
            self.next_no += len(lines)
            yield lines

    def _decode(self, batch: list[bytes]) -> list[str]:
        if self.next_no == 1 and batch[0].startswith(b"\xef\xbb\xbf"):
            batch[0] = batch[0][3:]
        joined = b"".join(batch)
        if joined.count(b"\r") != joined.count(b"\r\n"):  # lone CRs end lines too
            batch = [part for line in batch for part in _CR_SPLIT.split(line) if part]
        if self.encoding not in ("utf-8", "utf-8-sig"):
            return [line.decode(self.encoding, "replace") for line in batch]
        try:
            return list(map(bytes.decode, batch))
        except UnicodeDecodeError:
            return [self._mixed_line(line, self.next_no + i) for i, line in enumerate(batch)]

    def _mixed_line(self, line: bytes, no: int) -> str:
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            self.mixed += 1
            self.first_mixed = self.first_mixed or no
            return line.decode("utf-8", "reconcile-cp1252")

    def lines(self, first: int, last: int) -> list[str]:
        """Lines `first` to `last` (numbers), from the kept batches."""
        out = []
        for start, lines in self.kept:
            lo, hi = max(first, start), min(last, start + len(lines) - 1)
            if lo <= hi:
                out.extend(lines[lo - start:hi - start + 1])
        return out

    def forget_before(self, no: int) -> None:
        while len(self.kept) > 1 and self.kept[0][0] + len(self.kept[0][1]) <= no:
            self.kept.popleft()


def records(fh, encoding: str, text: bool, delimiter: str, width: int, limits: Limits,
            notes: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(row, cells) of each record of the open file `fh` (binary, or `text` mode for UTF-16),
    its row the number of its first line. `width`: the number of cells most of the file's
    lines have (0: unknown). A note on a mixed encoding is added to `notes` at the end."""
    batches = _Batches(fh, encoding, text)
    source = chain.from_iterable(batches)
    reader = csv.reader(source, delimiter=delimiter)
    # csv's limit is per process: set for this file, and put back when it is read, so a small
    # --limit field-size never reaches another file's delimiter sniffing
    previous = csv.field_size_limit(limits.field_size)
    offset = 0  # line number of the line before the reader's first
    last = 0  # number of the last line of the previous record
    count = 0
    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                end = offset + reader.line_num
                if end - last > 1:  # a runaway quote filled a cell past the limit
                    cells = None
                elif "field larger" in str(e):
                    raise limits.past("field_size", f"row {end} has a cell longer than that") from None
                else:  # the reader starts afresh on the next line
                    row_no, last = last + 1, end
                    yield row_no, BadRow(f"cannot be read as delimited text ({e})")
                    continue
            end = offset + reader.line_num
            row_no = last + 1
            if cells is None or (cells and cells[-1][-1:] in ("\n", "\r")) or (
                    end > row_no and _runaway(cells, batches.lines(row_no + 1, end), delimiter, width)):
                after = (f" (the {end - row_no} line(s) after it are read as rows of their own)"
                         if end > row_no else "")
                again = batches.lines(row_no + 1, end)
                reader = csv.reader(chain(again, source), delimiter=delimiter)
                offset = last = row_no
                yield row_no, BadRow(f"a quote opens on this row and does not close on it{after}")
                continue
            last = end
            if len(cells) > limits.columns:
                raise limits.past("columns", f"row {row_no} has {len(cells):,} cells")
            if cells:
                count += 1
                if count > limits.rows:
                    raise limits.past("rows", f"the file has more than {limits.rows:,} rows")
                if count & 1023 == 0:
                    batches.forget_before(row_no)
            yield row_no, cells
    finally:
        csv.field_size_limit(previous)
        fh.close()
        if batches.mixed:
            notes.append(f"mixed encoding: {batches.mixed} line(s) (the first at row "
                         f"{batches.first_mixed}) hold bytes that are not UTF-8; read as "
                         f"Windows-1252")


def _runaway(cells: list[str], later: list[str], delimiter: str, width: int) -> bool:
    """Is a record over several lines a quote that did not close (rather than a cell with a
    line break in it)? When it lacks the file's number of cells, or a later line would be a
    whole row by itself."""
    if width < 2:
        return False
    if len(cells) != width:
        return True
    for text in later:
        alone = next(csv.reader([text.replace('"', "")], delimiter=delimiter), [])
        if len(alone) >= width:
            return True
    return False
