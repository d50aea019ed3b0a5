"""etl.analysts.report.render_page without a database: what articles and feeds wrote stays text, and
only http(s) URLs become links."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from etl.analysts.report import Chart, render_page

HOSTILE = "</td><script>alert(1)</script><img src=x onerror=alert(2)> & 'q' \"d\""
GENERATED = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


def change(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "published_at": datetime(2026, 12, 1, 9, 5, tzinfo=UTC),
        "actor_name": "Israel",
        "issue": "ceasefire_duration",
        "old_value": None,
        "old_stance": None,
        "old_evidence": None,
        "old_url": None,
        "new_value": "4",
        "new_stance": "proposes",
        "new_evidence": "four days",
        "new_url": None,
        "outlet": "Outlet 1",
        "outlets": 1,
        "confirmed": False,
    }
    return row | values


def feed(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "url": "http://outlet.example/rss",
        "feed": "Outlet",
        "last_status": "ok",
        "consecutive_failures": 0,
        "last_success_at": datetime(2026, 12, 2, 23, 59, tzinfo=UTC),
        "items_per_day": Decimal("2.25"),
        "silent_since": None,
        "last_error": None,
    }
    return row | values


def body(page: str) -> str:
    return page[page.index("<body>") :]


def test_outside_text_is_escaped_in_every_cell() -> None:
    page = render_page(
        [],
        [
            change(
                actor_name=HOSTILE, new_evidence=HOSTILE, old_value="3", old_evidence=HOSTILE, outlet=HOSTILE
            )
        ],
        [feed(feed=HOSTILE, last_status=HOSTILE, last_error=HOSTILE)],
        generated=GENERATED,
    )
    assert "<script" not in page and "<img" not in page and "</td><script" not in page
    escaped = (
        "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
        " &amp; &#39;q&#39; &#34;d&#34;"
    )
    assert body(page).count(escaped) == 7  # actor, both sides' evidence, outlet, feed, status, error


def test_only_http_urls_become_links_and_their_hrefs_are_escaped() -> None:
    page = render_page(
        [],
        [
            change(
                new_url='https://news.example/a?x=1&y="2"',
                old_value="3",
                old_evidence="before",
                old_url="javascript:alert(1)",
            ),
        ],
        [feed(url="javascript:alert(3)", feed="Sneaky"), feed(url="HTTP://outlet.example/rss", feed="Loud")],
        generated=GENERATED,
    )
    hrefs = re.findall(r'<a href="([^"]*)">([^<]*)</a>', page)
    assert hrefs == [
        ("https://news.example/a?x=1&amp;y=&#34;2&#34;", "source"),
        ("HTTP://outlet.example/rss", "Loud"),
    ]
    assert "javascript:" not in page
    assert "before source</div>" in page and "<td>Sneaky</td>" in page  # the label stays, unlinked


def test_the_tables_show_times_counts_and_placeholders() -> None:
    page = render_page(
        [],
        [change(new_stance=None, outlet=None, outlets=3, confirmed=True)],
        [feed(last_status=None, consecutive_failures=4, last_success_at=None)],
        generated=GENERATED,
    )
    assert "Generated 2026-12-03 07:00 UTC." in page
    assert re.search(
        r"<td>2026-12-01 09:05</td><td>Israel</td><td>ceasefire_duration</td>\s*<td>—</td>", page
    )
    assert "<b>4</b> ()" in page and "<td>3 ✓</td>" in page
    assert '<tr class="bad">' in page and "<td>never polled</td><td>4</td>" in page and "<td>2.2</td>" in page
    assert "<p>No positions recorded yet.</p>" in page


def test_charts_go_in_as_plotly_wrote_them_in_order() -> None:
    charts = [
        Chart("Truce", Markup('<div id="chart-a"></div>')),
        Chart("Hostages", Markup('<div id="chart-b"></div>')),
    ]
    page = render_page(charts, [], [], generated=GENERATED)
    assert re.findall(r'<section class="chart">(<div id="chart-.">)</div></section>', page) == [
        '<div id="chart-a">',
        '<div id="chart-b">',
    ]
    assert "No positions recorded yet" not in page


def test_a_feed_url_with_a_password_is_shown_without_it() -> None:
    hidden = "http://reader:pw-s3cret@outlet.example/rss"
    page = render_page(
        [],
        [],
        [
            feed(url=hidden, feed=hidden),
            feed(
                url="http://bob:hunter2@wire.example/rss",
                feed="Wire",
                last_error="HTTP 401: password=hunter2",
            ),
        ],
        generated=GENERATED,
    )
    assert "pw-s3cret" not in page and "hunter2" not in page
    hrefs = re.findall(r'<a href="([^"]*)">([^<]*)</a>', page)
    assert hrefs == [
        ("http://reader:****@outlet.example/rss", "http://reader:****@outlet.example/rss"),
        ("http://bob:****@wire.example/rss", "Wire"),
    ]
