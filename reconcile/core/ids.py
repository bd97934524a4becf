"""Normalising the many spellings of one circuit ID, phone number or account number.

Circuit IDs follow the CLCI formats (ATIS-0300097): components delimited by '.' or '/',
empty components still delimited, serial numbers zero-filled differently by different
systems. `12.HCGS.123456..LY`, `12/HCGS/123456/LY`, `12 hcgs 0123456 ly` are one circuit.
Telephone numbers lose punctuation and a leading country code 1. See docs: domain.md §3.4.

IDs are compared as Unicode NFKC (`fold`): a full-width `ＡＢＣ１２３` is `ABC123`, and
zero-width and other invisible characters (format controls such as U+200B, U+FEFF, soft
hyphens) are dropped. Letters of other scripts are kept, so a look-alike `АВС123` (Cyrillic) is
its own ID, reported as unknown, never read as an account-level charge.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TOKEN = re.compile(r"[^\W\d_]+|\d+")  # letter runs (any script) and digit runs
_TN_TRIPLET = re.compile(r"\d{3}\s*[./]\s*\d{3}\s*[./]\s*\d{4}")
_DIGITS_ONLY = re.compile(r"^[\s\-\.\(\)\+/]*\d[\d\s\-\.\(\)/]*$")


# Unicode's default-ignorable code points (DerivedCoreProperties.txt): shown as nothing
_IGNORABLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
                        "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
                        "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]")


def fold(raw: str) -> str:
    """`raw` as NFKC, without invisible characters (Unicode's default-ignorables and format
    controls: zero-width spaces and joiners, byte-order marks, soft hyphens, bidi marks,
    variation selectors) and with every decimal digit as its ASCII digit. Plain ASCII is
    returned as it is (the common case, and fast)."""
    if raw.isascii():
        return raw
    s = _IGNORABLE.sub("", unicodedata.normalize("NFKC", raw))
    return "".join(_ascii_digit(ch) for ch in s if unicodedata.category(ch) != "Cf")


def _ascii_digit(ch: str) -> str:
    if ch.isascii() or not ch.isdecimal():
        return ch
    return str(unicodedata.decimal(ch))


@lru_cache(maxsize=500_000)
def service_key(raw: str) -> str:
    """The matching key of a circuit ID or phone number; '' when there is none.

    Phone numbers -> 'TN:2125551234'. Circuit IDs -> letter and digit runs with leading
    zeros dropped, joined by '.', e.g. '12.HCGS.123456.LY'. Letter/digit runs are split
    so a missing delimiter ('12HCGS123456LY') still gives the same key.
    """
    s = fold(raw).strip().upper()
    if not s:
        return ""
    if _DIGITS_ONLY.match(s):
        digits = re.sub(r"\D", "", s)
        if len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
        if len(digits) == 10:
            return "TN:" + digits
        if len(digits) == 7:
            return "TN7:" + digits
    tokens = [t.lstrip("0") or "0" if t.isdigit() else t for t in _TOKEN.findall(s)]
    return ".".join(tokens)


def clci_body(key: str) -> str:
    """A CLCI circuit's key without its carrier-local prefix, e.g. 'HCGS.123456.LY' for
    '12.HCGS.123456.LY' and 'SBFS.201.981.3500.123' for 'A.2.SBFS.201.981.3500.123'; '' when
    the key has no 4-letter service code + modifier after a prefix of at most 2 characters.
    Prefixes are carrier-local (domain.md §3.4): the billing carrier may print its own."""
    tokens = key.split(".")
    for i, t in enumerate(tokens[:3]):
        if len(t) == 4 and t.isalpha():
            body = tokens[i:]
            if len("".join(tokens[:i])) > 2 or len(body) < 3 or not any(x.isdigit() for x in body):
                return ""
            return ".".join(body)
    return ""


def circuit_tn_key(raw: str) -> str:
    """'TN:7325551234' for a telephone-number-format circuit ID such as 12.FXMX.732.555.1234.T22
    or A2/SBFS/201/981/3500//123 (domain.md §3.4: index them by the TN triplet too, since
    carriers bill them by telephone number); '' for any other ID."""
    raw = fold(raw)
    if not _TN_TRIPLET.search(raw):  # most circuit IDs: no 3-3-4 digit run at all
        return ""
    parts = [p.strip() for p in re.split(r"[./]", raw.upper())]
    if not any(len(p) == 4 and p.isalpha() for p in parts[:3]):
        return ""
    for i in range(len(parts) - 2):
        a, b, c = parts[i:i + 3]
        if (len(a), len(b), len(c)) == (3, 3, 4) and (a + b + c).isdigit():
            return "TN:" + a + b + c
    return ""


def is_phone_key(key: str) -> bool:
    return key.startswith("TN")


def compact(key: str) -> str:
    """The key without delimiters, for fuzzy comparison."""
    return key.replace(".", "")


@lru_cache(maxsize=200_000)
def account_key(raw: str) -> str:
    """Account numbers compared blind to punctuation, case, leading zeros lost by Excel,
    full-width forms and invisible characters (NFKC, `fold`)."""
    s = re.sub(r"[\W_]", "", fold(raw)).upper()
    return s.lstrip("0") or s
