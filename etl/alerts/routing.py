"""Alert routing: which channels an event is alerted on, which events are muted, which channels digest.

The rules are a YAML file named by ``PARLEY_ALERT_RULES``; without one every event goes to every
channel. ``routes`` limit a channel to the events one of its routes matches (a channel with no route
gets everything); ``mute`` entries silence matching events on every channel (the ledger still records
them), until an optional ``until`` time; ``digest`` names channels that get one message per period
instead of one per event (the batching itself is :func:`etl.alerts.outbox.deliver_pending`'s).

Channels are named in the file by their URL as written in ``PARLEY_ALERT_URLS`` — or by its masked
form, so that secrets need not be repeated — and resolved here to the masked channel names that key
the outbox. Negotiations, actors and issues (of the negotiations a rule lists) are checked against
the seeds and channels against ``PARLEY_ALERT_URLS`` when the file is loaded: a typo would otherwise
route or mute nothing, silently.
A bad file raises :class:`~etl.settings.ConfigError` with one line naming the file, entry and field.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from etl.alerts.channels import channel_from_url, channels_from_settings, mask_url, shown_url
from etl.seeds import SeedError, load_reference, read_yaml, validation_line
from etl.settings import ConfigError, Settings


class RouteKind(StrEnum):
    """The kinds of event a route or a mute names: a position change by its kind
    (:class:`~models.enums.ChangeKind`), a feed health problem, or an alert channel failing."""

    NEW = "new"
    CHANGE = "change"
    FEED_HEALTH = "feed_health"
    CHANNEL_HEALTH = "channel_health"


ROUTE_KINDS: frozenset[str] = frozenset(RouteKind)
DEFAULT_DIGEST_PERIOD = timedelta(minutes=60)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Criteria(_Rule):
    """What an entry matches: every listed criterion must hold; an absent one matches anything."""

    negotiations: list[str] | None = Field(default=None, min_length=1)
    actors: list[str] | None = Field(default=None, min_length=1)
    issues: list[str] | None = Field(default=None, min_length=1)
    kinds: list[RouteKind] | None = Field(default=None, min_length=1)

    def matches(
        self, kind: str, actor: str | None, issue: str | None, negotiation: str | None = None
    ) -> bool:
        # an event without a negotiation, actor or issue (feed health) never matches a rule that
        # lists some
        return (
            (self.kinds is None or kind in self.kinds)
            and (self.negotiations is None or (negotiation is not None and negotiation in self.negotiations))
            and (self.actors is None or (actor is not None and actor in self.actors))
            and (self.issues is None or (issue is not None and issue in self.issues))
        )


class RouteRule(_Criteria):
    channel: str


class MuteRule(_Criteria):
    until: AwareDatetime | None = None

    @field_validator("until", mode="before")
    @classmethod
    def _a_moment(cls, value: object) -> object:
        if isinstance(value, date) and not isinstance(value, datetime):
            raise ValueError("give a time with its zone, e.g. 2026-12-31T00:00:00Z, not a bare date")
        return value

    @model_validator(mode="after")
    def _says_what(self) -> MuteRule:
        if self.negotiations is None and self.actors is None and self.issues is None and self.kinds is None:
            raise ValueError(
                "a mute needs negotiations, actors, issues or kinds (an empty one would mute every alert)"
            )
        return self

    def silences(
        self, kind: str, actor: str | None, issue: str | None, now: datetime, negotiation: str | None = None
    ) -> bool:
        return (self.until is None or now < self.until) and self.matches(kind, actor, issue, negotiation)


class DigestRule(_Rule):
    channels: list[str] = Field(min_length=1)
    period_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class RulesFile(_Rule):
    routes: list[RouteRule] = Field(default_factory=list)
    mute: list[MuteRule] = Field(default_factory=list)
    digest: DigestRule | None = None


@dataclass(frozen=True)
class AlertRules:
    """Loaded rules, with channels resolved to their outbox names. ``AlertRules()`` sends all to all."""

    routes: dict[str, tuple[RouteRule, ...]] = field(default_factory=dict)
    mutes: tuple[MuteRule, ...] = ()
    digest_channels: frozenset[str] = frozenset()
    digest_period: timedelta = DEFAULT_DIGEST_PERIOD

    @classmethod
    def load(cls, settings: Settings) -> AlertRules:
        """The rules of ``settings.alert_rules`` (none when it is unset); :class:`ConfigError` if bad."""
        if settings.alert_rules is None:
            return cls()
        return _load(settings.alert_rules, settings)

    def channels_for(
        self,
        kind: str,
        actor: str | None,
        issue: str | None,
        channels: Sequence[str],
        now: datetime,
        negotiation: str | None = None,
    ) -> list[str]:
        """The names among ``channels`` that an event of ``kind`` about ``actor``/``issue`` in
        ``negotiation`` goes to at ``now`` (timezone-aware): none when a mute matches, else each
        channel that has no route or has a route that matches."""
        if kind not in ROUTE_KINDS:
            raise ValueError(f"unknown alert kind {kind!r}: one of {', '.join(sorted(ROUTE_KINDS))}")
        if any(mute.silences(kind, actor, issue, now, negotiation) for mute in self.mutes):
            return []
        return [
            name
            for name in channels
            if name not in self.routes
            or any(r.matches(kind, actor, issue, negotiation) for r in self.routes[name])
        ]

    def is_digest(self, channel_name: str) -> bool:
        return channel_name in self.digest_channels


def _load(path: Path, settings: Settings) -> AlertRules:
    raw = _read_yaml(path)
    if raw is None:  # an empty file: no rules
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with routes, mute and/or digest")
    try:
        rules = RulesFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(validation_line(path, raw, exc, _channel_of)) from exc

    configured = [channel.name for channel in channels_from_settings(settings)]
    known = _known_keys(settings.seeds_dir)
    routes: dict[str, list[RouteRule]] = {}
    for index, route in enumerate(rules.routes):
        where = f"{path}: routes entry #{index + 1} ({_shown(route.channel)})"
        name = _resolve_channel(route.channel, settings, configured, f"{where} field 'channel'")
        _check_keys(route, known, where)
        routes.setdefault(name, []).append(route)
    for index, mute in enumerate(rules.mute):
        _check_keys(mute, known, f"{path}: mute entry #{index + 1}")
    digest_channels: set[str] = set()
    digest_period = DEFAULT_DIGEST_PERIOD
    if rules.digest is not None:
        for index, ref in enumerate(rules.digest.channels):
            where = f"{path}: digest field 'channels' item #{index + 1}"
            digest_channels.add(_resolve_channel(ref, settings, configured, where))
        digest_period = timedelta(minutes=rules.digest.period_minutes)
    return AlertRules(
        routes={name: tuple(entries) for name, entries in routes.items()},
        mutes=tuple(rules.mute),
        digest_channels=frozenset(digest_channels),
        digest_period=digest_period,
    )


def _read_yaml(path: Path) -> Any:
    return read_yaml(path, ConfigError, not_found="alert rules file not found (PARLEY_ALERT_RULES)")


def _channel_of(entry: Any) -> str | None:
    """How an error names a route: by its channel, secrets masked."""
    channel = entry.get("channel") if isinstance(entry, dict) else None
    return _shown(channel) if isinstance(channel, str) else None


def _resolve_channel(ref: str, settings: Settings, configured: Sequence[str], where: str) -> str:
    """The outbox name of the channel ``ref`` names, given as written in PARLEY_ALERT_URLS or masked."""
    ref = ref.strip()
    candidates = [ref, mask_url(ref)]
    with contextlib.suppress(ConfigError):  # a masked URL need not build a channel; its name may match
        candidates.append(channel_from_url(ref, settings).name)
    for candidate in candidates:
        if candidate in configured:
            return candidate
    listed = ", ".join(configured) or "none"
    raise ConfigError(f"{where}: {_shown(ref)} is not a channel of PARLEY_ALERT_URLS (it has: {listed})")


def _shown(ref: str) -> str:
    """A channel URL fit for an error message: secrets (a password, a token parameter or path
    segment) masked."""
    return shown_url(ref)


@dataclass(frozen=True)
class _Known:
    """What the seeds define, to check a rule's keys against (None: the seeds folder has nothing to
    check against)."""

    negotiations: frozenset[str] | None = None
    actors: frozenset[str] | None = None
    issues: dict[str, frozenset[str]] | None = None
    """each negotiation's issue keys"""


def _known_keys(seeds_dir: Path) -> _Known:
    """Negotiation keys, actor ids and each negotiation's issue keys from the seeds."""
    if not (seeds_dir / "actors.yaml").exists() or not (seeds_dir / "negotiations").is_dir():
        return _Known()
    try:
        reference = load_reference(seeds_dir)
    except SeedError as exc:
        raise ConfigError(f"cannot check the alert rules against the seeds: {exc}") from exc
    return _Known(
        negotiations=frozenset(n.key for n in reference.negotiations),
        actors=frozenset(a.id for a in reference.actors),
        issues={n.key: frozenset(i.key for i in n.issues) for n in reference.negotiations},
    )


def _check_keys(rule: _Criteria, known: _Known, where: str) -> None:
    """Every key ``rule`` lists exists in the seeds; an issue, in one of the negotiations it lists
    (an issue of another would never match: a rule that routes or mutes nothing, silently)."""
    issues: frozenset[str] | None = None
    scope = "the seeds"
    if known.issues is not None:
        within = rule.negotiations or list(known.issues)
        issues = frozenset().union(*(known.issues.get(n, frozenset()) for n in within))
        if rule.negotiations:
            scope = f"the issues of {', '.join(rule.negotiations)}"
    criteria = (
        ("negotiation", rule.negotiations, known.negotiations, "the seeds"),
        ("actor", rule.actors, known.actors, "the seeds"),
        ("issue", rule.issues, issues, scope),
    )
    for label, given, keys, where_known in criteria:
        if given is None or keys is None:
            continue
        for index, key in enumerate(given):
            if key not in keys:
                raise ConfigError(
                    f"{where} field '{label}s' item #{index + 1}: unknown {label} {key!r}"
                    f" (not in {where_known})"
                )
