"""The engine against a scenario written independently of fixtures/scenario.py
(fixtures/independent_scenario.py): other carriers' export habits, other header aliases, other
ID noise (CLCI delimiters, zero-fill, no delimiters, carrier-local prefixes, TN-format circuits
billed by telephone number) and planted errors of every rule. Issue 3 asks for recall and
precision of at least 95 % with the money to the cent; the scenario follows the rules'
definitions, so anything short of exact is reported line by line.

The scenario was written for issue 3's seven rules and their meanings; where issue 11 changed
them, the engine is held to the new meanings (tests/issue11_meanings.py says which and why).
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from fixtures.independent_ids import CIRCUIT_STYLES
from fixtures.independent_scenario import build, generate
from fixtures.truth import differences, score
from issue11_meanings import WRITTEN_FOR, identical_usage_rows as _identical_usage_rows
from reconcile.audit import run_audit
from reconcile.cli import main
from reconcile.rules import RULE_IDS


def _assert_exact(truth, findings, what: str) -> None:
    findings = [f for f in findings if f.rule in WRITTEN_FOR]
    s, diff = score(truth, findings), differences(truth, findings)
    assert s.recall >= 0.95 and s.precision >= 0.95 and not diff, f"{what}: {s}\n" + "\n".join(diff)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_engine_finds_every_planted_error_to_the_cent_and_nothing_else(tmp_path, seed):
    sc = generate(tmp_path, seed)
    inventory = sc.inventory_xlsx if seed % 2 else sc.inventory_csv
    result = run_audit([tmp_path / "invoices"], inventory)
    assert not result.errors, [str(e) for e in result.errors]
    _assert_exact(sc.truth + _identical_usage_rows(sc), result.findings,
                  f"seed {seed}, {inventory.name}")


def test_cli_writes_the_same_findings_and_exits_0(tmp_path):
    sc = generate(tmp_path / "in", 7)
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["audit", str(tmp_path / "in" / "invoices"), "--inventory",
                                    str(sc.inventory_xlsx), "--out", str(out)])
    assert run.exit_code == 0, run.output
    got = [SimpleNamespace(**{**f, "amount_at_issue": Decimal(f["amount_at_issue"])})
           for f in json.loads((out / "findings.json").read_text())["findings"]]
    _assert_exact(json.loads((tmp_path / "in" / "truth.json").read_text()) + _identical_usage_rows(sc),
                  got, "CLI findings.json")


def test_scenario_plants_every_rule_several_times_among_legitimate_patterns():
    sc = build(1)
    counts = Counter(t["rule"] for t in sc.truth)
    assert set(counts) == set(WRITTEN_FOR) <= set(RULE_IDS) and min(counts.values()) >= 3, counts
    patterns = Counter(p["pattern"] for p in sc.legit)
    assert patterns["installed-mid-month"] >= 5 and patterns["disconnected-mid-month"] >= 4
    assert patterns["late-fee"] and patterns["sla-credit"] and patterns["disconnected-after-bill-run"]
    assert {b.style for b in sc.bills} == set(CIRCUIT_STYLES)
    planted = {t["note"].split(":")[0] for t in sc.truth if t["service_id"]}
    assert planted >= {"unknown-near-miss", "unknown-phone", "unknown-tn-format-circuit", "rate-high-from-install",
                       "out-of-term-uplift", "port-and-loop-over", "disconnect-not-processed",
                       "billed-from-order-date", "repeated-row", "previous-cycle-rebilled",
                       "install-fee-billed-twice", "usage-rebilled", "left-off-then-back-billed", "never-billed"}
