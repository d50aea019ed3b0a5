"""The Assets that chain parley's DAGs: one place, imported by producers and consumers alike.

An event on an Asset says "something changed in the parley database", never which rows: events
coalesce, so a consumer always processes everything not yet processed.
"""

from __future__ import annotations

from airflow.sdk import Asset

NEW_ARTICLES = Asset(name="parley_new_articles", uri="x-parley://parley_db/articles", group="parley")
"""Articles were stored by ``parley_ingest``; the event's extra carries ``new_articles``."""

POSITIONS = Asset(name="parley_positions", uri="x-parley://parley_db/positions", group="parley")
"""The position ledger recorded new positions, changes or confirmations, and queued their alerts."""
