"""
### parley_ingest

Every hour: poll the feeds that are due, in batches fanned out with dynamic task mapping (so a Celery
or Kubernetes executor spreads them over workers), then check feed health. When articles were stored
it emits the `parley_new_articles` Asset, with `new_articles` in the event's extra, which starts
`parley_extract`.

A batch polls only those of its feeds that are still due, so a retried batch skips the feeds whose
articles it already stored (one that had only answered 304 may be asked again: one conditional GET);
a feed that fails is recorded and backed off by parley, never fails the task. The count announced is
what the database holds fetched since the run began when that is more than the batches reported, so
articles a crashed try stored before its retry still start `parley_extract`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowSkipException

from parley_assets import NEW_ARTICLES
from parley_common import DEFAULT_ARGS, START_DATE, TAGS, parley_database


@dag(
    schedule="@hourly",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "ingest"],
    doc_md=__doc__,
)
def parley_ingest() -> None:
    @task
    def plan_batches() -> list[list[int]]:
        from etl.stages import plan_ingest

        with parley_database() as (engine, _):
            return plan_ingest(engine)

    @task(max_active_tis_per_dagrun=8)
    def ingest_batch(feed_ids: list[int]) -> dict[str, int]:
        from etl.stages import LOGGED, counts, ingest

        with parley_database() as (engine, settings):
            return counts(ingest(engine, settings, LOGGED, feed_ids=feed_ids))

    @task(outlets=[NEW_ARTICLES])
    def announce_new_articles(
        batches: list[dict[str, int]], *, outlet_events: Any = None, dag_run: Any = None
    ) -> dict[str, int]:
        from etl.stages import new_articles as stored_by_run

        with parley_database() as (engine, _):
            reported = [batch["new_articles"] for batch in batches]
            new_articles = stored_by_run(engine, reported, dag_run.start_date)
        if new_articles == 0:
            raise AirflowSkipException("no new articles: nothing for parley_extract")  # no event
        outlet_events[NEW_ARTICLES].extra = {"new_articles": new_articles}
        return {"batches": len(batches), "new_articles": new_articles}

    @task(trigger_rule="none_failed")  # also when no feed was due: silence grows all the same
    def check_feed_health() -> dict[str, int]:
        from etl.stages import check_health, counts

        with parley_database() as (engine, settings):
            return counts(check_health(engine, settings))

    batches = ingest_batch.expand(feed_ids=plan_batches())
    announce_new_articles(batches)  # type: ignore[arg-type]  # the XComArg is the list at run time
    batches >> check_feed_health()


parley_ingest()
