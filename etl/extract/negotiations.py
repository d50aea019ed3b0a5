"""Which negotiation a value, or a sentence, is about (codebook v2): its own words when they say, else
its sentence's, else its article's.

Each negotiation of ``seeds/negotiations/`` names what tells a text is about it (``about``: actors
and words), and ``seeds/elsewhere.yaml`` the words of conflicts no negotiation follows. A sentence
goes to the negotiation with the most distinct markers in it; when it has none, to the one its
article is about (the same count over the whole article, the title counted twice). More markers of
elsewhere than of any negotiation, a tie between two negotiations that the article does not settle,
or an article about nothing followed: no negotiation, and so no claim ("Israel and Lebanon agree to
extend the Hezbollah ceasefire by three weeks" is not the Gaza truce). A value whose own noun phrase
has markers goes by them first: in "Russia calls for a ceasefire in Sudan" the ceasefire is Sudan's,
though Russia is a party of the Ukraine talks.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from etl.extract.values import Rules
from etl.seeds import NegotiationSeed

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

ELSEWHERE = ""  # the pseudo-negotiation of conflicts parley does not follow


@dataclass(frozen=True, slots=True)
class Negotiation:
    """One negotiation of the seeds, compiled for reading."""

    key: str
    rules: Rules
    parties: tuple[str, ...]
    about_actors: frozenset[str]

    @classmethod
    def build(cls, seed: NegotiationSeed) -> Negotiation:
        return cls(seed.key, Rules.build(seed.issues), tuple(seed.parties), frozenset(seed.about.actors))


def _words_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    if not ordered:
        return None
    alternatives = "|".join(r"\s+".join(re.escape(part) for part in w.split()) for w in ordered)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


class Topics:
    """The markers of every negotiation and of elsewhere, and the reading of a document by them."""

    def __init__(self, negotiations: Sequence[NegotiationSeed], elsewhere: Sequence[str]) -> None:
        self.keys = [n.key for n in negotiations]
        self._words = {n.key: _words_pattern(n.about.words) for n in negotiations}
        self._words[ELSEWHERE] = _words_pattern(elsewhere)
        self._actors = {n.key: frozenset(n.about.actors) for n in negotiations}

    def markers(self, text: str, actors: Iterable[str]) -> Counter[str]:
        """Distinct markers of each negotiation (and of :data:`ELSEWHERE`) in ``text``, whose actor
        mentions name ``actors``."""
        named = set(actors)
        counts: Counter[str] = Counter()
        for key, pattern in self._words.items():
            found = {m.group(0).lower() for m in pattern.finditer(text)} if pattern is not None else set()
            found |= {f"@{a}" for a in named & self._actors.get(key, frozenset())}
            if found:
                counts[key] = len(found)
        return counts

    def decide(self, counts: Mapping[str, int], fallback: str | None = None) -> str | None:
        """The negotiation ``counts`` point to: :data:`ELSEWHERE` when elsewhere outnumbers every
        negotiation, ``fallback`` when there are no markers or two negotiations tie (a tie settled by
        ``fallback`` only when it is one of them)."""
        best = max((counts.get(k, 0) for k in self.keys), default=0)
        if counts.get(ELSEWHERE, 0) > best:
            return ELSEWHERE
        if best == 0:
            return fallback
        leaders = [k for k in self.keys if counts.get(k, 0) == best]
        if len(leaders) == 1:
            return leaders[0]
        return fallback if fallback in leaders else None

    def of_value(
        self, span: Span, actor_spans: Sequence[tuple[str, int]], sentence: str | None
    ) -> str | None:
        """The negotiation a value is about: the one its own noun phrase names ("a ceasefire in Sudan"
        is elsewhere's, "the 60-day Gaza truce" Gaza's, whatever else its sentence names), else its
        ``sentence``'s. ``actor_spans`` are (actor, start char) of the mentions."""
        root = span.root
        tokens = list(span)
        if root.pos_ in ("NOUN", "PROPN"):  # the noun phrase, without what is coordinated with it
            tokens += [t for c in root.children if c.dep_ not in ("conj", "cc") for t in c.subtree]
        start = min(t.idx for t in tokens)
        end = max(t.idx + len(t) for t in tokens)
        actors = [actor for actor, at in actor_spans if start <= at < end]
        return self.decide(self.markers(span.doc.text[start:end], actors), fallback=sentence) or None

    def read(
        self,
        doc: Doc,
        actor_spans: Sequence[tuple[str, int]],
        whole: Doc | None = None,
        exchanges: Sequence[int] = (),
    ) -> dict[int, str]:
        """Each sentence's negotiation, by the sentence's first token index; sentences about no
        negotiation followed are left out. ``actor_spans`` are (actor, start char) of the mentions.
        ``whole``: when ``doc`` parses only part of the article (the engine's pre-pass), the whole
        article, cut into sentences without the parser, which the article's own count is taken over.
        ``exchanges``: where a transcript's questions start (char offsets); a sentence with no
        markers goes by those of its question and answer, a follow-up with none by the exchange
        before it, then by the article's (a briefing answers on Gaza, then on Ukraine)."""
        sentences = list(doc.sents)
        per_sentence = self._counts(sentences, actor_spans)
        article: Counter[str] = Counter()
        by_exchange: dict[int, Counter[str]] = {}
        counted_sentences = sentences if whole is None else list(whole.sents)
        counted = per_sentence if whole is None else self._counts(counted_sentences, actor_spans)
        for number, (sent, counts) in enumerate(zip(counted_sentences, counted, strict=True)):
            exchange = by_exchange.setdefault(bisect_right(exchanges, sent.start_char), Counter())
            for key, n in counts.items():
                article[key] += n * (2 if number == 0 else 1)
                exchange[key] += n
        about = self.decide(article)
        # an exchange with no markers is a follow-up: it goes by the exchange before it
        exchange_topics: dict[int, str | None] = {}
        previous = about
        for number in sorted(by_exchange):
            topic = self.decide(by_exchange[number], previous)
            exchange_topics[number] = topic
            previous = topic if topic is not None else about
        topics: dict[int, str] = {}
        for sent, counts in zip(sentences, per_sentence, strict=True):
            fallback = about
            if exchanges:
                fallback = exchange_topics.get(bisect_right(exchanges, sent.start_char), about)
            decided = self.decide(counts, fallback=fallback)
            if decided:  # neither ELSEWHERE nor None
                topics[sent.start] = decided
        return topics

    def _counts(
        self, sentences: Sequence[Span], actor_spans: Sequence[tuple[str, int]]
    ) -> list[Counter[str]]:
        starts = [s.start_char for s in sentences]
        by_sentence: dict[int, list[str]] = {}
        index = 0
        for actor, start in sorted(actor_spans, key=lambda a: a[1]):
            while index + 1 < len(starts) and starts[index + 1] <= start:
                index += 1
            sent = sentences[index]
            # not in a stretch a partial parse left out (blanked to spaces, which the sentence before
            # it runs on through)
            if start < sent.start_char + len(sent.text.rstrip()):
                by_sentence.setdefault(index, []).append(actor)
        return [self.markers(sent.text, by_sentence.get(n, [])) for n, sent in enumerate(sentences)]
