"""
### parley_extract

Runs when `parley_ingest` stored new articles (the `parley_new_articles` Asset): extracts claims from
every article the current extractor has not read, applies every claim not yet in the position ledger
(queueing alerts), and emits the `parley_positions` Asset when the ledger recorded something, which
starts `parley_alerts`.

Asset events coalesce, so this never relies on an event to name its articles: it processes everything
not yet processed, and a run with nothing to do is a no-op.

Under the CeleryExecutor its tasks go to the `extract` queue (`EXTRACT_QUEUE`), so that the workers
holding spaCy's model can be others than those polling feeds.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowSkipException

from parley_assets import NEW_ARTICLES, POSITIONS
from parley_common import DEFAULT_ARGS, EXTRACT_QUEUE, START_DATE, TAGS, parley_database


@dag(
    schedule=[NEW_ARTICLES],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "queue": EXTRACT_QUEUE},  # workers with the language model
    tags=[*TAGS, "extract"],
    doc_md=__doc__,
)
def parley_extract() -> None:
    @task
    def extract_claims() -> dict[str, int]:
        from etl.stages import LOGGED, counts, extract

        with parley_database() as (engine, settings):
            return counts(extract(engine, settings, LOGGED))

    @task
    def apply_claims() -> dict[str, int]:
        from etl.stages import counts, diff

        with parley_database() as (engine, settings):
            return counts(diff(engine, settings))

    @task(outlets=[POSITIONS])
    def announce_positions(diff: dict[str, int], *, outlet_events: Any = None) -> dict[str, int]:
        from etl.stages import positions_moved

        if not positions_moved(diff):
            raise AirflowSkipException("the ledger recorded nothing: nothing for parley_alerts")  # no event
        outlet_events[POSITIONS].extra = diff
        return diff

    diff = apply_claims()
    extract_claims() >> diff
    announce_positions(diff)  # type: ignore[arg-type]  # the XComArg is the dict at run time


parley_extract()
