"""The audit rules. One rule, one module: `RULE_ID`, `SEVERITY`, `check(ctx)` yielding findings,
and a docstring with a billed example and the findings expected from it (tests/test_rules.py
runs every docstring example through the whole engine).

Order matters: a line's money is at issue once. Rules that explain a whole line (unknown
service, after disconnect, before install, duplicate) run first and claim it; the rate
check then sees only lines nobody has explained yet. Invoice-level rules come last.
"""

from __future__ import annotations

from types import ModuleType

from reconcile.rules import (billed_after_disconnect, billed_before_install, duplicate_charge,
                   invoice_total_mismatch, missing_from_bill, rate_above_contract, unknown_service)
from reconcile.rules.context import AuditContext

ALL_RULES: tuple[ModuleType, ...] = (
    unknown_service,
    billed_after_disconnect,
    billed_before_install,
    duplicate_charge,
    rate_above_contract,
    missing_from_bill,
    invoice_total_mismatch,
)
RULE_IDS = tuple(r.RULE_ID for r in ALL_RULES)


def run_rules(ctx: AuditContext, only: set[str] | None = None):
    findings = []
    for rule in ALL_RULES:
        if only and rule.RULE_ID not in only:
            continue
        findings.extend(rule.check(ctx))
    return findings
