"""Carriers' words for kinds of charge -> `ChargeType`.

Order matters: 'non-recurring' must be read as one-time before 'recurring' is seen, and
'late fee' as a late fee before 'fee' makes it a tax.
"""

from __future__ import annotations

import re
from functools import lru_cache

from reconcile.core.models import ChargeType

_RULES: list[tuple[re.Pattern, ChargeType]] = [
    (re.compile(r"\blate\b|late ?(pay|fee|charge)|past due"), ChargeType.LATE_FEE),
    (re.compile(r"\bnrc\b|non.?recurring|one.?time|\botc\b|install|activation|set.?up fee"
                r"|connection fee|change charge"), ChargeType.ONE_TIME),
    (re.compile(r"credit|adjust|\badj\b|refund|rebate|discount"), ChargeType.CREDIT),
    (re.compile(r"\btax|surcharge|\bfees?\b|regulatory|\be?911\b|\busf\b|universal service"
                r"|cost recovery|recovery charge|\bslc\b|subscriber line|number portability"),
     ChargeType.TAX),
    (re.compile(r"usage|\btoll|long distance|\bld\b|minutes|\bcalls?\b|roaming|per minute"
                r"|messag|data overage|overage|airtime"), ChargeType.USAGE),
    (re.compile(r"\bmrc\b|recurring|monthly|\bmonth\b|\baccess\b|\bplan\b|service charge"
                r"|\bport\b|\bloop\b|\bline\b|\btrunk|circuit|bandwidth|internet|\bmpls\b"
                r"|\bsip\b|\bt1\b|\bpri\b|ethernet"
                # data products billed monthly: dedicated internet, wavelengths, EVCs, private lines
                r"|\bdia\b|wavelength|\bwave\b|\bevc\b|\bepl\b|\bevpl\b|\bds[013]\b|\boc-?\d+\b"
                r"|broadband|\bdsl\b"), ChargeType.RECURRING),
]

_EXACT = {
    "mrc": ChargeType.RECURRING, "recurring": ChargeType.RECURRING, "monthly": ChargeType.RECURRING,
    "r": ChargeType.RECURRING, "nrc": ChargeType.ONE_TIME, "onetime": ChargeType.ONE_TIME,
    "usage": ChargeType.USAGE, "u": ChargeType.USAGE, "tax": ChargeType.TAX,
    "taxes": ChargeType.TAX, "surcharge": ChargeType.TAX, "fee": ChargeType.TAX,
    "credit": ChargeType.CREDIT, "adjustment": ChargeType.CREDIT, "latefee": ChargeType.LATE_FEE,
    "other": ChargeType.OTHER, "occ": ChargeType.OTHER,
}


@lru_cache(maxsize=20_000)
def charge_type_of(type_text: str, description: str = "") -> ChargeType:
    """Classify by the type column when it says something, else by the description."""
    t = re.sub(r"[^a-z]", "", type_text.lower())
    if t in _EXACT:
        return _EXACT[t]
    for text in (type_text.lower(), description.lower()):
        if not text.strip():
            continue
        for pattern, kind in _RULES:
            if pattern.search(text):
                return kind
    return ChargeType.OTHER
