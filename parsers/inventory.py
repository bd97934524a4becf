"""The provisioning inventory agents keep (CSV or Excel): one row per circuit, line or trunk.

Blank install dates and a contract end of `MTM` are normal data. A row whose service ID is
blank (in every service-ID column: circuits and phone lines may have one each) is reported
and skipped; a value that can't be read is reported and left blank so the
rest of the row is still used.
"""

from __future__ import annotations

from pathlib import Path

from reconcile.parsers.tabular import TableError, cell_text, header_scorer, open_table
from reconcile.parsers.columns import (INVENTORY_FIELDS, INVENTORY_REQUIRED, _alias_index, map_columns,
                               missing_column_reason, norm_header)
from reconcile.core.models import InputError, Service
from reconcile.core.values import parse_date, parse_money

_OPEN_ENDED = {"MTM", "M2M", "MONTHTOMONTH", "NONE", "NA", "N/A", "EVERGREEN", "AUTORENEW"}


def read_inventory(path: Path, overrides: dict[str, str] | None = None,
                   sheet: str | None = None) -> tuple[list[Service], list[InputError], list[str]]:
    """Services, problems (file/row/reason), and notes on how the file was read."""
    src = str(path)
    try:
        table = open_table(path, header_scorer(INVENTORY_FIELDS, set((overrides or {}).values())),
                           sheet=sheet)
    except TableError as e:
        return [], [InputError(file=src, reason=f"inventory: {e}", effect="file skipped")], []
    except OSError as e:
        return [], [InputError(file=src, reason=f"inventory: cannot open ({e.strerror})",
                               effect="file skipped")], []
    cmap = map_columns(table.headers, INVENTORY_FIELDS, overrides)
    errors: list[InputError] = []
    for name in cmap.missing(INVENTORY_REQUIRED):
        errors.append(InputError(file=src, reason=missing_column_reason(cmap, INVENTORY_FIELDS, name,
                                                                         "inventory"),
                                 effect="file skipped"))
    if errors:
        return [], errors, table.notes
    for header, cols in cmap.duplicates:
        errors.append(InputError(file=src, row=table.header_row,
                                 reason=f"columns {[c + 1 for c in cols]} are all named {header!r}; "
                                        f"using column {cols[0] + 1}", effect="value ignored"))
    pos = cmap.positions
    other_ids = _other_id_columns(table.headers, pos["service_id"])
    used = set(pos.values())
    extra_cols = [(i, h) for i, h in enumerate(table.headers) if i not in used and h]
    services: list[Service] = []
    for row_no, cells in table.rows:
        if not any(cell_text(c) for c in cells):
            continue

        def get(name, cells=cells):
            i = pos.get(name)
            return cells[i] if i is not None and i < len(cells) else None

        sid = cell_text(get("service_id")) or next(
            (t for i in other_ids if i < len(cells) and (t := cell_text(cells[i]))), "")
        if not sid:
            errors.append(InputError(file=src, row=row_no, reason="service ID is blank"))
            continue
        values: dict = {}
        for name, parse in (("monthly_rate", parse_money), ("install_date", parse_date),
                            ("disconnect_date", parse_date)):
            try:
                values[name] = parse(get(name))
            except ValueError as e:
                errors.append(InputError(file=src, row=row_no, reason=f"{name}: {e}",
                                         effect="value ignored"))
        end_raw = get("contract_end")
        end_text = cell_text(end_raw)
        try:
            values["contract_end"] = parse_date(end_raw)
        except ValueError as e:
            values["contract_end"] = None
            if end_text.upper().replace("-", "").replace(" ", "") not in _OPEN_ENDED:
                errors.append(InputError(file=src, row=row_no, reason=f"contract_end: {e}",
                                         effect="value ignored"))
        services.append(Service(
            index=len(services), source=src, row=row_no, service_id=sid,
            account=cell_text(get("account")), carrier=cell_text(get("carrier")),
            description=cell_text(get("description")), location=cell_text(get("location")),
            contract_end_text="" if values["contract_end"] else end_text,
            extra={h: cell_text(cells[i]) for i, h in extra_cols if i < len(cells) and cell_text(cells[i])},
            **values,
        ))
    if not services and not errors:
        errors.append(InputError(file=src, reason="inventory has a header but no service rows",
                                 effect="file skipped"))
    return services, errors, table.notes


def _other_id_columns(headers: list[str], chosen: int) -> list[int]:
    """Further service-ID columns, best alias first: an inventory listing circuits under
    'Circuit ID' and lines under 'TN' leaves one of them blank on every row."""
    idx = _alias_index(INVENTORY_FIELDS)
    ranked = [(idx[n][1], i) for i, n in enumerate(norm_header(h) for h in headers)
              if i != chosen and idx.get(n, ("", 0))[0] == "service_id"]
    return [i for _, i in sorted(ranked)]
