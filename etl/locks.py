"""The pipeline's locks: rows of ``pipeline_locks`` locked ``FOR UPDATE``, held until commit.

Two writers take one: the article store (``article_store``, so that articles commit in id order) and
the ledger (``ledger``, so that one writer applies claims at a time). A row lock needs UPDATE on the
table, which the read-only analyst role does not have: an analyst can neither take one nor hold one
with ``FOR SHARE``/``FOR KEY SHARE`` (advisory locks, used before, are open to every role).

A writer that has to wait says which lock after a couple of seconds (a warning on this module's
logger) and gives up after its timeout (``PARLEY_LOCK_TIMEOUT_SECONDS``) with :class:`LockTimeout`.
Each writer takes its lock before it writes anything, so giving up leaves nothing half-written.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from etl.errors import UserError
from models import PipelineLock

ARTICLE_STORE = "article_store"
LEDGER = "ledger"
NOTICE_AFTER_SECONDS = 2.0  # a wait longer than this is said on the logger
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout that ran out

log = logging.getLogger(__name__)


class LockTimeout(UserError):
    """A pipeline lock stayed held by another session for longer than the timeout."""


def hold(session: Session, name: str, timeout: float) -> None:
    """Lock the pipeline lock ``name`` until the session's transaction ends, waiting at most
    ``timeout`` seconds for a session that holds it; :class:`LockTimeout` after that."""
    started = time.monotonic()
    quiet = min(NOTICE_AFTER_SECONDS, timeout)
    if _locked_within(session, name, quiet):
        return
    left = timeout - (time.monotonic() - started)
    if left > 0:
        log.warning(
            "waiting for the pipeline lock %r: another session holds it (giving up after %g s)",
            name,
            timeout,
        )
        if _locked_within(session, name, left):
            return
    raise LockTimeout(
        f"gave up after {timeout:g} s waiting for the pipeline lock {name!r}, held by another "
        "session (another parley run, or see pg_stat_activity); try again, or raise "
        "PARLEY_LOCK_TIMEOUT_SECONDS"
    )


def _locked_within(session: Session, name: str, seconds: float) -> bool:
    """Try to lock the row for ``seconds`` (PostgreSQL's lock_timeout, in a savepoint so that a
    timeout leaves the transaction usable); the row is created if it went missing."""
    locked = select(PipelineLock.name).where(PipelineLock.name == name).with_for_update()
    before = session.scalar(select(func.current_setting("lock_timeout")))
    try:
        with session.begin_nested():
            # transaction-local, and set back once the row is locked: the writer's own statements
            # after this are not bound by it
            session.execute(
                select(func.set_config("lock_timeout", f"{max(1, round(seconds * 1000))}ms", True))
            )
            if session.scalar(locked) is None:
                # a table emptied by hand: the row comes back (whoever inserts it holds it)
                session.execute(insert(PipelineLock).values(name=name).on_conflict_do_nothing())
                session.scalar(locked)
            session.execute(select(func.set_config("lock_timeout", before, True)))
    except OperationalError as exc:
        if getattr(exc.orig, "pgcode", None) == LOCK_NOT_AVAILABLE:
            return False
        raise
    return True
