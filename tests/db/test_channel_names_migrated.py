"""Migration 0011: alerts queued under a channel name that showed a webhook's path token are renamed to
the masked name, and delivered under it."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl import db
from etl.alerts.channels import channels_from_settings
from etl.alerts.outbox import deliver_pending
from etl.settings import Settings
from models import Alert
from tests.alert_receivers import scripted_receiver


def test_alerts_queued_under_a_name_with_a_path_token_are_renamed_and_delivered(
    clean_db: Engine, settings: Settings
) -> None:
    with scripted_receiver() as receiver:
        url = f"webhook+http://127.0.0.1:{receiver.port}/services/T000/B000/XXXXSECRET"
        masked = f"webhook+http://127.0.0.1:{receiver.port}/services/T000/B000/****"
        db.downgrade(clean_db, "0010")
        try:
            with clean_db.begin() as conn:  # as parley up to 0010 named the channel: the URL itself
                conn.execute(
                    insert(Alert).values(
                        alert_key="parley-change-1",
                        kind="position_change",
                        channel=url,
                        subject="Actor — issue: 5 → 7 (proposes)",
                        body="per Wire",
                        payload={},
                    )
                )
        finally:
            db.upgrade(clean_db)

        with Session(clean_db) as session:
            assert session.scalars(select(Alert.channel)).all() == [masked]
        hook = settings.with_changes(alert_urls=[url], webhook_secret="k", alert_timeout=2.0)
        channels = channels_from_settings(hook)
        assert [channel.name for channel in channels] == [masked]
        summary = deliver_pending(clean_db, hook, channels)

        assert summary.sent == 1 and receiver.ids == ["parley-change-1"]
