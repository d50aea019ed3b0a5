"""Alerts: what parley tells people, to whom, and how it gets there.

- :mod:`.messages` — the text of every alert: subject, body and payload of a position change, a
  feed failing or silent, an alert channel failing, and a digest.
- :mod:`.routing` — the rules file: which channels an event goes to, what is muted, which channels digest.
- :mod:`.outbox` — delivering the queued alerts at least once, with retries and digests; giving up
  (status failed) an alert refused, or past its attempts or age; putting it back on demand.
- :mod:`.channels` — one module per destination (console, jsonl, webhook, smtp, Apprise).
- :mod:`.health` — feeds failing or silent, and alert channels delivering nothing, queued as alerts.
- :mod:`.redact` — what may leave parley: error text scrubbed of secrets and cut, only web links.
"""
