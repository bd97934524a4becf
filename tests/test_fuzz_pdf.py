"""Property test of the PDF reader (Hypothesis) on the bills the fixtures draw, mutated: their
content streams are not compressed, so a mutation changes the text, the numbers and the
positions the reader sees, or breaks the file's structure. A damaged file may be an error
naming it (pdfium cannot open it); a bug in the reader (IndexError, ValueError, ...) that
costs the whole PDF must never be.

`make test` runs it briefly (a tenth of RECONCILE_FUZZ_EXAMPLES); `make fuzz` long.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.parsers.pdf import read_pdf_invoices
from tests.pdf_cases import LAYOUTS, render

EXAMPLES = max(10, int(os.environ.get("RECONCILE_FUZZ_EXAMPLES", "200")) // 10)
fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
READER_BUGS = ("IndexError", "ValueError", "KeyError", "TypeError", "AttributeError",
               "ZeroDivisionError", "InvalidOperation", "AssertionError", "RecursionError")
_BILLS: dict[str, bytes] = {}


def bill(layout: str) -> bytes:
    if layout not in _BILLS:
        with tempfile.TemporaryDirectory() as tmp:
            path, _inv, _lines = render(Path(tmp), layout, n_lines=14)
            _BILLS[layout] = path.read_bytes()
    return _BILLS[layout]


# what a mutation writes into a content stream: digits, signs, money and date marks, spaces,
# and words a bill's labels are made of
BYTES = st.one_of(st.sampled_from([bytes([b]) for b in b"0123456789.,-()$/ :TJ\n\xff\x00"]),
                  st.sampled_from([b"TOTAL ", b"Subtotal ", b"Page 1 of ", b"01/01/2025", b"$1,234.56",
                                   b"(12.00)", b" - ", b"Account ", b"Invoice ", b"Amount Due ",
                                   b"Previous Balance ", b"Total Current Charges ", b"Tm", b"Td",
                                   b"-9999 ", b"1e308 "]))
MUTATION = st.tuples(st.sampled_from(["flip", "insert", "delete", "dup"]), st.floats(0, 1),
                     BYTES, st.integers(1, 40), st.booleans())


def mutate(data: bytes, mutations) -> bytes:
    buf = bytearray(data)
    # most of a small PDF is its content streams: aim at the text between the streams' ends
    start = data.find(b"stream")
    end = data.rfind(b"endstream")
    span = max(1, end - start)
    for kind, where, piece, n, anywhere in mutations:
        i = int(where * (len(buf) - 1)) if anywhere else start + int(where * span)
        i = min(i, len(buf) - 1)
        if kind == "flip":
            buf[i:i + len(piece)] = piece
        elif kind == "insert":
            buf[i:i] = piece * (1 + n // 10)
        elif kind == "delete":
            del buf[i:i + n]
        else:
            buf[i:i] = buf[i:i + n]
    return bytes(buf)


def read_mutated(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bill.pdf"
        path.write_bytes(data)
        parsed = read_pdf_invoices(path)
    for e in parsed.errors:
        assert not any(f"({bug}" in e.reason for bug in READER_BUGS), e.reason
    return parsed


@fuzz
@given(st.sampled_from(sorted(LAYOUTS)), st.lists(MUTATION, min_size=1, max_size=6))
def test_pdf_reader_on_mutated_bills(layout, mutations):
    read_mutated(mutate(bill(layout), mutations))
