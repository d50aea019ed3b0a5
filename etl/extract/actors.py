"""Who a clause speaks for: the actors a noun phrase names, the subject of a cue verb (through
pronouns and descriptions like "the group"), the speaker a clause is said by (its speech verb's
subject, or whoever holds the floor: ``speakers``), and whether that speaker may report the actor's
position at all (codebook rules 2, 9 and 14).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from etl.extract.article import Article
from etl.extract.lexicon import (
    BYSTANDERS,
    COLLECTIVE_MARKERS,
    COLLECTIVE_NOUNS,
    EVENT_NOUNS,
    FORMER_MARKERS,
    GUESS_VERBS,
    LIGHT_VERBS,
    POSSESSIVE_PRONOUNS,
    PRONOUNS,
    SPEECH_VERBS,
    WISH_VERBS,
)
from etl.extract.speakers import FIRST_PERSON
from etl.extract.syntax import SUBJECT_DEPS, authors, clause_subjects, core, speech_head
from models.enums import Stance

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

# a verb without a subject of its own takes the subject of the verb it hangs off through these
_CLIMB_FOR_SUBJECT = frozenset({"xcomp", "acomp", "conj", "advcl", "pcomp", "prep", "pobj"})


def actors_in(article: Article, heads: Iterable[Token], value: Collection[int] = ()) -> list[str]:
    """The actors the noun phrases headed by ``heads`` name, in order; all parties for "both sides".
    Words of the ``value`` are not a participant ("drop the NATO membership bid" is no word of NATO)."""
    found: list[str] = []
    collective = False
    for head in heads:
        if head.lemma_.lower() in BYSTANDERS and head.i not in article.actor_at:
            continue  # "US voters want ...": people of a country do not speak for it
        phrase = [
            *core(head),
            *(t for author in authors(head) for t in core(author)),
        ]  # "the plan drafted by Egypt"
        if any(t.lower_ in FORMER_MARKERS for t in phrase):
            continue  # "former defence minister", "Ex-UK Prime Minister Johnson": speaks for no one
        if head.lemma_.lower() in EVENT_NOUNS and head.i not in article.actor_at:
            continue  # "Russia and Ukraine peace requires ...": an event speaks for none of its parties
        described = _describing(article, head)
        for token in phrase:
            if token.i in described or token.i in value:
                continue
            actor = article.actor_at.get(token.i)
            if actor and actor not in found:
                found.append(actor)
            if token.lower_ in COLLECTIVE_NOUNS and any(
                c.lower_ in COLLECTIVE_MARKERS for c in token.children
            ):
                collective = True
    if collective and not found:
        return list(article.parties)
    return found or _offices_in(article, heads)


def _offices_in(article: Article, heads: Iterable[Token]) -> list[str]:
    """ "The President", "this administration" said by one who speaks for a government: that
    government (codebook rule 14); "the Israeli President" is not its office."""
    found: list[str] = []
    for head in heads:
        words = [t.lower_ for t in head.subtree if t.i < head.i and t.dep_ in ("compound", "amod")]
        found += article.floor.office_of(head.idx, [*words, head.lower_])
    return list(dict.fromkeys(found))


def _names_deal(article: Article, token: Token) -> bool:
    topics = article.rules.deal_topics
    return token.lower_ in topics or token.lemma_.lower() in topics


def _describing(article: Article, head: Token) -> set[int]:
    """Tokens of a description in front of an actor's name, which name other actors: "Ukraine ally
    Britain" is Britain alone."""
    if head.i not in article.actor_at:
        return set()
    return {
        t.i
        for c in head.children
        if c.dep_ == "compound" and c.pos_ == "NOUN" and c.i not in article.actor_at
        for t in c.subtree
    }


def cue_actors(article: Article, cue: Token, value: Collection[int] = ()) -> tuple[list[str], float]:
    """Whose cue word it is, and how sure: a verb's subject, a noun's owner ("Israel's proposal",
    "the US security vow"), never the words of the ``value`` itself ("NATO membership demand") nor
    the parties of the truce or deal it is ("the Russia-Ukraine ceasefire proposal")."""
    if cue.pos_ == "NOUN":
        if cue.i in article.actor_at:  # "the Qatari proposal" is an alias: the cue names its owner
            return [article.actor_at[cue.i]], 0.8
        owners = [
            c
            for c in cue.children
            if c.dep_ in ("poss", "compound", "nmod") and not (c.i in value and _names_deal(article, c))
        ]
        owners += [
            p for c in cue.children if c.dep_ == "prep" and c.lower_ in ("by", "from") for p in c.children
        ]
        owners += authors(cue)  # "the proposal put forward by Israel"
        actors = actors_in(article, owners, value)
        if not actors and any(o.lower_ in POSSESSIVE_PRONOUNS for o in owners):
            verb = _clause_verb(cue)  # "Trump says they agreed to his request"
            if speech_head(verb) is not None or any(o.lower_ in FIRST_PERSON for o in owners):
                actors = speaker_of(article, verb)  # "our proposal": the speaker's
        if actors:
            return actors, 0.8
        head = cue.head
        while head.dep_ in ("prep", "pobj", "dobj", "attr") and head.head.i != head.i:
            head = head.head
        if head.i != cue.i and head.pos_ in ("VERB", "AUX") and head.lemma_.lower() in LIGHT_VERBS:
            return subject_actors(article, head), 0.7
        return [], 0.0
    return subject_actors(article, cue, value), 0.85


def subject_actors(article: Article, verb: Token, value: Collection[int] = ()) -> list[str]:
    """The actors ``verb``'s subject (or agent) names, climbing to the verb it depends on if need be;
    an agent that is the ``value`` is none ("not bound by Russia's truce")."""
    node = verb
    for _ in range(5):
        subjects = [c for c in node.children if c.dep_ in SUBJECT_DEPS]
        agents = [
            p
            for c in node.children
            if c.dep_ == "agent"
            for p in c.children
            if p.dep_ == "pobj" and p.i not in value
        ]
        by_agent = actors_in(article, agents)
        if by_agent:  # "approved by Israel's cabinet"
            return by_agent
        if subjects and node.dep_ == "relcl" and all(s.tag_ in ("WDT", "WP") for s in subjects):
            subjects = [node.head]  # "Qatar, which has pushed for ...": the noun the clause describes
        if subjects:
            return actors_in(article, subjects) or resolve(article, subjects[0], node)
        if node.dep_ == "amod" and node.pos_ == "ADJ":  # "Kyiv willing to drop ...": the noun it describes
            return actors_in(article, [node.head])
        if node.dep_ == "acl" and node is verb and node.head.i in article.actor_at:
            return actors_in(article, [node.head])  # "Qatar seeking a deal to free ..."
        if node.dep_ == "acl":  # "the Israel-Hamas truce extended by two days": the noun's actors
            named = [article.actor_at[t.i] for t in core(node.head) if t.i in article.actor_at]
            parties = [a for a in dict.fromkeys(named) if a in article.parties]
            # "the resolution calling for ...": a description of a named actor
            return parties or resolve(article, node.head, node)
        objects = [c for c in node.head.children if c.dep_ == "dobj"] if node.dep_ == "xcomp" else []
        if objects:  # "Macron says Trump to outline ...": the verb above's object does it
            return actors_in(article, objects)
        if node.dep_ not in _CLIMB_FOR_SUBJECT or node.head.i == node.i:
            return []
        node = node.head
    return []


def resolve(article: Article, subject: Token, verb: Token) -> list[str]:
    """A pronoun or a description ("the group") as subject: the speaker, or the actor it describes."""
    # the words before the noun, in their original spacing ("the non-binding resolution"), and not
    # the determiners of a clause after it ("the resolution calling for an end to the war")
    words = "".join(
        t.text_with_ws
        for t in subject.subtree
        if (t.dep_ in ("det", "amod", "compound") and t.i < subject.i) or t.i == subject.i
    )
    phrase = " ".join(words.lower().split())
    speaker = speaker_of(article, verb)
    if subject.lower_ in PRONOUNS:
        # "we", "I": whoever says the clause; "they" only when a speech verb says who they are, or
        # the subject of the verb its clause hangs off ("the EU vows ... as it eyes ...")
        if subject.lower_ in FIRST_PERSON:
            return speaker
        said = speech_head(verb)
        if said is not None:
            # "Hamas said they want ...": who says it; not "I think he wants ...", a guess at another
            return [] if _guessed(said) else speaker
        return _main_subject(article, subject, verb)
    candidates = [a for a in article.anaphors.get(phrase, []) if a in article.named]
    if not candidates:
        return []
    in_speaker = [a for a in candidates if a in speaker]
    if in_speaker:
        return in_speaker[:1]
    earlier = [(i, a) for i, a in article.actor_at.items() if a in candidates and i < subject.i]
    return [max(earlier)[1]] if earlier else candidates[:1]


def _main_subject(article: Article, pronoun: Token, verb: Token) -> list[str]:
    """ "The EU vows to bankroll Ukraine as it eyes Russian frozen assets": a third-person pronoun
    subject of a clause hung off another verb is that verb's subject, when it names an actor."""
    if pronoun.lower_ not in ("it", "they") or verb.dep_ not in ("advcl", "conj") or verb.head.i == verb.i:
        return []
    node = verb.head
    for _ in range(3):
        subjects = [c for c in node.children if c.dep_ in SUBJECT_DEPS and c.i < pronoun.i]
        if subjects:
            return actors_in(article, subjects)
        if node.dep_ not in ("xcomp", "conj") or node.head.i == node.i:
            return []
        node = node.head
    return []


def _clause_verb(token: Token) -> Token:
    """The verb of the clause ``token`` is in (``token`` itself at the root)."""
    node = token
    for _ in range(6):
        if node.pos_ in ("VERB", "AUX") or node.head.i == node.i:
            return node
        node = node.head
    return node


def speaker_of(article: Article, token: Token) -> list[str]:
    """Actors who say the clause ``token`` heads ("Qatar said [the two sides had agreed]"), or,
    without a speech verb or when "we" or "I" say it, the one who holds the floor (rule 14)."""
    verb = speech_head(token)
    if verb is None:
        return article.floor.voice_at(token.idx)
    subjects = clause_subjects(verb)
    found = actors_in(article, subjects)
    if not found and any(s.lower_ in FIRST_PERSON for s in subjects):
        return article.floor.voice_at(token.idx)
    return found


def may_claim(article: Article, actor: str, cue: Token) -> bool:
    """Rule 9: a position reported only by the actor's adversaries, or by a third party we cannot place."""
    verb = speech_head(cue)
    adversaries = article.actors[actor].adversaries
    if verb is None:  # said by whoever holds the floor: "Hamas refused", in the Press Secretary's turn
        if article.floor.unplaced(cue.idx):
            return False  # quoted from a commentator: "Putin agreeing to security guarantees ..."
        voice = article.floor.voice_at(cue.idx)
        return not voice or actor in voice or not all(v in adversaries for v in voice)
    subjects = clause_subjects(verb)
    speakers = actors_in(article, subjects)
    if actor in speakers:
        return True
    if _guessed(verb) and cue.lemma_.lower() in WISH_VERBS:
        # "I think Putin wants to stop fighting": the speaker's guess at another's wish; "I think we
        # want a ceasefire" is the speaker's own
        return actor in article.floor.voice_at(cue.idx)
    if speakers and all(s in adversaries for s in speakers):
        return False  # "Hamas said Israel agreed": and no one else says so ("Qatar and Hamas said")
    if not speakers:
        named_others = [
            e
            for e in article.doc.ents
            if e.label_ in ("GPE", "NORP", "PERSON")
            for s in subjects
            if e.start >= s.left_edge.i and e.end <= s.right_edge.i + 1
        ]
        return not named_others
    return True


def _guessed(verb: Token) -> bool:
    """``verb`` is a first person's guess ("I think", "we believe") at what the clause under it says."""
    return verb.lemma_.lower() in GUESS_VERBS and any(s.lower_ in FIRST_PERSON for s in clause_subjects(verb))


def announced(article: Article, actors: list[str], cue: Token, stance: Stance, sent: Span) -> list[str]:
    """Rule 2: a mediator (or any non-party) confirming a truce announces the parties' deal."""
    if stance != Stance.ACCEPTS or cue.lemma_.lower() not in SPEECH_VERBS:
        return actors
    parties = [a for a in actors if a in article.parties]
    if len(parties) == len(actors):
        return actors
    return parties or [a for a in parties_in(article, sent) if a not in actors]


def parties_in(article: Article, sent: Span) -> list[str]:
    """The parties ``sent`` names; all the article's parties when it says "both sides"."""
    found = [article.actor_at[t.i] for t in sent if t.i in article.actor_at]
    parties = [a for a in dict.fromkeys(found) if a in article.parties]
    if parties:
        return parties
    collective = any(
        t.lower_ in COLLECTIVE_NOUNS and any(c.lower_ in COLLECTIVE_MARKERS for c in t.children) for t in sent
    )
    return list(article.parties) if collective else []
