"""What the dependency parse says about a clause, whatever the issue or actor: its path to the root,
its subjects, the noun phrase naming a participant, the speech verb it is said under, whether it is
negated or hedged, a condition, a description. Pure functions over spaCy tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from etl.extract.lexicon import (
    AUTHORING_PHRASAL,
    AUTHORING_VERBS,
    CONDITION_MARKERS,
    CONDITIONAL_MARKERS,
    DEADLINE_NOUNS,
    DIRECTIVE_VERBS,
    FAILING_HEADS,
    HEDGE_AUX,
    HEDGE_HEADS,
    NEGATING_HEADS,
    OBLIGING_AUX,
    OBLIGING_HEADS,
    SPEECH_VERBS,
    TEMPORAL_PREPS,
)
from models.enums import Stance

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

SUBJECT_DEPS = ("nsubj", "nsubjpass", "csubj")
# dependency labels that stay within the noun phrase naming one participant
_CORE_DEPS = frozenset(
    {"compound", "conj", "appos", "poss", "amod", "nmod", "det", "cc", "case", "punct", "nummod", "flat"}
)
_CORE_PREPS = frozenset({"of", "between"})


def path_to_root(token: Token) -> list[Token]:
    """The token and its heads up to its sentence's root (spaCy makes a root its own head)."""
    path = [token]
    while path[-1].head.i != path[-1].i:
        path.append(path[-1].head)
    return path


def clause_subjects(verb: Token) -> list[Token]:
    """Subjects of ``verb``, or of the verb it is coordinated with ("X denounced ... and said ...")."""
    node = verb
    for _ in range(3):
        subjects = [c for c in node.children if c.dep_ in SUBJECT_DEPS]
        if subjects or node.dep_ != "conj" or node.head.i == node.i:
            return subjects
        node = node.head
    return []


def core(head: Token) -> Iterator[Token]:
    """The tokens of the noun phrase ``head`` names a participant with ("the Israeli war cabinet")."""
    stack = [head]
    seen = 0
    while stack and seen < 40:
        token = stack.pop()
        seen += 1
        yield token
        for child in token.children:
            if child.dep_ in _CORE_DEPS:
                stack.append(child)
            elif child.dep_ == "prep" and child.lower_ in _CORE_PREPS:
                stack.extend(c for c in child.children if c.dep_ == "pobj")


def authors(noun: Token) -> list[Token]:
    """Who the participle on ``noun`` says wrote it: "the proposal put forward by Israel", "the plan
    drafted by Egypt" (the agent's noun phrases)."""
    found: list[Token] = []
    for participle in noun.children:
        if participle.dep_ != "acl" or participle.tag_ != "VBN":
            continue
        lemma = participle.lemma_.lower()
        particles = {(lemma, c.lower_) for c in participle.children if c.dep_ in ("prt", "advmod")}
        if lemma in AUTHORING_VERBS or particles & AUTHORING_PHRASAL:
            found += [
                p for a in participle.children if a.dep_ == "agent" for p in a.children if p.dep_ == "pobj"
            ]
    return found


def speech_head(token: Token) -> Token | None:
    """The speech verb whose clause ``token`` heads ("Qatar said [the two sides had agreed]")."""
    node = token
    for _ in range(4):
        if node.dep_ not in ("ccomp", "conj", "parataxis", "xcomp") or node.head.i == node.i:
            return None
        below, node = node, node.head
        if node.lemma_.lower() in SPEECH_VERBS:
            return None if _said_before(node, below) else node
    return None


def _said_before(verb: Token, clause: Token) -> bool:
    """A headline's second clause after a comma, when the speech verb has already said its own:
    in "Trump says 'real chance' to end Gaza war, Hamas seeks guarantees", Hamas seeks them."""
    if clause.dep_ != "ccomp" or clause.i < verb.i:
        return False
    doc = verb.doc
    start = clause.left_edge.i  # the comma itself may hang off the clause
    if doc[start].lower_ not in (",", ";") and (start == 0 or doc[start - 1].lower_ not in (",", ";")):
        return False
    return any(c.dep_ in ("dobj", "ccomp") and verb.i < c.i < start for c in verb.children)


def polarity(cue: Token, stance: Stance) -> Stance | None:
    """Negation turns acceptance into rejection (rule 6) and voids the other stances; failing to
    agree, or a subject that is no one ("no meeting is planned"), voids them all."""
    if cue.dep_ in ("xcomp", "acomp") and cue.head.lemma_.lower() in FAILING_HEADS:
        return None
    if conditional(cue):  # "sanctions if Russia rejects a ceasefire": what it would do, not what it does
        return None
    if any(c.dep_ in SUBJECT_DEPS and any(d.lower_ == "no" for d in c.children) for c in cue.children):
        return None
    negated = any(c.dep_ == "neg" for c in cue.children) or (
        cue.dep_ in ("xcomp", "acomp") and cue.head.lemma_.lower() in NEGATING_HEADS
    )
    if not negated and cue.dep_ == "acomp":  # "Putin is not ready to meet": the copula carries it
        negated = any(c.dep_ == "neg" for c in cue.head.children)
    head = cue.head
    if not negated and cue.dep_ == "xcomp" and head.dep_ == "acomp":
        negated = head.lemma_.lower() in NEGATING_HEADS
    if negated:
        return Stance.REJECTS if stance == Stance.ACCEPTS else None
    if stance == Stance.ACCEPTS and _hedged(cue):
        return None
    return stance


def obligation(cue: Token) -> tuple[Stance, Token] | None:
    """The cue verb states what its subject must do, not what it accepts: "Ukraine must cede land",
    "Kyiv may have to give up land", "Trump tells Ukraine to give up ...", "Russia has 10 days to
    agree a ceasefire" (a deadline, rule 12). Whoever says so demands it (proposes it, when hedged:
    "may have to"); returned with the verb whose speaker that is, or whose subject, for a verb that
    tells or sets a deadline ("Trump gives Russia 10 days")."""
    if any(c.dep_ == "aux" and c.lower_ in OBLIGING_AUX for c in cue.children):
        return Stance.DEMANDS, cue
    head = cue.head
    infinitive = any(c.dep_ == "aux" and c.lower_ == "to" for c in cue.children)
    if head.i == cue.i or not infinitive:
        return None
    if cue.dep_ == "xcomp" and head.lemma_.lower() in DIRECTIVE_VERBS:  # "Trump tells Ukraine to give up"
        return Stance.DEMANDS, head
    if cue.dep_ == "xcomp" and head.lemma_.lower() in OBLIGING_HEADS:
        hedged = any(c.dep_ == "aux" and c.lower_ in HEDGE_AUX for c in head.children)
        return (Stance.PROPOSES if hedged else Stance.DEMANDS), head
    if cue.dep_ == "acl" and head.lemma_.lower() in DEADLINE_NOUNS:  # "an ultimatum to accept ..."
        head = head.head
        return (Stance.DEMANDS, head) if head.pos_ in ("VERB", "AUX") else None
    if cue.dep_ in ("xcomp", "advcl") and any(
        c.dep_ in ("dobj", "npadvmod") and c.lemma_.lower() in DEADLINE_NOUNS for c in head.children
    ):
        return Stance.DEMANDS, head
    return None


def _hedged(cue: Token) -> bool:
    if any(c.dep_ == "aux" and c.lower_ in HEDGE_AUX for c in cue.children):
        return True
    return cue.dep_ == "xcomp" and cue.head.lemma_.lower() in HEDGE_HEADS


def conditional(below: Token) -> bool:
    """``below`` is an "if" clause: what it states is a condition of the clause above, not its
    object ("ready to call a referendum if a ceasefire is reached")."""
    return below.dep_ == "advcl" and any(
        c.dep_ == "mark" and c.lower_ in CONDITIONAL_MARKERS for c in below.children
    )


def dated_by(span: Span) -> bool:
    """The value names a time: "elections after a ceasefire", "strikes before the truce"."""
    head = span.root.head
    return span.root.dep_ == "pobj" and head.lower_ in TEMPORAL_PREPS and not span.start <= head.i < span.end


def closes_clause(below: Token, own: set[int]) -> bool:
    """A side clause with its own subject owns the value it states, and cues above it do not:
    "..., with Israel raising its estimate to 239 captives", "... but Israel is not ending the war".
    A subject within the value or on its path ("so that 50 hostages could be freed") is the value."""
    if below.pos_ not in ("VERB", "AUX"):
        return False
    if below.dep_ not in ("conj", "advcl", "relcl", "pcomp", "parataxis", "acl"):
        return False  # a ccomp ("should see Hamas release ...") is the verb's object
    return any(c.dep_ in SUBJECT_DEPS and c.i not in own for c in below.children)


def means_under_description(token: Token) -> bool:
    """ "the only way to end the war is ...": an infinitive describing a noun that a copula then defines."""
    if token.dep_ not in ("acl", "relcl") or not any(
        c.dep_ == "aux" and c.lower_ == "to" for c in token.children
    ):
        return False
    after = token.right_edge.i + 1
    if after >= len(token.doc):
        return False
    copula = token.doc[after]  # "a plan to end the war was sent": an auxiliary, not what defines it
    return copula.lemma_.lower() == "be" and copula.dep_ not in ("aux", "auxpass")


def _refused(verb: Token) -> bool:
    """``verb`` is negated or refused: "will not enter talks", "refuses to discuss"."""
    if any(c.dep_ == "neg" for c in verb.children):
        return True
    return verb.dep_ == "xcomp" and verb.head.lemma_.lower() in ("refuse", "decline")


def condition_owner(below: Token, token: Token) -> Token | None:
    """The verb whose subject sets the condition ``below`` states, when ``below`` is one:
    "Israel agreed, provided Hamas frees ...", "on condition that Israel releases ...",
    "as long as Hamas releases ...", "only if Hamas releases ...", and what is refused until or unless
    it is done: "Israel won't discuss a deal until all women and children are freed"."""
    if below.pos_ not in ("VERB", "AUX"):
        return None
    doc = token.doc
    for marker in (token, *below.children):
        word = marker.lower_
        owner = token if marker is not token else token.head
        if word in CONDITION_MARKERS:
            return owner if owner.i != marker.i else None
        if word == "if" and marker is not token and marker.i > 0 and doc[marker.i - 1].lower_ == "only":
            return owner  # "Israel will pause only if all hostages are freed"
        if word in ("until", "unless") and marker is not token and _refused(owner):
            return owner  # "Israel won't discuss a new deal until all women and children are freed"
        if (
            word == "condition"
            and marker is token
            and token.head.lower_ == "on"
            and token.head.head.i != token.i
        ):
            return token.head.head
        as_long_as = (
            word == "long"
            and 0 < marker.i < len(doc) - 1
            and doc[marker.i - 1].lower_ in ("as", "so")
            and doc[marker.i + 1].lower_ == "as"
        )
        if as_long_as:
            return owner if owner.i != marker.i else None
    # "Israel said the truce could be prolonged, provided Hamas frees ...": the parser hangs the marker
    # beside the clause, not in it
    if any(c.lower_ in CONDITION_MARKERS and c.i == below.left_edge.i - 1 for c in token.children):
        return token
    return None


def describes_its_noun(verb: Token) -> bool:
    """ "the resolution calling for an end to the war": the verb speaks for its noun, which the clause
    above may still take a position on ("votes against the resolution calling for ...")."""
    return verb.dep_ == "acl" and not any(c.dep_ in (*SUBJECT_DEPS, "agent") for c in verb.children)


def reports_clause(verb: Token, below: Token) -> bool:
    """A speech verb ("confirm") over a clause reports it; only over its object does it accept."""
    return verb.lemma_.lower() in SPEECH_VERBS and below.dep_ in ("ccomp", "parataxis", "xcomp", "advcl")


def in_exchange_for(path: Sequence[Token]) -> bool:
    return any(
        t.lower_ in ("return", "exchange") and any(c.lower_ == "for" for c in t.children) for t in path
    )


def title_case(sent: Span) -> bool:
    words = [t for t in sent if t.is_alpha and len(t) > 3]
    return len(words) >= 3 and sum(t.text[0].isupper() for t in words) >= 0.7 * len(words)
