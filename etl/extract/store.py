"""Running the extractor over stored articles and writing its mentions and claims.

An article is processed once per extractor version (``article_extractions``): ``extract_articles``
takes every article the current version has not seen, so a re-run is a no-op, and with
``reprocess`` it recomputes all of them. Writes are idempotent either way: claims are upserted on
their natural key (article, negotiation, actor, issue, value, version), so an unchanged claim keeps
its id, and claims the new run no longer finds are deleted; a mention is one row per (article,
version, actor, offsets), enforced by ``uq_mentions_identity``, so runs extracting at once store each
mention once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    Numeric,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from etl.catalog import load_reference_data
from etl.db import UNIQUE_VIOLATION, copy_rows, unnested
from etl.settings import Settings
from models import Article, ArticleExtraction, Claim, ExtractionProgress, Mention

if TYPE_CHECKING:
    from etl.extract.engine import ArticleResult, Extractor


@dataclass
class ExtractSummary:
    articles: int = 0
    claims: int = 0
    mentions: int = 0
    errors: int = 0

    def line(self) -> str:
        return (
            f"{self.articles} articles extracted: {self.claims} claims, {self.mentions} actor mentions, "
            f"{self.errors} unreadable"
        )


# The extractor last built in this thread, by the seeds it was built from: a process that runs many
# ticks (a replay, a long-lived worker) loads the language model once, and again only when the seeds
# change. One per thread: a spaCy pipeline is not promised to be safe to share between threads.
_built = threading.local()


def load_extractor(settings: Settings) -> Extractor:
    """The extractor built from the seeds (the spaCy model loads here: about a second, the first
    time in a thread and whenever the seeds have changed since)."""
    from etl.extract.engine import Extractor
    from etl.seeds import load_reference

    reference = load_reference(settings.seeds_dir)  # read every time: an edit takes effect
    key = hashlib.sha256(repr(reference).encode("utf-8")).hexdigest()
    if getattr(_built, "key", None) != key:
        _built.extractor = Extractor.load(reference)
        _built.key = key
    extractor: Extractor = _built.extractor
    return extractor


def pending_count(engine: Engine, version: str, *, reprocess: bool = False) -> int:
    with Session(engine) as session, session.begin():
        if reprocess:
            return int(session.scalar(select(func.count()).select_from(Article)) or 0)
        return unread_count(session, version)


def unread_count(session: Session, version: str) -> int:
    """How many stored articles ``version`` has not read yet (moving its reading mark on first)."""
    above = read_through(session, version)
    query = select(func.count()).select_from(Article).where(Article.id > above, ~_read(version))
    return int(session.scalar(query) or 0)


def read_through(session: Session, version: str) -> int:
    """The id up to which ``version`` has read every article, moved on as far as it now can.

    Articles are stored in id order: ``etl.ingest.poll.store_feeds`` draws their ids and commits
    under one lock, so an article not yet visible will get a higher id than every visible one. So
    the mark can move to just below the first visible article ``version`` has not read (or to the
    last article), and what is left to read is always above it: an index range, however long the
    history. ``article_extractions`` stays the record and decides within that range.
    """
    mark = session.scalar(
        select(ExtractionProgress.read_through).where(ExtractionProgress.extractor_version == version)
    )
    start = mark or 0
    first_unread = session.scalar(
        select(Article.id).where(Article.id > start, ~_read(version)).order_by(Article.id).limit(1)
    )
    if first_unread is not None:
        reached = first_unread - 1
    else:
        reached = session.scalar(select(func.max(Article.id)).where(Article.id > start)) or start
    if mark is None or reached > mark:
        upsert = pg_insert(ExtractionProgress).values(extractor_version=version, read_through=reached)
        session.execute(
            upsert.on_conflict_do_update(
                index_elements=["extractor_version"],
                # two runs may move it at once: each mark is true when computed, the higher one wins
                set_={
                    "read_through": func.greatest(
                        ExtractionProgress.read_through, upsert.excluded.read_through
                    ),
                    "updated_at": func.now(),
                },
            )
        )
    return reached


def _read(version: str) -> Any:
    return exists().where(
        ArticleExtraction.article_id == Article.id, ArticleExtraction.extractor_version == version
    )


def extract_articles(
    engine: Engine,
    settings: Settings,
    extractor: Extractor,
    *,
    reprocess: bool = False,
    batch_size: int = 256,
    on_batch: Callable[[int], None] | None = None,
) -> ExtractSummary:
    """Extract every article not yet processed by this extractor version (all with ``reprocess``)."""
    from etl.extract.engine import EXTRACTOR_VERSION

    load_reference_data(engine, settings.seeds_dir)  # claims refer to the actors and issues by key
    summary = ExtractSummary()
    last_id = 0
    if not reprocess:
        with Session(engine) as session, session.begin():
            last_id = read_through(session, EXTRACTOR_VERSION)
    while True:
        query = select(Article.id).where(Article.id > last_id)
        if not reprocess:
            query = query.where(~_read(EXTRACTOR_VERSION))
        with Session(engine) as session:
            # ids first, from the primary-key index; selecting the texts in the same query made
            # PostgreSQL scan the whole articles table to find the few pending ones
            ids = list(session.scalars(query.order_by(Article.id).limit(batch_size)))
            if not ids:
                return summary
            rows = session.execute(
                select(Article.id, Article.title, Article.text)
                .where(Article.id.in_(ids))
                .order_by(Article.id)
            ).all()
        if not rows:  # deleted meanwhile
            last_id = ids[-1]
            continue
        results = list(extractor.extract_many(((title, text) for _, title, text in rows)))
        with Session(engine) as session, session.begin():
            store_results(session, [row[0] for row in rows], results, EXTRACTOR_VERSION)
        for result in results:
            summary.articles += 1
            summary.claims += len(result.claims)
            summary.mentions += len(result.mentions)
            summary.errors += result.error is not None
        last_id = rows[-1][0]
        if on_batch:
            on_batch(len(rows))


# The statements are of fixed text whatever the batch (compiled once): a batch's rows go as one
# array per column, unnested on the server. Row-by-row parameters made SQLAlchemy build ~20 bind names
# per claim in Python, and ``IN`` lists of 256 ids are estimated as most of a table without statistics.
_CLAIM_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("article_id", BigInteger),
    ("negotiation", Text),
    ("actor", Text),
    ("issue", Text),
    ("value", Text),
    ("value_number", Numeric),
    ("stance", Text),
    ("evidence", Text),
    ("start_offset", Integer),
    ("end_offset", Integer),
    ("confidence", Float),
    ("extractor_version", Text),
)
_MENTION_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("article_id", BigInteger),
    ("actor", Text),
    ("start_offset", Integer),
    ("end_offset", Integer),
    ("text", Text),
    ("extractor_version", Text),
)
_MARK_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("article_id", BigInteger),
    ("claims", Integer),
    ("mentions", Integer),
    ("error", Text),
    ("extractor_version", Text),
)


def _insert_rows(table: Any, columns: Sequence[tuple[str, Any]]) -> Any:
    """INSERT .. SELECT from ``unnest`` of one array parameter per column, named as the column."""
    rows = unnested(f"new_{table.name}", columns)
    return pg_insert(table).from_select([name for name, _ in columns], select(*rows.c))


def _in_batch(table: Any) -> Any:
    """The rows of the batch's articles for this version. The id range, besides the list, makes the
    planner read the article_id index (a batch is a run of ids) rather than hash the whole table."""
    return and_(
        table.c.article_id.between(bindparam("first_id"), bindparam("last_id")),
        table.c.article_id == func.any(cast(bindparam("article_ids"), ARRAY(BigInteger))),
        table.c.extractor_version == bindparam("version"),
    )


_claims = Claim.metadata.tables["claims"]
_mentions = Mention.metadata.tables["mentions"]
_extractions = ArticleExtraction.metadata.tables["article_extractions"]
_STORED_BEFORE = select(exists().where(_in_batch(_claims)) | exists().where(_in_batch(_mentions)))
_DELETE_MENTIONS = delete(_mentions).where(_in_batch(_mentions))
# a mention another run stored meanwhile (two runs extracting one batch at once) is kept, not doubled
_INSERT_MENTIONS = _insert_rows(_mentions, _MENTION_COLUMNS).on_conflict_do_nothing(
    constraint="uq_mentions_identity"
)
_new_claims = _insert_rows(_claims, _CLAIM_COLUMNS)
_UPSERT_CLAIMS = _new_claims.on_conflict_do_update(
    constraint="uq_claims_identity",
    set_={
        name: _new_claims.excluded[name]
        for name in ("value_number", "stance", "evidence", "start_offset", "end_offset", "confidence")
    },
).returning(_claims.c.id)
# the batch's claims of this version that the run did not find again (kept: the ids just upserted)
_DELETE_STALE_CLAIMS = delete(_claims).where(
    _in_batch(_claims), _claims.c.id != func.all(cast(bindparam("kept"), ARRAY(BigInteger)))
)
_new_marks = _insert_rows(_extractions, _MARK_COLUMNS)
_UPSERT_MARKS = _new_marks.on_conflict_do_update(
    index_elements=["article_id", "extractor_version"],
    set_={
        "processed_at": func.now(),
        "claims": _new_marks.excluded.claims,
        "mentions": _new_marks.excluded.mentions,
        "error": _new_marks.excluded.error,
    },
)


def store_results(
    session: Session, article_ids: Sequence[int], results: Sequence[ArticleResult], version: str
) -> None:
    """Write one batch's mentions, claims and processed marks, replacing this version's earlier ones.

    A batch this version has not written before (the usual case: the articles are new) has its claims
    loaded with COPY, and nothing is deleted; a batch it has written before is replaced: its mentions
    deleted, its claims upserted on their natural key (an unchanged claim keeps its id) and the stale
    ones deleted. Runs extracting the same batch at once store each row once: mentions are inserted
    skipping those already there (``uq_mentions_identity``), a COPY of claims that meets claims stored
    meanwhile is redone as the upsert, and the processed marks are upserted.
    """
    if not article_ids:
        return
    batch = {
        "version": version,
        "article_ids": list(article_ids),
        "first_id": min(article_ids),
        "last_id": max(article_ids),
    }
    claims: list[tuple[Any, ...]] = []
    mentions: list[tuple[Any, ...]] = []
    for article_id, result in zip(article_ids, results, strict=True):
        claims.extend(
            (
                article_id,
                claim.negotiation,
                claim.actor,
                claim.issue,
                value_text(claim.value),
                claim.value if isinstance(claim.value, int | float) else None,
                claim.stance,
                claim.evidence,
                claim.start,
                claim.end,
                claim.confidence,
                version,
            )
            for claim in result.claims
        )
        mentions.extend(
            (article_id, mention.actor, mention.start, mention.end, mention.text, version)
            for mention in result.mentions
        )
    stored_before = bool(session.scalar(_STORED_BEFORE, batch))
    if stored_before:
        session.execute(_DELETE_MENTIONS, batch)
    if mentions:
        session.execute(_INSERT_MENTIONS, _columns(_MENTION_COLUMNS, mentions))
    if stored_before:
        _replace_claims(session, batch, claims)
    elif claims:
        try:
            with session.begin_nested():
                copy_rows(session, _claims.name, [name for name, _ in _CLAIM_COLUMNS], claims)
        except DBAPIError as exc:
            # another run stored this batch's claims meanwhile: upsert over them instead
            if getattr(exc.orig, "pgcode", None) != UNIQUE_VIOLATION:
                raise
            _replace_claims(session, batch, claims)
    marks = [
        (article_id, len(result.claims), len(result.mentions), result.error, version)
        for article_id, result in zip(article_ids, results, strict=True)
    ]
    session.execute(_UPSERT_MARKS, _columns(_MARK_COLUMNS, marks))


def _replace_claims(session: Session, batch: dict[str, Any], claims: Sequence[tuple[Any, ...]]) -> None:
    """Upsert the claims, then delete the batch's others: an unchanged claim keeps its id."""
    kept = list(session.scalars(_UPSERT_CLAIMS, _columns(_CLAIM_COLUMNS, claims))) if claims else []
    session.execute(_DELETE_STALE_CLAIMS, batch | {"kept": kept})


def _columns(columns: Sequence[tuple[str, Any]], rows: Sequence[tuple[Any, ...]]) -> dict[str, list[Any]]:
    """Rows as the parameters of :func:`_insert_rows`: one list per column."""
    return {name: [row[i] for row in rows] for i, (name, _) in enumerate(columns)}


def value_text(value: int | float | str) -> str:
    """The codebook's value as text: integers without a decimal point, words as they are."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
