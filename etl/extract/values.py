"""Issue values read from article text, by the patterns of ``seeds/negotiations/<key>.yaml``.

This module owns the seeds' issues compiled for reading (:class:`IssueRule`: value patterns with their
``{fragments}`` expanded, stance cue words in all their inflections, deal and context words, and
:class:`Rules`, the set of them with what linking derives from it), and the reading itself: a
pattern's match made a typed :class:`Value` (days, counts, flags, choices, categories), numbers that
are estimates, strict bounds, ranges or batches dropped (codebook rules 8 and 10), one reading per
stretch of text when issues overlap, and daily counts dropped when the text also gives a total.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from etl.errors import UserError
from etl.extract.lexicon import CUE_CHANGING_PARTICLES, inflections
from etl.extract.numbers import NUM_REGEX, parse_number
from etl.seeds import IssueSeed
from models.enums import Stance

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "hour": 1 / 24}

# A number right after one of these is an estimate, a strict bound or a range end, not a stated value.
# A bound that includes its number is one ("at least four days" → 4, "up to 50 hostages" → 50,
# codebook v2 rule 10); a strict one ("more than 200 hostages") mostly counts who is held, not who
# is to be freed, and stays out, as does an approximate count ("some 50 hostages"; "about" is too
# often the preposition: "talks about 5-day truce").
_QUALIFIED_BEFORE = re.compile(
    rf"(?:\b(?:more\s+than|over|fewer\s+than|less\s+than|nearly|almost|between|dozens\s+of|hundreds\s+of"
    rf"|some|around|roughly|approximately|an\s+estimated)"
    rf"|\b{NUM_REGEX}\s*-?\s*(?:to|or|and|-|–))\s*$",
    re.IGNORECASE,
)
# "the first 33 detainees", "11 more captives": a batch under a deal, not a position (rule 8).
_BATCH_BEFORE = re.compile(
    r"\b(?:first|next|another|further|latest|last|second|third|fourth|fifth|sixth|final|new)\s+$",
    re.IGNORECASE,
)
_BATCH_AFTER = re.compile(r"^\s+(?:more|additional|other|further)\b", re.IGNORECASE)
_PER_DAY_AFTER = re.compile(r"^[^.;]{0,40}?\b(?:a|per|each|every)\s+day\b|^[^.;]{0,40}?\bdaily\b", re.I)


class PatternError(UserError, ValueError):
    """A value pattern in the issue seeds that does not compile: the seeds file needs fixing."""


@dataclass(frozen=True, slots=True)
class _Cue:
    stance: Stance
    rest: tuple[str, ...]  # following words of a phrase cue ("call for" → ("for",))


@dataclass(slots=True)
class IssueRule:
    """One issue of the seeds, compiled: how to find its values and the words that signal a stance."""

    seed: IssueSeed
    cue_words: tuple[str, ...]
    patterns: list[re.Pattern[str]]
    cues: dict[str, list[_Cue]]
    deal_words: frozenset[str]
    terms: list[tuple[str, str]]  # longest surface first
    context: frozenset[str]

    @classmethod
    def build(cls, seed: IssueSeed) -> IssueRule:
        patterns = []
        for raw in seed.patterns:
            patterns.append(compile_pattern(raw, seed.vocab, seed.key))
        cues: dict[str, list[_Cue]] = {}
        for stance, words in seed.stance_cues.items():
            for phrase in words:
                first, *rest = phrase.lower().split()
                for form in inflections(first):
                    cues.setdefault(form, []).append(_Cue(stance, tuple(rest)))
        deal_words = frozenset(f for w in seed.deal_cues for f in inflections(w.lower()))
        terms = sorted(((k.lower(), v) for k, v in seed.terms.items()), key=lambda kv: -len(kv[0]))
        context = frozenset(f for w in seed.context for f in inflections(w.lower()))
        return cls(seed, tuple(c.lower() for c in seed.cues), patterns, cues, deal_words, terms, context)

    def in_context(self, tokens: Iterable[Token]) -> bool:
        return not self.context or any(
            t.lower_ in self.context or t.lemma_.lower() in self.context for t in tokens
        )

    def stance_at(self, token: Token) -> Stance | None:
        """The stance a cue word at ``token`` signals, or None."""
        if token.pos_ not in ("VERB", "NOUN", "PROPN", "AUX", "ADJ"):
            return None
        cue = self._cue_at(token)
        if cue is None or (not cue.rest and _phrasal(token)):
            return None
        return cue.stance

    def cue_words_after(self, token: Token) -> tuple[str, ...]:
        """The words after ``token`` that the cue it starts takes in ("bound by" → ("by",))."""
        cue = self._cue_at(token)
        return cue.rest if cue is not None else ()

    def _cue_at(self, token: Token) -> _Cue | None:
        """The longest cue starting at ``token`` whose following words the text has."""
        options = self.cues.get(token.lower_) or self.cues.get(token.lemma_.lower()) or []
        doc = token.doc
        for cue in sorted(options, key=lambda c: -len(c.rest)):
            if tuple(t.lower_ for t in doc[token.i + 1 : token.i + 1 + len(cue.rest)]) == cue.rest:
                return cue
        return None

    def first_stance(self, token: Token) -> Stance | None:
        """The stance of the first cue listed for ``token``'s word, its following words unchecked
        (a Title Case headline is read word by word)."""
        options = self.cues.get(token.lower_) or self.cues.get(token.lemma_.lower())
        if not options or (all(not c.rest for c in options) and _phrasal(token)):
            return None
        return options[0].stance

    def is_deal(self, token: Token) -> bool:
        return token.lower_ in self.deal_words or token.lemma_.lower() in self.deal_words


def _phrasal(token: Token) -> bool:
    """ "backs off", "backs down": a one-word cue followed by a particle is another verb."""
    doc = token.doc
    return token.i + 1 < len(doc) and doc[token.i + 1].lower_ in CUE_CHANGING_PARTICLES


def compile_pattern(raw: str, vocab: dict[str, str], issue: str) -> re.Pattern[str]:
    """A value pattern of issue ``issue`` with its ``{fragments}`` expanded, matched at word bounds;
    :class:`PatternError` when it does not compile (the seeds are checked by it as they load)."""
    expanded = _expand(raw, vocab, issue)
    try:
        re.compile(expanded)  # alone first, so an error's position is in the pattern as written
        return re.compile(rf"(?<![\w]){expanded}(?![\w])", re.IGNORECASE)
    except (re.error, OverflowError, RecursionError) as exc:  # "a{9999999999}" overflows
        raise PatternError(f"issue {issue}: pattern {raw!r} is not a valid regex: {exc}") from exc


def _expand(pattern: str, vocab: dict[str, str], issue: str) -> str:
    names = {"num": NUM_REGEX, **vocab}
    for _ in range(6):  # fragments may name fragments; six levels is far more than the seeds use
        expanded = re.sub(
            r"\{([a-z_]+)\}",
            lambda m: f"(?:{names[m.group(1)]})" if m.group(1) in names else m.group(0),
            pattern,
        )
        if expanded == pattern:
            break
        pattern = expanded
    unknown = re.findall(r"\{([a-z_]+)\}", pattern)
    if unknown:
        raise PatternError(f"issue {issue}: pattern uses unknown fragment {{{unknown[0]}}}")
    return pattern


@dataclass(frozen=True, slots=True)
class Rules:
    """Every issue's rule, in the seeds' order (the first listed wins a tie), and the words linking
    derives from them."""

    issues: list[IssueRule]
    # what a deal is agreed on: the deal nouns, and the words of the truce issues (truce, extend)
    deal_topics: frozenset[str]
    # per days-valued issue, the words that mark a truce as the one another issue lengthens
    extending_words: dict[str, frozenset[str]]

    @classmethod
    def build(cls, seeds: Sequence[IssueSeed]) -> Rules:
        issues = [IssueRule.build(seed) for seed in seeds]
        deal_topics = frozenset(w for r in issues for w in r.deal_words) | frozenset(
            f
            for r in issues
            if r.seed.value_type == "days"
            for c in r.cue_words
            if " " not in c
            for f in inflections(c)
        )
        # a days-valued issue whose cue word is also its acceptance ("extend") lengthens a running
        # truce; its cue words, per other days-valued issue, mark the truce it lengthens
        days = [r for r in issues if r.seed.value_type == "days"]
        extenders = [r for r in days if set(r.cue_words) & set(r.seed.stance_cues.get(Stance.ACCEPTS, []))]
        extending_words = {
            r.seed.key: frozenset(
                f for other in extenders if other is not r for c in other.cue_words for f in inflections(c)
            )
            for r in days
        }
        return cls(issues, deal_topics, extending_words)

    def values(self, text: str) -> list[Value]:
        """The values ``text`` states, in text order, one reading per stretch of text."""
        lowered = text.lower()
        found: list[Value] = []
        for rule in self.issues:
            if rule.cue_words and not any(cue in lowered for cue in rule.cue_words):
                continue
            for pattern in rule.patterns:
                for match in pattern.finditer(text):
                    value = _read_value(rule, match, text)
                    if value is not None:
                        found.append(value)
        found = _resolve_overlaps(found)
        return _drop_daily_counts(found)


@dataclass(slots=True)
class Value:
    """A value of one issue stated in the text."""

    rule: IssueRule
    value: int | float | str
    start: int  # the whole match, in article offsets
    end: int
    key_start: int  # the span that carries the value (the number, "all", the category list)
    key_end: int
    per_day: bool = False
    # the text states the opposite of the issue ("renounce NATO membership"): a named group
    # ``against`` in the pattern; whoever takes it rejects the issue's value
    against: bool = False


def _read_value(rule: IssueRule, match: re.Match[str], text: str) -> Value | None:
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    kind = rule.seed.value_type
    key = next((g for g in ("n", "all", "choice", "cats", "flag") if g in groups), None)
    key_start, key_end = match.span(key) if key else match.span()
    before = text[max(0, key_start - 40) : key_start]
    if key == "n" and _QUALIFIED_BEFORE.search(before):
        return None
    value: int | float | str
    if kind == "days_or_flag" and "n" not in groups and "unit" not in groups:
        value = "yes"
    elif kind in ("days", "days_or_flag"):
        unit = groups.get("unit", "").lower()
        number = parse_number(groups["n"]) if "n" in groups else 1
        if unit not in UNIT_DAYS or number is None:
            return None
        days = number * UNIT_DAYS[unit]
        if days < 1 or abs(days - round(days)) > 1e-9:
            return None  # "a four-hour pause" is no number of days
        value = round(days)
    elif kind in ("count", "count_or_all", "number"):
        if "all" in groups and kind == "count_or_all":
            value = "all"
        else:
            number = parse_number(groups.get("n", ""))
            if number is None:
                return None
            value = number if kind == "number" else int(number)
            if kind != "number" and (_BATCH_BEFORE.search(before) or _BATCH_AFTER.match(text[key_end:])):
                return None
    elif kind == "flag":
        value = "yes"
    elif kind == "choice":
        value = dict(rule.terms).get(groups.get("choice", "").lower(), "")
        if value not in rule.seed.choices:
            return None
    elif kind == "categories":
        found = _categories(groups.get("cats", ""), rule)
        if not found:
            return None
        value = ",".join(sorted(found))
    else:  # pragma: no cover - ValueType is a closed Literal
        return None
    per_day = kind == "count_or_all" and bool(_PER_DAY_AFTER.match(text[match.end() :]))
    against = "against" in groups
    return Value(rule, value, match.start(), match.end(), key_start, key_end, per_day, against)


def _categories(phrase: str, rule: IssueRule) -> set[str]:
    phrase = " " + re.sub(r"[\s,]+", " ", phrase.lower()) + " "
    found: set[str] = set()
    for surface, canonical in rule.terms:
        needle = f" {surface} "
        if needle in phrase and canonical in rule.seed.choices:
            found.add(canonical)
            phrase = phrase.replace(needle, " ")
    return found


def _resolve_overlaps(values: list[Value]) -> list[Value]:
    """One reading per value span: the longer match wins, then the issue listed first. A flag read
    from words inside a longer match is the same words read twice ("a 3-day ceasefire" is a length,
    not also a ceasefire of no length; "a 30-day halt to energy strikes" is 30 days, not also "yes"),
    unless that match marks its own words (``flag``); so are two overlapping flags of one issue
    ("drop NATO membership" is not also "NATO membership"), and two overlapping lists of categories
    ("release women and children hostages" is not also "release women")."""
    order = {id(v.rule): i for i, v in enumerate(values)}
    ranked = sorted(values, key=lambda v: (-(v.end - v.start), order[id(v.rule)]))
    kept: list[Value] = []
    for value in ranked:
        clash = any(
            value.key_start < other.key_end
            and other.key_start < value.key_end
            and (
                other.rule is not value.rule
                or (_is_flag(value) and _is_flag(other))
                or value.rule.seed.value_type == "categories"
            )
            for other in kept
        ) or (
            _is_flag(value)
            and any(
                _reads(other)[0] <= value.key_start and value.key_end <= _reads(other)[1] for other in kept
            )
        )
        same = any(
            other.rule is value.rule and other.key_start == value.key_start and other.value == value.value
            for other in kept
        )
        if not clash and not same:
            kept.append(value)
    return sorted(kept, key=lambda v: v.start)


def _is_flag(value: Value) -> bool:
    return value.rule.seed.value_type in ("flag", "days_or_flag") and value.value == "yes"


def _reads(value: Value) -> tuple[int, int]:
    """The stretch of text a value is read from: a flag's own words, any other value's whole match."""
    return (value.key_start, value.key_end) if _is_flag(value) else (value.start, value.end)


def _drop_daily_counts(values: list[Value]) -> list[Value]:
    """ "10 hostages a day" is the count only when the text gives no total (codebook)."""
    with_total = {v.rule.seed.key for v in values if not v.per_day}
    return [v for v in values if not (v.per_day and v.rule.seed.key in with_total)]


def by_sentence(doc: Doc, values: list[Value]) -> Iterator[list[tuple[Value, Span]]]:
    """The values with their token spans, grouped by sentence in text order. A flag's span is its own
    words (``flag``) when the pattern marks them: "Zelensky says he is ready for [Putin talks]" is
    read from the talks up, through the words that take a stance on them."""
    grouped: dict[int, list[tuple[Value, Span]]] = {}
    for value in values:
        start, end = _reads(value)
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is None or len(span) == 0:
            continue
        span = _around_key(span, value.key_start)
        grouped.setdefault(span[0].sent.start, []).append((value, span))
    for start in sorted(grouped):
        yield grouped[start]


def _around_key(span: Span, key_start: int) -> Span:
    """The part of ``span`` that hangs together with the words carrying the value: "for 50 women and
    children held captive" is read from the women, not from "held", which the parser may hang
    elsewhere in the sentence."""
    key = next((t for t in span if t.idx + len(t) > key_start), span[0])
    if key.i == span.root.i or span.root.is_ancestor(key):
        return span
    root = key
    while span.start <= root.head.i < span.end and root.head.i != root.i:
        root = root.head
    kept = [t.i for t in span if t.i == root.i or root.is_ancestor(t)]
    return span.doc[min(kept) : max(kept) + 1]


def in_context(rule: IssueRule, span: Span, path: Sequence[Token]) -> bool:
    """The issue's context words are on the value's path to the root, or before it in its sentence."""
    return rule.in_context(path) or rule.in_context(span.doc[span.sent.start : span.start])
