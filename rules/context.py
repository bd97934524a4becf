"""What every rule sees: the audit so far, the lines already claimed, and finding builders."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from reconcile.core.ids import is_phone_key, service_key
from reconcile.core.models import ChargeType, Finding, Invoice, InvoiceLine, Service, Severity
from reconcile.core.periods import describe_period
from reconcile.core.result import AuditResult
from reconcile.core.values import money
from reconcile.expected import ExpectedBill


@dataclass
class AuditContext:
    result: AuditResult
    # a line's money is at issue once: the first rule to flag it claims it, later rules skip it
    claimed: set[int] = field(default_factory=set)
    _recurring: list | None = field(default=None, repr=False)
    _expected: ExpectedBill | None = field(default=None, repr=False)

    @property
    def expected(self) -> ExpectedBill:
        """What each service should be billed, and when (reconcile.expected)."""
        if self._expected is None:
            self._expected = ExpectedBill(self.result.services)
        return self._expected

    @property
    def tolerance(self) -> Decimal:
        return self.result.options.tolerance

    def service(self, line: InvoiceLine) -> Service | None:
        return self.result.service_of(line)

    def unclaimed(self):
        return (ln for ln in self.result.lines if ln.line_id not in self.claimed)

    def recurring_charges(self):
        """Unclaimed positive recurring lines matched to a service, with that service."""
        if self._recurring is None:  # three rules ask; the lines don't change, only the claims
            res = self.result
            self._recurring = [(ln, res.services[m.service])
                               for ln, m in zip(res.lines, res.matches)
                               if ln.charge_type is ChargeType.RECURRING and ln.amount > 0
                               and m.service is not None]
        claimed = self.claimed
        return ((ln, svc) for ln, svc in self._recurring if ln.line_id not in claimed)

    def lines_by_invoice(self) -> dict[tuple[str, str, str], list[InvoiceLine]]:
        out: dict[tuple[str, str, str], list[InvoiceLine]] = defaultdict(list)
        for ln in self.result.lines:
            out[(ln.carrier, ln.account, ln.invoice_number)].append(ln)
        return out

    def invoice_of(self, line: InvoiceLine) -> Invoice | None:
        return self._invoices().get((line.carrier, line.account, line.invoice_number))

    def _invoices(self):
        if not hasattr(self, "_inv_index"):
            self._inv_index = {inv.key: inv for inv in self.result.invoices}
        return self._inv_index

    # -- building findings -----------------------------------------------------------------
    def line_evidence(self, ln: InvoiceLine) -> dict:
        m = self.result.matches[ln.line_id]
        return {
            "where": ln.where,
            "invoice": ln.invoice_number,
            "bill_date": ln.invoice_date.isoformat() if ln.invoice_date else "",
            "service_id": ln.service_id,
            "description": ln.description,
            "charge_type": ln.charge_type.value,
            "period": describe_period(ln.period_start, ln.period_end)
            + (" (inferred from the bill date)" if ln.period_inferred else ""),
            "amount": money(ln.amount),
            "match": f"{m.method} ({m.score:.0f}): {m.reason}",
        }

    def finding(self, rule: str, severity: Severity, lines: list[InvoiceLine], *,
                service: Service | None, billed: Decimal, expected: Decimal, at_issue: Decimal,
                explanation: str, claim: bool = True, invoice: Invoice | None = None,
                service_id: str | None = None, **evidence) -> Finding:
        first = lines[0] if lines else None
        inv = invoice or (self.invoice_of(first) if first else None)
        ev: dict = {}
        if service is not None:
            ev["inventory_row"] = service.evidence()
        if lines:
            ev["lines"] = [self.line_evidence(ln) for ln in lines]
        ev.update(evidence)
        if claim:
            self.claimed.update(ln.line_id for ln in lines)
        return Finding(
            rule=rule, severity=severity,
            carrier=(inv.carrier if inv else "") or (service.carrier if service else ""),
            account=inv.account if inv else (service.account if service else ""),
            invoice_number=inv.invoice_number if inv else "",
            invoice_date=inv.invoice_date if inv else None,
            service_id=service_id if service_id is not None else (first.service_id if first else ""),
            matched_service_id=service.service_id if service else "",
            description=first.description if first else "",
            period_start=first.period_start if first else None,
            period_end=first.period_end if first else None,
            billed_amount=billed, expected_amount=expected,
            amount_at_issue=max(at_issue, Decimal(0)),
            explanation=explanation, evidence=ev, line_ids=[ln.line_id for ln in lines],
        )


def noun(service_id: str) -> str:
    """'Circuit 12.HCGS.123456..LY' or 'Phone number 212-555-1234' for sentences."""
    return ("Phone number " if is_phone_key(service_key(service_id)) else "Circuit ") + service_id


def on_invoice(ln: InvoiceLine) -> str:
    return f"invoice {ln.invoice_number} (account {ln.account})"
