"""Terms of an agreed deal (codebook rule 8): the sentences saying a deal was agreed and by whom, a
deal noun the text treats as agreed ("the agreement", "the truce approved by Israel"), and values no
one in their sentence claims but which state what the agreed deal holds ("Under the agreement, Hamas
is to release 50 hostages"). What was already done, what only could be, and a batch set for a day are
no terms (rules 4 and 8).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from etl.extract.actors import actors_in, resolve
from etl.extract.article import Article, Link
from etl.extract.lexicon import (
    AGREED_MODIFIERS,
    AGREEING_VERBS,
    DEAL_PARTS,
    DEAL_PREPS,
    FUTURE_AUX,
    FUTURE_HEADS,
    HEDGE_AUX,
    NOT_YET_HEADS,
    TEMPORAL_PREPS,
    TERM_VERBS,
    UNAGREED_MODIFIERS,
)
from etl.extract.syntax import SUBJECT_DEPS, clause_subjects, core, path_to_root, polarity
from etl.extract.values import IssueRule, in_context
from models.enums import Stance

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

# "to free 13 on Friday": a scheduled batch, carried out under a deal (codebook rule 8)
_BATCH_DAY = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tonight|tomorrow|later)\b",
    re.IGNORECASE,
)


def deal_terms(article: Article, rule: IssueRule, span: Span) -> list[Link]:
    """A value nobody in its sentence claims, stated as a term of a deal the text says was agreed:
    "Under the agreement, Hamas is to release 50 hostages", "The deal includes a four-day pause",
    or "Hamas will free 50 hostages" after a headline saying the parties agreed. The terms belong
    to the parties an earlier sentence says agreed; to the parties the article names when a
    sentence only refers to the agreed deal. What was already done, what could be, and a batch
    set for a day are not terms (rules 4 and 8)."""
    anchor = span.root
    path = path_to_root(anchor)
    if not in_context(rule, span, path):
        return []
    verb = next((t for t in path if t.pos_ in ("VERB", "AUX")), None)
    if verb is None or _done_or_hedged(verb, path):
        return []
    statements = deal_statements(article)
    earlier = agreed_before(article, anchor.sent)
    if _under_agreed_deal(rule, path):
        here = [a for start, parties in statements if start == anchor.sent.start for a in parties]
        owners = list(dict.fromkeys(earlier or here))
        if not owners and not article.floor.spoken:
            # "The agreement calls for ...": the deal the article is about. Not in a briefing or a
            # statement, where "this deal" is as often the one still on the table (rule 8)
            owners = article.parties
    elif earlier and (_still_to_come(verb) or _states_terms(rule, verb)):
        owners = list(dict.fromkeys(earlier))
    else:
        return []
    return [Link(a, Stance.ACCEPTS, 0.5, anchor.i) for a in owners]


def deal_statements(article: Article) -> list[tuple[int, list[str]]]:
    """``(sentence start, parties)`` for every sentence saying a deal or truce was agreed, and by
    which parties: its subjects or agents; all parties the article names when a mediator announces
    it, when it is "both sides", or when the text does not say who ("a deal has been agreed")."""
    if article.deal_statements is None:
        article.deal_statements = []
        for sent in article.doc.sents:
            parties = [a for verb in sent for a in agreeing_parties(article, verb)]
            if parties:
                article.deal_statements.append((sent.start, list(dict.fromkeys(parties))))
    return article.deal_statements


def agreed_before(article: Article, sent: Span) -> list[str]:
    """The parties the sentences before ``sent`` say agreed a deal; in a transcript only those of
    the same speaker's turn (codebook rule 14): the border deal the Press Secretary says was reached
    is not the deal the NSC spokesman then speaks of, and a reporter's question says nothing."""
    floor = article.floor
    return [
        a
        for start, parties in deal_statements(article)
        if start < sent.start and floor.same_turn(article.doc[start].idx, sent.start_char)
        for a in parties
    ]


def agreed_deal_here(rule: IssueRule, token: Token) -> bool:
    """``token`` is an agreed deal, or the verb whose subject is one ("The agreement will see ...")."""
    candidates = [token] + [c for c in token.children if c.dep_ in ("nsubj", "nsubjpass")]
    return any(rule.is_deal(c) and _agreed(c) for c in candidates)


def deal_approvers(article: Article, rule: IssueRule, token: Token) -> list[str]:
    """Rule 8: "the agreement approved by Israel" binds Israel alone."""
    deals = [
        c for c in [token, *token.children] if rule.is_deal(c) and (c is token or c.dep_ in SUBJECT_DEPS)
    ]
    agents = [
        p
        for deal in deals
        for clause in deal.children
        if clause.dep_ == "acl" and clause.lemma_.lower() in AGREED_MODIFIERS
        for c in clause.children
        if c.dep_ == "agent"
        for p in c.children
        if p.dep_ == "pobj"
    ]
    return [a for a in actors_in(article, agents) if a in article.parties]


def _under_agreed_deal(rule: IssueRule, path: Sequence[Token]) -> bool:
    """The clause stating the value hangs off an agreed deal: its subject ("The agreement calls for
    ...") or a phrase like "under the agreement", "as part of the deal"."""
    for token in path:
        for child in token.children:
            if child.dep_ in ("nsubj", "nsubjpass") and rule.is_deal(child) and _agreed(child):
                return True
            if child.dep_ == "prep" and child.lower_ in DEAL_PREPS:
                near = [t for t in child.subtree if t.i - child.i <= 6]
                if any(rule.is_deal(t) and t.pos_ == "NOUN" and _agreed(t) for t in near):
                    return True
    return False


def agreeing_parties(article: Article, verb: Token) -> list[str]:
    """The parties ``verb`` says agreed a deal or truce it names (see :func:`deal_statements`)."""
    if verb.lemma_.lower() not in AGREEING_VERBS or verb.pos_ not in ("VERB", "AUX", "ADJ"):
        return []
    topics = article.rules.deal_topics
    own_subject = any(c.dep_ in SUBJECT_DEPS for c in verb.children)  # "War: Israel and Hamas Agree to ..."
    if verb.dep_ in ("amod", "acl") and not own_subject:  # "the agreed truce", "the deal approved by ..."
        objects = [verb.head]
    else:
        objects = [c for c in verb.children if c.dep_ in ("dobj", "nsubjpass", "nsubj", "xcomp", "attr")]
        # "agreed on a truce", not "reached 200 trucks a day during the pause": a time is not what was agreed
        objects += [
            p
            for c in verb.children
            if c.dep_ == "prep" and c.lower_ not in TEMPORAL_PREPS
            for p in c.children
            if p.dep_ == "pobj"
        ]
    named = [
        t
        for o in objects
        for t in core(o)
        if (t.lower_ in topics or t.lemma_.lower() in topics or _hyphenated(t) in topics)
        and not any(_unagreed(m) for m in t.children)
    ]
    if not named or polarity(verb, Stance.ACCEPTS) != Stance.ACCEPTS or _not_yet(verb):
        return []
    agents = [p for c in verb.children if c.dep_ == "agent" for p in c.children if p.dep_ == "pobj"]
    if agents:
        by = actors_in(article, agents)
        # "a deal reached by U.S. diplomacy": a mediator's work binds the parties (rule 2)
        return [a for a in by if a in article.parties] or (article.parties if by else [])
    subjects = [s for s in clause_subjects(verb) if s.i not in {t.i for t in named}]
    if (verb.dep_ in ("amod", "acl") and not own_subject) or not subjects:
        return article.parties
    actors = actors_in(article, subjects) or resolve(article, subjects[0], verb)
    if not actors:  # "mediators announced a four-day truce between Israel and Hamas" (rule 2)
        return _between_parties(article, named)
    parties = [a for a in actors if a in article.parties]
    return parties or article.parties  # a mediator announcing the deal speaks for the parties


def _between_parties(article: Article, named: Sequence[Token]) -> list[str]:
    """The parties a truce or deal is said to be between ("a truce between Israel and Hamas")."""
    heads = [
        p
        for t in named
        for c in t.children
        if c.dep_ == "prep" and c.lower_ == "between"
        for p in c.children
        if p.dep_ == "pobj"
    ]
    between = [t for h in heads for t in [h, *h.conjuncts]]
    return [a for a in dict.fromkeys(actors_in(article, between)) if a in article.parties]


def _hyphenated(token: Token) -> str:
    """The word a hyphen splits into tokens, read whole at its last part: "Cease-Fire" → "cease-fire"."""
    doc = token.doc
    if (
        token.i < 2
        or doc[token.i - 1].text != "-"
        or doc[token.i - 1].whitespace_
        or doc[token.i - 2].whitespace_
    ):
        return ""
    return f"{doc[token.i - 2].lower_}-{token.lower_}"


def _unagreed(modifier: Token) -> bool:
    """ "the proposed deal", "the deal rejected by Hamas": a modifier saying a deal is not agreed."""
    return modifier.lower_ in UNAGREED_MODIFIERS or modifier.lemma_.lower() in UNAGREED_MODIFIERS


def _agreed(deal: Token) -> bool:
    modifiers = [c for c in deal.children if c.dep_ in ("amod", "acl", "relcl", "compound")]
    if any(_unagreed(m) for m in modifiers):
        return False
    if any(m.lemma_.lower() in AGREED_MODIFIERS for m in modifiers):
        return True
    return any(c.dep_ == "det" and c.lower_ in ("the", "this") for c in deal.children)


def _done_or_hedged(verb: Token, path: Sequence[Token]) -> bool:
    """ "Hamas released 13", "50 have been freed", "could free 50", "to free 13 on Friday"."""
    auxes = [c for c in verb.children if c.dep_ in ("aux", "auxpass")]
    if verb.tag_ == "VBD" or any(a.tag_ == "VBD" or a.lemma_.lower() == "have" for a in auxes):
        return True
    # "could be released under the deal", "would not bring an end to the war", anywhere above the value
    if any(c.dep_ == "neg" or (c.dep_ == "aux" and c.lower_ in HEDGE_AUX) for t in path for c in t.children):
        return True
    on_path = {t.i for t in path}
    return any(
        _BATCH_DAY.search(t.text) and (t.head.i in on_path or t.head.head.i in on_path)
        for t in verb.sent
        if t.ent_type_ in ("DATE", "TIME") or t.pos_ == "ADV"
    )


def _still_to_come(verb: Token) -> bool:
    """ "Hamas will release", "is set to release", "are expected to be freed", "is to release"."""
    node = verb
    for _ in range(3):
        if any(c.dep_ in ("aux", "auxpass") and c.lower_ in FUTURE_AUX for c in node.children):
            return True
        if node.dep_ != "xcomp" or node.head.i == node.i:
            return False
        node = node.head
        if node.lemma_.lower() in FUTURE_HEADS or node.lemma_.lower() == "be":
            return True
    return False


def _states_terms(rule: IssueRule, verb: Token) -> bool:
    """ "It includes a four-day pause", "The terms provide for the release of 50 hostages": a verb
    by which the deal an earlier sentence says was agreed, named again by a pronoun or a deal
    word, states what it holds."""
    if verb.lemma_.lower() not in TERM_VERBS:
        return False
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
    return any(
        s.lower_ in ("it", "this") or rule.is_deal(s) or s.lemma_.lower() in DEAL_PARTS for s in subjects
    )


def _not_yet(verb: Token) -> bool:
    """ "close to reaching a deal", "working to finalise it", "set to approve it"."""
    node = verb
    for _ in range(3):
        if node.dep_ not in ("xcomp", "pcomp", "pobj", "prep", "acomp") or node.head.i == node.i:
            return False
        node = node.head
        if node.lemma_.lower() in NOT_YET_HEADS:
            return True
    return False
