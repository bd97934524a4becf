"""A file's row errors listed one by one up to a limit (`row-errors`, reconcile.parsers.limits);
the rest counted, each kind of effect in one error that says how many rows, which, and why.

A garbage export of 300,000 rows was 300,000 errors: a 38 MB errors.json and a report no one
reads to the end. Every row is still accounted for: listed, or counted with its row range.

    >>> errs = [InputError(file="a.csv", row=r, reason=f"not an amount: 'x{r}'") for r in (2, 3, 5, 9)]
    >>> [str(e) for e in listed_row_errors(errs, keep=2)]  # doctest: +NORMALIZE_WHITESPACE
    ["a.csv row 2: not an amount: 'x2' (row skipped)", "a.csv row 3: not an amount: 'x3' (row skipped)",
     'a.csv row 5: 2 more rows skipped, rows 5 to 9, not listed one by one (past the row-errors
     limit, 2 a file; --limit row-errors=N lists more): not an amount (2) (rows skipped)']
"""

from __future__ import annotations

from collections import Counter

from reconcile.core.models import InputError

# the effects of one row's error; a count of many rows says so in the plural
ROW_EFFECTS = {"row skipped": "rows skipped", "value ignored": "values ignored"}
REASONS_SHOWN = 3


def listed_row_errors(errors: list[InputError], keep: int, batch: int | None = None
                      ) -> list[InputError]:
    """`errors` with the first `keep` row errors of each file as they are, and the rest of
    that file's row errors as one error per effect, where the first of them was. Errors
    that are not about a row (a file, a page) are all kept. `batch`: the batch's limit, when
    it is the batch's that is reached (BatchRowErrors)."""
    listed: Counter = Counter()
    counts: dict[tuple[str, str], _Count] = {}
    out: list[InputError | tuple[str, str]] = []
    for e in errors:
        if e.effect not in ROW_EFFECTS or e.row is None:
            out.append(e)
        elif listed[e.file] < keep:
            listed[e.file] += 1
            out.append(e)
        else:
            key = (e.file, e.effect)
            if key not in counts:
                counts[key] = _Count()
                out.append(key)  # the count goes where the first unlisted row was
            counts[key].add(e.row, e.reason)
    if not counts:
        return errors
    return [counts[x].error(*x, keep, batch) if isinstance(x, tuple) else x for x in out]


class BatchRowErrors:
    """Row errors listed one by one over a batch's files, up to `keep` (`batch-row-errors`);
    past it, each further file's row errors as one error per effect. A folder of 12,000
    exports, each under the file's limit, could otherwise list millions.

    >>> batch = BatchRowErrors(keep=3)
    >>> batch.take([InputError(file="a.csv", row=r, reason="not an amount") for r in (2, 3)])[-1].row
    3
    >>> [str(e) for e in batch.take([InputError(file="b.csv", row=r, reason="not an amount: 'x'")
    ...                              for r in (4, 6, 7)])]  # doctest: +NORMALIZE_WHITESPACE
    ["b.csv row 4: not an amount: 'x' (row skipped)", 'b.csv row 6: 2 more rows skipped, rows
     6 to 7, not listed one by one (past the batch-row-errors limit, 3 for all the files, 1 of
     them listed in this file; --limit batch-row-errors=N lists more): not an amount (2) (rows
     skipped)']

    A file past its own limit too keeps its own count after the batch's (both are true):

    >>> own = listed_row_errors([InputError(file="c.csv", row=r, reason="not a date") for r in
    ...                          (2, 3, 4)], keep=2)
    >>> [e.reason.split(" (")[0] for e in batch.take(own)]
    ['2 more rows skipped, rows 2 to 3, not listed one by one', '1 more row skipped, row 4, not listed one by one']
    """

    def __init__(self, keep: int):
        self.keep, self.listed = keep, 0

    def take(self, errors: list[InputError]) -> list[InputError]:
        """One file's errors (as its reader gave them), as the batch lists them."""
        listed = sum(1 for e in errors if e.effect in ROW_EFFECTS and e.row is not None)
        if self.listed + listed <= self.keep:
            self.listed += listed
            return errors
        room = self.keep - self.listed
        self.listed = self.keep
        return listed_row_errors(errors, room, batch=self.keep)


class RowErrors:
    """A reader's errors of one file as it finds them, appended to `out`; its row errors past
    the first `keep` counted as they come, never built one by one (a garbage export of
    300,000 rows built 300,000 errors: 146 MB and 3 s). `close` when the file is read: what
    listed_row_errors would have made of them all."""

    def __init__(self, file: str, keep: int, out: list[InputError]):
        self.file, self.keep, self.out = file, keep, out
        self.listed = 0
        self.counts: dict[str, tuple[_Count, int]] = {}  # effect -> (its count, its place in out)

    def add(self, row: int | None, reason: str, effect: str) -> None:
        if effect not in ROW_EFFECTS or row is None or self.listed < self.keep:
            self.listed += effect in ROW_EFFECTS and row is not None
            self.out.append(InputError(file=self.file, row=row, reason=reason, effect=effect))
            return
        got = self.counts.get(effect)
        if got is None:  # its place is kept, filled by `close`
            got = self.counts[effect] = (_Count(), len(self.out))
            self.out.append(InputError(file=self.file, row=row, reason=reason, effect=effect))
        got[0].add(row, reason)

    def close(self) -> None:
        for effect, (count, at) in self.counts.items():
            self.out[at] = count.error(self.file, effect, self.keep)
        self.counts = {}


class _Count:
    """Rows of one file and effect, not listed: how many, the first and last, and why."""

    def __init__(self):
        self.n, self.first, self.last, self.why = 0, None, None, Counter()

    def add(self, row: int, reason: str) -> None:
        self.n += 1
        self.first = row if self.first is None else min(self.first, row)
        self.last = row if self.last is None else max(self.last, row)
        self.why[reason.split(":", 1)[0].strip()] += 1

    def error(self, file: str, effect: str, keep: int, batch: int | None = None) -> InputError:
        shown = ", ".join(f"{reason} ({n:,})" for reason, n in self.why.most_common(REASONS_SHOWN))
        if len(self.why) > REASONS_SHOWN:
            shown += f", {len(self.why) - REASONS_SHOWN:,} other reason(s)"
        plural = ROW_EFFECTS[effect]
        # each says which limit it is past, and stays true when both are reached in one file
        which = (f"past the row-errors limit, {keep:,} a file; --limit row-errors=N lists more"
                 if batch is None else
                 f"past the batch-row-errors limit, {batch:,} for all the files, {keep:,} of them "
                 f"listed in this file; --limit batch-row-errors=N lists more")
        rows = (f"{self.n:,} more {plural}, rows {self.first:,} to {self.last:,}" if self.n > 1
                else f"1 more {effect}, row {self.first:,}")
        return InputError(file=file, row=self.first, effect=plural,
                          reason=f"{rows}, not listed one by one ({which}): {shown}")
