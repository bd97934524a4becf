"""The audit rules. One rule, one module: dropping it into this folder is enough. A rule module
sets `RULE_ID`, `SEVERITY`, `CATEGORY`, `PRECEDENCE` and `check(ctx)` (yielding findings), optionally
`NEEDS` and `LIMITED_WITHOUT` (what it needs of the inventory: rules/registry.py), and its docstring
starts with `<RULE_ID>: <what it finds>`, has a `Money at issue:` sentence and named examples,
both the error and the legitimate look-alikes (format: rules/examples.py). The registry is
built from the modules themselves (rules/registry.py); the README's rule table
(`python -m reconcile.rules.docs`), the report's rule glossary and tests/test_rules.py all read it.

Precedence: a line's money is at issue once. The first rule to flag a line claims it and later
rules skip it, so rules run by (PRECEDENCE, RULE_ID), lowest first, in tiers:

    10  the line is not ours at all (a service not in the inventory)
    20  the line is for a time the service did not exist (before install, after disconnect)
    30  the line repeats a charge already billed (duplicates)
    40  the line has no reason to be billed at all (a one-time charge nobody ordered); and a
        contracted discount missing from a charge (discount-not-applied): it claims only the
        credit lines it counts as the discount, never the charge, so the rate tier still
        judges the charge against the undiscounted rate (each takes its own part of the money)
    45  advice on contract terms (contract-expiring): reads the charges the earlier tiers
        left, before the rate tier claims them; claims nothing
    50  the line's amount: only lines nobody has explained yet (rate above contract in the
        term, out-of-term rate after it: disjoint periods, one shared set of candidates)
    80  what is not on the bill (no line money; claims nothing)
    90  the invoice as a whole (its arithmetic)

From tier 80 on (`APART`), rules neither claim lines nor read the claims of others: they run
on a thread of their own beside the earlier tiers, each on a database of its own (their
queries overlap the others'; at 1M lines the rules took 2.2-3.0 s one after the other). A rule
there that claims or reads a claim stops the audit, naming it (its results would depend on
timing). Findings come out in run order either way.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from reconcile.core.models import severity_for
from reconcile.rules.context import AuditContext, ClaimsApart
from reconcile.rules.registry import NotChecked, Rule, RuleError, discover
from reconcile.rules.registry import not_checked as _not_checked

RULES: tuple[Rule, ...] = discover(__name__)  # in run order
ALL_RULES = tuple(r.module for r in RULES)
RULE_IDS = tuple(r.id for r in RULES)

__all__ = ["ALL_RULES", "RULES", "RULE_IDS", "NotChecked", "Rule", "RuleError", "discover",
           "not_checked", "run_rules"]


def not_checked(services, columns: dict[str, str] | None = None,
                given: frozenset[str] | None = None,
                unreadable: frozenset[str] = frozenset()) -> list[NotChecked]:
    """The rules the inventory read (and the files given) did not let run, or run in full,
    and why."""
    return _not_checked(RULES, services, columns, given, unreadable)


APART = 80  # the first tier whose rules run beside the earlier ones (see the docstring)


def run_rules(ctx: AuditContext, only: set[str] | None = None):
    rules = [r for r in RULES if not only or r.id in only]
    first = [r for r in rules if r.precedence < APART]
    apart = [r for r in rules if r.precedence >= APART]
    if not (first and apart):
        return _run(ctx, rules)
    beside = ctx.beside()
    with ThreadPoolExecutor(1, thread_name_prefix="reconcile-rules") as thread:
        later = thread.submit(_run, beside, apart)
        try:
            found = _run(ctx, first)
        finally:
            found_apart = later.result()  # waited for, also when the first tiers failed
    return found + found_apart


def _run(ctx: AuditContext, rules) -> list:
    findings = []
    try:
        for rule in rules:
            try:
                for f in rule.check(ctx):
                    if f.category is None:
                        f.category = rule.category
                    f.severity = severity_for(f.category, f.amount_at_issue)
                    findings.append(f)
            except ClaimsApart as e:
                raise RuleError(f"{rule.file}: {rule.id} (precedence {rule.precedence}) {e}") from None
    finally:
        ctx.release()  # what the queries allocated, back before the reports
    return findings
