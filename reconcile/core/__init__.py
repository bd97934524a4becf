"""The bottom layer: records (invoices, lines, services, findings), values (money, dates),
identifiers, service periods. It imports nothing else of the project; every other layer
imports it (tests/test_layers.py holds that)."""
