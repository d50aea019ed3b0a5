"""What linking knows about the one article it reads (:class:`Article`), and what it finds
(:class:`Link`: an actor taking a stance at a cue word).

The context is built once per parsed article and passed to the functions of ``actors``,
``deal_terms`` and ``linking``; it holds the article's parse and the seeds it is read with, so those
functions need nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from etl.extract.gazetteer import ACTOR_LABEL, WEAK_ACTOR_LABEL, scoped_label
from etl.extract.speakers import Floor
from etl.extract.values import Rules
from etl.seeds import ActorSeed
from models.enums import Stance

if TYPE_CHECKING:
    from spacy.tokens import Doc


@dataclass(slots=True)
class Link:
    """``actor`` takes ``stance`` on a value, by the cue word at token ``cue_i``."""

    actor: str
    stance: Stance
    confidence: float
    cue_i: int


@dataclass(slots=True)
class Article:
    """One parsed article as one negotiation reads it: which token names which actor, and the
    negotiation's seeds to read it by."""

    doc: Doc
    rules: Rules
    actors: Mapping[str, ActorSeed]  # every seeded actor, by id
    anaphors: Mapping[str, list[str]]  # a describing phrase ("the group") → the actors it may mean
    actor_at: dict[int, str]  # token index → the actor it names (only actors the article names)
    named: set[str]
    parties: list[str]  # the negotiation's parties among the named actors, sorted
    # ``(sentence start, parties)`` of the sentences saying a deal was agreed: see
    # ``deal_terms.deal_statements``, which fills it on first use
    deal_statements: list[tuple[int, list[str]]] | None = None
    # who holds the floor where (transcript turns, a statement's issuer: ``speakers``)
    floor: Floor = field(default_factory=Floor)

    @classmethod
    def read(
        cls,
        doc: Doc,
        named: set[str],
        rules: Rules,
        actors: Mapping[str, ActorSeed],
        anaphors: Mapping[str, list[str]],
        negotiation_parties: Iterable[str],
        negotiation: str,
        floor: Floor | None = None,
    ) -> Article:
        """The context of ``doc`` for ``negotiation``, whose mentions name the actors ``named``;
        ``floor``, who holds it where (``named`` holds the actors someone speaks for)."""
        labels = (ACTOR_LABEL, WEAK_ACTOR_LABEL, scoped_label(negotiation))
        actor_at: dict[int, str] = {}
        for ent in doc.ents:
            if ent.label_ in labels:
                for token in ent:
                    actor_at[token.i] = ent.ent_id_
        actor_at = {i: a for i, a in actor_at.items() if a in named}
        parties = sorted(set(negotiation_parties) & named)
        return cls(doc, rules, actors, anaphors, actor_at, named, parties, floor=floor or Floor())
