"""Plain text from markup: what feed summaries and titles become before anything reads them."""

from __future__ import annotations

import pytest

from etl.extract.engine import Extractor
from etl.text import html_language, strip_tags


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>Hamas demands a <b>permanent ceasefire</b>.</p>", "Hamas demands a permanent ceasefire."),
        ("<script>track()</script><p>Talks resume</p>", "Talks resume"),
        ("<style>p {color: red}</style>Doha &amp; Cairo", "Doha & Cairo"),
        ("Truce<br/>extended", "Truce extended"),
        ("line one\n\n  <i>line two</i>  ", "line one\nline two"),
        ("a\x00b", "ab"),
        ("", ""),
        ("AT&amp;T &lt;b&gt; &#8217;s <i>deal</i>", "AT&T <b> ’s deal"),  # entities decoded once
        ("<!-- <p>hidden</p> --><p>shown</p>", "shown"),  # the regex it replaced kept "hidden -->"
        ("<p>first</p>\n<p>second</p>", "first\nsecond"),
        ("<p>Talks go on</p><p>Hamas says", "Talks go on Hamas says"),  # unclosed elements
        # a summary cut off inside a tag keeps the cut tag as text, as it always has
        ('Aid arrives. <a href="https://news.example/a', 'Aid arrives. <a href="https://news.example/a'),
        ("<p>" + "<b>" * 1500 + "deep</p>", "deep"),
    ],
)
def test_strip_tags_keeps_the_words_and_drops_markup_and_invisible_content(markup: str, text: str) -> None:
    assert strip_tags(markup) == text


@pytest.mark.parametrize(
    ("markup", "language"),
    [("<html lang='en-GB'><body>", "en"), ('<html class="x" lang="ar">', "ar"), ("<html>", None)],
)
def test_html_language_reads_the_primary_subtag(markup: str, language: str | None) -> None:
    assert html_language(markup) == language


def test_evidence_is_the_sentence_without_surrounding_whitespace(extractor: Extractor) -> None:
    # (a Gaza truce: codebook v2 gives a sentence about no negotiation no claim)
    result = extractor.extract("Israel agrees to a four-day truce in Gaza", "Fighting continued elsewhere.")
    claim = next(c for c in result.claims if c.issue == "ceasefire_duration")
    assert claim.evidence == "Israel agrees to a four-day truce in Gaza"
    assert result.text[claim.start : claim.end] == claim.evidence
