"""Linking each value to the actor who states a position on it, and the stance, through the parse.

For one sentence's values (:func:`link_sentence`): up the dependency path from the value to a cue word
of its issue, whose subject or owner is the actor (codebook rules 1-7, 9); what someone must do or is
given a deadline for is the demand of whoever says or sets it (rule 12); a Title Case headline, which
the parser misreads, word by word instead; a value left without an actor takes the nearest cue's
before it, or failing that is read as a term of an agreed deal (rule 8, ``deal_terms``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etl.extract.actors import (
    actors_in,
    announced,
    cue_actors,
    may_claim,
    parties_in,
    speaker_of,
    subject_actors,
)
from etl.extract.article import Article, Link
from etl.extract.deal_terms import (
    agreed_before,
    agreed_deal_here,
    agreeing_parties,
    deal_approvers,
    deal_terms,
)
from etl.extract.lexicon import (
    CONTENT_VERBS,
    DEADLINE_SETTERS,
    DIRECTIVE_VERBS,
    HEDGE_AUX,
    HOLDING_VERBS,
    NEGATIONS,
    OBLIGING_AUX,
    OBLIGING_HEADS,
    SPEECH_VERBS,
)
from etl.extract.syntax import (
    SUBJECT_DEPS,
    closes_clause,
    condition_owner,
    conditional,
    dated_by,
    describes_its_noun,
    in_exchange_for,
    means_under_description,
    obligation,
    path_to_root,
    polarity,
    reports_clause,
    title_case,
)
from etl.extract.values import UNIT_DAYS, IssueRule, Value, in_context
from models.enums import Stance

if TYPE_CHECKING:
    from spacy.tokens import Span, Token


def link_sentence(article: Article, values: list[tuple[Value, Span]]) -> list[tuple[Value, Link]]:
    """Who takes which stance on each of one sentence's values, in the order of the values."""
    values = [
        (value, span) for value, span in values if not _names_what_is_extended(article, value.rule, span)
    ]
    if not values:
        return []
    sent = values[0][1][0].sent
    headline = title_case(sent)  # the parser reads "Netanyahu Rejects Biden's Request" as one name
    links: list[tuple[Value, list[Link]]] = []
    for value, span in values:
        if headline:
            found = _link_linear(article, value.rule, span)
        else:
            found = _link_parse(article, value.rule, span)
        links.append((value, found))
    linked: list[tuple[Value, Link]] = []
    for (value, found), (_, span) in zip(_adopt_orphans(article, links, values), values, strict=True):
        if not found and not headline:
            found = deal_terms(article, value.rule, span)
        linked += [(value, link) for link in found]
    return linked


def _adopt_orphans(
    article: Article, links: list[tuple[Value, list[Link]]], values: list[tuple[Value, Span]]
) -> list[tuple[Value, list[Link]]]:
    """A value with no actor of its own takes the nearest preceding cue's actor and stance.

    "Israel's proposal for a 60-day pause, with phased releases ... beginning with women and
    children": the parse hangs the tail off the main verb, but the sentence still states Israel's
    proposal. Only when no other actor is named between that cue and the value.
    """
    linked = [(link, span) for (_, found), (_, span) in zip(links, values, strict=True) for link in found]
    out = []
    for (value, found), (_, span) in zip(links, values, strict=True):
        if not found and not dated_by(span):
            before = [(link, s) for link, s in linked if link.cue_i < span.start]
            if before:
                cue_i = max(link.cue_i for link, _ in before)
                between = range(cue_i + 1, span.start)
                if not any(i in article.actor_at for i in between):
                    found = [
                        Link(link.actor, link.stance, min(link.confidence, 0.5), cue_i)
                        for link, _ in before
                        if link.cue_i == cue_i
                    ]
        out.append((value, found))
    return out


def _link_parse(article: Article, rule: IssueRule, span: Span) -> list[Link]:
    anchor = span.root
    path = path_to_root(anchor)
    if not in_context(rule, span, path):
        return []  # "the killing of three hostages" is no release
    links: list[Link] = []
    own = {t.i for t in path} | set(range(span.start, span.end))
    spoken_for = False  # the clause below is a cue's that the cue here speaks for ("seeks to extend")
    for depth, token in enumerate(path):
        # reached through "a deal that would ...": the clause states what the noun here holds
        via_terms = depth > 0 and _describes_terms(rule, path[depth - 1])
        if means_under_description(token):
            break  # "the only way to end the war is ...": what the war's end takes, not a demand for it
        if depth:
            owner = condition_owner(path[depth - 1], token)
            if owner is not None:  # a condition is a demand of whoever sets it, whatever the verb
                links += [
                    Link(a, Stance.DEMANDS, 0.75 - 0.05 * min(depth, 4), token.i)
                    for a in subject_actors(article, owner)
                    if may_claim(article, a, owner)
                ]
                break
            if not spoken_for and (
                (closes_clause(path[depth - 1], own) and not via_terms) or conditional(path[depth - 1])
            ):
                break
            by = path[depth - 1]
            if by.dep_ == "agent" and not _measure(by) and rule.cue_words_after(token)[-1:] != (by.lower_,):
                break  # "dismissed by [... elections]": the value is who acts, not what is acted on
                # (not when "by" is the cue's own word: "not bound by Russia's truce")
            if depth == 1 and dated_by(span):
                break  # "ready to hold elections after a ceasefire": the ceasefire dates the elections
        spoken_for = False
        if token.pos_ == "NOUN" or depth == 0:
            links += _modifier_links(article, rule, token, own, depth)
        if depth == 0:
            links += _owner_links(article, rule, token, own)
        stance = rule.stance_at(token)
        if stance == Stance.ACCEPTS and depth and reports_clause(token, path[depth - 1]):
            stance = None  # "Israel confirmed (that) 13 hostages were freed": a report, not an acceptance
        if stance is None and token.pos_ in ("VERB", "AUX"):
            links += _proposal_links(article, rule, token, own, depth)
            auxiliaries = {c.lower_ for c in token.children if c.dep_ == "aux"}
            required = obligation(token) if span.start <= token.i < span.end else None
            if required is not None:
                # "the war must end", "we have to stop that war", "Trump tells Putin to stop the war":
                # the value's own verb that someone must, or is told to, do is the demand of who says so
                links += _obliging_links(article, token, *required, depth)
            elif token.lemma_.lower() in HOLDING_VERBS and auxiliaries & OBLIGING_AUX:
                # "any deal must include a permanent ceasefire": what a deal must hold, likewise
                links += _obliging_links(article, token, Stance.DEMANDS, token, depth)
            elif (
                depth
                and token.lemma_.lower() in HOLDING_VERBS
                and path[depth - 1].dep_ in SUBJECT_DEPS
                and auxiliaries & HEDGE_AUX
            ):
                # "Trump says a security guarantee could include US air support": what the value
                # might hold, said by someone, is that speaker's proposal of it
                links += _obliging_links(article, token, Stance.PROPOSES, token, depth)
        if stance:
            if token.pos_ != "NOUN" and _subordinate(rule, token):
                spoken_for = True
                continue  # "seeks to extend": the outer cue speaks for the clause
            if token.lemma_.lower() in OBLIGING_HEADS and any(c.dep_ == "xcomp" for c in token.children):
                continue  # "would need to swap land": what must be done, not what is wanted
            if stance == Stance.ACCEPTS and token.pos_ in ("VERB", "AUX") and _seen_done(token):
                continue  # "the deal would see Ukraine cede Donbas": what a deal holds, said of no one
            if stance == Stance.ACCEPTS and token.pos_ in ("VERB", "AUX"):
                required = obligation(token)
                if required is not None:  # "Ukraine must cede land": a demand of whoever says so
                    found = _obliging_links(article, token, *required, depth)
                    links += found
                    if found:
                        break
                    continue  # said by no one named: a cue above may still say who wants it
            actors, confidence = cue_actors(article, token, own)
            if not actors and stance == Stance.ACCEPTS and _truce_done_to(article, rule, token):
                # "the truce was extended by two days": the parties' move, as an agreed deal is
                actors, confidence = parties_in(article, anchor.sent) or article.parties, 0.7
            if token.pos_ != "NOUN" and _wanted_of_it(rule, token):
                continue  # "activists demand Biden calls for ...": the actor is asked, not asking
            if stance == Stance.REJECTS and in_exchange_for(path[:depth]):
                actors = []  # "reject giving up power in return for a ceasefire": not what is rejected
            if actors:
                said = polarity(token, stance)
                if said is not None:
                    said = _as_proposal(rule, token, said)
                    for actor in announced(article, actors, token, said, anchor.sent):
                        if may_claim(article, actor, token):
                            links.append(Link(actor, said, confidence - 0.05 * min(depth, 4), token.i))
                if token.pos_ != "NOUN" and not describes_its_noun(token):
                    break  # a verb with its own subject closes the clause that states the value
        if (
            not links
            and not via_terms  # the verb above says who holds it
            and agreed_deal_here(rule, token)
            and polarity(token, Stance.ACCEPTS) == Stance.ACCEPTS
        ):
            # "the agreement" agreed by the parties an earlier sentence names ("Israel and Hamas
            # agree to ...", then "The agreement calls for Hamas to release ...") binds them all
            earlier = agreed_before(article, anchor.sent)
            parties = (
                deal_approvers(article, rule, token)
                or list(dict.fromkeys(earlier))
                or parties_in(article, anchor.sent)
            )
            links += [Link(a, Stance.ACCEPTS, 0.7, token.i) for a in parties if may_claim(article, a, token)]
            break
        if not links and depth == 0 and not dated_by(span):
            # "an agreed four-day truce": the value's own noun says it was agreed (rule 2); not when
            # it only dates something ("strikes before the announced ceasefire")
            agreeing = [c for c in token.children if c.dep_ in ("amod", "acl") and c.i not in own]
            parties = [a for c in agreeing for a in agreeing_parties(article, c)]
            links += [Link(a, Stance.ACCEPTS, 0.6, token.i) for a in dict.fromkeys(parties)]
        if not links and depth and token.pos_ in ("VERB", "AUX") and path[depth - 1].dep_ in _AGREED_ON:
            # "Trump announces a three-day ceasefire in the Russia-Ukraine war", "a deal to extend the
            # truce by two days has been agreed": a truce announced as agreed is the parties' (rule 2)
            parties = agreeing_parties(article, token)
            links += [Link(a, Stance.ACCEPTS, 0.7, token.i) for a in parties if may_claim(article, a, token)]
            if parties:
                break
    return links


def _describes_terms(rule: IssueRule, clause: Token) -> bool:
    """A relative clause that states what the proposal or deal it describes holds ("a deal that
    would free all hostages", "a proposal which would see ..."): its subject is that noun."""
    head = clause.head
    return (
        clause.dep_ == "relcl"
        and head.pos_ == "NOUN"
        and (rule.stance_at(head) is not None or head.lemma_.lower() in rule.deal_words)
        and all(c.tag_ in ("WDT", "WP") for c in clause.children if c.dep_ in SUBJECT_DEPS)
    )


# how what was agreed hangs off the verb that says it was: its object, its passive subject, the
# clause of a headline's "deal agreed to extend ..."
_AGREED_ON = frozenset({"dobj", "nsubjpass", "xcomp"})


def _truce_done_to(article: Article, rule: IssueRule, verb: Token) -> bool:
    """The issue's own verb in the passive, its subject a truce or deal and no agent: "the truce was
    extended by two days", said of no one, is the parties' doing."""
    if verb.pos_ not in ("VERB", "AUX") or verb.lemma_.lower() not in rule.cue_words:
        return False
    topics = article.rules.deal_topics
    children = list(verb.children)
    return not any(c.dep_ == "agent" and not _measure(c) for c in children) and any(
        c.dep_ == "nsubjpass" and (c.lower_ in topics or c.lemma_.lower() in topics) for c in children
    )


def _measure(by: Token) -> bool:
    """ "extended by two days": the parser's agent is a length of time, not who acts."""
    return any(c.dep_ == "pobj" and c.lemma_.lower() in UNIT_DAYS for c in by.children)


def _wanted_of_it(rule: IssueRule, verb: Token) -> bool:
    """The cue's clause is the object of someone else's demand, whatever the parse made of it:
    "... demand (that) Biden calls for a ceasefire"."""
    subjects = [c for c in verb.children if c.dep_ in SUBJECT_DEPS]
    if not subjects:
        return False
    doc = verb.doc
    before = min(s.left_edge.i for s in subjects) - 1
    if before >= 0 and doc[before].lower_ == "that":
        before -= 1
    if before < verb.sent.start:
        return False
    asker = doc[before]
    return asker.pos_ == "VERB" and rule.stance_at(asker) == Stance.DEMANDS


def _names_what_is_extended(article: Article, rule: IssueRule, span: Span) -> bool:
    """ "agreed to extend the four-day truce": the length of the truce being extended is no
    position on its length (the extension's own issue reads the extension)."""
    words = article.rules.extending_words.get(rule.seed.key)
    if not words:
        return False
    root = span.root
    head = root.head.head if root.dep_ == "pobj" else root.head
    if root.dep_ in ("dobj", "pobj", "nsubjpass") and (head.lower_ in words or head.lemma_.lower() in words):
        return True
    before = span.start - 1
    while before >= span.sent.start and article.doc[before].pos_ in ("DET", "PRON", "ADJ", "ADP"):
        before -= 1
    return before >= span.sent.start and article.doc[before].lower_ in words


def _owner_links(article: Article, rule: IssueRule, noun: Token, value: set[int]) -> list[Link]:
    """A truce that someone's possessive names is theirs: "Russia's Victory Day truce", "Ukraine's
    unilateral ceasefire"; so is a measure a third party's possessive names ("Trump's security
    guarantees"), but not a party's ("Ukraine's security guarantee" is for Ukraine) and no count
    ("Hamas's 240 hostages" are no offer)."""
    topics = article.rules.deal_topics
    owners = [c for c in noun.children if c.dep_ == "poss" and c.i not in value]
    if noun.pos_ not in ("NOUN", "PROPN") or not owners:
        return []
    if noun.lower_ in topics or noun.lemma_.lower() in topics:
        owned = actors_in(article, owners)
    elif rule.seed.value_type == "flag":
        # "Trump's security guarantees": what a third party's possessive names is what it offers;
        # a party's is what it is given or holds ("Ukraine's security guarantees", "Russia's demands")
        owned = [a for a in actors_in(article, owners) if a not in article.parties]
    else:
        return []
    return [Link(a, Stance.PROPOSES, 0.6, noun.i) for a in owned if may_claim(article, a, noun)]


def _modifier_links(article: Article, rule: IssueRule, noun: Token, own: set[int], depth: int) -> list[Link]:
    """A cue participle or relative clause on the value's noun, with its own agent or subject:
    "the 30-day pause offered by Israel", "the truce Qatar proposed"."""
    links: list[Link] = []
    for clause in noun.children:
        if clause.dep_ not in ("acl", "relcl") or clause.i in own:
            continue
        stance = rule.stance_at(clause)
        if stance is None or (stance == Stance.ACCEPTS and clause.lemma_.lower() in SPEECH_VERBS):
            continue
        agents = [p for c in clause.children if c.dep_ == "agent" for p in c.children if p.dep_ == "pobj"]
        subjects = [c for c in clause.children if c.dep_ == "nsubj"]
        said = polarity(clause, stance)
        if said is None:
            continue
        links += [
            Link(a, said, 0.8 - 0.05 * min(depth, 4), clause.i)
            for a in actors_in(article, agents or subjects)
            if may_claim(article, a, clause)
        ]
    return links


def _as_proposal(rule: IssueRule, cue: Token, stance: Stance) -> Stance:
    """ "The Israeli proposal calls for ...": what a proposal asks for is proposed, not demanded."""
    if stance != Stance.DEMANDS or cue.pos_ == "NOUN":
        return stance
    subjects = [c for c in cue.children if c.dep_ in ("nsubj", "nsubjpass") and c.pos_ == "NOUN"]
    return Stance.PROPOSES if any(rule.stance_at(s) == Stance.PROPOSES for s in subjects) else stance


def _subordinate(rule: IssueRule, token: Token) -> bool:
    """The cue verb is what another cue is about: "seeks to extend", "rejects ceding land", "warns
    against giving away territory", "rejects the suggestion that Ukraine cede land"."""
    if any(c.dep_ == "neg" for c in token.children):
        return False  # "offers assurance the US won't send troops": the clause's own "not" decides
    node = token
    if token.dep_ == "pcomp" and token.head.dep_ == "prep":
        node = token.head
    elif token.dep_ == "acl" and token.head.pos_ == "NOUN":
        pass  # a clause that says what the noun is: "the suggestion that ..."
    elif token.dep_ not in ("xcomp", "ccomp") and not (token.dep_ == "dobj" and token.tag_ == "VBG"):
        return False
    head = node.head
    return head.i != node.i and rule.stance_at(head) is not None


def _seen_done(verb: Token) -> bool:
    """The cue verb, with a subject of its own, is what a plan or deal holds: "the deal would see
    Ukraine cede Donbas" is no acceptance by Ukraine."""
    head = verb.head
    return (
        verb.dep_ in ("ccomp", "xcomp")
        and head.i != verb.i
        and head.lemma_.lower() in CONTENT_VERBS
        and any(c.dep_ in SUBJECT_DEPS for c in verb.children)
    )


def _obliging_links(article: Article, cue: Token, stance: Stance, verb: Token, depth: int) -> list[Link]:
    """Who demands what ``cue`` says someone must do: the speaker of ``verb`` ("Trump says Kyiv may
    have to give up land"), or the subject of a verb that tells it or sets a deadline for it ("Trump
    tells Ukraine to give up on NATO", "Trump gives Russia 10 days to agree a ceasefire")."""
    if verb.lemma_.lower() in DEADLINE_SETTERS | DIRECTIVE_VERBS:
        actors = subject_actors(article, verb)
    else:
        actors = speaker_of(article, verb)
    return [
        Link(a, stance, 0.7 - 0.05 * min(depth, 4), verb.i) for a in actors if may_claim(article, a, verb)
    ]


def _proposal_links(article: Article, rule: IssueRule, verb: Token, own: set[int], depth: int) -> list[Link]:
    """A verb whose subject is someone's proposal states what it proposes: "Trump's peace plan includes
    a security guarantee", "the Israeli offer envisages a six-week truce"."""
    proposals = [
        c
        for c in verb.children
        if c.dep_ in ("nsubj", "nsubjpass") and c.i not in own and rule.stance_at(c) == Stance.PROPOSES
    ]
    links: list[Link] = []
    for proposal in proposals:
        actors, confidence = cue_actors(article, proposal, own)
        links += [
            Link(a, Stance.PROPOSES, confidence - 0.05 * min(depth, 4), proposal.i)
            for a in actors
            if may_claim(article, a, verb)
        ]
    return links


def _link_linear(article: Article, rule: IssueRule, span: Span) -> list[Link]:
    """Title Case headlines: an actor right before a cue word, the cue before the value."""
    sent = span[0].sent
    links: list[Link] = []
    if not rule.in_context(sent):
        return links
    for token in sent:
        if token.i > span.start:
            break  # a cue at the value's first word is its own verb: "Ukraine Won't Give Up Land"
        stance = rule.first_stance(token)
        if stance is None:
            continue
        window = range(max(sent.start, token.i - 4), token.i)
        actors = _named_before(article, sent, window)
        if not actors:
            continue
        said: Stance | None = stance
        if any(t.lower_ in NEGATIONS for t in article.doc[window.start : token.i]):
            said = Stance.REJECTS if stance == Stance.ACCEPTS else None
        if said:
            links += [Link(a, said, 0.55, token.i) for a in announced(article, actors, token, said, sent)]
    return links


_JOINING = frozenset({"and", "&", "-", "–", "/"})
_HEADLINE_PRONOUNS = frozenset({"he", "she"})


def _named_before(article: Article, sent: Span, window: range) -> list[str]:
    """The actor nearest before a headline's cue, with those joined to it: "US and Russia Plan Truce
    Deal", "US-Russia Plan Truce Deal"; for a pronoun nearer still, the headline's first actor
    ("Trump Tells European Leaders He Intends to Meet ...")."""
    last = next((i for i in reversed(window) if i in article.actor_at), None)
    pronoun = next((i for i in reversed(window) if article.doc[i].lower_ in _HEADLINE_PRONOUNS), None)
    if pronoun is not None and (last is None or pronoun > last):
        first = next((i for i in range(sent.start, pronoun) if i in article.actor_at), None)
        return [article.actor_at[first]] if first is not None else []
    if last is None:
        return []
    found = [article.actor_at[last]]
    i = last - 1
    while i >= sent.start:
        if i in article.actor_at:
            found.append(article.actor_at[i])
        elif not (article.doc[i].lower_ in _JOINING and i - 1 in article.actor_at):
            break
        i -= 1
    return list(dict.fromkeys(reversed(found)))
