"""The README's rule tables, generated from the rules themselves so they cannot drift: what each
rule finds (its docstring) and what it needs of the inventory (its NEEDS and LIMITED_WITHOUT).

    python -m reconcile.rules.docs                    # print the tables
    python -m reconcile.rules.docs --write README.md  # rewrite them between their markers
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reconcile.rules import RULES
from reconcile.rules.registry import INVENTORY_WORDS, need_words

START, END = "<!-- rules:start -->", "<!-- rules:end -->"
NEEDS_START, NEEDS_END = "<!-- needs:start -->", "<!-- needs:end -->"


def rule_table(rules=RULES) -> str:
    """One row per rule, in run order: id, what it finds, money at issue, what that money
    means (Markdown)."""
    rows = ["| id | finds | money at issue | counted as |", "|---|---|---|---|"]
    for r in rules:
        rows.append(f"| `{r.id}` | {_cell(r.summary)} | {_cell(r.money_at_issue)} | "
                    f"{r.category.value.replace('_', ' ')} |")
    return "\n".join(rows) + "\n"


def needs_table(rules=RULES) -> str:
    """One row per rule: the inventory columns it needs, and what happens without them."""
    rows = ["| rule | needs of the inventory (besides the service ID) or files | without it |",
            "|---|---|---|"]
    for r in rules:
        needs = [need_words(n) for n in r.needs]
        limited = [(INVENTORY_WORDS[n], what) for n, what in r.limited_without]
        wanted = needs + [w for w, _ in limited]
        without = ([f"not checked (no {', '.join(needs)})"] if needs else []) + [
            f"checked {what} (no {w})" for w, what in limited]
        rows.append(f"| `{r.id}` | {', '.join(wanted) or 'nothing'} | "
                    f"{_cell('; '.join(without)) or '-'} |")
    return "\n".join(rows) + "\n"


def with_table(text: str, table: str, start: str = START, end: str = END) -> str:
    """`text` with what stands between the markers replaced by `table`."""
    head, found_start, rest = text.partition(start)
    _, found_end, tail = rest.partition(end)
    if not found_start or not found_end:
        raise ValueError(f"no {start} ... {end} markers around the table")
    return f"{head}{start}\n{table}{end}{tail}"


def with_tables(text: str) -> str:
    """`text` with both generated tables rewritten."""
    text = with_table(text, rule_table())
    return with_table(text, needs_table(), NEEDS_START, NEEDS_END)


def _cell(text: str) -> str:
    return text.rstrip(".").replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reconcile.rules.docs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", metavar="README", type=Path,
                        help="rewrite the table between the markers in this file")
    args = parser.parse_args(argv)
    if args.write is None:
        print(rule_table(), needs_table(), sep="\n", end="")
        return 0
    text = args.write.read_text(encoding="utf-8")
    args.write.write_text(with_tables(text), encoding="utf-8")
    print(f"{args.write}: rule tables written ({len(RULES)} rules)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
