"""Text from markup: feed summaries with tags stripped, and an article page's main text."""

from __future__ import annotations

import logging
import re
import threading

import lxml.html
from lxml import etree

SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([.,;:!?)\]])")
SPACE = re.compile(r"[ \t\r\f\v]+")
HTML_LANG = re.compile(r"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
INVISIBLE = frozenset({"script", "style", "noscript", "template"})
_parsers = threading.local()  # a parser serialises the threads that share it: one per thread

# trafilatura logs every page it finds too short at WARNING; parley records that in page_status
logging.getLogger("trafilatura").setLevel(logging.ERROR)


def strip_tags(markup: str) -> str:
    """Plain text of a short piece of HTML (a title or a feed summary), whitespace collapsed: the
    words of every element but those never shown (scripts, styles ...), a tag's edge a word's edge,
    entities decoded; one line per line of the markup's text, blank lines dropped."""
    if not markup:
        return ""
    text = _words_of(markup) if "<" in markup or "&" in markup else markup
    text = SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)  # "<b>ceasefire</b>." left "ceasefire ."
    lines = (SPACE.sub(" ", line).strip() for line in text.replace("\xa0", " ").splitlines())
    return "\n".join(line for line in lines if line).replace("\x00", "")


def _words_of(markup: str) -> str:
    """The text of ``markup`` parsed by lxml, a space at every start and end tag."""
    # A summary cut off inside a tag ('... two weeks before a <a href="ht') keeps the cut tag as
    # text, as parley's summaries always have: an HTML parser would drop it.
    end = markup.rfind(">") + 1
    markup = markup[:end] + markup[end:].replace("<", "&lt;")
    # bytes: a lone surrogate (never in text read from bytes) becomes "?" instead of ending the text
    root = etree.fromstring(markup.replace("\x00", "").encode("utf-8", "replace"), _html_parser())
    if root is None:  # nothing but white space
        return ""
    parts: list[str] = []
    # depth first without recursion (hostile markup nests deeper than Python's stack)
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        element, closing = stack.pop()
        parts.append(" ")
        if closing:
            if element.tail and element is not root:
                parts.append(element.tail)
            continue
        stack.append((element, True))
        # comments and processing instructions have no str tag: their text is never shown either
        if isinstance(element.tag, str) and element.tag not in INVISIBLE:
            if element.text:
                parts.append(element.text)
            stack.extend((child, False) for child in reversed(element))
    return "".join(parts)


def _html_parser() -> lxml.html.HTMLParser:
    parser: lxml.html.HTMLParser | None = getattr(_parsers, "html", None)
    if parser is None:
        # huge_tree: nesting up to libxml2's hard limit (2048 levels) rather than its default 256
        parser = _parsers.html = lxml.html.HTMLParser(encoding="utf-8", no_network=True, huge_tree=True)
    return parser


def extract_main_text(markup: str, url: str | None = None) -> str:
    """The main text of an article page, without navigation, footer and other boilerplate."""
    import trafilatura  # imported here: loading it costs ~0.5 s, and only ingestion needs it

    try:
        # fast=True skips the readability/jusText fallbacks: 20x cheaper, and on news pages the
        # main extractor alone finds the article body
        text = trafilatura.extract(
            markup, url=url, include_comments=False, include_tables=False, favor_precision=True, fast=True
        )
    except Exception:  # trafilatura on hostile markup: the caller falls back to the feed summary
        return ""
    return (text or "").replace("\x00", "").strip()


def html_language(markup: str) -> str | None:
    match = HTML_LANG.search(markup[:4096])
    return match.group(1).lower() if match else None
