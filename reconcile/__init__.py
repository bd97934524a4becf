"""reconcile: telecom bill reconciliation and audit engine."""

__version__ = "0.1.0"
