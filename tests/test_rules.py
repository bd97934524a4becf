"""Every rule is held to the billed example in its docstring, run through the whole engine."""

from __future__ import annotations

import pytest

from reconcile.audit import audit_parsed
from reconcile.core.ids import service_key
from reconcile.core.result import AuditOptions
from reconcile.rules import ALL_RULES, RULE_IDS
from reconcile.rules.examples import parse_example


def test_every_rule_has_a_documented_example():
    for rule in ALL_RULES:
        doc = rule.__doc__ or ""
        assert doc.startswith(rule.RULE_ID + ":"), f"{rule.__name__} docstring must start with its id"
        assert "Billed::" in doc and "Expected::" in doc, rule.__name__


def test_rule_ids_are_unique_and_stable():
    assert RULE_IDS == ("unknown-service", "billed-after-disconnect", "billed-before-install",
                        "duplicate-charge", "rate-above-contract", "missing-from-bill",
                        "invoice-total-mismatch")


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.RULE_ID for r in ALL_RULES])
def test_rule_finds_exactly_its_docstring_example(rule):
    services, invoices, lines, expected = parse_example(rule.__doc__)
    result = audit_parsed(services, invoices, lines, AuditOptions())
    got = sorted((f.rule, service_key(f.service_id), f.invoice_number, f.amount_at_issue)
                 for f in result.findings)
    want = sorted((r, service_key(s), i, a) for r, s, i, a in expected)
    assert got == want, "\n".join(f.explanation for f in result.findings)
    assert any(r == rule.RULE_ID for r, *_ in expected), "the example must show the rule firing"
    for f in result.findings:
        assert f.explanation.endswith("."), f.explanation
        assert f.amount_at_issue >= 0
        if f.rule != "invoice-total-mismatch":
            assert f.evidence.get("inventory_row") or f.evidence.get("candidates") is not None
