"""Alerts: what parley tells people, to whom, and how it gets there.

- :mod:`.messages` — the text of every alert: subject, body and payload of a position change, a
  feed failing or silent, and a digest.
- :mod:`.routing` — the rules file: which channels an event goes to, what is muted, which channels digest.
- :mod:`.outbox` — delivering the queued alerts at least once, with retries and digests.
- :mod:`.channels` — one module per destination (console, jsonl, webhook, smtp, Apprise).
- :mod:`.health` — feed health: feeds failing or silent, queued as alerts.
"""
