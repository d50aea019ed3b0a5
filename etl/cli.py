"""The ``parley`` command line: a thin caller of the etl stages, with progress and clear errors.

Errors a user can fix (bad config, bad input file, database down) end the command with one line on
stderr and exit status 1; nothing is half-written because every stage writes in transactions.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from etl import catalog, console, db, stages
from etl.alerts import messages, outbox
from etl.analysts import role as analysts
from etl.errors import UserError, first_line
from etl.extract import store as claims
from etl.extract.evaluate import V1_NEGOTIATION
from etl.ingest.urls import check_feed_url, without_credentials
from etl.ledger import corrections
from etl.ledger import queries as ledger
from etl.seeds import FeedSeed
from etl.settings import ConfigError, Settings, load_settings

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="parley: who demands what, and when it moves."
)
db_app = typer.Typer(no_args_is_help=True, help="Schema migrations (Alembic).")
feeds_app = typer.Typer(no_args_is_help=True, help="The feeds parley polls.")
app.add_typer(db_app, name="db")
alerts_app = typer.Typer(no_args_is_help=True, help="The alert outbox.")
app.add_typer(feeds_app, name="feeds")
app.add_typer(alerts_app, name="alerts")
claims_app = typer.Typer(no_args_is_help=True, help="Analysts' corrections of claims.")
app.add_typer(claims_app, name="claims")

# Nothing parley prints is read as Rich markup: feed titles, URLs, evidence and error messages come
# from outside and may hold "[/]"; styling is given as Text, never as markup in a string.
out = Console(markup=False, highlight=False, emoji=False)
err = Console(stderr=True, markup=False, highlight=False, emoji=False)
observer = console.TerminalObserver(err)
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    err.print(Text.assemble(("parley: error:", "bold red"), " ", message), highlight=False, soft_wrap=True)
    return typer.Exit(1)


def handles_errors(func: F) -> F:
    """Turn the errors a user can act on into one line and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:  # an input file that is missing or unreadable
            where = f"{exc.filename}: " if exc.filename else ""
            raise fail(f"{where}{exc.strerror or exc}") from None
        except DBAPIError as exc:
            raise fail(f"database error: {first_line(exc.orig or exc)}") from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def database(settings: Settings, *, schema: bool = True) -> Iterator[Engine]:
    """An engine for the command; with ``schema`` it first checks the schema is migrated."""
    with db.engine_for(settings) as engine:
        if schema:
            db.require_schema(engine)
        yield engine


# --- db ------------------------------------------------------------------------------------------


@db_app.command("upgrade")
@handles_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    with database(load_settings(), schema=False) as engine:
        db.upgrade(engine, revision)
        out.print(f"schema at {db.current_revision(engine)}")


@db_app.command("downgrade")
@handles_errors
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. base")]) -> None:
    """Revert migrations down to REVISION."""
    with database(load_settings(), schema=False) as engine:
        db.downgrade(engine, revision)
        out.print(f"schema at {db.current_revision(engine) or 'base'}")


@db_app.command("current")
@handles_errors
def db_current() -> None:
    """Print the schema revision of the database."""
    with database(load_settings(), schema=False) as engine:
        out.print(db.current_revision(engine) or "base (empty)")


def _password_from(variable: str) -> str:
    """A role's password, from the environment (never the command line, which others can read)."""
    password = os.environ.get(variable)
    if not password:
        raise fail(f"environment variable {variable} is not set or empty: it must hold the password")
    return password


def _revoke(role: str) -> None:
    with database(load_settings(), schema=False) as engine:
        dropped = analysts.drop_analyst(engine, role)
    out.print(f"role {role} {'dropped' if dropped else 'did not exist'}")


@db_app.command("grant-analyst")
@handles_errors
def db_grant_analyst(
    password_env: Annotated[
        str, typer.Option("--password-env", help="environment variable holding the role's password")
    ],
    role: Annotated[str, typer.Option(help="role name")] = analysts.ANALYST_ROLE,
    statement_timeout: Annotated[str, typer.Option(help="longest statement, e.g. 30s")] = "30s",
    idle_timeout: Annotated[
        str, typer.Option("--idle-in-transaction-timeout", help="longest idle open transaction")
    ] = "5min",
    connection_limit: Annotated[
        int, typer.Option(help="most sessions the role may hold at once (the role cannot raise it)")
    ] = 10,
    close_other_databases: Annotated[
        bool,
        typer.Option(
            help="revoke CONNECT from PUBLIC on the cluster's other databases (a cluster parley has alone)"
        ),
    ] = False,
) -> None:
    """Create or update the read-only analyst role (idempotent). Run it as a superuser: it also
    revokes temporary tables and large objects from PUBLIC here."""
    password = _password_from(password_env)
    with database(load_settings()) as engine:
        grant = analysts.grant_analyst(
            engine,
            password,
            role=role,
            statement_timeout=statement_timeout,
            idle_in_transaction_timeout=idle_timeout,
            connection_limit=connection_limit,
            close_other_databases=close_other_databases,
        )
    out.print(grant.line(), soft_wrap=True)


@db_app.command("revoke-analyst")
@handles_errors
def db_revoke_analyst(
    role: Annotated[str, typer.Option(help="role name")] = analysts.ANALYST_ROLE,
) -> None:
    """Remove the analyst role's privileges here and, when it holds none elsewhere, the role."""
    _revoke(role)


@db_app.command("grant-editor")
@handles_errors
def db_grant_editor(
    password_env: Annotated[
        str, typer.Option("--password-env", help="environment variable holding the role's password")
    ],
    role: Annotated[str, typer.Option(help="role name")] = analysts.EDITOR_ROLE,
    statement_timeout: Annotated[str, typer.Option(help="longest statement, e.g. 60s")] = "60s",
    connection_limit: Annotated[
        int, typer.Option(help="most sessions the role may hold at once (the role cannot raise it)")
    ] = 5,
) -> None:
    """Create or update the editor role (idempotent): it reads what analysts read and may correct
    claims (parley claims reject | restore | add), and nothing else. Run it as a superuser."""
    password = _password_from(password_env)
    with database(load_settings()) as engine:
        grant = analysts.grant_editor(
            engine,
            password,
            role=role,
            statement_timeout=statement_timeout,
            connection_limit=connection_limit,
        )
    out.print(grant.line(), soft_wrap=True)


@db_app.command("revoke-editor")
@handles_errors
def db_revoke_editor(
    role: Annotated[str, typer.Option(help="role name")] = analysts.EDITOR_ROLE,
) -> None:
    """Remove the editor role's privileges here and, when it holds none elsewhere, the role."""
    _revoke(role)


# --- seeds and feeds -----------------------------------------------------------------------------


@app.command("seed")
@handles_errors
def seed(
    directory: Annotated[Path | None, typer.Option("--dir", help="seeds directory")] = None,
) -> None:
    """Load feeds, actors, negotiations and their issues from seeds/ (idempotent)."""
    settings = load_settings()
    with database(settings) as engine:
        counts = catalog.load_seeds(engine, directory or settings.seeds_dir)
    out.print(
        f"seeded {counts.feeds} feeds, {counts.actors} actors, {counts.negotiations} negotiations,"
        f" {counts.issues} issues"
    )


@feeds_app.command("add")
@handles_errors
def feeds_add(
    url: str,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="negotiation/topic tag")] = None,
    title: Annotated[str | None, typer.Option(help="display title")] = None,
) -> None:
    """Register a feed URL (again: merges tags)."""
    feed = FeedSeed(url=check_feed_url(url), title=title, tags=tag or [])
    with database(load_settings()) as engine:
        added = catalog.add_feeds(engine, [feed])
    shown = without_credentials(feed.url)  # stored whole (it is how the feed is fetched), never printed
    out.print(f"{'added' if added else 'already registered (tags merged)'}: {shown}")


@feeds_app.command("import")
@handles_errors
def feeds_import(
    file: Annotated[Path, typer.Argument(help="OPML file, or one URL per line")],
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t")] = None,
) -> None:
    """Register every feed of an OPML file or URL list."""
    feeds = catalog.read_feed_list(file, tag or [])
    with database(load_settings()) as engine:
        added = catalog.add_feeds(engine, feeds)
    out.print(f"{len(feeds)} feeds read, {added} new, {len(feeds) - added} already registered")


@feeds_app.command("list")
@handles_errors
def feeds_list() -> None:
    """Show the feeds with their health."""
    with database(load_settings()) as engine:
        rows = catalog.list_feeds(engine)
    out.print(console.feeds_table(rows))


@feeds_app.command("export")
@handles_errors
def feeds_export(
    output: Annotated[Path | None, typer.Option("--out", "-o", help="file (default: stdout)")] = None,
) -> None:
    """Write the feed list as OPML."""
    with database(load_settings()) as engine:
        document = catalog.export_opml(engine)
    if output:
        output.write_text(document, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(document)


# --- ingest --------------------------------------------------------------------------------------


@app.command("ingest")
@handles_errors
def ingest_command(
    poll_all: Annotated[bool, typer.Option("--all", help="poll every feed, due or not")] = False,
    tag: Annotated[str | None, typer.Option(help="only feeds with this tag")] = None,
) -> None:
    """Poll every due feed, store new articles (exit 0 even when some feeds failed)."""
    settings = load_settings()
    with database(settings) as engine:
        summary = stages.ingest(engine, settings, observer, poll_all=poll_all, tag=tag)
    out.print(summary.line())


# --- extract -------------------------------------------------------------------------------------


@app.command("extract")
@handles_errors
def extract_command(
    reprocess: Annotated[
        bool, typer.Option(help="recompute every article (after an extractor change)")
    ] = False,
) -> None:
    """Extract claims from every article the current extractor version has not processed."""
    settings = load_settings()
    with database(settings) as engine:
        summary = stages.extract(engine, settings, observer, reprocess=reprocess)
    out.print(summary.line())


@app.command("extract-file")
@handles_errors
def extract_file_command(
    items: Annotated[Path, typer.Argument(help='JSON lines {"id", "title", "text", "published"}')],
) -> None:
    """Print one JSON line of claims per input item, in input order (no database needed).

    A line that cannot be read gets its output line with an "error"; every other item is still
    extracted, and the command then exits 1 naming the first such line."""
    from etl.extract.evaluate import extract_file

    extractor = claims.load_extractor(load_settings())
    with observer.progress("extracting") as bar:
        done = 0

        def advance(total_done: int) -> None:
            nonlocal done
            bar.advance(total_done - done)
            done = total_done

        extract_file(items, sys.stdout, extractor, progress=advance)


@app.command("eval")
@handles_errors
def eval_command(
    gold: Annotated[Path | None, typer.Argument(help="gold claims, JSON lines {id, claims}")] = None,
    items: Annotated[Path | None, typer.Argument(help="the items the gold set labels")] = None,
    negotiation: Annotated[
        str,
        typer.Option(help="the negotiation of gold claims that name none (sets labelled before codebook v2)"),
    ] = V1_NEGOTIATION,
    corrections_: Annotated[
        bool,
        typer.Option(
            "--corrections",
            help="score against the analysts' decisions in the database instead: a rejected claim made"
            " again is a false positive, an added claim not found a miss",
        ),
    ] = False,
) -> None:
    """Precision, recall and F1 of (negotiation, actor, issue, value) against a gold set, per
    negotiation and issue, with the errors; or, with --corrections, against the analysts' decisions."""
    if corrections_:
        if gold is not None or items is not None:
            raise fail("--corrections reads the decisions from the database: give no gold or items file")
        _eval_corrections()
        return
    if gold is None or items is None:
        raise fail("give the gold file and the items file (or --corrections)")
    from etl.extract.evaluate import evaluate_items, format_report, read_eval_files

    gold_set, item_list = read_eval_files(gold, items)  # a bad file fails before the model loads
    extractor = claims.load_extractor(load_settings())
    report = evaluate_items(gold_set, item_list, extractor, default_negotiation=negotiation)
    sys.stdout.write(format_report(report) + "\n")


def _eval_corrections() -> None:
    from etl.ledger import judged

    settings = load_settings()
    with database(settings) as engine:
        decided = judged.decisions(engine)
        if decided:
            with observer.progress("loading the language model"):
                extractor = claims.load_extractor(settings)
            with observer.progress(
                f"reading {len({d.identity[0] for d in decided})} corrected articles again"
            ):
                report = judged.judge(engine, extractor, decided)
        else:
            report = judged.CorrectionsReport()
    sys.stdout.write(judged.format_corrections_report(report) + "\n")


# --- ledger and alerts ---------------------------------------------------------------------------


@app.command("diff")
@handles_errors
def diff_command(
    rebuild: Annotated[
        bool,
        typer.Option(
            help="empty the ledger and rebuild it from the current extractor's claims, queueing no alerts "
            "(after `extract --reprocess`)"
        ),
    ] = False,
) -> None:
    """Apply new claims to the position ledger; record changes and queue their alerts."""
    settings = load_settings()
    with database(settings) as engine:
        out.print(stages.diff(engine, settings, rebuild=rebuild).line())


@app.command("run")
@handles_errors
def run_command(
    poll_all: Annotated[bool, typer.Option("--all", help="poll every feed, due or not")] = False,
) -> None:
    """One pass of the pipeline: ingest → extract → diff → alerts."""
    settings = load_settings()
    with database(settings) as engine:
        for line in stages.run_once(engine, settings, observer, poll_all=poll_all):
            out.print(line)


NegotiationOption = Annotated[
    str | None,
    typer.Option(
        "--negotiation", metavar="KEY", help="only this negotiation (e.g. gaza); default: every one"
    ),
]


def negotiation_title(title: str, labels: dict[str, str], negotiation: str | None) -> str:
    """``title``, and the negotiation's label when the command shows one negotiation."""
    return f"{title}: {labels[negotiation]}" if negotiation is not None else title


@app.command("positions")
@handles_errors
def positions_command(negotiation: NegotiationOption = None) -> None:
    """The current position of every actor on every issue, in every negotiation or in one."""
    with database(load_settings()) as engine:
        labels = catalog.negotiation_labels(engine)
        if negotiation is not None:
            ledger.known_negotiation(labels, negotiation)
        positions = ledger.current_positions(engine, negotiation)
    out.print(console.positions_table(positions, negotiation_title("current positions", labels, negotiation)))


@app.command("changes")
@handles_errors
def changes_command(
    since: Annotated[str, typer.Option(help="ISO date/time, or a duration like 24h, 7d")] = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    negotiation: NegotiationOption = None,
) -> None:
    """Position changes detected since a time, in every negotiation or in one."""
    moment = parse_since(since)
    with database(load_settings()) as engine:
        labels = catalog.negotiation_labels(engine)
        if negotiation is not None:
            ledger.known_negotiation(labels, negotiation)
        changes = ledger.changes_since(engine, moment, negotiation)
    if as_json:
        for change in changes:
            payload = messages.change_payload(change, labels.get(change.negotiation, change.negotiation))
            sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    out.print(
        console.changes_table(changes, negotiation_title(f"changes since {since}", labels, negotiation))
    )


def parse_since(text: str) -> datetime:
    match = re.fullmatch(r"(\d+)\s*([hdw])", text.strip())
    if match:
        hours = int(match.group(1)) * {"h": 1, "d": 24, "w": 168}[match.group(2)]
        return datetime.now(UTC) - timedelta(hours=hours)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--since must be an ISO date/time or a duration like 24h or 7d, not {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@alerts_app.command("send")
@handles_errors
def alerts_send(
    flush_digests: Annotated[
        bool, typer.Option(help="send digests now, without waiting for their period")
    ] = False,
) -> None:
    """Deliver every due pending alert."""
    settings = load_settings()
    with database(settings) as engine:
        out.print(stages.deliver_alerts(engine, settings, observer, flush_digests=flush_digests).line())


@alerts_app.command("list")
@handles_errors
def alerts_list(
    pending: Annotated[
        bool, typer.Option("--pending/--all", help="only alerts not yet delivered, or every recent alert")
    ] = True,
    failed: Annotated[
        bool, typer.Option("--failed", help="only alerts given up (refused, or past their attempts or age)")
    ] = False,
) -> None:
    """Alerts in the outbox, with their status, attempts and last error."""
    with database(load_settings()) as engine:
        if failed:
            alerts = outbox.failed_alerts(engine)
        else:
            alerts = outbox.pending_alerts(engine) if pending else outbox.recent_alerts(engine)
    out.print(console.alerts_table(alerts))


@alerts_app.command("retry")
@handles_errors
def alerts_retry(
    alert_id: Annotated[
        str | None, typer.Option("--id", help="only this alert (its id in parley alerts list)")
    ] = None,
    channel: Annotated[
        str | None, typer.Option(help="only this channel's alerts (its URL, or its name as listed)")
    ] = None,
) -> None:
    """Put alerts given up back to pending, to be sent by the next parley alerts send."""
    with database(load_settings()) as engine:
        count = outbox.retry_failed(engine, alert_key=alert_id, channel=channel)
    out.print(
        f"{count} failed alert{'' if count == 1 else 's'} put back to pending"
        + ("; parley alerts send delivers them" if count else "")
    )


ByOption = Annotated[
    str | None, typer.Option("--by", metavar="NAME", help="who decides (default: the OS user)")
]


@claims_app.command("reject")
@handles_errors
def claims_reject(
    claim_id: Annotated[int, typer.Argument(help="the claim's id (claims_with_evidence.claim_id)")],
    reason: Annotated[str, typer.Option("--reason", help="why the claim is wrong")],
    by: ByOption = None,
) -> None:
    """The claim no longer counts: its (negotiation, actor, issue) is rebuilt without it at once, and
    an event that no longer holds is retracted on the channels that got it."""
    settings = load_settings()
    with database(settings) as engine:
        summary = corrections.reject_claim(engine, settings, claim_id, reason, by or getpass.getuser())
    out.print(summary.line(), soft_wrap=True)


@claims_app.command("restore")
@handles_errors
def claims_restore(
    claim_id: Annotated[int, typer.Argument(help="the rejected claim's id")],
    reason: Annotated[str | None, typer.Option("--reason", help="why it counts after all")] = None,
    by: ByOption = None,
) -> None:
    """Undo a rejection: the claim counts again and its (negotiation, actor, issue) is rebuilt."""
    settings = load_settings()
    with database(settings) as engine:
        summary = corrections.restore_claim(engine, settings, claim_id, by or getpass.getuser(), reason)
    out.print(summary.line(), soft_wrap=True)


@claims_app.command("add")
@handles_errors
def claims_add(
    negotiation: Annotated[str, typer.Option(help="negotiation key, e.g. gaza")],
    actor: Annotated[str, typer.Option(help="actor id (seeds/actors.yaml), e.g. israel")],
    issue: Annotated[str, typer.Option(help="issue key of the negotiation, e.g. ceasefire_duration")],
    value: Annotated[
        str, typer.Option(help="the value as the codebook writes it: 60, all, yes, children,women")
    ],
    stance: Annotated[str, typer.Option(help="proposes | demands | accepts | rejects")],
    url: Annotated[str, typer.Option(help="the source the analyst read it in")],
    evidence: Annotated[str, typer.Option(help="the sentence of the source that states it")],
    published_at: Annotated[
        str | None,
        typer.Option(
            help="when the source was published, ISO 8601 with a time zone (a source parley has not"
            " archived; default: now)"
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="why it is added (a note for the audit)")
    ] = None,
    by: ByOption = None,
) -> None:
    """A claim an analyst read in a source: checked against the seeds like any claim, and its
    (negotiation, actor, issue) rebuilt at once; an event it creates is alerted as usual."""
    from etl.ledger import additions

    when = None
    if published_at is not None:
        try:
            when = datetime.fromisoformat(published_at.strip())
        except ValueError:
            raise additions.BadClaim(
                f"--published-at {published_at!r} is not an ISO 8601 time, e.g. 2023-11-22T06:00:00Z"
            ) from None
    words = additions.ClaimText(negotiation, actor, issue, value, stance, url, evidence, when)
    settings = load_settings()
    with database(settings) as engine:
        summary = additions.add_claim(engine, settings, words, by or getpass.getuser(), reason)
    out.print(summary.line(), soft_wrap=True)


@claims_app.command("list")
@handles_errors
def claims_list(
    rejected: Annotated[bool, typer.Option("--rejected", help="the claims rejected now")] = False,
    added: Annotated[bool, typer.Option("--added", help="the claims analysts added")] = False,
) -> None:
    """Claims analysts have corrected: --rejected (rejected now) or --added (added by analysts)."""
    from etl.ledger import additions

    if rejected == added:
        raise fail("say which claims: --rejected or --added")
    with database(load_settings()) as engine:
        if rejected:
            rows = corrections.rejected_claims(engine)
            for claim, correction in rows:
                out.print(
                    f"{_claim_line(claim)}  rejected {_when(correction.corrected_at)} by"
                    f" {correction.corrected_by}: {correction.reason}",
                    soft_wrap=True,
                )
            if not rows:
                out.print("no claim is rejected")
            return
        additions_made = additions.added_claims(engine)
    for claim, addition, counts in additions_made:
        why = f": {addition.reason}" if addition.reason else ""
        out.print(
            f"{_claim_line(claim)}  added {_when(addition.corrected_at)} by {addition.corrected_by}{why}"
            + ("" if counts else "  (rejected since)"),
            soft_wrap=True,
        )
    if not additions_made:
        out.print("no claim was added")


def _claim_line(claim: Any) -> str:
    return f"{claim.id}  {claim.negotiation}: {claim.actor} — {claim.issue} {claim.value} ({claim.stance})"


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


@app.command("report")
@handles_errors
def report_command(
    out_dir: Annotated[Path, typer.Option("--out", help="directory to write index.html into")],
    recent: Annotated[int, typer.Option(help="how many recent changes to list per negotiation")] = 50,
    negotiation: NegotiationOption = None,
) -> None:
    """Write a self-contained HTML page, a section per negotiation: positions over time per issue,
    current positions, recent changes; then feed health."""
    from etl.analysts.report import write_report

    with database(load_settings()) as engine:
        summary = write_report(engine, out_dir, recent=recent, negotiation=negotiation)
    out.print(summary.line(), soft_wrap=True)


@app.command("demo")
@handles_errors
def demo(
    port: Annotated[int, typer.Option(help="loopback port for the demo feeds")] = 8787,
    until: Annotated[
        str | None,
        typer.Option(
            help="serve the feeds as they stood at this time (ISO 8601, e.g. 2025-01-12): the story so far"
        ),
    ] = None,
) -> None:
    """One full pass of the pipeline over the demo feeds in seeds/demo/, on the embedded database."""
    from etl.demo import run_demo

    when = None
    if until is not None:
        try:
            when = datetime.fromisoformat(until.strip())
        except ValueError:
            raise fail(f"--until {until!r} is not an ISO 8601 date or time, e.g. 2025-01-12") from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    run_demo(load_settings(), port=port, console=out, progress=err, until=when)


def main() -> None:  # pragma: no cover - console-script entry point
    app()


if __name__ == "__main__":
    main()
