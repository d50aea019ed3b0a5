"""The analysts' report: one self-contained HTML page of how positions moved, read from the views.

Per issue, a step chart of each actor's position over time (one line per actor, a marker where it
changed; hover shows stance, outlets and the evidence); the recent change events with both sides'
evidence and links; and feed health. plotly.js is inlined once, so the page opens offline.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

REPORT_FILE = "index.html"
# actors holding the same value draw on top of each other: dashes keep every line visible
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


@dataclass(frozen=True)
class ReportSummary:
    path: Path
    issues: int
    changes: int
    feeds: int

    def line(self) -> str:
        return (
            f"wrote {self.path}: {self.issues} issue charts, {self.changes} recent changes,"
            f" {self.feeds} feeds"
        )


def write_report(engine: Engine, out_dir: Path, *, recent: int = 50) -> ReportSummary:
    """Render the report from the database into ``out_dir/index.html``."""
    history, changes, feeds = _load(engine, recent)
    charts = _charts(history)
    page = _page(charts, changes, feeds, generated=datetime.now(UTC))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return ReportSummary(path=path, issues=len(charts), changes=len(changes), feeds=len(feeds))


def _load(
    engine: Engine, recent: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    with engine.connect() as conn:
        history = conn.execute(
            text(
                "SELECT h.actor, h.actor_name, h.issue, h.issue_label, h.value, h.value_number, h.stance,"
                " h.valid_from, h.valid_to, h.outlets, h.first_outlet, h.first_evidence, i.value_type"
                " FROM position_history h JOIN issues i ON i.key = h.issue"
                " ORDER BY h.issue, h.actor, h.valid_from"
            )
        )
        changes = conn.execute(
            text("SELECT * FROM position_change_events ORDER BY published_at DESC, change_id DESC LIMIT :n"),
            {"n": recent},
        )
        feeds = conn.execute(text("SELECT * FROM feed_health ORDER BY consecutive_failures DESC, feed"))
        return (
            [dict(r._mapping) for r in history],
            [dict(r._mapping) for r in changes],
            [dict(r._mapping) for r in feeds],
        )


def _charts(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(issue label, chart <div>) per issue; the first chart carries plotly.js inline."""
    import plotly.graph_objects as go  # imported here: only the report needs plotly

    if not history:
        return []
    end = max(max(r["valid_from"], r["valid_to"] or r["valid_from"]) for r in history)
    by_issue: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in history:
        by_issue[row["issue"]].append(row)
    charts: list[tuple[str, str]] = []
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
        charts.append(
            (
                label,
                figure.to_html(
                    full_html=False,
                    include_plotlyjs=not charts,
                    div_id=f"chart-{issue}",
                    config={"displaylogo": False},
                ),
            )
        )
    return charts


def _page(
    charts: list[tuple[str, str]],
    changes: list[dict[str, Any]],
    feeds: list[dict[str, Any]],
    *,
    generated: datetime,
) -> str:
    e = html.escape
    change_rows = "\n".join(
        "<tr>"
        f"<td>{c['published_at']:%Y-%m-%d %H:%M}</td><td>{e(c['actor_name'])}</td><td>{e(c['issue'])}</td>"
        f"<td>{_side(c['old_value'], c['old_stance'], c['old_evidence'], c['old_url'])}</td>"
        f"<td>{_side(c['new_value'], c['new_stance'], c['new_evidence'], c['new_url'])}</td>"
        f"<td>{e(c['outlet'] or '')}</td><td>{c['outlets']}{' ✓' if c['confirmed'] else ''}</td>"
        "</tr>"
        for c in changes
    )
    feed_rows = "\n".join(
        f'<tr class="{"bad" if f["consecutive_failures"] else ""}">'
        f"<td>{_link(f['url'], f['feed'])}</td><td>{e(f['last_status'] or 'never polled')}</td>"
        f"<td>{f['consecutive_failures']}</td><td>{_when(f['last_success_at'])}</td>"
        f"<td>{float(f['items_per_day']):.1f}</td><td>{_when(f['silent_since'])}</td>"
        f"<td>{e(f['last_error'] or '')}</td></tr>"
        for f in feeds
    )
    sections = "\n".join(f'<section class="chart">{div}</section>' for _, div in charts) or (
        "<p>No positions recorded yet.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>parley: how positions moved</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.85rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }}
tr.bad td {{ background: #fdecea; }}
.evidence {{ color: #555; font-size: 0.8rem; }}
</style></head>
<body>
<h1>parley: how positions moved</h1>
<p>Generated {generated:%Y-%m-%d %H:%M} UTC. One chart per issue: each line is an actor's position,
a marker where it changed. Hover for the stance, outlets and evidence.</p>
<h2>Positions over time</h2>
{sections}
<h2>Recent changes</h2>
<table id="changes"><thead><tr><th>published</th><th>actor</th><th>issue</th><th>was</th><th>now</th>
<th>first reported by</th><th>outlets</th></tr></thead>
<tbody>
{change_rows}
</tbody></table>
<h2>Feed health</h2>
<table id="feeds"><thead><tr><th>feed</th><th>last status</th><th>failures in a row</th>
<th>last success</th><th>items/day (7 d)</th><th>silent since</th><th>last error</th></tr></thead>
<tbody>
{feed_rows}
</tbody></table>
</body></html>
"""


def _side(value: str | None, stance: str | None, evidence: str | None, url: str | None) -> str:
    if value is None:
        return "—"
    text_ = f"<b>{html.escape(value)}</b> ({html.escape(stance or '')})"
    if evidence:
        text_ += f'<div class="evidence">{html.escape(_short(evidence, 240))}'
        text_ += f" {_link(url, 'source')}</div>" if url else "</div>"
    return text_


def _link(url: str | None, label: str) -> str:
    """A link only to http(s): feed-supplied URLs must not become javascript: links."""
    if url and url.lower().startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}">{html.escape(label)}</a>'
    return html.escape(label)


def _short(value: str | None, limit: int = 160) -> str:
    value = " ".join((value or "").split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "—"
