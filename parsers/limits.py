"""How much of one input file is read: limits as data, checked before the work.

A file past a limit is one error naming the file and the limit, and is not read (the batch
goes on); it is never a hang or a machine out of memory. Each limit has a default fit for any
carrier export seen, and `reconcile audit --limit NAME=VALUE` raises it for a genuine file:

| name | default | what |
|---|---|---|
| `file-size` | 512 MB | bytes of one input file (checked before it is opened) |
| `unzipped` | 1 GB | bytes a workbook's zip members declare, all together (checked before any is decompressed) |
| `zip-ratio` | 100 | a workbook member's unzipped/zipped size, for members above 100 KB (a zip bomb is 1,000) |
| `rows` | 2,000,000 | rows read from one file or sheet |
| `columns` | 1,000 | cells in one row (a workbook's declared dimension is not trusted) |
| `field-size` | 100,000 | characters in one cell of a delimited text file |
| `row-errors` | 1,000 | a file's unreadable rows (or values) listed one by one; the rest: one error counting them |
| `batch-row-errors` | 20,000 | the same over all the invoice files of a batch, in file order |

`row-errors` refuses nothing: past it, the file is still read, and its other unreadable rows
are counted in one error per effect giving their number, first and last row, and reasons.
Past `batch-row-errors`, each further file's row errors are counted so, from its first.

`unzipped` and `zip-ratio` follow Apache POI's ZipSecureFile (ratio 100 past a 100 KB grace).
Python's zipfile never inflates a member past the size it declares (a member that lies fails
its CRC), so checking the declared sizes bounds the work and the memory.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

MB = 1 << 20
ZIP_GRACE_BYTES = 100 * 1024  # a small member compresses as it may (Apache POI's grace size)


class LimitExceeded(Exception):
    """A file past one of the limits: the message names the limit and how to raise it."""


@dataclass(frozen=True)
class Limits:
    file_size: int = 512 * MB
    unzipped: int = 1024 * MB
    zip_ratio: int = 100
    rows: int = 2_000_000
    columns: int = 1_000
    field_size: int = 100_000
    row_errors: int = 1_000  # not a refusal: past it, a file's row errors are counted, not listed
    batch_row_errors: int = 20_000  # the same, over all the invoice files of a batch

    def past(self, name: str, seen: str) -> LimitExceeded:
        """The error for a file past limit `name` (attribute name); `seen` says what was found."""
        option = name.replace("_", "-")
        value = getattr(self, name)
        shown = f"{value:,} bytes" if name in _BYTES else f"{value:,}"
        return LimitExceeded(f"{seen}, past the {option} limit ({shown}): not read. If the file "
                             f"is genuine, raise the limit: --limit {option}=N")


DEFAULT_LIMITS = Limits()
_BYTES = {"file_size", "unzipped"}
LIMIT_NAMES = tuple(f.name.replace("_", "-") for f in fields(Limits))
_UNITS = {"": 1, "K": 1 << 10, "KB": 1 << 10, "M": MB, "MB": MB, "G": 1 << 30, "GB": 1 << 30}


def parse_limits(settings: list[str] | tuple[str, ...], base: Limits = Limits()) -> Limits:
    """`["file-size=2GB", "rows=5000000"]` -> Limits; ValueError naming what is wrong."""
    changes = {}
    for item in settings:
        name, sep, text = item.partition("=")
        name = name.strip().lower().replace("_", "-")
        if not sep or name not in LIMIT_NAMES:
            raise ValueError(f"{item!r}: expected NAME=VALUE, NAME one of {', '.join(LIMIT_NAMES)}")
        m = re.fullmatch(r"([0-9][0-9_,]*)\s*([KMG]B?)?", text.strip().upper())
        if not m:
            raise ValueError(f"{item!r}: {text!r} is not a whole number (e.g. 5000000, 2GB)")
        value = int(m.group(1).replace(",", "").replace("_", "")) * _UNITS[m.group(2) or ""]
        if value < 1:
            raise ValueError(f"{item!r}: a limit is 1 or more")
        changes[name.replace("-", "_")] = value
    return replace(base, **changes)


def check_file_size(path: Path, limits: Limits) -> None:
    size = path.stat().st_size
    if size > limits.file_size:
        raise limits.past("file_size", f"the file is {size:,} bytes")


def check_zip(path: Path, limits: Limits) -> None:
    """A workbook's zip members, by the sizes they declare, before any is decompressed."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip we can list: the workbook reader says so
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > ZIP_GRACE_BYTES and \
                info.file_size > limits.zip_ratio * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise limits.past("zip_ratio", f"zip member {info.filename!r} unzips to {ratio:,} times "
                                           f"its size ({info.file_size:,} bytes)")
    if total > limits.unzipped:
        raise limits.past("unzipped", f"the workbook unzips to {total:,} bytes")
