"""The analysts' report: one self-contained HTML page of how positions moved, read from the views.

A section per negotiation (its label as heading): per issue, a step chart of each actor's position
over time (one line per actor, a marker where it changed; hover shows stance, outlets and the
evidence); the current positions with their latest evidence; the recent change events with both
sides' evidence and links, marked where analysts corrected the history (an event opened by a claim an
analyst added names who added it); and the analysts' latest corrections. Then feed health, which is
the feeds' and not a negotiation's (the analysts' own feed left out). plotly.js is inlined once, so
the page opens offline. The page is the Jinja2 template ``templates/report.html.j2``,
autoescaped: what articles and feeds wrote stays text.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from etl.alerts.redact import scrub_secrets
from etl.catalog import ANALYSTS_FEED, negotiation_labels
from etl.ingest.urls import without_credentials
from etl.ledger.queries import known_negotiation

REPORT_FILE = "index.html"
TEMPLATE = "report.html.j2"  # in etl/analysts/templates/
# actors holding the same value draw on top of each other: dashes keep every line visible
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


@dataclass(frozen=True)
class Chart:
    """One issue's chart: plotly's ``<div>`` (with plotly.js inline in the page's first one)."""

    label: str
    div: Markup  # plotly's own HTML; what articles wrote is escaped in its hover labels


@dataclass(frozen=True)
class Section:
    """One negotiation's part of the page: its charts, and the rows of current_positions and of
    position_change_events (its latest events) as the views return them."""

    key: str
    label: str
    charts: list[Chart]
    positions: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    corrections: list[dict[str, Any]]


@dataclass(frozen=True)
class ReportSummary:
    path: Path
    negotiations: int
    issues: int
    changes: int
    feeds: int

    def line(self) -> str:
        counts = (
            _counted(self.negotiations, "negotiation"),
            _counted(self.issues, "issue chart"),
            _counted(self.changes, "recent change"),
            _counted(self.feeds, "feed"),
        )
        return f"wrote {self.path}: {', '.join(counts)}"


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def write_report(
    engine: Engine, out_dir: Path, *, recent: int = 50, negotiation: str | None = None
) -> ReportSummary:
    """Render the report from the database into ``out_dir/index.html``: a section for
    ``negotiation``, or for every negotiation, each listing its ``recent`` latest change events."""
    labels = negotiation_labels(engine)
    keys = [known_negotiation(labels, negotiation)] if negotiation is not None else sorted(labels)
    with engine.connect() as conn:
        loaded = {key: _load_negotiation(conn, key, recent) for key in keys}
        feeds = _rows(
            conn,
            "SELECT * FROM feed_health WHERE url <> :analysts ORDER BY consecutive_failures DESC, feed",
            {"analysts": ANALYSTS_FEED},
        )
    sections: list[Section] = []
    end = _end([row for history, *_ in loaded.values() for row in history])
    for key, (history, positions, changes, corrections) in loaded.items():
        # plotly.js goes inline in the first chart of the page, whichever negotiation has it
        charts = _charts(history, end, inline_plotly=not any(s.charts for s in sections))
        sections.append(Section(key, labels[key], charts, positions, changes, corrections))
    page = render_page(sections, feeds, generated=datetime.now(UTC))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return ReportSummary(
        path=path,
        negotiations=len(sections),
        issues=sum(len(s.charts) for s in sections),
        changes=sum(len(s.changes) for s in sections),
        feeds=len(feeds),
    )


def _load_negotiation(
    conn: Connection, negotiation: str, recent: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """A negotiation's position history (with each issue's value type), current positions, latest
    ``recent`` change events and latest ``recent`` corrections."""
    key = {"negotiation": negotiation}
    history = _rows(
        conn,
        "SELECT h.negotiation, h.actor, h.actor_name, h.issue, h.issue_label, h.value, h.value_number,"
        " h.stance,"
        " h.valid_from, h.valid_to, h.outlets, h.first_outlet, h.first_evidence, i.value_type"
        " FROM position_history h JOIN issues i ON i.negotiation = h.negotiation AND i.key = h.issue"
        " WHERE h.negotiation = :negotiation ORDER BY h.issue, h.actor, h.valid_from",
        key,
    )
    positions = _rows(
        conn,
        "SELECT * FROM current_positions WHERE negotiation = :negotiation ORDER BY issue, actor",
        key,
    )
    changes = _rows(
        conn,
        "SELECT * FROM position_change_events WHERE negotiation = :negotiation"
        " ORDER BY published_at DESC, change_id DESC LIMIT :n",
        key | {"n": recent},
    )
    corrections = _rows(
        conn,
        "SELECT * FROM claim_corrections_log WHERE negotiation = :negotiation"
        " ORDER BY correction_id DESC LIMIT :n",
        key | {"n": recent},
    )
    return history, positions, changes, corrections


def _rows(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(text(sql), params or {})]


def _end(history: list[dict[str, Any]]) -> datetime | None:
    """Where the charts end: the latest moment in the data (the same for every negotiation)."""
    moments = [moment for r in history for moment in (r["valid_from"], r["valid_to"]) if moment]
    return max(moments) if moments else None


def _charts(history: list[dict[str, Any]], end: datetime | None, *, inline_plotly: bool) -> list[Chart]:
    """A chart per issue of one negotiation's history, each line held until ``end``; with
    ``inline_plotly`` the first carries plotly.js inline."""
    import plotly.graph_objects as go  # imported here: only the report needs plotly

    if not history or end is None:
        return []
    by_issue: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in history:
        by_issue[row["issue"]].append(row)
    charts: list[Chart] = []
    for issue, rows in by_issue.items():
        numeric = all(r["value_number"] is not None for r in rows)
        figure = go.Figure()
        by_actor: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_actor[row["actor"]].append(row)
        for number, versions in enumerate(by_actor.values()):
            xs: list[datetime] = []
            ys: list[Any] = []
            hover: list[str] = []
            for v in versions:
                y = float(v["value_number"]) if numeric else v["value"]
                # plotly renders a subset of HTML in hover text: escape what articles wrote
                said = html.escape(f"{_short(v['first_outlet'])}: {_short(v['first_evidence'])}")
                label = (
                    f"{html.escape(v['actor_name'])}: {html.escape(v['value'])} ({v['stance']})"
                    f"<br>from {v['valid_from']:%Y-%m-%d %H:%M}, {v['outlets']} outlet(s)<br>{said}"
                )
                xs.append(v["valid_from"])
                ys.append(y)
                hover.append(label)
                # hold the value until the next version (or the end of the data) without a marker
                xs.append(v["valid_to"] or end)
                ys.append(y)
                hover.append(label)
            figure.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    name=versions[0]["actor_name"],
                    mode="lines+markers",
                    line={"shape": "hv", "width": 3, "dash": DASHES[number % len(DASHES)]},
                    marker={"size": [11 if i % 2 == 0 else 0 for i in range(len(xs))]},
                    hovertext=hover,
                    hoverinfo="text",
                )
            )
        label = rows[0]["issue_label"]
        figure.update_layout(
            title=f"{label} ({issue})",
            height=360,
            margin={"l": 60, "r": 20, "t": 50, "b": 40},
            yaxis={"title": rows[0]["value_type"], "type": "linear" if numeric else "category"},
            legend={"orientation": "h"},
            template="plotly_white",
        )
        div = figure.to_html(
            full_html=False,
            include_plotlyjs=inline_plotly and not charts,
            div_id=f"chart-{rows[0]['negotiation']}-{issue}",
            config={"displaylogo": False},
        )
        charts.append(Chart(label, Markup(div)))
    return charts


def render_page(sections: list[Section], feeds: list[dict[str, Any]], *, generated: datetime) -> str:
    """The page: a section per negotiation (charts, current positions, change events as the views
    return them), then the feed health rows, a feed's URL without its password."""
    return _TEMPLATES.get_template(TEMPLATE).render(
        sections=sections, feeds=[_shown_feed(f) for f in feeds], generated=generated
    )


def _shown_feed(row: dict[str, Any]) -> dict[str, Any]:
    """A feed health row with its URL (and the label, which is the URL when the feed has no title)
    as parley shows feed URLs, any password as ``****``; its last error scrubbed of secrets."""
    shown = dict(row)
    for key in ("url", "feed"):
        if isinstance(shown.get(key), str):
            shown[key] = without_credentials(shown[key])
    if isinstance(shown.get("last_error"), str):
        shown["last_error"] = scrub_secrets(shown["last_error"], limit=400)
    return shown


def _is_web_url(url: object) -> bool:
    """A link only to http(s): feed-supplied URLs must not become javascript: links."""
    return isinstance(url, str) and url.lower().startswith(("http://", "https://"))


def _short(value: str | None, limit: int = 160) -> str:
    value = " ".join((value or "").split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "—"


# Autoescaped: what articles and feeds wrote is text in the page, whatever it contains.
_TEMPLATES = Environment(
    loader=PackageLoader("etl.analysts", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_TEMPLATES.filters.update(short=_short, when=_when)
_TEMPLATES.tests["web_url"] = _is_web_url
