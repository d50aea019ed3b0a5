"""Alerts: change and feed-health messages, routed, queued in the outbox and delivered over channels."""
