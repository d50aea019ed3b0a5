"""What every channel shares: the message it delivers, the protocol it follows, the error it raises."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from etl.alerts.redact import scrub_secrets

# An alert id travels in HTTP and e-mail headers: printable ASCII without spaces.
_ALERT_ID = re.compile(r"[!-~]{1,200}")


@dataclass(frozen=True)
class AlertMessage:
    """One alert, as every channel renders it.

    ``alert_id`` is stable across retries (receivers dedupe on it); ``subject`` is one line;
    ``body`` is plain text with the evidence; ``payload`` is the structured event, JSON-serialisable.
    A message that breaks these rules raises ``ValueError`` when it is built, not when it is sent.
    """

    alert_id: str
    subject: str
    body: str
    payload: dict[str, Any]

    def __post_init__(self) -> None:
        if not _ALERT_ID.fullmatch(self.alert_id):
            raise ValueError(
                f"alert_id must be 1-200 printable ASCII characters without spaces: {self.alert_id!r}"
            )
        if not self.subject.strip() or any(c in self.subject for c in "\r\n\x00"):
            raise ValueError(f"subject must be one non-empty line: {self.subject[:80]!r}")
        try:
            self.to_json_bytes()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"payload of alert {self.alert_id} is not JSON-serialisable: {exc}") from exc

    def document(self) -> dict[str, Any]:
        """The JSON object the jsonl and webhook channels write."""
        return {
            "alert_id": self.alert_id,
            "subject": self.subject,
            "body": self.body,
            "payload": self.payload,
        }

    def to_json_bytes(self) -> bytes:
        """:meth:`document` as compact UTF-8 JSON with sorted keys: the same message, the same bytes."""
        text = json.dumps(
            self.document(), ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        return text.encode("utf-8")


class ChannelError(Exception):
    """A delivery that failed. ``str()`` is one line, cut short and scrubbed of anything that looks
    like a secret (:func:`~etl.alerts.redact.scrub_secrets`): it is stored and printed.

    ``retryable`` is True when the same message may go through later unchanged (connection refused,
    timeout, HTTP 5xx/408/429, SMTP 4xx, disk full); False when someone has to change something first
    (HTTP 4xx, SMTP 5xx, a refused login, a file that cannot be written). ``retry_after`` is the delay
    in seconds a receiver asked for (HTTP ``Retry-After``), when it did.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(scrub_secrets(message))
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(Protocol):
    """A destination for alerts."""

    @property
    def name(self) -> str:
        """The channel's URL with secrets masked: safe to log and to store as the outbox key."""
        ...

    def send(self, message: AlertMessage) -> None:
        """Deliver ``message`` once, or raise :class:`ChannelError`."""
        ...
