"""Text from markup: feed summaries with tags stripped, and an article page's main text."""

from __future__ import annotations

import html
import logging
import re

TAG = re.compile(r"<[^>]*>")
INVISIBLE = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([.,;:!?)\]])")
SPACE = re.compile(r"[ \t\r\f\v]+")
HTML_LANG = re.compile(r"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)

# trafilatura logs every page it finds too short at WARNING; parley records that in page_status
logging.getLogger("trafilatura").setLevel(logging.ERROR)


def strip_tags(markup: str) -> str:
    """Plain text of a short piece of HTML (a title or a feed summary), whitespace collapsed."""
    if not markup:
        return ""
    markup = INVISIBLE.sub(" ", markup)
    text = html.unescape(TAG.sub(" ", markup))
    text = SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)  # "<b>ceasefire</b>." left "ceasefire ."
    lines = (SPACE.sub(" ", line).strip() for line in text.replace("\xa0", " ").splitlines())
    return "\n".join(line for line in lines if line).replace("\x00", "")


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
