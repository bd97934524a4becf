"""A file's row errors listed one by one up to a limit (`row-errors`, reconcile.parsers.limits);
the rest counted, each kind of effect in one error that says how many rows, which, and why.

A garbage export of 300,000 rows was 300,000 errors: a 38 MB errors.json and a report no one
reads to the end. Every row is still accounted for: listed, or counted with its row range.

    >>> errs = [InputError(file="a.csv", row=r, reason=f"not an amount: 'x{r}'") for r in (2, 3, 5, 9)]
    >>> [str(e) for e in listed_row_errors(errs, keep=2)]  # doctest: +NORMALIZE_WHITESPACE
    ["a.csv row 2: not an amount: 'x2' (row skipped)", "a.csv row 3: not an amount: 'x3' (row skipped)",
     'a.csv row 5: 2 more rows skipped, rows 5 to 9, not listed one by one (the first 2 row
     errors of this file are; --limit row-errors=N lists more): not an amount (2) (rows skipped)']
"""

from __future__ import annotations

from collections import Counter

from reconcile.core.models import InputError

# the effects of one row's error; a count of many rows says so in the plural
ROW_EFFECTS = {"row skipped": "rows skipped", "value ignored": "values ignored"}
REASONS_SHOWN = 3


def listed_row_errors(errors: list[InputError], keep: int) -> list[InputError]:
    """`errors` with the first `keep` row errors of each file as they are, and the rest of
    that file's row errors as one error per effect, where the first of them was. Errors
    that are not about a row (a file, a page) are all kept."""
    listed: Counter = Counter()
    unlisted: dict[tuple[str, str], list[InputError]] = {}
    out: list[InputError | tuple[str, str]] = []
    for e in errors:
        if e.effect not in ROW_EFFECTS or e.row is None:
            out.append(e)
        elif listed[e.file] < keep:
            listed[e.file] += 1
            out.append(e)
        else:
            key = (e.file, e.effect)
            if key not in unlisted:
                unlisted[key] = []
                out.append(key)  # the count goes where the first unlisted row was
            unlisted[key].append(e)
    if not unlisted:
        return errors
    return [_counted(unlisted[x], keep) if isinstance(x, tuple) else x for x in out]


def _counted(rows: list[InputError], keep: int) -> InputError:
    first, last = min(e.row for e in rows), max(e.row for e in rows)
    why = Counter(e.reason.split(":", 1)[0].strip() for e in rows)
    shown = ", ".join(f"{reason} ({n:,})" for reason, n in why.most_common(REASONS_SHOWN))
    if len(why) > REASONS_SHOWN:
        shown += f", {len(why) - REASONS_SHOWN:,} other reason(s)"
    plural = ROW_EFFECTS[rows[0].effect]
    return InputError(
        file=rows[0].file, row=first, effect=plural,
        reason=(f"{len(rows):,} more {plural}, rows {first:,} to {last:,}, not listed one by one "
                f"(the first {keep:,} row errors of this file are; --limit row-errors=N lists "
                f"more): {shown}"))
