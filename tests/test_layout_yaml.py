"""PDF layout YAML is checked like dialect YAML: every file in parsers/layouts loads, and a
misspelt key or a wrong type is refused naming the file, the key and the nearest valid key."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.parsers.pdf.layout import LAYOUT_DIR, load_layout, load_layouts

LAYOUT_FILES = sorted(LAYOUT_DIR.glob("*.yaml"))


def test_there_are_layout_files_to_check():
    assert {p.stem for p in LAYOUT_FILES} >= {"generic", "northwind", "summit", "bluepeak"}


@pytest.mark.parametrize("path", LAYOUT_FILES, ids=[p.stem for p in LAYOUT_FILES])
def test_every_layout_file_loads(path):
    generic = None if path.stem == "generic" else load_layout(LAYOUT_DIR / "generic.yaml", None)
    layout = load_layout(path, generic)
    assert layout.name == path.stem and layout.columns and layout.sections
    assert path.stem == "generic" or layout.recognise, "a carrier layout says how to recognise it"


def test_the_loaded_set_is_generic_plus_each_carrier():
    generic, carriers = load_layouts()
    assert generic.name == "generic"
    assert sorted(c.name for c in carriers) == sorted(p.stem for p in LAYOUT_FILES if p.stem != "generic")


def refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "acme.yaml"
    path.write_text(text)
    generic = load_layout(LAYOUT_DIR / "generic.yaml", None)
    with pytest.raises(ValueError) as e:
        load_layout(path, generic)
    assert str(e.value).startswith(f"{path}: ")
    return str(e.value)


def test_a_misspelt_key_is_refused_naming_file_key_and_the_nearest_valid_key(tmp_path):
    message = refused(tmp_path, "name: acme\nrecognize: [acme telecom]\n")
    assert "unknown key 'recognize' (did you mean 'recognise'?)" in message


@pytest.mark.parametrize("text, words", [
    ("name: acme\nlabels:\n  acount: [acct]\n",
     "unknown key 'acount' under labels (did you mean 'account'?)"),
    ("name: acme\ncolumns:\n  amonut: Charges\n",
     "unknown key 'amonut' under columns (did you mean 'amount'?)"),
    ("name: acme\ncolumns: [Circuit ID, Amount]\n", "columns: should be a mapping"),
    ("name: acme\nsections:\n  'monthly charges': recuring\n",
     "'recuring' is no section type (did you mean 'recurring'?)"),
    ("name: acme\nservice_line: '^circuit (?P<id>\\S+'\n", "is not a regular expression"),
    ("name: acme\nservice_id_blank: sometimes\n", "service_id_blank: "),
    ("name: acme\nrecognise: [acme, 42]\n", "recognise.1: "),
    ("recognise: [acme telecom]\n", "name: "),
])
def test_wrong_keys_and_types_are_refused_with_the_key_named(tmp_path, text, words):
    assert words in refused(tmp_path, text)


def test_one_string_is_a_list_of_one(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text("name: acme\nrecognise: acme telecom\ncolumns:\n  amount: Charges\n")
    layout = load_layout(path, load_layout(LAYOUT_DIR / "generic.yaml", None))
    assert layout.recognise == ["acme telecom"] and layout.columns["charges"] == "amount"
