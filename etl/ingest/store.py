"""The article store: drafts not stored yet, and one COPY that stores the drafts of many feeds.

Identity of an article (the de-duplication contract, also in the README):

1. the same feed and GUID is the same article (a feed re-listing an item adds nothing);
2. the same canonical URL (see :func:`etl.ingest.urls.canonical_url`) is the same article, from any feed;
3. the same content (sha256 of the normalised main text) under another URL is a *different* row,
   stored again with ``duplicate_of`` pointing at the first copy: other outlets repeating a story
   matter for corroboration later.

Every store takes the pipeline lock ``article_store``, held until commit (see :func:`store_feeds` and
:mod:`etl.locks`): articles commit in the order of their ids.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Text, and_, select, union_all
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from etl import locks
from etl.db import copy_rows, unnested
from etl.ingest.entries import ArticleDraft
from etl.settings import LOCK_TIMEOUT_SECONDS
from models import Article

_articles = Article.metadata.tables["articles"]


_listed_guids = unnested("listed_guids", [("feed_ids", Integer), ("guids", Text)])
_listed_urls = unnested("listed_urls", [("urls", Text)])
# The stored articles that have one of the listed (feed, GUID) pairs or canonical URLs.
_KNOWN_DRAFTS = union_all(
    select(_articles.c.feed_id, _articles.c.guid, _articles.c.canonical_url).join_from(
        _listed_guids,
        _articles,
        and_(_articles.c.feed_id == _listed_guids.c.feed_ids, _articles.c.guid == _listed_guids.c.guids),
    ),
    select(_articles.c.feed_id, _articles.c.guid, _articles.c.canonical_url).join_from(
        _listed_urls, _articles, _articles.c.canonical_url == _listed_urls.c.urls
    ),
)

_ARTICLE_COLUMNS = (
    "id",
    "feed_id",
    "guid",
    "url",
    "canonical_url",
    "title",
    "summary",
    "text",
    "text_source",
    "language",
    "published_at",
    "claimed_published_at",
    "content_hash",
    "page_status",
    "raw_entry",
    "raw_html",
    "duplicate_of",
)
# ids for n new rows, in the order they are drawn (under the store lock: the order they commit in)
_NEW_ARTICLE_IDS = sql_text(
    "SELECT nextval(sequence) AS id"
    " FROM (SELECT pg_get_serial_sequence('articles', 'id')::regclass AS sequence) AS articles_id,"
    " generate_series(1, :n) ORDER BY id"
)
_listed_hashes = unnested("listed_hashes", [("hashes", Text)])
_stored = _articles.alias("stored")
# The first stored copy of each listed content hash, if any: the first entry under the hash in
# ix_articles_content_hash_id (migration 0008), however many copies there are.
_FIRST_STORED_COPIES = select(
    _listed_hashes.c.hashes,
    select(_stored.c.id)
    .where(_stored.c.content_hash == _listed_hashes.c.hashes)
    .order_by(_stored.c.id)
    .limit(1)
    .scalar_subquery(),
)
_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False)  # raw entries are plain trees


def unseen_drafts(session: Session, feed_id: int, drafts: Sequence[ArticleDraft]) -> list[ArticleDraft]:
    """Drop drafts already stored (same feed+GUID or same canonical URL) or repeated in the batch."""
    return [draft for _, draft in _unseen(session, [(feed_id, draft) for draft in drafts])]


def _unseen(session: Session, rows: Sequence[tuple[int, ArticleDraft]]) -> list[tuple[int, ArticleDraft]]:
    """The (feed id, draft) pairs whose draft is neither stored (same feed+GUID or same canonical
    URL) nor the repeat of an earlier pair's."""
    if not rows:
        return []
    known = session.execute(
        _KNOWN_DRAFTS,
        {
            "feed_ids": [feed_id for feed_id, _ in rows],
            "guids": [draft.guid for _, draft in rows],
            "urls": [draft.canonical_url for _, draft in rows if draft.canonical_url],
        },
    ).all()
    known_guids = {(feed_id, guid) for feed_id, guid, _ in known}
    known_urls = {url for _, _, url in known if url}
    fresh: list[tuple[int, ArticleDraft]] = []
    for feed_id, draft in rows:
        if (feed_id, draft.guid) in known_guids or (
            draft.canonical_url and draft.canonical_url in known_urls
        ):
            continue
        known_guids.add((feed_id, draft.guid))
        if draft.canonical_url:
            known_urls.add(draft.canonical_url)
        fresh.append((feed_id, draft))
    return fresh


def store_feeds(
    session: Session,
    batches: Sequence[tuple[int, Sequence[ArticleDraft]]],
    *,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
) -> dict[int, int]:
    """Store the drafts of one or more feeds with one COPY, whatever the number of feeds; returns how
    many rows were new, per feed id. Idempotent: a draft stored already (same feed+GUID or same
    canonical URL), or repeating an earlier draft's key, is skipped.

    A draft whose content is already stored, or comes earlier in this call, gets ``duplicate_of``:
    the first copy. Ids are drawn before the COPY so that such a copy can point at its first copy.
    Waits at most ``lock_timeout`` seconds for the store lock (:class:`etl.locks.LockTimeout`).
    """
    if not any(drafts for _, drafts in batches):
        return {}
    # Feeds are stored from several threads (and maybe processes) at once; without this lock two
    # copies of one story arriving together would both look like the first copy, and the check below
    # could miss a row stored meanwhile. Held until commit, it also makes articles commit in id
    # order, which etl.extract.store.read_through relies on. Whatever inserts articles must take it.
    locks.hold(session, locks.ARTICLE_STORE, lock_timeout)
    new = _unseen(session, [(feed_id, draft) for feed_id, drafts in batches for draft in drafts])
    ids = session.scalars(_NEW_ARTICLE_IDS, {"n": len(new)}).all()
    hashes = [draft.content_hash for _, draft in new]  # sha256 of the whole text: computed once
    first_copy = {
        digest: article_id
        for digest, article_id in session.execute(_FIRST_STORED_COPIES, {"hashes": sorted(set(hashes))})
        if article_id is not None
    }
    rows: list[tuple[Any, ...]] = []
    stored: dict[int, int] = {}
    for (feed_id, draft), digest, article_id in zip(new, hashes, ids, strict=True):
        duplicate_of = first_copy.setdefault(digest, article_id)
        rows.append(
            (
                article_id,
                feed_id,
                draft.guid,
                draft.url,
                draft.canonical_url,
                draft.title,
                draft.summary,
                draft.text,
                draft.text_source,
                draft.language,
                draft.published_at,
                draft.claimed_published_at,
                digest,
                draft.page_status,
                _JSON.encode(draft.raw_entry),
                draft.raw_html,
                None if duplicate_of == article_id else duplicate_of,
            )
        )
        stored[feed_id] = stored.get(feed_id, 0) + 1
    copy_rows(session, _articles.name, _ARTICLE_COLUMNS, rows)
    return stored
