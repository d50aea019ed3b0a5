"""``webhook+http://…`` / ``webhook+https://…``: a JSON POST signed with ``PARLEY_WEBHOOK_SECRET``
(``X-Parley-Signature: sha256=<hex HMAC-SHA256 of the body bytes>``).

Internal receivers are normal, so unlike feed fetching no address is refused; only http and https
are spoken.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import hmac
from datetime import UTC, datetime

import httpx

from etl.alerts.channels.base import AlertMessage, ChannelError
from etl.errors import first_line, one_line
from etl.settings import ConfigError, Settings

# HTTP statuses worth retrying besides 5xx: request timeout, too early, too many requests.
_RETRYABLE_HTTP = frozenset({408, 425, 429})


def webhook_signature(body: bytes, secret: str) -> str:
    """The ``X-Parley-Signature`` value for ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """``webhook+http(s)://host/path``: a signed JSON POST; any 2xx answer means delivered.

    Headers: ``X-Parley-Alert-Id`` and ``Idempotency-Key`` (both the alert id) and
    ``X-Parley-Signature``, computed over the exact bytes sent. Redirects are not followed: a POST
    that is redirected is a misconfigured URL.
    """

    def __init__(
        self,
        target: str,
        *,
        name: str,
        secret: str,
        timeout: float,
        connect_timeout: float,
        user_agent: str,
    ) -> None:
        self.target = target
        self.name = name
        self._secret = secret
        self._timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self._user_agent = user_agent

    def send(self, message: AlertMessage) -> None:
        body = message.to_json_bytes()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
            "X-Parley-Alert-Id": message.alert_id,
            "Idempotency-Key": message.alert_id,
            "X-Parley-Signature": webhook_signature(body, self._secret),
        }
        try:
            # trust_env=False: an HTTP(S)_PROXY meant for the outside world must not see internal receivers.
            with (
                httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as client,
                client.stream("POST", self.target, content=body, headers=headers) as response,
            ):
                status = response.status_code
                if 200 <= status < 300:
                    return
                detail = _response_snippet(response)
                retry_after = _retry_after(response.headers.get("retry-after"))
        except httpx.TimeoutException as exc:
            raise ChannelError(f"webhook timed out ({type(exc).__name__})", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ChannelError(f"webhook unreachable: {first_line(exc)}", retryable=True) from exc
        reason = f"webhook answered HTTP {status}"
        if 300 <= status < 400:
            reason += f" (redirect to {response.headers.get('location', '?')}; give the final URL)"
        raise ChannelError(
            f"{reason}: {detail}" if detail else reason,
            retryable=status >= 500 or status in _RETRYABLE_HTTP,
            retry_after=retry_after,
        )


def _response_snippet(response: httpx.Response, limit: int = 200) -> str:
    """The start of an error response's body, for the error message; never the whole of it."""
    chunks: list[bytes] = []
    size = 0
    with contextlib.suppress(httpx.HTTPError):
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    return one_line(b"".join(chunks)[:limit].decode("utf-8", errors="replace"))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def from_url(url: str, masked: str, settings: Settings) -> WebhookChannel:
    """The channel of a ``webhook+http(s)://`` URL; it needs ``PARLEY_WEBHOOK_SECRET``."""
    target = url.split("+", 1)[1]
    try:
        parsed = httpx.URL(target)
    except httpx.InvalidURL as exc:
        # only the kind of fault ("Invalid port"): the rest quotes the URL, password pieces included
        raise ConfigError(f"bad alert URL {masked}: {str(exc).partition(':')[0]}") from None
    if not parsed.host:
        raise ConfigError(f"bad alert URL {masked}: the webhook URL has no host")
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        raise ConfigError(f"alert URL {masked} needs PARLEY_WEBHOOK_SECRET to sign its requests")
    return WebhookChannel(
        str(parsed.copy_with(fragment=None)),
        name=masked,
        secret=settings.webhook_secret.get_secret_value(),
        timeout=settings.alert_timeout,
        connect_timeout=settings.connect_timeout,
        user_agent=settings.user_agent,
    )
