"""The README's rule table, generated from the rules' own docstrings so it cannot drift.

    python -m reconcile.rules.docs                    # print the table
    python -m reconcile.rules.docs --write README.md  # rewrite it between the markers
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reconcile.rules import RULES

START, END = "<!-- rules:start -->", "<!-- rules:end -->"


def rule_table(rules=RULES) -> str:
    """One row per rule, in run order: id, what it finds, money at issue, what that money
    means (Markdown)."""
    rows = ["| id | finds | money at issue | counted as |", "|---|---|---|---|"]
    for r in rules:
        rows.append(f"| `{r.id}` | {_cell(r.summary)} | {_cell(r.money_at_issue)} | "
                    f"{r.category.value.replace('_', ' ')} |")
    return "\n".join(rows) + "\n"


def with_table(text: str, table: str) -> str:
    """`text` with what stands between the markers replaced by `table`."""
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"no {START} ... {END} markers around the rule table")
    return f"{head}{START}\n{table}{END}{tail}"


def _cell(text: str) -> str:
    return text.rstrip(".").replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reconcile.rules.docs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", metavar="README", type=Path,
                        help="rewrite the table between the markers in this file")
    args = parser.parse_args(argv)
    table = rule_table()
    if args.write is None:
        print(table, end="")
        return 0
    text = args.write.read_text(encoding="utf-8")
    args.write.write_text(with_table(text, table), encoding="utf-8")
    print(f"{args.write}: rule table written ({len(RULES)} rules)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
