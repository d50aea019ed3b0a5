"""The ledger's versioning rule: claims, applied in publication order, move each (negotiation, actor,
issue)'s versions and record the events between them. Plain data in and out; no database.

For each (negotiation, actor, issue) the ledger keeps versions over time: an actor's position in one
negotiation never closes its position on the same issue key in another. A claim published at ``t``:

- with no version yet opens the first one and records a ``new`` position event;
- stating what the version valid at ``t`` says (same value and stance) corroborates it: the
  version counts one more claim and, if its feed is new to it, one more outlet;
- stating something else while the version valid at ``t`` is the current one closes it at ``t``,
  opens a new current version and records a ``change`` event (old and new value, stance,
  evidence and article URL);
- published before the current version began (a late article) is placed in history: it
  corroborates, extends or splits the version valid at ``t`` and records no event, so late news never
  raises a spurious alert.

A version is *confirmed* when ``confirm_outlets`` distinct outlets have stated it. An event is
alerted when it is recorded (``alert_on`` is ``first``) or when the version it opened is confirmed
(``confirmed``); which channels an alert goes to is the routing's business, not the rule's.

The versions of a key are the machine's state: :func:`apply` moves them in place and returns what
it changed (:class:`Outcome`), which is what a store has to write.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from models.enums import ChangeKind, Stance

AlertOn = Literal["first", "confirmed"]
LedgerKey = tuple[str, str, str]
"""(negotiation, actor, issue)"""


@dataclass(frozen=True)
class Policy:
    confirm_outlets: int
    """distinct outlets (feeds) that confirm a version"""
    alert_on: AlertOn


@dataclass(frozen=True)
class PendingClaim:
    """A claim not yet in the ledger, with what the ledger needs of its article."""

    id: int
    negotiation: str
    actor: str
    issue: str
    value: str
    value_number: float | None
    stance: Stance
    evidence: str
    published_at: datetime
    feed_id: int
    outlet: str
    url: str | None


@dataclass(eq=False)
class Version:
    """One version of a position, valid over [valid_from, valid_to) (``valid_to`` None: current)."""

    negotiation: str
    actor: str
    issue: str
    value: str
    value_number: float | None
    stance: Stance
    valid_from: datetime
    valid_to: datetime | None
    opened_by_claim_id: int | None
    claims: int = 0
    feeds: set[int] = field(default_factory=set)
    """the feeds (outlets) that stated it"""
    confirmed_at: datetime | None = None
    opened_by: Event | None = None
    """The event that opened it, while it may still be confirmed (None for versions a late article
    placed in history, and for stored versions already confirmed)."""
    opening: tuple[str, str | None] | None = None
    """Evidence and URL of the opening claim (what a change from this version reports as 'before')."""
    id: int | None = None
    """the stored row's id (None until the store has written it)"""

    def holds_at(self, t: datetime) -> bool:
        return self.valid_from <= t and (self.valid_to is None or t < self.valid_to)

    def says(self, claim: PendingClaim) -> bool:
        return self.value == claim.value and self.stance == claim.stance


@dataclass(eq=False)
class Event:
    """A position event: an actor's first position on an issue, or a change from one version to the next."""

    negotiation: str
    actor: str
    issue: str
    kind: ChangeKind
    old_position: Version | None
    new_position: Version
    old_value: str | None
    old_stance: Stance | None
    new_value: str
    new_stance: Stance
    old_evidence: str | None
    old_url: str | None
    new_evidence: str
    new_url: str | None
    outlet: str | None
    """the feed that reported it first"""
    published_at: datetime
    confirmed_at: datetime | None = None
    id: int | None = None
    """the stored row's id (None until the store has written it)"""


@dataclass(frozen=True, eq=False)
class QueuedAlert:
    """An event to alert, with its confirmation as it stood when the alert was queued."""

    event: Event
    confirmed_at: datetime | None


@dataclass
class Outcome:
    """What :func:`apply` did, in the order it did it."""

    opened: list[Version] = field(default_factory=list)
    """new versions"""
    touched: dict[Version, None] = field(default_factory=dict)
    """every version whose bounds, counts or confirmation moved (new ones included; a dict as an
    ordered set)"""
    events: list[Event] = field(default_factory=list)
    """new events"""
    confirmed: list[Event] = field(default_factory=list)
    """events confirmed by this application (new ones included)"""
    confirmations: int = 0
    """versions confirmed (with an event or not)"""
    support: list[tuple[PendingClaim, Version]] = field(default_factory=list)
    """each claim applied, and the version it supports"""
    alerts: list[QueuedAlert] = field(default_factory=list)

    @property
    def new_positions(self) -> int:
        return sum(1 for e in self.events if e.kind == ChangeKind.NEW)

    @property
    def changes(self) -> int:
        return sum(1 for e in self.events if e.kind == ChangeKind.CHANGE)


def apply(
    histories: Mapping[LedgerKey, list[Version]],
    claims: Iterable[PendingClaim],
    policy: Policy,
    now: datetime,
) -> Outcome:
    """Apply ``claims`` (in publication order) to ``histories``: the versions of every pair they
    touch, in time order (an empty list for a pair with none). ``now`` is when a version confirmed
    here is confirmed."""
    machine = _Machine(histories, policy, now)
    for claim in claims:
        machine.apply(claim)
    return machine.outcome


class _Machine:
    def __init__(self, histories: Mapping[LedgerKey, list[Version]], policy: Policy, now: datetime) -> None:
        self.histories = histories
        self.policy = policy
        self.now = now
        self.outcome = Outcome()

    def apply(self, claim: PendingClaim) -> None:
        versions = self.histories[(claim.negotiation, claim.actor, claim.issue)]
        t = claim.published_at
        if not versions:
            self._open(versions, claim, previous=None)
            return
        # versions tile time, so at most one holds at t; claims mostly arrive in order: look from the end
        at_t = next((v for v in reversed(versions) if v.holds_at(t)), None)
        if at_t is None:  # earlier than all history: a late article
            first = versions[0]
            if first.says(claim):
                first.valid_from = t
                self._support(first, claim)
            else:
                self._support(self._insert(versions, claim, valid_to=first.valid_from), claim)
            return
        if at_t.says(claim):
            self._support(at_t, claim)
            return
        if at_t.valid_to is None:
            self._open(versions, claim, previous=at_t)
            return
        # a late article that differs from the version valid at its time: split that version
        later_part_end = at_t.valid_to
        at_t.valid_to = t
        self.outcome.touched[at_t] = None
        self._support(self._insert(versions, claim, valid_to=later_part_end), claim)

    def _insert(self, versions: list[Version], claim: PendingClaim, *, valid_to: datetime | None) -> Version:
        version = Version(
            negotiation=claim.negotiation,
            actor=claim.actor,
            issue=claim.issue,
            value=claim.value,
            value_number=claim.value_number,
            stance=claim.stance,
            valid_from=claim.published_at,
            valid_to=valid_to,
            opened_by_claim_id=claim.id,
            opening=(claim.evidence, claim.url),
        )
        versions.insert(bisect_right([v.valid_from for v in versions], version.valid_from), version)
        self.outcome.opened.append(version)
        self.outcome.touched[version] = None
        return version

    def _open(self, versions: list[Version], claim: PendingClaim, previous: Version | None) -> None:
        if previous is not None:
            previous.valid_to = claim.published_at
            self.outcome.touched[previous] = None
        position = self._insert(versions, claim, valid_to=None)
        old = previous.opening if previous is not None else None
        event = Event(
            negotiation=claim.negotiation,
            actor=claim.actor,
            issue=claim.issue,
            kind=ChangeKind.CHANGE if previous is not None else ChangeKind.NEW,
            old_position=previous,
            new_position=position,
            old_value=previous.value if previous is not None else None,
            old_stance=previous.stance if previous is not None else None,
            new_value=claim.value,
            new_stance=claim.stance,
            old_evidence=old[0] if old else None,
            old_url=old[1] if old else None,
            new_evidence=claim.evidence,
            new_url=claim.url,
            outlet=claim.outlet,
            published_at=claim.published_at,
        )
        position.opened_by = event
        self.outcome.events.append(event)
        self._support(position, claim)
        if self.policy.alert_on == "first":
            self.outcome.alerts.append(QueuedAlert(event, event.confirmed_at))

    def _support(self, version: Version, claim: PendingClaim) -> None:
        self.outcome.support.append((claim, version))
        self.outcome.touched[version] = None
        version.claims += 1
        version.feeds.add(claim.feed_id)
        if version.confirmed_at is None and len(version.feeds) >= self.policy.confirm_outlets:
            version.confirmed_at = self.now
            self.outcome.confirmations += 1
            event = version.opened_by
            if event is not None:
                event.confirmed_at = self.now
                self.outcome.confirmed.append(event)
                if self.policy.alert_on == "confirmed":
                    self.outcome.alerts.append(QueuedAlert(event, event.confirmed_at))
