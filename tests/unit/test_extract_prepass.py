"""The pre-pass of issue 14: only what can hold a claim reaches the full pipeline, and the claims and
mentions are those of the full parse, at the same offsets."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from etl.extract.engine import LEAD_WORD, LONG_TEXT, TITLE_SEPARATOR, ArticleResult, Extractor

TITLE = "Qatar says talks on hostages continue"
FAR = "The weather in the region was mild, and markets were calm on Tuesday."
CONTEXT = "Officials met in Doha for a third day of talks on the captives held in Gaza."
CANDIDATE = "Hamas demands a permanent ceasefire and the release of all Palestinian prisoners."


class Spy:
    """Records the texts given to ``nlp.pipe``, without the :data:`LEAD_WORD` a text opening with a
    one-word name is parsed after (``led`` says which were)."""

    def __init__(self, extractor: Extractor) -> None:
        self.parsed: list[str] = []
        self.led: list[bool] = []
        self._pipe = extractor.nlp.pipe

    def __call__(self, texts: Iterable[Any], **kwargs: Any) -> Iterator[Any]:
        texts = list(texts)
        for text in texts:
            text = text if isinstance(text, str) else text.text
            led = text.startswith(LEAD_WORD + " ")
            self.led.append(led)
            self.parsed.append(text[len(LEAD_WORD) + 1 :] if led else text)
        return iter(self._pipe(texts, **kwargs))


@pytest.fixture
def spy(extractor: Extractor, monkeypatch: pytest.MonkeyPatch) -> Spy:
    spy = Spy(extractor)
    monkeypatch.setattr(extractor.nlp, "pipe", spy)
    return spy


@pytest.fixture
def full(extractor: Extractor) -> Extractor:
    return Extractor(extractor.nlp, _reference(), prepass=False)


def _reference() -> Any:
    from etl.seeds import load_reference
    from tests.conftest import REPO

    return load_reference(REPO / "seeds")


def _long_text() -> str:
    filler = " ".join([FAR] * (LONG_TEXT // len(FAR) + 5))
    return f"{filler} {CONTEXT} {CANDIDATE} {FAR}"


def _same(a: ArticleResult, b: ArticleResult) -> None:
    assert a.claims == b.claims
    assert a.mentions == b.mentions
    assert a.text == b.text
    for claim in a.claims:
        assert a.text[claim.start : claim.end] == claim.evidence
    for mention in a.mentions:
        assert a.text[mention.start : mention.end] == mention.text


def test_article_without_candidate_costs_no_parse(extractor: Extractor, spy: Spy, full: Extractor) -> None:
    # Qatar is named, but no value of any issue is stated
    result = extractor.extract(TITLE, f"{CONTEXT} {FAR}")
    assert spy.parsed == []
    assert [m.actor for m in result.mentions] == ["qatar", "qatar"]
    _same(result, full.extract(TITLE, f"{CONTEXT} {FAR}"))


def test_article_naming_no_actor_costs_no_parse(extractor: Extractor, spy: Spy) -> None:
    result = extractor.extract("A permanent ceasefire", "Talks on a permanent ceasefire go on.")
    assert spy.parsed == []
    assert result.claims == [] and result.mentions == [] and result.error is None


def test_short_candidate_article_is_parsed_whole(extractor: Extractor, spy: Spy, full: Extractor) -> None:
    result = extractor.extract(TITLE, f"{CONTEXT} {CANDIDATE}")
    assert spy.parsed == [TITLE + TITLE_SEPARATOR + f"{CONTEXT} {CANDIDATE}"]
    _same(result, full.extract(TITLE, f"{CONTEXT} {CANDIDATE}"))
    assert {(c.actor, c.issue, c.value) for c in result.claims} >= {("hamas", "permanent_ceasefire", "yes")}


def test_far_sentence_is_not_parsed_but_candidate_context_is(
    extractor: Extractor, spy: Spy, full: Extractor
) -> None:
    text = _long_text()
    result = extractor.extract(TITLE, text)
    (parsed,) = spy.parsed
    joined = TITLE + TITLE_SEPARATOR + text
    assert len(parsed) == len(joined)  # blanked, not cut: every offset still points into the article
    assert parsed.startswith(TITLE + TITLE_SEPARATOR)
    assert FAR not in parsed[: joined.index(FAR) + len(FAR)]  # the first far sentence is blanked
    at = joined.index(CONTEXT)
    assert parsed[at : at + len(CONTEXT)] == CONTEXT  # the sentence before the candidate is kept
    at = joined.index(CANDIDATE)
    assert parsed[at : at + len(CANDIDATE)] == CANDIDATE
    assert parsed.count(FAR) <= 2  # the context window, not the filler
    expected = full.extract(TITLE, text)
    _same(result, expected)
    assert {(c.actor, c.issue, c.value) for c in result.claims} >= {("hamas", "permanent_ceasefire", "yes")}
    # mentions still come from the whole text, blanked stretches included
    assert [m.actor for m in result.mentions] == ["qatar", "qatar", "hamas"]


def test_long_article_naming_a_scoped_alias_is_still_parsed_in_part(
    extractor: Extractor, spy: Spy, full: Extractor
) -> None:
    # "Kushner" names the US only in a sentence about the Russia-Ukraine talks: one far from the
    # value is left out of the parse and told by the sentences cut without the parser
    ukraine = "Kushner met Russian officials in Moscow to discuss the Donbas and Ukrainian land."
    elsewhere = "Kushner later spoke about real estate in Miami."
    filler = " ".join([FAR] * (LONG_TEXT // len(FAR) + 5))
    text = f"{ukraine} {elsewhere} {filler} {CONTEXT} {CANDIDATE} {FAR}"
    result = extractor.extract(TITLE, text)
    (parsed,) = spy.parsed
    assert ukraine not in parsed and elsewhere not in parsed  # parsed in part, not whole
    expected = full.extract(TITLE, text)
    _same(result, expected)
    kushner = [m for m in result.mentions if m.text == "Kushner"]
    assert [m.start for m in kushner] == [len(TITLE + TITLE_SEPARATOR)]  # the Ukraine sentence's only


def test_long_article_with_a_scoped_alias_and_no_value_costs_no_parse(
    extractor: Extractor, spy: Spy, full: Extractor
) -> None:
    ukraine = "Kushner met Russian officials in Moscow to discuss the Donbas and Ukrainian land."
    text = f"{ukraine} " + " ".join([FAR] * (LONG_TEXT // len(FAR) + 5))
    result = extractor.extract(TITLE, text)
    assert spy.parsed == []
    _same(result, full.extract(TITLE, text))
    assert "united_states" in {m.actor for m in result.mentions}


def test_switch_parses_every_article(full: Extractor, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(full)
    monkeypatch.setattr(full.nlp, "pipe", spy)
    full.extract(TITLE, FAR)
    assert spy.parsed == [TITLE + TITLE_SEPARATOR + FAR]


def test_text_opening_with_a_one_word_name_is_parsed_after_the_lead_word(
    extractor: Extractor, spy: Spy, full: Extractor
) -> None:
    # "Qatar" opens the title: the parser reads it after LEAD_WORD, and the result is the text's own
    result = extractor.extract(TITLE, f"{CONTEXT} {CANDIDATE}")
    assert spy.led == [True]
    assert result.text.startswith(TITLE)
    assert [m.actor for m in result.mentions][:1] == ["qatar"]
    assert result.mentions[0].start == 0
    _same(result, full.extract(TITLE, f"{CONTEXT} {CANDIDATE}"))
    # a long text keeps the sentence starts the pre-pass set, after the lead word as before it (the
    # full parse shares the spied pipeline: each extraction below is seen twice)
    _same(extractor.extract(TITLE, _long_text()), full.extract(TITLE, _long_text()))
    assert spy.led == [True] * 4
    extractor.extract("Talks in Doha: " + TITLE, f"{CONTEXT} {CANDIDATE}")
    assert spy.led == [True] * 4 + [False]


def test_a_bare_name_opening_a_headline_is_its_subject(extractor: Extractor) -> None:
    result = extractor.extract("Trump announces two-day ceasefire in Russia-Ukraine war", "")
    assert {(c.actor, c.issue, c.value, c.stance) for c in result.claims} == {
        ("russia", "ceasefire_duration", 2, "accepts"),
        ("ukraine", "ceasefire_duration", 2, "accepts"),
    }
