"""Issue 11 changed two meanings the independent scenario (fixtures/independent_scenario.py,
written for issue 3's seven rules) was written under; its tests (CSV exports and PDFs) hold the
engine to the new meanings and say where they differ:

- `duplicate-charge`: identical usage rows on one invoice are a duplicate now; the scenario's
  "per-call detail" (two identical 1.99 directory assistance rows) was written as legitimate,
  so its second row is added to the truth (`identical_usage_rows`).
- The stop date is the first day not billed: the scenario credits a disconnect from the day
  after its date and does not credit the advance charge of a disconnect the carrier never
  processed. Both are `missing-disconnect-credit` findings by the new definitions (one day's
  charge, or the days from the stop date), a rule the scenario does not plant, so findings of
  rules it was not written for are not judged by it (`WRITTEN_FOR`).
- Out of term: a rate raised after the inventory's contract end is `out-of-term-rate`'s (the
  rate holds after the term), not `rate-above-contract`'s; the scenario's truth names it so
  (fixtures/independent_scenario.py), with the same money.
"""

from __future__ import annotations

WRITTEN_FOR = ("unknown-service", "billed-after-disconnect", "billed-before-install",
               "duplicate-charge", "rate-above-contract", "missing-from-bill",
               "invoice-total-mismatch",  # issue 3's rules: what the scenario plants
               "out-of-term-rate")  # rate-above-contract's after the contract end (issue 11)


def identical_usage_rows(sc) -> list[dict]:
    """Issue 11: the second of two identical usage rows on one invoice is a duplicate."""
    out = []
    for bill in sc.bills:
        seen = set()
        for ln in bill.lines:
            if ln.kind != "usage" or ln.svc is None or not ln.svc.in_inventory:
                continue
            key = (ln.svc.sid, ln.desc, ln.start, ln.end, ln.amount)
            if key in seen:
                out.append({"rule": "duplicate-charge", "invoice_number": bill.number,
                            "service_id": ln.svc.sid, "amount_at_issue": f"{ln.amount:.2f}",
                            "note": "identical usage rows on one invoice (issue 11)"})
            seen.add(key)
    return out
