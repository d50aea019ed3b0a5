"""The demo stories (seeds/demo/) through the whole pipeline, checked against the claim tables their
README states: the demo shows what parley reads in each negotiation, that positions change, and
that the two negotiations' ledgers stay apart."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import stages
from etl.catalog import add_feeds
from etl.demo import DEMO_TAG, demo_feeds, serve_directory
from etl.settings import Settings
from models import Article, Claim, Feed, Position, PositionChange
from tests.conftest import REPO

DEMO = REPO / "seeds" / "demo"
UKRAINE_FEED = "meridian-dispatch.xml"  # the Ukraine story's outlet; the other three tell the Gaza one
# | date | negotiation | article (slug) | actor(s) | issue | value | stance |
ROW = re.compile(
    r"^\| (\d\d-\d\d) \| ([a-z]+) \| ([a-z0-9-]+)[^|]*"
    r"\| ([a-z_, ]+) \| ([a-z_]+) \| ([a-z0-9,]+) \| ([a-z]+) \|$"
)

Claimed = tuple[str, str, str, str, str]  # (negotiation, story, actor, issue, value)


def story(slug: str) -> str:
    """The story a page tells, whichever outlet (hp-, lw-, gl-) carried it: the syndicated copy and
    its original are one story, and which of the two is stored first depends on polling order."""
    return slug.split("-", 1)[1]


def expected_claims() -> dict[Claimed, str]:
    """The README's claim tables: (negotiation, story, actor, issue, value) → stance."""
    claims: dict[Claimed, str] = {}
    for line in (DEMO / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            _, negotiation, slug, actors, issue, value, stance = match.groups()
            for actor in actors.split(", "):
                claims[(negotiation, story(slug), actor, issue, value)] = stance
    per_negotiation = Counter(c[0] for c in claims)
    assert per_negotiation["gaza"] >= 35 and per_negotiation["ukraine"] >= 12, per_negotiation
    return claims


def test_demo_stories_yield_the_claims_and_changes_their_readme_states_each_in_its_negotiation(
    clean_db: Engine, settings: Settings, tmp_path: Path
) -> None:
    alerts = tmp_path / "alerts.jsonl"
    run = settings.with_changes(alert_urls=[f"jsonl://{alerts}"])
    with serve_directory(DEMO) as base:
        add_feeds(clean_db, demo_feeds(DEMO, base))
        stages.run_once(clean_db, run, poll_all=True, tag=DEMO_TAG)

    with Session(clean_db) as session:
        rows = session.execute(
            select(
                Feed.url, Article.url, Claim.negotiation, Claim.actor, Claim.issue, Claim.value, Claim.stance
            )
            .join(Article, Article.id == Claim.article_id)
            .join(Feed, Feed.id == Article.feed_id)
        ).all()
        positions = {
            tuple(row)
            for row in session.execute(
                select(
                    Position.negotiation, Position.actor, Position.issue, Position.value, Position.stance
                ).where(Position.valid_to.is_(None))
            )
        }
        changes = {
            (c.negotiation, c.actor, c.issue, c.old_value, c.new_value, c.new_stance)
            for c in session.scalars(select(PositionChange).where(PositionChange.kind == "change"))
        }
    found = {
        (negotiation, story(Path(url.split("?")[0]).stem), actor, issue, value): stance
        for _, url, negotiation, actor, issue, value, stance in rows
    }
    expected = expected_claims()

    # each story is read as its table says, the Ukraine one held on its own, not carried by Gaza's
    for negotiation in ("gaza", "ukraine"):
        want = {k: v for k, v in expected.items() if k[0] == negotiation}
        got = {k: v for k, v in found.items() if k[0] == negotiation}
        hits = want.keys() & got.keys()
        report = f"{negotiation} misses: {sorted(want.keys() - got.keys())}\nfalse alarms: "
        report += str(sorted(got.keys() - want.keys()))
        assert got and len(hits) / len(want) >= 0.9, report
        assert len(hits) / len(got) >= 0.9, report
        assert sum(got[t] == want[t] for t in hits) / len(hits) >= 0.95, report

    # nothing of the Ukraine story is a Gaza claim, nor the other way round
    by_story = Counter((feed.endswith(UKRAINE_FEED), negotiation) for feed, _, negotiation, *_ in rows)
    assert set(by_story) == {(True, "ukraine"), (False, "gaza")}, by_story

    # both ledgers end where their stories do: the deals agreed, by the parties
    assert {
        ("gaza", "israel", "ceasefire_duration", "4", "accepts"),
        ("gaza", "hamas", "ceasefire_duration", "4", "accepts"),
        ("ukraine", "russia", "ceasefire_duration", "30", "accepts"),
        ("ukraine", "ukraine", "ceasefire_duration", "30", "accepts"),
        ("ukraine", "united_states", "ceasefire_duration", "30", "proposes"),
    } <= positions, sorted(positions)

    # the moves the stories are about
    assert {
        ("gaza", "israel", "ceasefire_duration", "42", "60", "proposes"),
        ("gaza", "israel", "ceasefire_duration", "60", "4", "accepts"),
        ("gaza", "hamas", "ceasefire_duration", "42", "4", "accepts"),
        ("gaza", "united_states", "ceasefire_duration", "42", "60", "accepts"),
        ("gaza", "qatar", "aid_trucks_per_day", "200", "300", "proposes"),
        ("ukraine", "russia", "ceasefire_duration", "30", "3", "proposes"),
        ("ukraine", "russia", "ceasefire_duration", "3", "30", "accepts"),
        ("ukraine", "ukraine", "ceasefire_duration", "30", "3", "rejects"),
        ("ukraine", "ukraine", "ceasefire_duration", "3", "30", "accepts"),
    } <= changes, sorted(changes)
    delivered = [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines()]
    assert len({d["alert_id"] for d in delivered}) == len(delivered) > len(changes)
