"""The 4,547 Google News top headlines of 2025–26 on the Gaza and Russia–Ukraine talks, replayed as 166
publishers' feeds through the whole pipeline, one ``parley run --all`` a week from July 2025 to August
2026: both ledgers are built, and no claim lands in the wrong one.

"Wrong" is judged by what the extractor does not see: the hand-labelled Ukraine development set
(../shared/eval/ukraine_dev_gold.jsonl, every headline of it in the replay) and, for the others, the
words of each title: a headline naming only Russia–Ukraine parties and places, only Gaza's, or only
another conflict's (Lebanon, Iran, Thailand–Cambodia …), and the parties of one negotiation.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.catalog import add_feeds
from etl.seeds import FeedSeed
from etl.settings import Settings
from models import Article, Claim, Position
from tests.conftest import Replay, shared_path, start_replay

pytestmark = pytest.mark.slow

START = datetime(2025, 7, 24, tzinfo=UTC)  # the archive's first headline
END = datetime(2026, 8, 27, tzinfo=UTC)  # past its last (22 Aug 2026)
STEP = timedelta(weeks=1)  # at most 34 headlines of one publisher in a week: its feed shows 50

UKRAINE_WORDS = re.compile(
    r"\b(?:Ukrain\w*|Russia\w*|Kyiv|Kiev|Moscow|Kremlin|Putin|Zelensk\w*|Donbas+|Donetsk|Crimea\w*)\b",
    re.IGNORECASE,
)
GAZA_WORDS = re.compile(r"\b(?:Gaza\w*|Hamas|Palestin\w*|hostages?|West Bank)\b", re.IGNORECASE)
OTHER_WORDS = re.compile(
    r"\b(?:Lebanon|Lebanese|Hezbollah|Hizbollah|Iran|Iranian|Tehran|Hormuz|Houthis?|Yemen|Sudan|Syria|"
    r"Syrian|SDF|Thailand|Thai|Cambodia|Cambodian|Pakistan|Afghanistan|Taliban|Armenia|Azerbaijan|"
    r"Congo|Rwanda|Venezuela|India)\b"
)
# Parties of one negotiation only: they hold no position in the other.
ONLY_IN = {"gaza": {"hamas", "islamic_jihad", "palestinian_authority"}, "ukraine": {"ukraine"}}
# A turn of each negotiation's talks the headlines report, and the days it was first held within.
TURNS = [
    (("gaza", "hamas", "hostages_released", "all", "accepts"), date(2025, 9, 20), date(2025, 10, 15)),
    (("ukraine", "russia", "ceasefire_duration", "3", "accepts"), date(2026, 5, 1), date(2026, 5, 15)),
    (("ukraine", "ukraine", "ceasefire_duration", "3", "accepts"), date(2026, 5, 1), date(2026, 5, 15)),
]


def headline_id(title: str) -> str:
    """The gold sets' id of a headline: the first 12 hex of sha1(title)."""
    return hashlib.sha1(title.encode()).hexdigest()[:12]


@pytest.fixture(scope="module")
def headlines() -> Iterator[Replay]:
    server = start_replay(shared_path("corpus", "headlines_2025_2026_feed.jsonl"), "2025-07-24T00:00:00Z")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


def test_a_year_of_headlines_builds_both_ledgers_with_no_claim_in_the_wrong_one(
    clean_db: Engine, settings: Settings, headlines: Replay, tmp_path: Path
) -> None:
    gold_lines = shared_path("eval", "ukraine_dev_gold.jsonl").read_text(encoding="utf-8").splitlines()
    gold = {
        row["id"]: {c["negotiation"] for c in row["claims"]} or {"ukraine"}
        for row in map(json.loads, gold_lines)
    }
    # The archive's items have no description, so their pages have no main text and each article is
    # its headline whether its page is fetched or not: not fetching 4,547 pages saves time.
    run = settings.with_changes(
        alert_urls=[f"jsonl://{tmp_path / 'alerts.jsonl'}"], fetch_articles=False, total_timeout=5.0
    )
    add_feeds(clean_db, [FeedSeed(url=url, tags=["headlines"]) for url in headlines.feeds()])
    headlines.run_pipeline(clean_db, run, START, END, STEP)

    with Session(clean_db) as session:
        titles = set(session.scalars(select(Article.title)))
        claims: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        query = select(Article.title, Claim.negotiation, Claim.actor, Claim.issue, Claim.value)
        for title, *claim in session.execute(query.join(Article, Article.id == Claim.article_id)):
            claims[title].add((*claim, title))
        first_held: dict[tuple[str, ...], date] = {}
        query = select(Position.negotiation, Position.actor, Position.issue, Position.value, Position.stance)
        for *position, since in session.execute(query.add_columns(Position.valid_from)):
            key = tuple(position)
            first_held[key] = min(since.date(), first_held.get(key, since.date()))

    # every headline was stored (a few are one title under two publishers), the labelled ones among them
    assert len(titles) >= 4400, len(titles)
    assert gold.keys() <= {headline_id(t) for t in titles}

    # both ledgers are built, each with a turn of its talks when the headlines reported it
    assert {key[0] for key in first_held} == {"gaza", "ukraine"}, sorted(first_held)
    for turn, after, before in TURNS:
        assert turn in first_held, (turn, sorted(first_held))
        assert after <= first_held[turn] <= before, (turn, first_held[turn])

    # the labelled Ukraine headlines give no claim in another negotiation than their labels'
    wrong = [
        c
        for t in titles
        if headline_id(t) in gold
        for c in claims.get(t, ())
        if c[0] not in gold[headline_id(t)]
    ]
    assert not wrong, wrong

    # a headline that names only one negotiation's parties and places gives claims in it alone
    for title, found in claims.items():
        ukraine, gaza = bool(UKRAINE_WORDS.search(title)), bool(GAZA_WORDS.search(title))
        if ukraine != gaza:
            assert {c[0] for c in found} == {"ukraine" if ukraine else "gaza"}, sorted(found)

    # a headline about another conflict, naming neither negotiation, gives no claim at all
    others = [
        t
        for t in titles
        if OTHER_WORDS.search(t) and not UKRAINE_WORDS.search(t) and not GAZA_WORDS.search(t)
    ]
    assert len(others) >= 500, len(others)  # the Iran war, Israel–Hezbollah, Thailand–Cambodia, …
    elsewhere = [c for t in others for c in claims.get(t, ())]
    assert not elsewhere, elsewhere

    # a party of one negotiation holds no position in the other
    strays = [
        key
        for key in first_held
        for negotiation, parties in ONLY_IN.items()
        if key[0] != negotiation and key[1] in parties
    ]
    assert not strays, strays
