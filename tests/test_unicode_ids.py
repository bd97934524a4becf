"""IDs and headers are compared as Unicode NFKC without invisible characters: a full-width
circuit ID is that circuit, never an account-level charge."""

from __future__ import annotations

import unicodedata

import pytest

from reconcile.audit import run_audit
from reconcile.core.ids import account_key, circuit_tn_key, service_key
from reconcile.parsers.columns import norm_header


def wide(text: str) -> str:
    """ASCII as its full-width forms (what some East Asian exports and PDFs carry)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


@pytest.mark.parametrize("billed, inventory", [
    (wide("ABC123"), "ABC123"),
    (wide("12.HCGS.123456..LY"), "12/HCGS/123456/LY"),
    ("12\u200b.HCGS.123456..LY", "12.HCGS.123456..LY"),  # zero-width space
    ("\ufeffAB\u200dC-12\u00ad3\u2060", "ABC-123"),  # BOM, zero-width joiner, soft hyphen, word joiner
    ("\u200eABC123\u200f", "ABC123"),  # bidi marks
    ("AB\ufe0fC\u034f123\U000e0041", "ABC123"),  # variation selector, grapheme joiner, tag
    (wide("(212) 555-1234"), "212-555-1234"),
    ("٢١٢٥٥٥١٢٣٤", "2125551234"),  # Arabic-Indic digits
])
def test_service_keys_are_nfkc_without_invisible_characters(billed, inventory):
    assert service_key(billed) == service_key(inventory) != ""


def test_look_alikes_of_other_scripts_are_their_own_id_not_blank():
    cyrillic = "АВС123"  # Cyrillic A, Ve, Es
    assert unicodedata.name(cyrillic[0]).startswith("CYRILLIC")
    assert service_key(cyrillic) not in ("", service_key("ABC123"), service_key("123"))


def test_account_keys_are_nfkc_without_invisible_characters():
    assert account_key(wide("8310-4471-22")) == account_key("8310447122") == "8310447122"
    assert account_key("\u200b0083\u00ad10") == account_key("8310")
    assert account_key(wide("ab-12")) == "AB12"


def test_a_wide_tn_format_circuit_is_found_by_its_number():
    assert circuit_tn_key(wide("12.FXMX.732.555.1234.T22")) == "TN:7325551234"


def test_headers_are_nfkc():
    assert norm_header(wide("Account Number")) == norm_header("Account Number") == "accountnumber"
    assert norm_header(wide("Circuit ID #")) == norm_header("Circuit ID #")
    assert norm_header("Invoice\u200b No") == "invoiceno"


def test_a_full_width_bill_matches_the_inventory(tmp_path):
    (tmp_path / "inventory.csv").write_text(
        "Circuit ID,BAN,Vendor,MRC,Install Date\n"
        "ABC123,8310-4471-22,Lumen,450.00,2024-01-01\n"
        "XYZ789,8310-4471-22,Lumen,100.00,2024-01-01\n")
    header = ",".join(wide(h) for h in ("Account Number", "Invoice No", "Bill Date", "Circuit ID",
                                        "Charge Description", "Type", "Service Period", "Charge Amount"))
    (tmp_path / "bill.csv").write_text(
        header + "\n"
        f"{wide('8310-4471-22')},88231,04/01/2025,{wide('ABC123')},Port,MRC,04/01/25-04/30/25,450.00\n"
        f"8310-4471-22,88231,04/01/2025,\u200bXYZ\u200b789,Port,MRC,04/01/25-04/30/25,100.00\n"
        f"8310-4471-22,88231,04/01/2025,АВС123,Port,MRC,04/01/25-04/30/25,75.00\n"
        f"8310-4471-22,88231,04/01/2025,,Late fee,Late,,5.00\n", encoding="utf-8")
    result = run_audit([tmp_path / "bill.csv"], tmp_path / "inventory.csv", workers=1)
    assert result.errors == []
    methods = [(m.method, m.service) for m in result.matches]
    assert methods[:2] == [("exact", 0), ("exact", 1)]  # not account-level, not unknown
    assert methods[2][0] == "none" and methods[3][0] == "account-level"
    assert [(f.rule, f.service_id) for f in result.findings] == [("unknown-service", "АВС123")]
