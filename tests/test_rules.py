"""Every registered rule is held to the named examples in its docstring, run through the whole
engine; a new rule is one file; the README's rule table is generated from the same docstrings."""

from __future__ import annotations

import importlib
import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import reconcile.rules as rules_package
from reconcile.audit import audit_parsed
from reconcile.core.ids import service_key
from reconcile.core.result import AuditOptions
from reconcile.rules import RULES, RuleError, discover
from reconcile.rules.docs import rule_table, with_table, with_tables
from reconcile.rules.examples import Example, ExampleError, parse_examples

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLES = [(rule, ex) for rule in RULES for ex in rule.examples]


def audit_example(ex: Example):
    """The whole engine on an example's records, its contracts, orders and payments included,
    speaking from the example's as-of date."""
    given = ex.inputs()
    return audit_parsed(given.services, given.invoices, given.lines,
                        AuditOptions(as_of=given.as_of), records=given.records)


def assert_engine_gives_exactly(ex: Example) -> None:
    result = audit_example(ex)
    got = sorted((f.rule, service_key(f.service_id), f.invoice_number, f.amount_at_issue)
                 for f in result.findings)
    want = sorted((x.rule, service_key(x.service_id), x.invoice_number, x.at_issue)
                  for x in ex.expected)
    assert got == want, f"{ex.title}:\n" + "\n".join(f.explanation for f in result.findings)
    for f in result.findings:
        assert re.fullmatch(r"[A-Z][^\n]*\.", f.explanation), f.explanation
        assert not re.search(r"[.!?] [A-Z]", f.explanation), f"not one sentence: {f.explanation}"
        assert f.amount_at_issue >= 0, f.explanation
        assert f.evidence, f"{f.rule}: a finding carries its evidence"


@pytest.mark.parametrize("rule,example", EXAMPLES, ids=[f"{r.id}: {e.title}" for r, e in EXAMPLES])
def test_every_example_of_every_rule_gives_exactly_its_findings(rule, example):
    assert_engine_gives_exactly(example)


def test_every_rule_shows_its_error_and_a_legitimate_look_alike():
    for rule in RULES:
        assert any(ex.is_finding for ex in rule.examples), rule.id
        assert any(not ex.is_finding for ex in rule.examples), rule.id
        assert rule.summary and rule.money_at_issue.endswith("."), rule.id


def test_rules_run_by_precedence_then_id_with_unique_ids():
    assert list(RULES) == sorted(RULES, key=lambda r: (r.precedence, r.id))
    assert len({r.id for r in RULES}) == len(RULES)
    assert rules_package.RULE_IDS == tuple(r.id for r in RULES)
    assert rules_package.ALL_RULES == tuple(r.module for r in RULES)


def test_readme_rule_table_is_generated_from_the_docstrings():
    text = README.read_text(encoding="utf-8")
    assert with_table(text, rule_table()) == text, (
        "README.md's rule table differs from the rules' docstrings: run "
        "`python -m reconcile.rules.docs --write README.md`")


def test_readme_needs_table_is_generated_from_the_registry():
    text = README.read_text(encoding="utf-8")
    assert with_tables(text) == text, (
        "README.md's table of what each rule needs differs from the rules' NEEDS: run "
        "`python -m reconcile.rules.docs --write README.md`")
    assert ("| `rate-above-contract` | rate or contracts file | not checked (no rate or contracts "
            "file) |") in text


# --- what a rule needs of the inventory, and saying when it could not run --------------------

def _services(**columns):
    from reconcile.core.models import Service

    return [Service(index=0, source="inventory.csv", row=2, service_id="X1", **columns)]


def test_a_rule_the_inventory_does_not_feed_is_said_not_checked():
    from datetime import date

    from reconcile.rules import not_checked as gaps_of

    def not_checked(services, columns=None, given=frozenset()):  # default: no file given
        return gaps_of(services, columns, given)

    by_rule = {r.id: r.needs for r in RULES}
    # a rate from the inventory or from the contracts file will do
    assert by_rule["rate-above-contract"] == (("monthly_rate", "contracts"),)
    # a date from the inventory or from the orders file will do
    assert by_rule["billed-after-disconnect"] == (("disconnect_date", "orders"),)
    assert by_rule["billed-before-install"] == (("install_date", "orders"),)
    assert by_rule["missing-from-bill"] == ("account",)
    assert by_rule["nrc-without-order"] == ("orders",)
    assert by_rule["unknown-service"] == ()
    files = frozenset({"contracts", "orders", "payments"})

    full = _services(account="1", monthly_rate=Decimal("450"), install_date=date(2024, 1, 1),
                     disconnect_date=date(2025, 1, 1))
    assert not_checked(full, {"service_id": "Circuit ID", "account": "BAN", "monthly_rate": "MRC",
                              "install_date": "Installed", "disconnect_date": "Disconnected"},
                       files) == []
    got = {g.rule: g.reason for g in not_checked(full, {"service_id": "Circuit ID"})}
    assert got["nrc-without-order"] == "no orders file given"
    assert got["nrc-above-quote"] == "no orders file given; no contracts file given"
    assert "billed-after-disconnect" not in got  # the inventory's date is enough

    bare = _services(account="1", install_date=date(2024, 1, 1), disconnect_date=date(2025, 1, 1))
    assert not_checked(bare, None, files) == []  # the contracts file gives the rates
    no_contracts = files - {"contracts"}
    [gap] = [g for g in not_checked(bare, {"service_id": "Circuit ID", "account": "BAN",
                                           "install_date": "Installed",
                                           "disconnect_date": "Disconnected"}, no_contracts)
             if g.rule == "rate-above-contract"]
    assert str(gap) == ("not checked: rate-above-contract (the inventory has no rate column; no "
                        "contracts file given)")
    [gap] = [g for g in not_checked(bare, {"service_id": "Circuit ID", "account": "BAN",
                                           "monthly_rate": "MRC", "install_date": "Installed",
                                           "disconnect_date": "Disconnected"}, no_contracts)
             if g.rule == "rate-above-contract"]
    assert gap.reason == "the inventory's rate column ('MRC') is empty; no contracts file given"
    [gap] = [g for g in not_checked(bare, None, no_contracts)  # which columns were read: unknown
             if g.rule == "rate-above-contract"]
    assert gap.reason == "the inventory gives no rate; no contracts file given"

    undated = _services(monthly_rate=Decimal("450"))
    got = {g.rule: str(g) for g in not_checked(undated, {"service_id": "Circuit ID",
                                                           "monthly_rate": "MRC"},
                                               frozenset({"contracts"}))}
    assert got == {
        "billed-after-disconnect": "not checked: billed-after-disconnect (the inventory has no "
                                   "disconnect date column; no orders file given)",
        "billed-before-install": "not checked: billed-before-install (the inventory has no "
                                 "install date column; no orders file given)",
        "missing-disconnect-credit": "not checked: missing-disconnect-credit (the inventory has "
                                     "no disconnect date column; no orders file given)",
        "missing-from-bill": "not checked: missing-from-bill (the inventory has no account column)",
        "nrc-without-order": "not checked: nrc-without-order (no orders file given)",
        "late-fee": "not checked: late-fee (no payments file given)",
        "payment-not-applied": "not checked: payment-not-applied (no payments file given)",
    }
    # an orders file stands in for the inventory's dates
    got = {g.rule for g in not_checked(undated, {"service_id": "Circuit ID", "monthly_rate": "MRC"},
                                       frozenset({"orders"}))}
    assert got == {"missing-from-bill", "contract-expiring", "discount-not-applied",
                   "out-of-term-rate", "late-fee", "payment-not-applied"}
    dated_no_accounts = _services(account="1", monthly_rate=Decimal("450"),
                                  disconnect_date=date(2025, 1, 1))
    [gap] = [g for g in not_checked(dated_no_accounts, None, files) if g.rule == "missing-from-bill"]
    assert str(gap) == ("partly checked: missing-from-bill, only between each service's first "
                        "and last bill, and once for one on no bill (the inventory gives no "
                        "install date)")


@pytest.mark.parametrize("constant,message", [
    ('NEEDS = ("rate",)', "NEEDS must be a tuple of inventory fields"),
    ('NEEDS = "monthly_rate"', "NEEDS must be a tuple of inventory fields"),
    ('LIMITED_WITHOUT = {"install_date": ""}', "LIMITED_WITHOUT must map inventory fields"),
])
def test_a_rule_needing_what_no_inventory_has_is_refused(rule_folder, constant, message):
    _drop(rule_folder, "amount_due_mismatch", NEW_RULE.replace("PRECEDENCE = 85",
                                                                f"PRECEDENCE = 85\n{constant}"))
    with pytest.raises(RuleError, match=message):
        discover(rules_package.__name__)


# --- a new rule is one file -----------------------------------------------------------------

NEW_RULE = '''"""amount-due-mismatch: an amount due that is not the bill's previous balance, payments,
adjustments and current charges added up.

Money at issue: the difference.

Example: an amount due 20.00 above its own summary::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01 | previous-balance 495.00
        | payments -495.00 | adjustments 0.00 | current-charges 450.00 | amount-due 470.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | amount-due-mismatch | - | 88231 | 20.00

Not a finding: last month's bill unpaid, carried forward::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01 | previous-balance 450.00
        | payments 0.00 | current-charges 450.00 | adjustments 0.00 | amount-due 900.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing
"""

from decimal import Decimal

from reconcile.core.models import Category, Severity

RULE_ID = "amount-due-mismatch"
SEVERITY = Severity.LOW
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 85


def check(ctx):
    for inv in ctx.result.invoices:
        parts = (inv.previous_balance, inv.payments, inv.adjustments, inv.current_charges)
        if inv.amount_due is None or None in parts:
            continue
        summed = sum(parts, Decimal(0))
        if abs(inv.amount_due - summed) > ctx.tolerance:
            yield ctx.finding(
                RULE_ID, SEVERITY, [], service=None, invoice=inv, billed=inv.amount_due,
                expected=summed, at_issue=abs(inv.amount_due - summed), claim=False,
                explanation=f"Invoice {inv.invoice_number} asks for {inv.amount_due} but its "
                            f"summary adds up to {summed}.",
                summary=[str(p) for p in parts])
'''


@pytest.fixture
def rule_folder(tmp_path, monkeypatch):
    """A folder on the rules package's path: a module written there is a module of
    reconcile.rules exactly as if it had been dropped into rules/."""
    folder = tmp_path / "more_rules"
    folder.mkdir()
    monkeypatch.setattr(rules_package, "__path__", [*rules_package.__path__, str(folder)])
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        if name.startswith("reconcile.rules."):
            del sys.modules[name]


def _drop(folder: Path, name: str, source: str) -> None:
    (folder / f"{name}.py").write_text(source, encoding="utf-8")
    importlib.invalidate_caches()


def test_a_new_rule_is_one_file(rule_folder, monkeypatch):
    _drop(rule_folder, "amount_due_mismatch", NEW_RULE)
    found = discover(rules_package.__name__)
    [new] = [r for r in found if r.id not in {old.id for old in RULES}]
    assert new.id == "amount-due-mismatch" and new.label == "Amount due mismatch"
    assert new.summary.startswith("an amount due that") and new.money_at_issue == "the difference."
    assert [r.id for r in found] == [r.id for r in sorted(found, key=lambda r: (r.precedence, r.id))]
    assert all(r.precedence <= 85 for r in found[:found.index(new)])
    assert all(r.precedence > 85 for r in found[found.index(new) + 1:])
    assert "amount-due-mismatch" in rule_table(found)
    monkeypatch.setattr(rules_package, "RULES", found)  # what the next start of the engine finds
    assert [ex.is_finding for ex in new.examples] == [True, False]
    for ex in new.examples:
        assert_engine_gives_exactly(ex)


GOOD_DOC, GOOD_CODE = NEW_RULE.split('"""\n\nfrom decimal', 1)
GOOD_CODE = "from decimal" + GOOD_CODE


@pytest.mark.parametrize("source,message", [
    ('"""amount-due-mismatch: a sum.\n\nMoney at issue: the difference.\n"""\n' + GOOD_CODE,
     "needs an 'Example: <name>::' block"),
    (GOOD_DOC.split("Not a finding")[0] + '"""\n' + GOOD_CODE, "needs a 'Not a finding: <name>::'"),
    (GOOD_DOC.replace("Money at issue: the difference.", "") + '"""\n' + GOOD_CODE,
     "Money at issue"),
    (GOOD_DOC.replace('"""amount-due-mismatch:', '"""amounts due:') + '"""\n' + GOOD_CODE,
     "must start with 'amount-due-mismatch:"),
    (NEW_RULE.replace("def check(ctx)", "def find(ctx)"), "has no check(ctx)"),
    (NEW_RULE.replace("SEVERITY = Severity.LOW", "SEVERITY = 'low'"), "needs SEVERITY"),
    (NEW_RULE.replace("PRECEDENCE = 85", ""), "needs PRECEDENCE"),
    (NEW_RULE.replace("expect | nothing", ""), "expect | nothing"),
    (NEW_RULE.replace("| billed 2025-04-01", "| billed 2025-04-31", 1), "not a date"),
    (NEW_RULE.replace("| rate 450.00", "| rat 450.00", 1), "unknown service field 'rat'"),
    (NEW_RULE.replace("expect | nothing", "expect | amount-due | - | 88231 | 0.00"),
     "which is no rule"),
])
def test_a_malformed_rule_is_refused_naming_its_file(rule_folder, source, message):
    _drop(rule_folder, "amount_due_mismatch", source)
    with pytest.raises(RuleError) as refused:
        discover(rules_package.__name__)
    assert str(rule_folder / "amount_due_mismatch.py") in str(refused.value)
    assert message in str(refused.value)


def test_helper_modules_are_not_rules_and_are_not_imported(rule_folder):
    _drop(rule_folder, "helper_for_rules", '"""Shared text."""\nraise RuntimeError("imported")\n')
    assert [r.id for r in discover(rules_package.__name__)] == [r.id for r in RULES]


# --- the example format ---------------------------------------------------------------------

EVERY_FIELD = """
Not a finding: every record and field::

    service | 12.HCGS.123456..LY | account A1 | carrier Lumen | rate 450.00
        | installed 2024-01-10 | disconnected 2025-06-30 | contract-end 2026-01-09
    contract | 12.HCGS.123456..LY | product MPLS port | carrier Lumen | account A1 | rate 450.00
        | one-time 500.00 | discount 10% | term 2024-01-10..2026-01-09 | after-term hold | mtm 25
        | dispute-window 60 | late-fee 1.5% | nrc-waived | notice 30 days
    order | ORD-1 | action change | status pending | carrier Lumen | account A1
        | service 12.HCGS.123456..LY | ordered 2025-03-01 | due 2025-04-01 | foc 2025-03-28
        | completed 2025-04-02 | nrc 0.00 | new-rate 400.00 | description speed change
    payment | A1 | paid 2025-03-20 | amount 495.00 | reference ACH-1 | invoice 88100
    # the bill
    invoice | 88231 | account A1 | billed 2025-04-01 | carrier Lumen | due 2025-04-25 | total 495.00
        | previous-balance 495.00 | payments -495.00 | adjustments 0.00 | current-charges 495.00
        | amount-due 495.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port | qty 1 | unit 450.00
    line | - | tax | - | 45.00 | qty 1
    expect | nothing
"""


def test_the_format_expresses_contracts_orders_payments_quantities_and_summaries():
    [ex] = parse_examples(EVERY_FIELD)
    given = ex.inputs()
    [svc], [contract], [order], [paid], [inv] = (given.services, given.contracts, given.orders,
                                                 given.payments, given.invoices)
    assert (svc.carrier, svc.contract_end.isoformat()) == ("Lumen", "2026-01-09")
    assert (contract.product, contract.discount_pct, contract.mtm_rate_pct, contract.late_fee_pct,
            contract.after_term, contract.nrc_waived, contract.notice_days,
            contract.dispute_window_days, contract.term_end.isoformat()) == (
        "MPLS port", Decimal("10"), Decimal("25"), Decimal("1.5"), "hold", True, 30, 60,
        "2026-01-09")
    assert (order.action, order.status, order.foc_date.isoformat(), order.new_rate,
            order.description) == ("change", "pending", "2025-03-28", Decimal("400.00"),
                                   "speed change")
    assert (paid.account, paid.amount, paid.reference, paid.invoice_number) == (
        "A1", Decimal("495.00"), "ACH-1", "88100")
    assert (inv.due_date.isoformat(), inv.previous_balance, inv.payments, inv.adjustments,
            inv.current_charges, inv.amount_due, inv.stated_total) == (
        "2025-04-25", Decimal("495.00"), Decimal("-495.00"), Decimal("0.00"),
        Decimal("495.00"), Decimal("495.00"), Decimal("495.00"))
    mrc, tax = given.lines
    assert (mrc.quantity, mrc.unit_price, mrc.description, mrc.invoice_number) == (
        Decimal("1"), Decimal("450.00"), "MPLS port", "88231")
    assert (tax.quantity, tax.description, tax.service_id) == (Decimal("1"), "", "")
    assert ex.expected == () and not ex.is_finding
    assert ex.inputs() is not given and ex.inputs().lines[0] is not mrc  # fresh for each run


@pytest.mark.parametrize("text,message", [
    ("Example: x::\n\n    service | S1\n", "expect | nothing"),
    ("Example: x::\n\n    service | S1\n    expect | nothing\n    expect | r | - | 1 | 1.00\n",
     "expect | nothing"),
    ("Example: x::\n\n    circuit | S1\n    expect | nothing\n", "unknown record kind 'circuit'"),
    ("Example: x::\n\n    line | S1 | MRC | - | 1.00\n    expect | nothing\n", "the invoice record above"),
    ("Example: x::\n\n    invoice | 1 | account A\n    expect | nothing\n", "needs billed"),
    ("Example: x::\n\n    order | O1 | action move | status pending\n    expect | nothing\n",
     "action"),
    ("Example: x::\n\n    invoice | 1 | account A | billed 2025-01-01\n"
     "    line | S1 | MRC | 2025-01-01 | 1.00\n    expect | nothing\n", "<start>..<end>"),
    ("Example: x::\n\n    invoice | 1 | account A | billed 2025-01-01\n"
     "    line | S1 | MRC | - | 1,00\n    expect | nothing\n", "not an amount: '1,00'"),
    ("Example: x::\n\n    service | S1\n    expect | r | S1 | 1\n", "write `expect | <rule>"),
    ("Example: a title over\ntwo lines::\n\n    service | S1\n    expect | nothing\n",
     "one line ending with '::'"),
])
def test_a_malformed_example_is_refused_saying_why(text, message):
    with pytest.raises(ExampleError, match=re.escape(message)):
        parse_examples(text)


def test_rule_labels_are_plain_words_with_acronyms_in_capitals():
    labels = {r.id: r.label for r in RULES}
    assert labels["billed-after-disconnect"] == "Billed after disconnect"
    assert labels["nrc-above-quote"] == "NRC above quote"
    assert labels["nrc-without-order"] == "NRC without order"


# --- the tiers that run beside the others ------------------------------------------------------

def test_the_tiers_that_claim_nothing_run_beside_the_others_with_the_same_findings(tmp_path, monkeypatch):
    """From tier 80 on, rules neither claim lines nor read claims: they run on a thread of
    their own; the findings, and their order, are those of one rule after the other."""
    import threading

    import reconcile.rules.unused_service as unused
    from fixtures.scenario import generate
    from reconcile.audit import run_audit

    scenario = generate(tmp_path, 7)
    where = {}
    real = unused.check

    def noted(ctx):
        where["unused-service"] = threading.current_thread().name
        yield from real(ctx)

    monkeypatch.setattr(unused, "check", noted)
    beside = run_audit(scenario.invoice_files, tmp_path / "inventory.xlsx")
    assert where["unused-service"].startswith("reconcile-rules")
    monkeypatch.setattr(rules_package, "APART", 10**6)  # every rule on the audit's thread
    alone = run_audit(scenario.invoice_files, tmp_path / "inventory.xlsx")
    assert where["unused-service"] == threading.main_thread().name
    assert [(f.id, f.amount_at_issue) for f in beside.findings] == \
        [(f.id, f.amount_at_issue) for f in alone.findings]
    assert {r.precedence >= 80 for r in RULES if any(f.rule == r.id for f in alone.findings)} == {True, False}


@pytest.mark.parametrize("touch", [lambda c: 5 in c, lambda c: c.add(5), lambda c: sorted(c)])
def test_a_rule_running_apart_that_claims_or_reads_a_claim_stops_the_audit_naming_it(
        tmp_path, monkeypatch, touch):
    import reconcile.rules.missing_invoice as missing
    from fixtures.scenario import generate
    from reconcile.audit import run_audit

    scenario = generate(tmp_path, 7)

    def claiming(ctx):
        touch(ctx.claimed)
        return iter(())

    monkeypatch.setattr(missing, "check", claiming)
    with pytest.raises(RuleError, match="missing_invoice.py: missing-invoice \\(precedence 80\\) claimed"):
        run_audit(scenario.invoice_files, tmp_path / "inventory.xlsx")
