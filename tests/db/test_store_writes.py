"""How articles and claims are written (issue 7): the de-duplication contract of ``store_feeds`` and
``unseen_drafts``; polls stored together, each failing alone; and
``store_results``' replacement of a batch, whichever path writes it (COPY for a batch never written
by the version, upserts for one written before).

Real PostgreSQL (the session's test database, emptied); every write is done twice.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, event, false, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from etl.extract import store as claims_module
from etl.extract.engine import ArticleResult, Claim, Mention
from etl.extract.store import store_results
from etl.ingest.entries import ArticleDraft
from etl.ingest.poll import DueFeed, FeedOutcome, PollResult, store_polls_as_they_end, store_polls_with_news
from etl.ingest.store import store_feeds, unseen_drafts
from etl.settings import Settings
from models import Article, ArticleExtraction, Feed, FeedFetch
from models import Claim as ClaimRow
from models import Mention as MentionRow
from models.enums import PollStatus, Stance

VERSION = "test-writes-1"


def draft(guid: str, url: str | None, text: str, **extra: Any) -> ArticleDraft:
    return ArticleDraft(
        guid=guid,
        url=url,
        canonical_url=url,
        title=extra.pop("title", f"title of {guid}"),
        summary=text,
        published_at=extra.pop("published_at", None),
        language=extra.pop("language", "en"),
        raw_entry=extra.pop("raw_entry", {"id": guid}),
        text=text,
        **extra,
    )


def feeds(engine: Engine, n: int = 2) -> list[int]:
    with engine.begin() as conn:
        return list(
            conn.scalars(
                insert(Feed).returning(Feed.id), [{"url": f"http://writes{i}.example/rss"} for i in range(n)]
            )
        )


def store(engine: Engine, feed_id: int, drafts: list[ArticleDraft]) -> int:
    """What a poll does: drop the known drafts, store the rest in a transaction of its own."""
    with Session(engine) as session:
        fresh = unseen_drafts(session, feed_id, drafts)
    with Session(engine) as session, session.begin():
        return store_one_feed(session, feed_id, fresh)


def store_one_feed(session: Session, feed_id: int, drafts: list[ArticleDraft]) -> int:
    """``store_feeds`` with one feed's drafts: how many rows were new."""
    return store_feeds(session, [(feed_id, drafts)]).get(feed_id, 0)


def articles(engine: Engine) -> list[tuple[int, int, str, str | None, int | None]]:
    """(id, feed, guid, canonical URL, duplicate_of) of every stored article, by id."""
    with Session(engine) as session:
        rows = session.execute(
            select(Article.id, Article.feed_id, Article.guid, Article.canonical_url, Article.duplicate_of)
            .order_by(Article.id)
        )  # fmt: skip
        return [tuple(row) for row in rows]  # type: ignore[misc]


# --- articles ------------------------------------------------------------------------------------


def test_copies_of_new_content_in_one_poll_point_at_the_first(clean_db: Engine) -> None:
    (feed, _) = feeds(clean_db)
    poll = [
        draft("a", "http://news.example/a", "The same story."),
        draft("b", "http://news.example/b", "Another story."),
        draft("c", "http://news.example/c", "The  same\nstory. "),  # same once normalised
        draft("d", "http://news.example/d", "the same story."),
    ]

    assert store(clean_db, feed, poll) == 4
    assert store(clean_db, feed, poll) == 0

    rows = articles(clean_db)
    first = next(r[0] for r in rows if r[2] == "a")
    assert {r[2]: r[4] for r in rows} == {"a": None, "b": None, "c": first, "d": first}
    assert [r[2] for r in rows] == ["a", "b", "c", "d"]  # stored in the feed's order


def test_content_stored_earlier_is_pointed_at_from_another_feed(clean_db: Engine) -> None:
    first_feed, second_feed = feeds(clean_db)
    store(clean_db, first_feed, [draft("x", "http://one.example/x", "A story told twice.")])
    (original,) = [r[0] for r in articles(clean_db)]
    repeats = [
        draft("y", "http://two.example/y", "A story told twice."),
        draft("z", "http://two.example/z", "A story told twice."),
    ]

    assert store(clean_db, second_feed, repeats) == 2
    assert store(clean_db, second_feed, repeats) == 0

    assert {r[2]: r[4] for r in articles(clean_db)} == {"x": None, "y": original, "z": original}


def test_a_guid_twice_in_one_poll_is_one_article(clean_db: Engine) -> None:
    (feed, _) = feeds(clean_db)
    poll = [
        draft("same", "http://news.example/1", "First version."),
        draft("same", "http://news.example/2", "Second version."),
    ]

    with Session(clean_db) as session:
        assert unseen_drafts(session, feed, poll) == poll[:1]
    for _ in range(2):  # stored directly too: the unique key holds without unseen_drafts
        with Session(clean_db) as session, session.begin():
            store_one_feed(session, feed, poll)

    assert [(r[2], r[3]) for r in articles(clean_db)] == [("same", "http://news.example/1")]


def test_identity_is_feed_and_guid_or_canonical_url_across_feeds(clean_db: Engine) -> None:
    first_feed, second_feed = feeds(clean_db)
    store(clean_db, first_feed, [draft("g", "http://news.example/story", "Told by the first feed.")])
    second_poll = [
        draft("g", "http://news.example/other", "Same GUID, another feed: another article."),
        draft("h", "http://news.example/story", "Same canonical URL: the same article."),
        draft("i", "http://news.example/new", "New."),
        draft("j", "http://news.example/new", "New, listed twice under two GUIDs."),
        draft("k", None, "No link at all."),
    ]
    with Session(clean_db) as session:
        assert [d.guid for d in unseen_drafts(session, second_feed, second_poll)] == ["g", "i", "k"]
        # the first feed listing the story again adds nothing
        assert unseen_drafts(session, first_feed, [draft("g", None, "Again.")]) == []

    assert store(clean_db, second_feed, second_poll) == 3
    assert store(clean_db, second_feed, second_poll) == 0
    with Session(clean_db, autoflush=False) as session, session.begin():
        # a story stored by another thread after unseen_drafts: the unique keys drop it quietly
        late = [draft("late", "http://news.example/story", "Raced.")]
        assert store_one_feed(session, second_feed, late) == 0

    assert sorted((r[1], r[2]) for r in articles(clean_db)) == sorted(
        [(first_feed, "g"), (second_feed, "g"), (second_feed, "i"), (second_feed, "k")]
    )


def test_every_field_is_stored_as_given(clean_db: Engine) -> None:
    (feed, _) = feeds(clean_db)
    awkward = "quotes ' \" backslash \\ tab \t newline \n return \r {braces} , comma NULL \\N ünï 🙂"
    when = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    entry = {"id": "e", "title": awkward, "tags": [{"term": "a,b"}], "n": 3, "none": None}
    rich = draft(
        "e",
        "http://news.example/e?x=1&y=2",
        awkward,
        title=awkward,
        published_at=when,
        raw_entry=entry,
        text_source="page",
        page_status=None,
        raw_html=b"\x00\x01binary\\x\xff",
    )
    bare = draft("f", None, "", title="", raw_entry={})

    assert store(clean_db, feed, [rich, bare]) == 2
    assert store(clean_db, feed, [rich, bare]) == 0

    with Session(clean_db) as session:
        stored = {a.guid: a for a in session.scalars(select(Article))}
        e, f = stored["e"], stored["f"]
        assert (e.title, e.text, e.summary, e.url) == (awkward, awkward, awkward, rich.url)
        assert (e.published_at, e.raw_entry, e.raw_html) == (when, entry, rich.raw_html)
        assert (e.text_source, e.language, e.content_hash) == ("page", "en", rich.content_hash)
        assert (f.url, f.canonical_url, f.published_at, f.raw_html, f.raw_entry) == (
            None,
            None,
            None,
            None,
            {},
        )


def test_several_feeds_stored_in_one_call_keep_each_feeds_identity(clean_db: Engine) -> None:
    first_feed, second_feed = feeds(clean_db)
    batches = [
        (
            first_feed,
            [draft("a", "http://one.example/a", "Story A."), draft("b", "http://news.example/s", "Shared.")],
        ),
        (
            second_feed,
            [
                draft("a", "http://two.example/a", "Story A."),  # its own GUID space; A's content again
                draft("c", "http://news.example/s", "The shared URL, from another feed."),  # the same article
                draft("d", None, "Story D."),
            ],
        ),
    ]

    for expected in ({first_feed: 2, second_feed: 2}, {}):
        with Session(clean_db) as session, session.begin():
            assert store_feeds(session, batches) == expected

    rows = articles(clean_db)
    assert [(r[1], r[2]) for r in rows] == [
        (first_feed, "a"),
        (first_feed, "b"),
        (second_feed, "a"),
        (second_feed, "d"),
    ]  # ids in the order given
    assert [r[4] for r in rows] == [None, None, rows[0][0], None]


def test_a_new_copy_points_at_the_earliest_copy_still_stored(clean_db: Engine) -> None:
    (feed, _) = feeds(clean_db)
    for n in range(3):
        store(clean_db, feed, [draft(f"c{n}", f"http://news.example/c{n}", "A story told often.")])
    first, second, _ = (r[0] for r in articles(clean_db))
    assert [r[4] for r in articles(clean_db)] == [None, first, first]

    with clean_db.begin() as conn:  # later copies keep their rows, duplicate_of set to NULL
        conn.execute(delete(Article).where(Article.id == first))
    store(clean_db, feed, [draft("c3", "http://news.example/c3", "A  story told often.")])

    assert {r[2]: r[4] for r in articles(clean_db)} == {"c1": None, "c2": None, "c3": second}


def polled(feed_id: int, drafts: list[ArticleDraft]) -> PollResult:
    """A poll that has fetched and parsed its feed, with ``drafts`` not stored yet."""
    feed = DueFeed(feed_id, f"http://writes{feed_id}.example/rss", None, None, 0, True)
    outcome = FeedOutcome(feed_id, feed.url, PollStatus.OK, http_status=200, entries=len(drafts))
    return PollResult(feed, outcome, datetime.now(UTC), None, None, drafts)


def test_polls_that_ended_together_are_stored_in_one_transaction(
    clean_db: Engine, settings: Settings
) -> None:
    ids = feeds(clean_db, 4)
    polls = [
        polled(feed_id, [draft(f"p{feed_id}", f"http://news.example/{feed_id}", f"Story {feed_id}.")])
        for feed_id in ids[:3]
    ]
    polls.append(polled(ids[3], []))  # a poll that brought nothing new
    ended: set[Future[PollResult]] = set()
    for poll in polls:
        future: Future[PollResult] = Future()
        future.set_result(poll)
        ended.add(future)
    commits: list[int] = []
    event.listen(clean_db, "commit", lambda *_: commits.append(1))

    outcomes = store_polls_as_they_end(clean_db, settings, ended)

    assert len(commits) == 2  # the three polls' articles with their records; the fourth's record
    assert sorted((o.feed_id, o.status, o.new_items) for o in outcomes) == [
        (ids[0], "ok", 1),
        (ids[1], "ok", 1),
        (ids[2], "ok", 1),
        (ids[3], "ok", 0),
    ]
    with Session(clean_db) as session:
        recorded = session.execute(select(FeedFetch.feed_id, FeedFetch.new_items).order_by(FeedFetch.feed_id))
        assert [tuple(r) for r in recorded] == [(ids[0], 1), (ids[1], 1), (ids[2], 1), (ids[3], 0)]
    assert sorted(r[1] for r in articles(clean_db)) == ids[:3]


def test_a_feed_whose_rows_the_server_refuses_fails_alone(clean_db: Engine, settings: Settings) -> None:
    good, bad, other = feeds(clean_db, 3)
    refused = draft("r", "http://news.example/r", "Refused.", language="x" * 40)  # longer than the column
    polls = [
        polled(good, [draft("g", "http://news.example/g", "Good.")]),
        polled(bad, [draft("b", "http://news.example/b", "Fine on its own."), refused]),
        polled(other, [draft("o", "http://news.example/o", "Also good.")]),
    ]

    store_polls_with_news(clean_db, settings, polls)

    assert [(p.outcome.status, p.outcome.new_items) for p in polls] == [("ok", 1), ("failed", 0), ("ok", 1)]
    error = polls[1].outcome.error or ""
    assert error.startswith("could not store entries: ") and "\n" not in error
    assert polls[1].fresh == []  # left for the caller to record with the polls that stored nothing
    record = polls[1].record(settings)
    assert (record.status, record.succeeded, record.etag, record.failures) == ("failed", False, None, 1)
    assert sorted((r[1], r[2]) for r in articles(clean_db)) == [(good, "g"), (other, "o")]
    with Session(clean_db) as session:
        assert sorted(session.scalars(select(FeedFetch.feed_id))) == [good, other]


def test_nothing_to_store_writes_nothing(clean_db: Engine) -> None:
    (feed, _) = feeds(clean_db)
    with Session(clean_db) as session, session.begin():
        assert unseen_drafts(session, feed, []) == []
        assert store_one_feed(session, feed, []) == 0
    assert articles(clean_db) == []


# --- claims --------------------------------------------------------------------------------------


def stored_articles(engine: Engine, n: int) -> list[int]:
    (feed, _) = feeds(engine)
    store(engine, feed, [draft(f"s{i}", f"http://news.example/s{i}", f"Story {i}.") for i in range(n)])
    return [r[0] for r in articles(engine)]


def claim(
    actor: str,
    issue: str,
    value: int | str,
    stance: str = "proposes",
    evidence: str = "",
    negotiation: str = "gaza",
) -> Claim:
    evidence = evidence or f"{actor} {stance} {issue} {value}"
    return Claim(negotiation, actor, issue, value, Stance(stance), evidence, 0, len(evidence), 0.8)


def write(engine: Engine, ids: list[int], results: list[ArticleResult], version: str = VERSION) -> None:
    with Session(engine) as session, session.begin():
        store_results(session, ids, results, version)


def claims(engine: Engine, negotiation: str = "gaza") -> list[tuple[int, int, str, str, str, str, str]]:
    """(id, article, actor, issue, value, stance, version) of every claim of ``negotiation``, by id."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                ClaimRow.id, ClaimRow.article_id, ClaimRow.actor, ClaimRow.issue, ClaimRow.value,
                ClaimRow.stance, ClaimRow.extractor_version,
            ).where(ClaimRow.negotiation == negotiation).order_by(ClaimRow.id)
        )  # fmt: skip
        return [tuple(row) for row in rows]  # type: ignore[misc]


def mentions(engine: Engine) -> list[tuple[int, str, int, int, str, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(
                MentionRow.article_id, MentionRow.actor, MentionRow.start_offset, MentionRow.end_offset,
                MentionRow.text, MentionRow.extractor_version,
            ).order_by(MentionRow.article_id, MentionRow.start_offset)
        )  # fmt: skip
        return [tuple(row) for row in rows]  # type: ignore[misc]


def marks(engine: Engine) -> dict[tuple[int, str], tuple[int, int, str | None]]:
    with Session(engine) as session:
        return {
            (m.article_id, m.extractor_version): (m.claims, m.mentions, m.error)
            for m in session.scalars(select(ArticleExtraction))
        }


def test_a_new_batch_is_written_whole_and_a_rerun_changes_nothing(ledger_db: Engine) -> None:
    a, b, c = stored_articles(ledger_db, 3)
    results = [
        ArticleResult(
            claims=[claim("hamas", "ceasefire_duration", 60), claim("israel", "prisoners_released", "all")],
            mentions=[Mention("hamas", 0, 5, "Hamas"), Mention("israel", 10, 16, "Israel")],
        ),
        ArticleResult(),
        ArticleResult(error="unreadable"),
    ]

    write(ledger_db, [a, b, c], results)
    first = (claims(ledger_db), mentions(ledger_db), marks(ledger_db))
    write(ledger_db, [a, b, c], results)

    assert (claims(ledger_db), mentions(ledger_db), marks(ledger_db)) == first
    assert [row[1:] for row in first[0]] == [
        (a, "hamas", "ceasefire_duration", "60", "proposes", VERSION),
        (a, "israel", "prisoners_released", "all", "proposes", VERSION),
    ]
    assert first[1] == [(a, "hamas", 0, 5, "Hamas", VERSION), (a, "israel", 10, 16, "Israel", VERSION)]
    assert first[2] == {
        (a, VERSION): (2, 2, None),
        (b, VERSION): (0, 0, None),
        (c, VERSION): (0, 0, "unreadable"),
    }


def test_reprocessing_keeps_unchanged_claims_and_removes_stale_ones(ledger_db: Engine) -> None:
    a, b = stored_articles(ledger_db, 2)
    write(
        ledger_db,
        [a, b],
        [
            ArticleResult(
                claims=[claim("hamas", "ceasefire_duration", 60), claim("israel", "ceasefire_duration", 42)],
                mentions=[Mention("hamas", 0, 5, "Hamas"), Mention("israel", 10, 16, "Israel")],
            ),
            ArticleResult(claims=[claim("israel", "prisoners_released", 100)]),
        ],
    )
    write(ledger_db, [a], [ArticleResult(claims=[claim("hamas", "ceasefire_duration", 5)])], "other-version")
    before = {row[1:5]: row[0] for row in claims(ledger_db)}
    reprocessed = [
        ArticleResult(
            claims=[
                claim("hamas", "ceasefire_duration", 60, stance="demands"),  # same key, new stance
                claim("israel", "ceasefire_duration", 45),  # a new value: a new claim
            ],
            mentions=[Mention("hamas", 0, 5, "Hamas")],
        ),
        ArticleResult(),  # the claim is gone
    ]

    for _ in range(2):
        write(ledger_db, [a, b], reprocessed)
        after = claims(ledger_db)
        ids = {row[1:5]: row[0] for row in after}
        assert (
            ids[(a, "hamas", "ceasefire_duration", "60")] == before[(a, "hamas", "ceasefire_duration", "60")]
        )
        assert {row[1:] for row in after} == {
            (a, "hamas", "ceasefire_duration", "60", "demands", VERSION),
            (a, "israel", "ceasefire_duration", "45", "proposes", VERSION),
            (a, "hamas", "ceasefire_duration", "5", "proposes", "other-version"),  # another version's: kept
        }
        assert mentions(ledger_db) == [(a, "hamas", 0, 5, "Hamas", VERSION)]
        assert marks(ledger_db)[(a, VERSION)] == (2, 1, None)
        assert marks(ledger_db)[(b, VERSION)] == (0, 0, None)


def test_one_claim_in_two_negotiations_is_two_rows_and_reprocessing_keeps_each_apart(
    ledger_db: Engine,
) -> None:
    (a,) = stored_articles(ledger_db, 1)
    both = ArticleResult(
        claims=[
            claim("united_states", "ceasefire_duration", 30),
            claim("united_states", "ceasefire_duration", 30, negotiation="ukraine"),
        ]
    )
    write(ledger_db, [a], [both])
    [gaza], [ukraine] = claims(ledger_db), claims(ledger_db, "ukraine")
    assert gaza[1:] == ukraine[1:] == (a, "united_states", "ceasefire_duration", "30", "proposes", VERSION)
    assert gaza[0] != ukraine[0]

    # read again, the Ukraine claim only is still there (and keeps its id): the Gaza one goes
    for _ in range(2):
        write(ledger_db, [a], [ArticleResult(claims=[both.claims[1]])])
        assert (claims(ledger_db), claims(ledger_db, "ukraine")) == ([], [ukraine])
    assert marks(ledger_db)[(a, VERSION)] == (1, 0, None)


def test_claims_stored_meanwhile_are_upserted_not_duplicated(
    ledger_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    (a,) = stored_articles(ledger_db, 1)
    results = [ArticleResult(claims=[claim("hamas", "ceasefire_duration", 60)])]
    write(ledger_db, [a], results)
    (before,) = claims(ledger_db)
    # as if another run had stored the batch after this one looked: COPY meets the unique key
    monkeypatch.setattr(claims_module, "_STORED_BEFORE", select(false()))

    write(
        ledger_db, [a], [ArticleResult(claims=[claim("hamas", "ceasefire_duration", 60, stance="demands")])]
    )

    assert claims(ledger_db) == [(*before[:5], "demands", VERSION)]


def waiting_for_a_lock(engine: Engine) -> int:
    """How many sessions of the test database are waiting for a lock right now."""
    with engine.connect() as conn:
        return int(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            or 0
        )


def test_two_runs_writing_one_batch_at_once_store_each_mention_once(ledger_db: Engine) -> None:
    a, b = stored_articles(ledger_db, 2)
    results = [
        ArticleResult(
            claims=[claim("hamas", "ceasefire_duration", 60)],
            mentions=[Mention("hamas", 0, 5, "Hamas"), Mention("israel", 10, 16, "Israel")],
        ),
        ArticleResult(mentions=[Mention("qatar", 0, 5, "Qatar")]),
    ]
    # the first run has written the batch and not committed yet when the second writes it too: the
    # second waits on the first's rows, then finds them stored (as three concurrent `parley run`s did)
    with ThreadPoolExecutor(1) as pool, Session(ledger_db) as first:
        with first.begin():
            store_results(first, [a, b], results, VERSION)
            second = pool.submit(write, ledger_db, [a, b], results)
            deadline = time.monotonic() + 30
            while not waiting_for_a_lock(ledger_db):
                assert time.monotonic() < deadline and not second.done(), second
                time.sleep(0.05)
        second.result(timeout=30)

    assert mentions(ledger_db) == [
        (a, "hamas", 0, 5, "Hamas", VERSION),
        (a, "israel", 10, 16, "Israel", VERSION),
        (b, "qatar", 0, 5, "Qatar", VERSION),
    ]
    assert [row[1:] for row in claims(ledger_db)] == [
        (a, "hamas", "ceasefire_duration", "60", "proposes", VERSION)
    ]
    assert marks(ledger_db) == {(a, VERSION): (1, 2, None), (b, VERSION): (0, 1, None)}


def test_text_is_copied_exactly(ledger_db: Engine) -> None:
    (a,) = stored_articles(ledger_db, 1)
    awkward = "tab \t newline \n return \r backslash \\ literal \\N quote ' \" ünï 🙂"
    results = [
        ArticleResult(
            claims=[claim("hamas", "ceasefire_duration", 60, evidence=awkward)],
            mentions=[Mention("hamas", 3, 9, awkward)],
        )
    ]

    write(ledger_db, [a], results)
    write(ledger_db, [a], results)

    with Session(ledger_db) as session:
        assert session.scalars(select(ClaimRow.evidence)).all() == [awkward]
        assert session.scalars(select(MentionRow.text)).all() == [awkward]
        assert session.scalars(select(ClaimRow.value_number)).all() == [60]


def test_a_refused_write_is_reported_like_any_statement(ledger_db: Engine) -> None:
    (a,) = stored_articles(ledger_db, 1)
    unknown_actor = [ArticleResult(mentions=[Mention("nobody-known", 0, 6, "Nobody")])]

    with pytest.raises(IntegrityError, match="fk_mentions_actor_actors"):
        write(ledger_db, [a], unknown_actor)

    assert mentions(ledger_db) == [] and marks(ledger_db) == {}
