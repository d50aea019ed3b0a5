"""Ledger: each actor's position on each issue, versioned, and the change events between versions."""
