"""The one settings object of parley: every knob, read from ``PARLEY_*`` environment variables.

``PARLEY_DATABASE_URL`` selects the database; when it is unset parley runs an embedded PostgreSQL
(see :mod:`etl.db`) under ``PARLEY_DATA_DIR`` so a new user needs no server.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from etl.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

HostOrNetwork = str
_30_DAYS = 30 * 24 * 3600
_365_DAYS = 365 * 24 * 3600

LOCK_TIMEOUT_SECONDS = 300.0  # default wait for a pipeline lock (etl.locks) before giving up

# A comma followed by "scheme://" separates two alert URLs in PARLEY_ALERT_URLS.
_NEXT_URL = re.compile(r",\s*(?=[A-Za-z][A-Za-z0-9+.\-]*://)")


class ConfigError(UserError):
    """Bad configuration: the message is one line a user can act on."""


class Settings(BaseSettings):
    # inf and nan are refused for every number (a timeout of inf overflows every poll); each knob has
    # an upper bound too, so an absurd value is a one-line error at load, not a crash mid-run
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True, allow_inf_nan=False)

    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL of the parley database; unset = embedded PostgreSQL"
    )
    data_dir: Path = Field(default=Path(".parley"), description="where the embedded database lives")
    seeds_dir: Path = Field(default=PROJECT_ROOT / "seeds", description="feeds/actors/issues YAML")

    # HTTP politeness and safety
    user_agent: str = "parley/0.1 (+https://github.com/parley; news monitoring)"
    connect_timeout: float = Field(default=5.0, gt=0, le=300)
    total_timeout: float = Field(default=15.0, gt=0, le=3600, description="deadline for a whole response")
    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0, le=1024**3)
    max_redirects: int = Field(default=5, ge=0, le=20)
    allowed_hosts: Annotated[list[HostOrNetwork], NoDecode] = Field(
        default_factory=list,
        description="hosts or CIDRs that may resolve to non-public addresses (comma-separated)",
    )

    # Polling
    poll_interval_seconds: int = Field(default=3600, gt=0, le=_30_DAYS)
    max_backoff_seconds: int = Field(default=24 * 3600, gt=0, le=_30_DAYS)
    fetch_articles: bool = Field(default=True, description="fetch each new item's page for full text")
    ingest_workers: int = Field(default=4, ge=1, le=64, description="feeds polled concurrently")
    page_workers: int = Field(default=4, ge=1, le=32, description="article pages fetched at once per feed")
    max_entries_per_poll: int = Field(
        default=500, ge=1, le=100_000, description="the newest entries of a feed a poll reads"
    )
    clock_skew_seconds: int = Field(
        default=15 * 60, ge=0, le=24 * 3600, description="how far past its fetch a feed's date is believed"
    )

    # Alert channels (etl.alerts.channels). The URLs may carry SMTP passwords and Apprise tokens: secrets.
    alert_urls: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=lambda: [SecretStr("console://")],
        description="where alerts go: console://, jsonl:///path, webhook+https://…, smtp://…, Apprise URLs",
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="key of the X-Parley-Signature HMAC-SHA256 on webhook alerts"
    )
    alert_timeout: float = Field(
        default=10.0, gt=0, le=600, description="seconds to deliver one alert (webhook, SMTP)"
    )

    lock_timeout_seconds: float = Field(
        default=LOCK_TIMEOUT_SECONDS,
        gt=0,
        le=24 * 3600,
        description="longest wait for a pipeline lock (article store, ledger) another session holds",
    )

    # Ledger and alerts
    confirm_outlets: int = Field(
        default=2, ge=1, le=100, description="distinct outlets that confirm a position"
    )
    alert_on: Literal["first", "confirmed"] = Field(
        default="first", description="alert on the first report of a change, or once it is confirmed"
    )
    alert_retry_base_seconds: float = Field(default=60.0, ge=0, le=86400, description="first retry delay")
    alert_retry_max_seconds: float = Field(
        default=6 * 3600.0, ge=0, le=_30_DAYS, description="longest retry delay"
    )
    # An alert is given up (status failed) when refused for good, after max_attempts failed sends,
    # or once it has waited max_age_hours; a channel that delivers nothing for channel_failing_hours
    # while it has alerts to deliver is reported on the other channels.
    alert_max_attempts: int = Field(default=12, ge=1, le=1000, description="sends before giving up")
    alert_max_age_hours: float = Field(
        default=72.0, gt=0, le=24 * 365, description="hours an alert is retried before giving up"
    )
    alert_channel_failing_hours: float = Field(
        default=3.0, gt=0, le=24 * 30, description="hours without a delivery that make a channel failing"
    )
    alert_rules: Path | None = Field(
        default=None, description="YAML routing, mute and digest rules (etl.alerts.routing); unset: all"
    )
    # Feed health: failed polls in a row that alert; silence (in usual intervals, and at least
    # min_seconds) that alerts, judged once a feed has min_history polls that brought news
    feed_failure_alert_after: int = Field(default=3, ge=1, le=1000)
    feed_silence_factor: float = Field(default=5.0, gt=1, le=1000)
    feed_silence_min_seconds: int = Field(default=6 * 3600, ge=0, le=_365_DAYS)
    feed_silence_min_history: int = Field(default=5, ge=2, le=1000)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("alert_urls", mode="before")
    @classmethod
    def _split_alert_urls(cls, value: object) -> object:
        # Split only at commas that start a new URL: e-mail URLs list recipients with commas too.
        if isinstance(value, str):
            return [part.strip() for part in _NEXT_URL.split(value) if part.strip()]
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        for entry in value:
            if "/" in entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{entry!r} is not a valid CIDR") from exc
        return [entry.lower() for entry in value]

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields changed, validated like the original (unlike ``model_copy``)."""
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self)(**{**fields, **changes})

    @cached_property
    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        nets = []
        for entry in self.allowed_hosts:
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue  # a host name, matched by name
        return tuple(nets)

    @cached_property
    def allowed_names(self) -> frozenset[str]:
        return frozenset(e for e in self.allowed_hosts if not _is_ip_or_net(e))


def _is_ip_or_net(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning validation errors into one-line ConfigErrors."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"bad setting PARLEY_{field.upper()}: {first['msg']}") from exc
