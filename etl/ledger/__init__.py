"""Ledger: each actor's position on each issue, versioned, and the change events between versions.

``rule`` decides (claims in, versions and events out, no database); ``store`` loads what the rule
needs and writes what it returns (``apply_claims``); ``queries`` reads the ledger for the CLI.
"""
