"""Reports written from an AuditResult."""
