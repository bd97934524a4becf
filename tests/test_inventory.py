"""Reading the circuit inventory people keep: which column holds each service's ID."""

from __future__ import annotations

from reconcile.parsers.inventory import read_inventory


def test_circuits_and_phone_lines_in_separate_id_columns_are_all_services(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("Circuit ID,TN,BAN,MRC\n"
                    "12.HCGS.123456..LY,,0004471220,450.00\n"
                    ",(212) 555-0147,0004471220,35.00\n"
                    "A2/SBFS/201/981/3500//123,201-981-3500,0004471220,600.00\n"
                    ",,0004471220,10.00\n")
    services, errors, _ = read_inventory(path)
    assert [s.service_id for s in services] == ["12.HCGS.123456..LY", "(212) 555-0147",
                                                "A2/SBFS/201/981/3500//123"]
    assert services[2].extra == {"TN": "201-981-3500"}, "the other ID stays as evidence"
    assert [(e.row, e.reason) for e in errors] == [(5, "service ID is blank")]
