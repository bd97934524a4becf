"""Finding the rules: every module of the package that sets `RULE_ID` is one rule, described by
its own docstring. A module that sets RULE_ID but is not a whole rule is refused at discovery,
naming its file, so a half-written rule never runs silently.

What a rule needs of the inventory is a module constant too, optional: `NEEDS = ("monthly_rate",)`
(fields of the inventory's services, or files: "contracts", "orders", "payments") when the rule
cannot check anything without them; an entry that is itself a tuple is met by any one of its
names (`(("install_date", "orders"),)`: an install date, or an orders file that gives one); and
`LIMITED_WITHOUT = {"install_date": "<what it then checks>"}` when it checks less without them.
When the inventory read has no such column, or no value in it, `not_checked` says so, and the
reports show it: a rule that could not run is visible, not silent."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from reconcile.core.models import Category, Service, Severity
from reconcile.rules.examples import Example, ExampleError, parse_examples

MONEY_AT_ISSUE = "Money at issue:"
ACRONYMS = {"nrc": "NRC", "mrc": "MRC", "mtm": "MTM"}  # kept in capitals in rule labels
# what a rule may need of the inventory: its services' fields, in plain words
INVENTORY_WORDS = {"service_id": "service ID", "account": "account", "carrier": "carrier",
                   "description": "description", "location": "location", "monthly_rate": "rate",
                   "install_date": "install date", "disconnect_date": "disconnect date",
                   "contract_end": "contract end"}
# what a rule may need beyond the inventory: the customer's other files (--contracts ...)
RECORD_WORDS = {"contracts": "contracts file", "orders": "orders file",
                "payments": "payments file"}


class RuleError(Exception):
    """A rule module that cannot be registered; the message names the file and what is missing."""


@dataclass(frozen=True)
class Rule:
    id: str
    module: ModuleType
    severity: Severity
    category: Category  # what its findings' money means, unless a finding says otherwise
    precedence: int  # lower runs first: see the tiers in rules/__init__.py
    summary: str  # what it finds, in plain words: the docstring's first paragraph after the id
    money_at_issue: str  # the docstring's "Money at issue:" sentence, without the label
    examples: tuple[Example, ...]
    needs: tuple = ()  # inventory fields or files it cannot check anything without (a tuple
    # entry: any one of its names will do)
    limited_without: tuple[tuple[str, str], ...] = ()  # (field, what it checks without it)

    @property
    def label(self) -> str:
        """Plain words for people: 'Billed after disconnect'."""
        words = self.id.replace("-", " ").capitalize().split(" ")
        return " ".join(ACRONYMS.get(w.lower(), w) for w in words)

    @property
    def file(self) -> str:
        return self.module.__file__ or self.module.__name__

    def check(self, ctx):
        return self.module.check(ctx)


def discover(package: str) -> tuple[Rule, ...]:
    """The rules of `package` (every module on its __path__ that sets RULE_ID), in run order:
    by (precedence, id). Helper modules are not imported."""
    pkg = sys.modules.get(package) or importlib.import_module(package)
    rules: list[Rule] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        path = Path(getattr(info.module_finder, "path", ""), f"{info.name}.py")
        if info.ispkg or not path.is_file():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        if not _sets_rule_id(tree):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        # the docstring from the source: `python -OO` strips __doc__, the rule stays described
        rules.append(_rule(module, ast.get_docstring(tree) or "", path))
    _check_together(rules)
    return tuple(sorted(rules, key=lambda r: (r.precedence, r.id)))


def _sets_rule_id(tree: ast.Module) -> bool:
    return any(isinstance(node, (ast.Assign, ast.AnnAssign))
               and any(isinstance(t, ast.Name) and t.id == "RULE_ID"
                       for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))
               for node in tree.body)


def _rule(module: ModuleType, doc: str, path: Path) -> Rule:
    def refuse(problem: str) -> RuleError:
        return RuleError(f"{path}: {problem}")

    rule_id = getattr(module, "RULE_ID", None)
    if not isinstance(rule_id, str) or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule_id):
        raise refuse(f"RULE_ID must be a lower-case-hyphenated name, not {rule_id!r}")
    if not callable(getattr(module, "check", None)):
        raise refuse(f"{rule_id} has no check(ctx) function")
    if not isinstance(getattr(module, "SEVERITY", None), Severity):
        raise refuse(f"{rule_id} needs SEVERITY = Severity.HIGH, MEDIUM or LOW")
    if not isinstance(getattr(module, "CATEGORY", None), Category):
        raise refuse(f"{rule_id} needs CATEGORY = Category.OVERCHARGE, UNVERIFIED, RISK, ADVICE "
                     f"or IN_YOUR_FAVOUR (what its findings' money means)")
    precedence = getattr(module, "PRECEDENCE", None)
    if not isinstance(precedence, int) or isinstance(precedence, bool):
        raise refuse(f"{rule_id} needs PRECEDENCE = <int> (the tiers are in rules/__init__.py)")
    if not doc.startswith(f"{rule_id}:"):
        raise refuse(f"the docstring must start with '{rule_id}: <what it finds>'")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", doc)]
    money = [p for p in paragraphs if p.startswith(MONEY_AT_ISSUE)]
    if len(money) != 1 or not money[0].endswith("."):
        raise refuse("the docstring needs one paragraph 'Money at issue: <one sentence>.'")
    try:
        examples = parse_examples(doc)
    except ExampleError as e:
        raise refuse(f"docstring example: {e}") from None
    if not any(ex.is_finding and any(x.rule == rule_id for x in ex.expected) for ex in examples):
        raise refuse(f"the docstring needs an 'Example: <name>::' block that finds {rule_id} "
                     f"(format: rules/examples.py)")
    if not any(not ex.is_finding for ex in examples):
        raise refuse("the docstring needs a 'Not a finding: <name>::' block: a legitimate "
                     "look-alike the rule must leave alone (format: rules/examples.py)")
    for ex in examples:
        if ex.is_finding and not any(x.rule == rule_id for x in ex.expected):
            raise refuse(f"'{ex.title}' expects no {rule_id} finding: title it 'Not a finding:'")
        if not ex.is_finding and any(x.rule == rule_id for x in ex.expected):
            raise refuse(f"'{ex.title}' expects a {rule_id} finding")
    needs = getattr(module, "NEEDS", ())
    if not isinstance(needs, tuple) or any(
            not all(n in INVENTORY_WORDS or n in RECORD_WORDS for n in _names(need))
            for need in needs):
        raise refuse(f"{rule_id}: NEEDS must be a tuple of inventory fields or files "
                     f"({', '.join([*INVENTORY_WORDS, *RECORD_WORDS])}), not {needs!r}")
    limited = getattr(module, "LIMITED_WITHOUT", {})
    if not isinstance(limited, dict) or any(
            n not in INVENTORY_WORDS or not isinstance(v, str) or not v for n, v in limited.items()):
        raise refuse(f"{rule_id}: LIMITED_WITHOUT must map inventory fields "
                     f"({', '.join(INVENTORY_WORDS)}) to what the rule checks without them, "
                     f"not {limited!r}")
    return Rule(id=rule_id, module=module, severity=module.SEVERITY, category=module.CATEGORY,
                precedence=precedence,
                summary=paragraphs[0][len(rule_id) + 1:].strip(),
                money_at_issue=money[0][len(MONEY_AT_ISSUE):].strip(), examples=examples,
                needs=needs, limited_without=tuple(limited.items()))


def _names(need) -> tuple:
    """The names of one NEEDS entry: a name, or a tuple of alternatives (any one will do)."""
    if isinstance(need, tuple) and need and all(isinstance(n, str) for n in need):
        return need
    return (need,) if isinstance(need, str) else (None,)


def need_words(need) -> str:
    """One NEEDS entry in plain words: 'install date or orders file'."""
    return " or ".join(INVENTORY_WORDS.get(n) or RECORD_WORDS[n] for n in _names(need))


def _check_together(rules: list[Rule]) -> None:
    """Ids are unique, and examples expect only findings of rules that exist."""
    by_id: dict[str, Rule] = {}
    for r in rules:
        if r.id in by_id:
            raise RuleError(f"{r.file}: RULE_ID {r.id!r} is already used by {by_id[r.id].file}")
        by_id[r.id] = r
    for r in rules:
        for ex in r.examples:
            for x in ex.expected:
                if x.rule not in by_id:
                    raise RuleError(f"{r.file}: '{ex.title}' expects a finding of {x.rule!r}, "
                                    f"which is no rule (known: {', '.join(sorted(by_id))})")


@dataclass(frozen=True)
class NotChecked:
    """A rule the inventory did not let run, or run in full: `limit` says what it checked
    instead ('' when it checked nothing)."""

    rule: str
    reason: str  # "the inventory has no rate column"
    limit: str = ""

    def __str__(self) -> str:
        if self.limit:
            return f"partly checked: {self.rule}, {self.limit} ({self.reason})"
        return f"not checked: {self.rule} ({self.reason})"


def not_checked(rules, services: list[Service], columns: dict[str, str] | None = None,
                given: frozenset[str] | None = None,
                unreadable: frozenset[str] = frozenset()) -> list[NotChecked]:
    """The rules whose NEEDS (or LIMITED_WITHOUT) the inventory read does not meet: no such
    column, or no value in it. `columns` (field -> header read) tells the two apart; without it
    (a hand-built audit) the reason says only that the inventory gives no such value. `given`
    names the files given beyond the inventory (reconcile.core.records.KINDS)."""
    have: dict[str, bool] = {}

    def missing(name: str) -> str:
        if name in RECORD_WORDS:
            if given is not None and name in given:
                return ""
            if name in unreadable:
                return f"the {RECORD_WORDS[name]} given could not be read (errors.json says why)"
            return f"no {RECORD_WORDS[name]} given"
        if name not in have:
            have[name] = any(getattr(s, name) not in (None, "") for s in services)
        if have[name]:
            return ""
        word = INVENTORY_WORDS[name]
        if columns is None or not columns:
            return f"the inventory gives no {word}"
        if name not in columns:
            return f"the inventory has no {word} column"
        return f"the inventory's {word} column ({columns[name]!r}) is empty"

    def unmet(need) -> str:
        """'' when one of the entry's names is met, else every name's reason."""
        reasons = [missing(n) for n in _names(need)]
        return "" if not all(reasons) else "; ".join(reasons)

    out: list[NotChecked] = []
    for rule in rules:
        reasons = [r for r in map(unmet, rule.needs) if r]
        if reasons:
            out.append(NotChecked(rule.id, "; ".join(reasons)))
            continue
        for name, limit in rule.limited_without:
            reason = missing(name)
            if reason:
                out.append(NotChecked(rule.id, reason, limit))
    return out
