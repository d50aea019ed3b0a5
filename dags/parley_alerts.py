"""
### parley_alerts

Delivers the alert outbox: every due pending alert to its channel. Runs when `parley_extract`
recorded position events (the `parley_positions` Asset) and every 15 minutes as a sweep that retries
undelivered alerts and sends the feed-health alerts `parley_ingest` queues.

Delivery is at least once and never again once delivered: a failed alert stays pending with an
exponentially later next attempt, which a later run picks up.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from parley_assets import POSITIONS
from parley_common import DEFAULT_ARGS, START_DATE, TAGS, parley_database


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/15 * * * *", timezone="UTC"), assets=[POSITIONS]
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "alerts"],
    doc_md=__doc__,
)
def parley_alerts() -> None:
    @task
    def deliver_alerts() -> dict[str, int]:
        from etl.stages import LOGGED, counts, deliver_alerts

        with parley_database() as (engine, settings):
            return counts(deliver_alerts(engine, settings, LOGGED))

    deliver_alerts()


parley_alerts()
