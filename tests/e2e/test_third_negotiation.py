"""A negotiation parley has never seen, followed end to end with no change of code: only a seeds
folder (the shipped actors and negotiations, two made-up states and a file for their talks).

The Upper Rell water talks: Brinmark wants a share of the river's flow, Aqualia proposes how fast to
fill its dam. Three loopback RSS feeds report the positions, then Brinmark lowers its demand; the
``parley`` command (seed, run) stores claims, positions, a change event and its alerts, all in the new
negotiation and named by its label, routed by a rule that names it, and nothing in gaza or ukraine,
although one item speaks of a truce and prisoners as those talks do.
"""

from __future__ import annotations

import email.utils
import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from xml.sax.saxutils import escape

import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models import Alert, Claim, Issue, Negotiation, Position, PositionChange
from tests.conftest import REPO, cli_env_for, run_parley
from tests.receivers import WebhookReceiver, serve_body

KEY = "rell_water"
LABEL = "Upper Rell water talks"

NEGOTIATION = r"""
key: rell_water
label: Upper Rell water talks
description: Aqualia and Brinmark on sharing the waters of the River Rell, mediated by the Lake Council.
parties: [aqualia, brinmark]
about:
  actors: [aqualia, brinmark, lake_council]
  words: [Rell, Upper Rell, Rell Dam]
issues:
  - key: flow_share
    label: Brinmark's share of the flow
    value_type: number
    description: Percent of the Rell's flow that reaches Brinmark.
    cues: [percent, per cent]
    patterns:
      - '(?P<n>{num})\s*(?:percent|per\s+cent|%)\s+of\s+(?:the\s+)?(?:(?:river|Rell)(?:''s)?\s+)?flow'
    stance_cues: &stances
      proposes: [propose, proposal, offer, suggest]
      demands: [demand, insist, call for, want]
      accepts: [agree, accept, approve, endorse]
      rejects: [reject, refuse, rule out, oppose]
    deal_cues: &deals [deal, agreement, accord, treaty]
  - key: filling_years
    label: Years to fill the dam
    value_type: count
    description: Years over which the Rell Dam's reservoir is filled.
    cues: [fill, filling]
    patterns:
      - '(?:fill|filling)\s+(?:the\s+)?(?:Rell\s+)?(?:dam|reservoir)\s+(?:in|within)\s+(?P<n>{num})\s+years'
    stance_cues: *stances
    deal_cues: *deals
  - key: joint_commission
    label: Joint river commission
    value_type: flag
    description: A joint commission to manage the river.
    cues: [commission]
    patterns: ['joint\s+(?:river\s+|water\s+)?commission']
    stance_cues: *stances
    deal_cues: *deals
"""

NEW_ACTORS = [
    {"id": "aqualia", "name": "Aqualia", "kind": "party", "aliases": ["Aqualia", "Aqualian officials"]},
    {"id": "brinmark", "name": "Brinmark", "kind": "party", "aliases": ["Brinmark", "Brinmark officials"]},
    {"id": "lake_council", "name": "Lake Council", "kind": "mediator", "aliases": ["Lake Council"]},
]

Item = tuple[str, datetime, str, str]  # guid, pubDate, title, description


def day(n: int) -> datetime:
    return datetime(2026, 3, n, 9, tzinfo=UTC)


# what each outlet reports, by feed; the change comes in a later poll
COURIER: list[Item] = [
    ("c1", day(1), "Brinmark demands 40 percent of the Rell's flow", "Talks on the Upper Rell resumed."),
]
POST: list[Item] = [
    ("p1", day(2), "Aqualia proposes filling the Rell Dam in seven years", "Aqualian officials said so."),
    # numbers of the Gaza and Ukraine talks, in a text about the Rell: no claim in either
    ("p2", day(3), "Aqualia and Brinmark agree to a 30-day truce on the Upper Rell",
     "Aqualia and Brinmark agree to a 30-day truce on the Upper Rell and the release of 50 prisoners."),
]  # fmt: skip
WIRE: list[Item] = [
    ("w1", day(2), "Brinmark demands 40 percent of the Rell's flow, officials said", ""),
]
CHANGE: Item = (
    "c2",
    day(5),
    "Brinmark now demands 35 percent of the Rell's flow",
    "Brinmark lowered its demand at the Rell talks.",
)


def rss(title: str, items: list[Item]) -> bytes:
    entries = "".join(
        f'<item><guid isPermaLink="false">{guid}</guid><title>{escape(headline)}</title>'
        f"<link>http://{title.lower().replace(' ', '-')}.example/{guid}</link>"
        f"<description>{escape(text)}</description>"
        f"<pubDate>{email.utils.format_datetime(when)}</pubDate></item>"
        for guid, when, headline, text in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{entries}</channel></rss>'
    ).encode()


def write_seeds(root: Path, feeds: dict[str, str]) -> Path:
    """The shipped actors (plus the Rell's), the shipped negotiations plus the Rell's, and the loopback
    feeds: a seeds folder of its own."""
    shutil.copytree(REPO / "seeds" / "negotiations", root / "negotiations")
    shutil.copy(REPO / "seeds" / "elsewhere.yaml", root / "elsewhere.yaml")
    (root / "negotiations" / f"{KEY}.yaml").write_text(NEGOTIATION, encoding="utf-8")
    actors = yaml.safe_load((REPO / "seeds" / "actors.yaml").read_text(encoding="utf-8"))
    actors["actors"] += NEW_ACTORS
    (root / "actors.yaml").write_text(yaml.safe_dump(actors, allow_unicode=True, sort_keys=False), "utf-8")
    listed = [{"url": url, "title": title, "tags": ["rell-talks"]} for title, url in feeds.items()]
    (root / "feeds.yaml").write_text(yaml.safe_dump({"feeds": listed}), encoding="utf-8")
    return root


@contextmanager
def serve_feeds(feeds: dict[str, list[Item]]) -> Iterator[dict[str, str]]:
    """Each feed on loopback, serving its items as they stand at each poll; its URL by title."""
    with ExitStack() as stack:
        yield {
            title: stack.enter_context(serve_body(partial(rss, title, items)))
            for title, items in feeds.items()
        }


def ok(args: tuple[str, ...], env: dict[str, str]) -> str:
    result = run_parley(*args, env=env)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def by_negotiation(
    engine: Engine, model: type[Claim] | type[Position] | type[PositionChange]
) -> dict[str, int]:
    """How many rows of ``model`` each negotiation has."""
    with Session(engine) as session:
        counted = session.execute(select(model.negotiation, func.count()).group_by(model.negotiation))
        return {negotiation: count for negotiation, count in counted}


def test_a_made_up_negotiation_is_followed_from_seeds_to_alerts_with_no_code_change(
    clean_db: Engine, database_url: str, tmp_path: Path
) -> None:
    alerts_file = tmp_path / "alerts.jsonl"
    rules = tmp_path / "rules.yaml"
    courier = list(COURIER)
    hook = WebhookReceiver()
    hook.start()
    try:
        with serve_feeds({"Rell Courier": courier, "Valley Post": POST, "Basin Wire": WIRE}) as feeds:
            seeds = write_seeds(tmp_path / "seeds", feeds)
            # the webhook takes the Rell's changes only: a rule naming the new negotiation
            rules.write_text(
                f'routes:\n  - channel: "{hook.url}"\n    negotiations: [{KEY}]\n    kinds: [change]\n',
                encoding="utf-8",
            )
            env = cli_env_for(
                database_url,
                SEEDS_DIR=str(seeds),
                ALERT_URLS=f"jsonl://{alerts_file},{hook.url}",
                WEBHOOK_SECRET="k",
                ALERT_RULES=str(rules),
            )

            seeded = ok(("seed",), env)
            assert " 3 feeds," in seeded and " 3 negotiations," in seeded, seeded
            ok(("run", "--all"), env)
            first = (by_negotiation(clean_db, Claim), by_negotiation(clean_db, Position))
            courier.append(CHANGE)  # Brinmark lowers its demand: the Courier reports it next poll
            ok(("run", "--all"), env)
    finally:
        hook.stop()

    # the seeds made the negotiation and its issues
    with Session(clean_db) as session:
        rell = session.get(Negotiation, KEY)
        assert rell is not None and rell.label == LABEL
        issues = session.scalars(select(Issue.key).where(Issue.negotiation == KEY).order_by(Issue.key)).all()
        assert issues == ["filling_years", "flow_share", "joint_commission"]

        # claims: Brinmark's demand from two outlets, Aqualia's proposal, then the lower demand
        claims = session.execute(
            select(Claim.negotiation, Claim.actor, Claim.issue, Claim.value, Claim.stance).order_by(Claim.id)
        ).all()
        assert sorted(tuple(c) for c in claims) == [
            (KEY, "aqualia", "filling_years", "7", "proposes"),
            (KEY, "brinmark", "flow_share", "35", "demands"),
            (KEY, "brinmark", "flow_share", "40", "demands"),
            (KEY, "brinmark", "flow_share", "40", "demands"),
        ]
        positions = session.execute(
            select(Position.negotiation, Position.actor, Position.issue, Position.value, Position.outlets,
                   Position.valid_from, Position.valid_to)
            .order_by(Position.actor, Position.valid_from)
        ).all()  # fmt: skip
        assert [tuple(p) for p in positions] == [
            (KEY, "aqualia", "filling_years", "7", 1, day(2), None),
            (KEY, "brinmark", "flow_share", "40", 2, day(1), day(5)),
            (KEY, "brinmark", "flow_share", "35", 1, day(5), None),
        ]
        changes = session.execute(
            select(PositionChange.id, PositionChange.negotiation, PositionChange.actor, PositionChange.kind,
                   PositionChange.old_value, PositionChange.new_value)
            .order_by(PositionChange.id)
        ).all()  # fmt: skip
        assert [tuple(c)[1:] for c in changes] == [
            (KEY, "brinmark", "new", None, "40"),
            (KEY, "aqualia", "new", None, "7"),
            (KEY, "brinmark", "change", "40", "35"),
        ]
        change_id = changes[-1].id
        outbox = session.execute(
            select(Alert.channel, Alert.change_id, Alert.status).order_by(Alert.id)
        ).all()

    # nothing landed in gaza or ukraine, in either run: not even the truce and the prisoners
    assert first == ({KEY: 3}, {KEY: 2})
    for model in (Claim, Position, PositionChange):
        assert set(by_negotiation(clean_db, model)) == {KEY}, model

    # every event went to the JSONL file, named by the negotiation's label; the change also to the
    # webhook, which its rule limits to the Rell's changes
    assert sorted((channel.split(":")[0], cid) for channel, cid, _ in outbox) == sorted(
        [("jsonl", c.id) for c in changes] + [("webhook+http", change_id)]
    )
    assert {status for *_, status in outbox} == {"sent"}
    written = [json.loads(line) for line in alerts_file.read_text(encoding="utf-8").splitlines()]
    assert [w["payload"]["negotiation"] for w in written] == [KEY] * 3
    assert {w["payload"]["negotiation_label"] for w in written} == {LABEL}
    assert all(w["subject"].startswith(f"{LABEL}: ") for w in written)
    [hooked] = hook.documents
    assert hooked["alert_id"] == f"parley-change-{change_id}"
    assert hooked["subject"] == f"{LABEL}: Brinmark — flow_share: 40 → 35 (demands)"
    assert hooked["body"].startswith(f"{hooked['subject']}, per Rell Courier, 2026-03-05: ")
    assert (hooked["payload"]["negotiation"], hooked["payload"]["issue"]) == (KEY, "flow_share")
    assert (hooked["payload"]["old"]["value"], hooked["payload"]["new"]["value"]) == ("40", "35")
