"""The demo story (seeds/demo/) through the whole pipeline, checked against the claim table its
README states: the demo shows what parley reads, and that positions change."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import stages
from etl.catalog import add_feeds
from etl.demo import DEMO_TAG, demo_feeds, serve_directory
from etl.settings import Settings
from models import Article, Claim, PositionChange
from tests.conftest import REPO

DEMO = REPO / "seeds" / "demo"
ROW = re.compile(
    r"^\| (\d\d-\d\d) \| ([a-z0-9-]+)[^|]*\| ([a-z_, ]+) \| ([a-z_]+) \| ([a-z0-9,]+) \| ([a-z]+) \|$"
)

Triple = tuple[str, str, str, str]  # (story, actor, issue, value)


def story(slug: str) -> str:
    """The story a page tells, whichever outlet (hp-, lw-, gl-) carried it: the syndicated copy and
    its original are one story, and which of the two is stored first depends on polling order."""
    return slug.split("-", 1)[1]


def expected_claims() -> dict[Triple, str]:
    """The README's claim table: (slug, actor, issue, value) → stance."""
    claims: dict[Triple, str] = {}
    for line in (DEMO / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            _, slug, actors, issue, value, stance = match.groups()
            for actor in actors.split(", "):
                claims[(story(slug), actor, issue, value)] = stance
    assert len(claims) >= 35, "the README's claim table could not be read"
    return claims


def test_demo_story_yields_the_claims_and_changes_its_readme_states(
    clean_db: Engine, settings: Settings, tmp_path: Path
) -> None:
    alerts = tmp_path / "alerts.jsonl"
    run = settings.with_changes(alert_urls=[f"jsonl://{alerts}"])
    with serve_directory(DEMO) as base:
        add_feeds(clean_db, demo_feeds(DEMO, base))
        stages.run_once(clean_db, run, poll_all=True, tag=DEMO_TAG)

    with Session(clean_db) as session:
        rows = session.execute(
            select(Article.url, Claim.actor, Claim.issue, Claim.value, Claim.stance).join(
                Article, Article.id == Claim.article_id
            )
        ).all()
        changes = {
            (c.actor, c.issue, c.old_value, c.new_value, c.new_stance)
            for c in session.scalars(select(PositionChange).where(PositionChange.kind == "change"))
        }
    found = {
        (story(Path(url.split("?")[0]).stem), actor, issue, value): stance
        for url, actor, issue, value, stance in rows
    }
    expected = expected_claims()

    hits = found.keys() & expected.keys()
    misses, false_alarms = expected.keys() - found.keys(), found.keys() - expected.keys()
    report = f"misses: {sorted(misses)}\nfalse alarms: {sorted(false_alarms)}"
    assert len(hits) / len(expected) >= 0.9, report
    assert len(hits) / len(found) >= 0.9, report
    assert sum(found[t] == expected[t] for t in hits) / len(hits) >= 0.95, report

    # the moves the story is about
    assert {
        ("israel", "ceasefire_duration", "42", "60", "proposes"),
        ("israel", "ceasefire_duration", "60", "4", "accepts"),
        ("hamas", "ceasefire_duration", "42", "4", "accepts"),
        ("united_states", "ceasefire_duration", "42", "60", "accepts"),
        ("qatar", "aid_trucks_per_day", "200", "300", "proposes"),
    } <= changes, sorted(changes)
    delivered = [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines()]
    assert len({d["alert_id"] for d in delivered}) == len(delivered) > len(changes)
