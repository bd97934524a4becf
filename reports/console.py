"""The short summary `reconcile audit` prints."""

from __future__ import annotations

from reconcile.core.models import Category
from reconcile.core.result import AuditResult
from reconcile.core.values import money


def summary_text(result: AuditResult, out_dir: str) -> str:
    lines = [
        f"Audited {len(result.invoices)} invoice(s), {len(result.lines):,} line(s), "
        f"{money(result.total_billed)} billed, from {len(result.files)} file(s) "
        f"against {len(result.services):,} inventory service(s).",
    ]
    by_rule = result.by_rule()
    if by_rule:
        lines.append(f"Overcharged: {money(result.total_at_issue)} (money the carriers owe back; "
                     f"{len(result.findings):,} finding(s) in all).")
        if result.total_unverified:
            lines.append(f"Unverified: {money(result.total_unverified)} billed for services your "
                         f"inventory does not list; confirm them before disputing.")
        favour = result.total_of(Category.IN_YOUR_FAVOUR)
        if favour:
            lines.append(f"In your favour: {money(favour)} under-billed (shown, not counted).")
        width = max(len(r) for r in by_rule)
        for rule, (n, amount) in sorted(by_rule.items(), key=lambda kv: -kv[1][1]):
            lines.append(f"  {rule:<{width}}  {n:>6,}  {money(amount):>14}")
    else:
        lines.append("Findings: none.")
    if result.errors:
        lines.append(f"Input problems: {len(result.errors)} (see {out_dir}/errors.json)")
        for e in result.errors[:5]:
            lines.append(f"  {e}")
        if len(result.errors) > 5:
            lines.append(f"  ... and {len(result.errors) - 5} more")
    lines.append(f"Report: {out_dir}/report.html")
    return "\n".join(lines)
