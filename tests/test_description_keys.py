"""duplicate-charge groups lines by their description's key (case, punctuation and printed
dates ignored). The keys of a batch's distinct descriptions are worked out by Arrow for ASCII
texts: they must be the key the rule defines, text for text."""

from __future__ import annotations

import random

import pyarrow as pa

from reconcile.rules.duplicate_charge import _description_key, _description_keys, _distinct


def test_the_keys_worked_out_by_arrow_are_the_rules_own():
    rng = random.Random(5)
    texts = ["MRC 01/2025", "Usage 2025-03-01 to 2025-03-31", "12345/6", "1٣45/6", "",
             "LD call to Tampa (361) 712-2094", "İSTANBUL Port", "Straße 3/4/2025"]
    for alphabet in ("abcXYZ 0123456789/-.:#()", "abcXYZ 0123456789/-.:#()٣١İß\u00a0"):
        texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
                  for _ in range(5000)]
    got = _description_keys(pa.array(texts, pa.string())).to_pylist()
    assert got == [_description_key(t) for t in texts]


def test_the_distinct_descriptions_are_those_the_lines_use():
    used = pa.array(["Port", "Loop", "Port", "Tax"], pa.string()).dictionary_encode()
    sliced = pa.chunked_array([used.slice(1, 2)])  # its dictionary holds Tax too, unused
    assert sorted(_distinct(sliced).to_pylist()) == ["Loop", "Port"]
