"""Article pages: fetch the page an entry links to and take its main text in place of the summary.

Any failure keeps the feed's summary and says why in ``page_status``; the page's bytes are kept
compressed, and its declared language wins over the feed's.
"""

from __future__ import annotations

import re
import zlib

from etl.ingest.entries import ArticleDraft
from etl.ingest.fetch import PAGE_ACCEPT, Fetcher, FetchError, FetchResult
from etl.ingest.parse import primary_language
from etl.text import extract_main_text, html_language
from models.enums import TextSource


def fill_from_page(draft: ArticleDraft, fetcher: Fetcher) -> None:
    """Fetch the article page and take its main text; on any failure keep the feed summary."""
    if not draft.url:
        draft.page_status = "no link"
        return
    try:
        page = fetcher.get(draft.url, accept=PAGE_ACCEPT)
    except FetchError as exc:
        draft.page_status = f"page not fetched: {exc}"
        return
    kind = page.content_type.split(";")[0].strip().lower()
    if kind and "html" not in kind and "xml" not in kind:
        draft.page_status = f"page is {kind}, not HTML"
        return
    markup = decode_page(page)
    text = extract_main_text(markup, url=page.url)
    draft.raw_html = zlib.compress(page.body, 6)
    draft.language = (
        html_language(markup) or primary_language(page.headers.get("content-language")) or draft.language
    )
    if not text:
        draft.page_status = "page has no main text"
        return
    first, _, rest = text.partition("\n")
    if rest and first.strip() == draft.title.strip():  # the page repeats the headline as its <h1>
        text = rest.strip()
    draft.text = text
    draft.text_source = TextSource.PAGE


def decode_page(page: FetchResult) -> str:
    """The page as text, in the charset its Content-Type names (UTF-8 otherwise), never raising."""
    match = re.search(r"charset=([\w.:-]+)", page.content_type, re.IGNORECASE)
    if match:
        try:
            return page.body.decode(match.group(1), "replace")
        except LookupError:
            pass
    return page.body.decode("utf-8", "replace")
