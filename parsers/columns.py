"""Which header means which field: matched blind to case, spaces and punctuation, with aliases.

The alias lists are the contract with users' spreadsheets and carriers' exports. A header
the aliases miss is mapped with `--columns MAPPING.yaml`:

    inventory:
      service_id: "Ckt #"
    invoice:
      amount: "Amt Billed"
    contracts:            # also orders:, payments:
      monthly_rate: "Agreed $/mo"
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from rapidfuzz import fuzz

INVENTORY_FIELDS: dict[str, list[str]] = {
    "service_id": ["service id", "circuit id", "circuit", "circuit number", "circuit no", "ckt id",
                   "ckt", "tn", "telephone number", "phone number", "phone", "service number",
                   "line", "btn", "wtn", "wireless number", "mobile number", "mdn", "ecckt"],
    "account": ["account", "ban", "account number", "billing account", "account no", "acct",
                "acct no", "acct number", "billing account number", "account #"],
    "carrier": ["carrier", "vendor", "provider", "supplier"],
    "description": ["description", "product", "service", "service description", "service type",
                    "product name"],
    "location": ["location", "address", "site", "service address", "site address"],
    "monthly_rate": ["monthly rate", "mrc", "contracted mrc", "contract rate", "monthly charge",
                     "contract mrc", "monthly cost", "rate"],
    "install_date": ["install date", "installed", "start date", "service start",
                     "commencement date", "installation date", "activation date", "in service date"],
    "disconnect_date": ["disconnect date", "disconnected", "disconnect effective", "bill stop date",
                        "disconnect effective date", "termination date", "cancel date"],
    "contract_end": ["contract end", "term end", "contract end date", "expiration",
                     "expiration date", "term end date", "contract expiration"],
}
INVENTORY_REQUIRED = ("service_id",)

INVOICE_FIELDS: dict[str, list[str]] = {
    "carrier": ["carrier", "vendor", "provider"],
    "account": ["account", "ban", "account number", "billing account", "account no", "acct",
                "acct no", "acct number", "billing account number", "account #"],
    "invoice_number": ["invoice number", "invoice", "invoice no", "bill number", "invoice #",
                       "invoice id", "bill no", "invoice num", "statement number",
                       "statement no", "statement id"],
    "invoice_date": ["invoice date", "bill date", "billing date", "statement date", "bill cycle date"],
    "due_date": ["due date", "date due", "payment due date", "payment due"],
    "service_id": INVENTORY_FIELDS["service_id"],
    "description": ["description", "charge description", "item description", "charge", "product",
                    "service description", "charge name"],
    "charge_type": ["charge type", "type", "category", "charge category", "charge class"],
    "period": ["service period", "period", "billing period", "bill period", "service dates"],
    "period_start": ["period start", "service start", "from date", "start date", "period from",
                     "service from", "from"],
    "period_end": ["period end", "service end", "to date", "end date", "period to", "service to",
                   "thru", "to", "service through", "service thru", "period through",
                   "through", "through date", "thru date"],
    "quantity": ["quantity", "qty", "units"],
    "unit_price": ["unit price", "rate", "unit rate", "price", "unit cost"],
    "amount": ["amount", "charge amount", "total", "charge total", "amount billed", "billed amount",
               "net amount", "extended amount", "cost", "line total"],
    "invoice_total": ["invoice total", "invoice amount", "invoice total amount"],
    # the account summary (parsers/invoice_summary.py): current charges are this bill's own
    # charges, the amount due adds what was carried from the last bill
    "previous_balance": ["previous balance", "balance forward", "prior balance"],
    "payments": ["payments received", "payments", "payment received", "payments applied"],
    "adjustments": ["adjustments", "total adjustments"],
    "current_charges": ["current charges", "total current charges", "new charges",
                        "total new charges"],
    "amount_due": ["amount due", "total amount due", "balance due", "total due"],
}
INVOICE_REQUIRED = ("account", "invoice_number", "amount")

# The customer's records beyond the inventory (parsers/records.py): at least the aliases of
# issue 11's tables. Percent headers lose their "%" when normalised ("Discount %" = "Discount").
CONTRACT_FIELDS: dict[str, list[str]] = {
    "carrier": INVENTORY_FIELDS["carrier"],
    "account": INVENTORY_FIELDS["account"],
    "service_id": INVENTORY_FIELDS["service_id"],
    "product": ["description", "service", "product name", "charge description",
                "product description", "service description"],
    "monthly_rate": ["mrc", "contract rate", "contracted mrc", "rate", "monthly rate",
                     "contract mrc", "monthly charge", "term rate"],
    "one_time_rate": ["nrc", "installation charge", "install charge", "one time charge",
                      "one time rate", "installation fee", "install fee"],
    "discount_pct": ["discount", "discount %", "term discount", "discount percent"],
    "term_start": ["start date", "effective date", "contract start", "term start date",
                   "contract start date", "start"],
    "term_end": ["end date", "contract end", "expiration", "term end", "contract end date",
                 "expiration date", "term end date", "expires", "end"],
    "after_term": ["at term end", "renewal", "evergreen", "after term end", "renewal type"],
    "mtm_rate_pct": ["mtm %", "month-to-month %", "holdover %", "mtm percent", "holdover percent"],
    "dispute_window_days": ["dispute window", "dispute days", "claim window",
                            "dispute window days"],
    "late_fee_pct": ["late fee %", "late payment charge", "late fee", "late payment charge %",
                     "late charge %"],
    "nrc_waived": ["waived", "install waived", "nrc waived", "installation waived", "waiver"],
    "notice_days": ["disconnect notice", "notice period", "notice days", "notice",
                    "disconnect notice days"],
}
ORDER_FIELDS: dict[str, list[str]] = {
    "order_id": ["order number", "order no", "order #", "pon", "order", "order num"],
    "carrier": INVENTORY_FIELDS["carrier"],
    "account": INVENTORY_FIELDS["account"],
    "service_id": INVENTORY_FIELDS["service_id"],
    "action": ["order type", "activity", "type", "order action", "activity type"],
    "status": ["order status", "state"],
    "order_date": ["date ordered", "submitted", "request date", "ordered", "submitted date",
                   "submit date"],
    "due_date": ["requested date", "requested due date", "desired due date", "due"],
    "foc_date": ["firm order commitment", "committed date", "foc", "foc date", "commit date",
                 "firm order commitment date"],
    "completed_date": ["completion date", "effective date", "install date", "disconnect date",
                       "completed", "completed on", "date completed", "complete date"],
    "quoted_nrc": ["nrc", "quoted install", "install charge", "one-time charge", "quoted nrc",
                   "quote", "quoted install charge"],
    "new_rate": ["new mrc", "new monthly rate"],
    "description": ["product", "service description", "notes", "remarks"],
}
PAYMENT_FIELDS: dict[str, list[str]] = {
    "account": INVENTORY_FIELDS["account"],
    "payment_date": ["paid on", "date", "payment date", "date paid", "paid date"],
    "amount": ["amount", "payment amount", "amount paid", "paid amount", "payment"],
    "reference": ["check number", "confirmation", "payment id", "check no", "check #",
                  "reference number", "ref", "confirmation number", "transaction id"],
    "invoice_number": INVOICE_FIELDS["invoice_number"],
}
# the --columns sections and the fields each may name
MAPPING_SECTIONS: dict[str, dict[str, list[str]]] = {
    "invoice": INVOICE_FIELDS, "inventory": INVENTORY_FIELDS, "contracts": CONTRACT_FIELDS,
    "orders": ORDER_FIELDS, "payments": PAYMENT_FIELDS}


@lru_cache(maxsize=65536)
def norm_header(text: object) -> str:
    """'Circuit ID #' -> 'circuitidno'. Case, space and punctuation blind; Unicode NFKC, so a
    full-width 'ＡＣＣＯＵＮＴ' or '＃' is read as 'account', '#' (invisible characters go with the
    punctuation)."""
    return _norm_text(text) if text.__class__ is str else _norm_text(str(text or ""))


# every byte but 0-9 and a-z: what an ASCII text loses when normalised (bytes.translate is
# twice the speed of the regex; a header search normalises 40 rows of data cells per file)
_NOT_ALNUM = bytes(c for c in range(256) if not (48 <= c <= 57 or 97 <= c <= 122))


@lru_cache(maxsize=65536)  # headers and labels repeat in every file of a batch
def _norm_text(text: str) -> str:
    if text.isascii():
        return text.lower().replace("#", "no").encode().translate(None, _NOT_ALNUM).decode()
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[^0-9a-z]", "", text.lower().replace("#", "no"))


def _alias_index(fields: dict[str, list[str]]) -> dict[str, tuple[str, int]]:
    """Normalised alias -> (field, rank: 0 for the field's own name, then its aliases in order)."""
    return dict(_alias_index_of(tuple((name, tuple(aliases)) for name, aliases in fields.items())))


@lru_cache(maxsize=64)  # once per field list (invoice, inventory, records), not per file
def _alias_index_of(fields: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple:
    idx: dict[str, tuple[str, int]] = {}
    for name, aliases in fields:
        for rank, alias in enumerate([name.replace("_", " "), *aliases]):
            key = norm_header(alias)
            if key not in idx or rank < idx[key][1]:
                idx[key] = (name, rank)
    return tuple(idx.items())


@dataclass
class ColumnMap:
    """Field name -> column position, plus what a person needs to understand a failure."""

    positions: dict[str, int]
    headers: list[str]
    duplicates: list[tuple[str, list[int]]] = field(default_factory=list)

    def missing(self, required: tuple[str, ...]) -> list[str]:
        return [f for f in required if f not in self.positions]


def map_columns(headers: list[str], fields: dict[str, list[str]],
                overrides: dict[str, str] | None = None) -> ColumnMap:
    """Assign each field the header that names it best: explicit mapping, then canonical name,
    then the earliest alias in its list. A header serves one field only."""
    idx = _alias_index(fields)
    normed = [norm_header(h) for h in headers]
    positions: dict[str, int] = {}
    taken: set[int] = set()
    for name, header in (overrides or {}).items():
        want = norm_header(header)
        for i, n in enumerate(normed):
            if n == want and i not in taken:
                positions[name] = i
                taken.add(i)
                break
    # candidates: (rank, position, field)
    cands = sorted(
        (idx[n][1], i, idx[n][0]) for i, n in enumerate(normed) if n in idx and i not in taken
    )
    for _rank, i, name in cands:
        if name in positions or i in taken:
            continue
        positions[name] = i
        taken.add(i)
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(normed):
        if n:
            seen.setdefault(n, []).append(i)
    dups = [(headers[v[0]].strip(), v) for v in seen.values() if len(v) > 1 and v[0] in taken]
    return ColumnMap(positions=positions, headers=headers, duplicates=dups)


def closest_alias(headers: list[str], fields: dict[str, list[str]], name: str) -> tuple[str, str, float] | None:
    """The seen header most like any alias of `name`: (header, alias, score)."""
    best = None
    for h in headers:
        nh = norm_header(h)
        if not nh:
            continue
        for alias in [name.replace("_", " ")] + fields[name]:
            score = fuzz.ratio(nh, norm_header(alias))
            if best is None or score > best[2]:
                best = (h.strip(), alias, score)
    return best


def missing_column_reason(cmap: ColumnMap, fields: dict[str, list[str]], name: str, kind: str) -> str:
    seen = ", ".join(repr(h.strip()) for h in cmap.headers if str(h).strip()) or "none"
    msg = f"required {kind} column '{name}' not found (headers seen: {seen})"
    near = closest_alias(cmap.headers, fields, name)
    if near and near[2] >= 50:
        msg += f"; closest is {near[0]!r}, like alias {near[1]!r}"
    msg += f"; map it with --columns, e.g. '{kind}: {{{name}: \"<header>\"}}'"
    return msg


def load_mapping(path: Path | None) -> dict[str, dict[str, str]]:
    """--columns YAML -> {'invoice': {...}, 'inventory': {...}, 'contracts': {...}, 'orders':
    {...}, 'payments': {...}}; a flat mapping applies to the invoice and the inventory."""
    out: dict[str, dict[str, str]] = {section: {} for section in MAPPING_SECTIONS}
    if path is None:
        return out
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of field: header")
    known = set(INVOICE_FIELDS) | set(INVENTORY_FIELDS)
    for key, value in data.items():
        if key in MAPPING_SECTIONS:
            if not isinstance(value, dict):
                raise ValueError(f"{path}: '{key}' must map field names to headers")
            out[key].update({str(k): str(v) for k, v in value.items()})
        elif key in known:
            out["invoice"][str(key)] = str(value)
            out["inventory"][str(key)] = str(value)
        else:
            raise ValueError(f"{path}: unknown field {key!r}; fields are {sorted(known)}, or a "
                             f"section: {', '.join(MAPPING_SECTIONS)}")
    for kind, fields in MAPPING_SECTIONS.items():
        for name in out[kind]:
            if name not in fields:
                raise ValueError(f"{path}: {kind} has no field {name!r}; fields are {sorted(fields)}")
    return out
