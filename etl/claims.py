"""Running the extractor over stored articles and writing its mentions and claims.

An article is processed once per extractor version (``article_extractions``): ``extract_articles``
takes every article the current version has not seen, so a re-run is a no-op, and with
``reprocess`` it recomputes all of them. Writes are idempotent either way: claims are upserted on
their natural key (article, actor, issue, value, version), so an unchanged claim keeps its id, and
claims the new run no longer finds are deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, exists, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.catalog import load_reference
from etl.settings import Settings
from models import Article, ArticleExtraction, Claim, Mention

if TYPE_CHECKING:
    from etl.extract import ArticleResult, Extractor


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


def load_extractor(settings: Settings) -> Extractor:
    """The extractor built from the seeds (the spaCy model loads here: about a second)."""
    from etl.extract import Extractor
    from etl.seeds import load_actors, load_issues

    seeds = settings.seeds_dir
    return Extractor.load(load_actors(seeds / "actors.yaml"), load_issues(seeds / "issues.yaml"))


def pending_count(engine: Engine, version: str, *, reprocess: bool = False) -> int:
    query = select(func.count()).select_from(Article)
    if not reprocess:
        query = query.where(_unread(version))
    with Session(engine) as session:
        return int(session.scalar(query) or 0)


def _unread(version: str) -> Any:
    """Articles ``version`` has not read. ``extracted_version`` (indexed) narrows them to the few
    another version or none read last, without reading the history; ``article_extractions``, the
    record, decides among those."""
    other = or_(
        Article.extracted_version.is_(None),
        Article.extracted_version < version,
        Article.extracted_version > version,
    )
    read = exists().where(
        ArticleExtraction.article_id == Article.id, ArticleExtraction.extractor_version == version
    )
    return and_(other, ~read)


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
    from etl.extract import EXTRACTOR_VERSION

    load_reference(engine, settings.seeds_dir)  # claims refer to the actors and issues by key
    summary = ExtractSummary()
    last_id = 0
    while True:
        query = select(Article.id).where(Article.id > last_id)
        if not reprocess:
            query = query.where(_unread(EXTRACTOR_VERSION))
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


def store_results(
    session: Session, article_ids: Sequence[int], results: Sequence[ArticleResult], version: str
) -> None:
    """Write one batch's mentions, claims and processed marks, replacing this version's earlier ones."""
    _mark_read(session, article_ids, version)
    claim_rows: list[dict[str, Any]] = []
    mention_rows: list[dict[str, Any]] = []
    for article_id, result in zip(article_ids, results, strict=True):
        for claim in result.claims:
            claim_rows.append(
                {
                    "article_id": article_id,
                    "actor": claim.actor,
                    "issue": claim.issue,
                    "value": value_text(claim.value),
                    "value_number": claim.value if isinstance(claim.value, int | float) else None,
                    "stance": claim.stance,
                    "evidence": claim.evidence,
                    "start_offset": claim.start,
                    "end_offset": claim.end,
                    "confidence": claim.confidence,
                    "extractor_version": version,
                }
            )
        mention_rows.extend(
            {
                "article_id": article_id,
                "actor": m.actor,
                "start_offset": m.start,
                "end_offset": m.end,
                "text": m.text,
                "extractor_version": version,
            }
            for m in result.mentions
        )
    in_batch = and_(Mention.article_id.in_(article_ids), Mention.extractor_version == version)
    session.execute(delete(Mention).where(in_batch))
    # Inserts name the tables, not the entities: the ORM's bulk insert would send one statement per
    # run of rows with the same NULL columns (value_number alternates). The upserts return a column
    # because SQLAlchemy batches an INSERT .. ON CONFLICT into multi-row statements only then; without
    # it, psycopg2 sends one statement per row.
    if mention_rows:
        session.execute(pg_insert(Mention.metadata.tables["mentions"]), mention_rows)
    kept = [(r["article_id"], r["actor"], r["issue"], r["value"]) for r in claim_rows]
    stale = delete(Claim).where(Claim.article_id.in_(article_ids), Claim.extractor_version == version)
    if kept:
        stale = stale.where(tuple_(Claim.article_id, Claim.actor, Claim.issue, Claim.value).not_in(kept))
    session.execute(stale)
    if claim_rows:
        claims = Claim.metadata.tables["claims"]
        stmt = pg_insert(claims)
        session.execute(
            stmt.on_conflict_do_update(
                constraint="uq_claims_article_id_actor_issue_value_extractor_version",
                set_={
                    c: stmt.excluded[c]
                    for c in (
                        "value_number",
                        "stance",
                        "evidence",
                        "start_offset",
                        "end_offset",
                        "confidence",
                    )
                },
            ).returning(claims.c.id),
            claim_rows,
        ).all()
    marks = [
        {
            "article_id": article_id,
            "extractor_version": version,
            "claims": len(result.claims),
            "mentions": len(result.mentions),
            "error": result.error,
        }
        for article_id, result in zip(article_ids, results, strict=True)
    ]
    extractions = ArticleExtraction.metadata.tables["article_extractions"]
    mark = pg_insert(extractions)
    session.execute(
        mark.on_conflict_do_update(
            index_elements=["article_id", "extractor_version"],
            set_={
                "processed_at": func.now(),
                "claims": mark.excluded.claims,
                "mentions": mark.excluded.mentions,
                "error": mark.excluded.error,
            },
        ).returning(extractions.c.article_id),
        marks,
    ).all()


def _mark_read(session: Session, article_ids: Sequence[int], version: str) -> None:
    """Note on the articles which version read them last (``extracted_version``: how the next tick
    finds what is left to read without reading the history; ``article_extractions`` is the record)."""
    session.execute(
        update(Article)
        .where(Article.id.in_(article_ids), Article.extracted_version.is_distinct_from(version))
        .values(extracted_version=version)
        .execution_options(synchronize_session=False)
    )


def value_text(value: int | float | str) -> str:
    """The codebook's value as text: integers without a decimal point, words as they are."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
