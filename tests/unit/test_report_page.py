"""etl.analysts.report.render_page without a database: a section per negotiation under its label,
what articles and feeds wrote stays text, and only http(s) URLs become links."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from etl.analysts.report import Chart, Section, render_page

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
        "added_by": None,
        "history_corrected": False,
    }
    return row | values


def correction(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "corrected_at": datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
        "corrected_by": "ana",
        "action": "reject",
        "actor_name": "Israel",
        "issue": "ceasefire_duration",
        "value": "60",
        "stance": "proposes",
        "reason": "Hamas's figure",
        "url": "https://news.example/sixty",
    }
    return row | values


def current(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "actor_name": "Israel",
        "issue": "ceasefire_duration",
        "value": "42",
        "stance": "proposes",
        "since": datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        "outlets": 2,
        "confirmed": True,
        "last_evidence": "a six-week truce",
        "last_url": "https://news.example/six-weeks",
        "last_outlet": "Outlet 2",
    }
    return row | values


def section(
    changes: list[dict[str, Any]] | None = None,
    positions: list[dict[str, Any]] | None = None,
    charts: list[Chart] | None = None,
    key: str = "gaza",
    label: str = "Gaza captives and truce talks",
    corrections: list[dict[str, Any]] | None = None,
) -> Section:
    return Section(key, label, charts or [], positions or [], changes or [], corrections or [])


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
        [
            section(
                changes=[
                    change(
                        actor_name=HOSTILE, new_evidence=HOSTILE, old_value="3", old_evidence=HOSTILE,
                        outlet=HOSTILE, added_by=HOSTILE,
                    )
                ],
                positions=[
                    current(actor_name=HOSTILE, value=HOSTILE, last_evidence=HOSTILE, last_outlet=HOSTILE)
                ],
                corrections=[
                    correction(corrected_by=HOSTILE, actor_name=HOSTILE, value=HOSTILE, reason=HOSTILE)
                ],
                label=HOSTILE,
            )
        ],
        [feed(feed=HOSTILE, last_status=HOSTILE, last_error=HOSTILE)],
        generated=GENERATED,
    )  # fmt: skip
    assert "<script" not in page and "<img" not in page and "</td><script" not in page
    escaped = (
        "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
        " &amp; &#39;q&#39; &#34;d&#34;"
    )
    # the label; a change's actor, both sides' evidence, outlet, who added it; a position's actor,
    # value, evidence, outlet; a correction's analyst, actor, value, reason; a feed, its status, its error
    assert body(page).count(escaped) == 17


def test_only_http_urls_become_links_and_their_hrefs_are_escaped() -> None:
    page = render_page(
        [
            section(
                changes=[
                    change(
                        new_url='https://news.example/a?x=1&y="2"',
                        old_value="3",
                        old_evidence="before",
                        old_url="javascript:alert(1)",
                    ),
                ],
                positions=[current(last_url="javascript:alert(4)", last_evidence="now")],
                corrections=[correction(url="javascript:alert(5)")],
            )
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
    assert "before source</div>" in page and "now source</div>" in page
    assert "<td>Sneaky</td>" in page  # the label stays, unlinked


def test_the_tables_show_times_counts_and_placeholders() -> None:
    page = render_page(
        [
            section(
                changes=[change(new_stance=None, outlet=None, outlets=3, confirmed=True)],
                positions=[current(outlets=1, confirmed=False, last_outlet=None)],
            )
        ],
        [feed(last_status=None, consecutive_failures=4, last_success_at=None)],
        generated=GENERATED,
    )
    assert "Generated 2026-12-03 07:00 UTC." in page
    assert re.search(
        r"<td>2026-12-01 09:05</td><td>Israel</td><td>ceasefire_duration</td>\s*<td>—</td>", page
    )
    assert "<b>4</b> ()" in page and "<td>3 ✓</td>" in page
    assert re.search(
        r'<td>Israel</td><td>ceasefire_duration</td>\s*<td><b>42</b> \(proposes\)<div class="evidence">'
        r'a six-week truce <a href="https://news.example/six-weeks">source</a></div></td>'
        r"<td>2026-11-30 08:00</td>\s*<td>1</td><td></td>",
        page,
    )
    assert '<tr class="bad">' in page and "<td>never polled</td><td>4</td>" in page and "<td>2.2</td>" in page
    assert "<p>No positions recorded yet.</p>" in page


def test_a_section_per_negotiation_under_its_label_each_with_its_own_rows() -> None:
    gaza = section(
        charts=[Chart("Truce", Markup('<div id="chart-gaza-ceasefire_duration"></div>'))],
        positions=[current()],
        changes=[change()],
    )
    ukraine = section(
        key="ukraine",
        label="Russia–Ukraine talks",
        positions=[
            current(actor_name="Russia", issue="territorial_concessions", value="yes", stance="demands")
        ],
        changes=[change(actor_name="Ukraine", issue="territorial_concessions", new_value="yes")],
    )
    page = render_page([gaza, ukraine], [feed()], generated=GENERATED)
    assert re.findall(
        r'<section class="negotiation" id="negotiation-([a-z]+)">\s*<h2>([^<]+)</h2>', page
    ) == [
        ("gaza", "Gaza captives and truce talks"),
        ("ukraine", "Russia–Ukraine talks"),
    ]
    assert re.findall(r'<li><a href="#([a-z-]+)">', page) == [
        "negotiation-gaza",
        "negotiation-ukraine",
        "feed-health",
    ]
    parts = body(page).split('<section class="negotiation"')
    head, gaza_part, ukraine_part = parts[0], parts[1], parts[2]
    assert "<h2>" not in head
    assert 'id="chart-gaza-ceasefire_duration"' in gaza_part and "No positions recorded yet" not in gaza_part
    assert "territorial_concessions" not in gaza_part
    assert "<p>No positions recorded yet.</p>" in ukraine_part  # no chart: the tables still show
    assert ukraine_part.count("<td>Russia</td><td>territorial_concessions</td>") == 1
    assert ukraine_part.count("<td>Ukraine</td><td>territorial_concessions</td>") == 1
    assert ukraine_part.index("Feed health") > ukraine_part.index("Recent changes")  # feeds come last, once
    assert page.count("Feed health</h2>") == 1


def test_one_negotiation_has_no_contents_list_and_none_says_how_to_load_them() -> None:
    one = render_page([section()], [], generated=GENERATED)
    assert "<nav>" not in one and "<h2>Gaza captives and truce talks</h2>" in one
    assert "No negotiations" not in one
    none = render_page([], [], generated=GENERATED)
    assert "<p>No negotiations yet: parley seed loads them.</p>" in none


def test_charts_go_in_as_plotly_wrote_them_in_order() -> None:
    charts = [
        Chart("Truce", Markup('<div id="chart-a"></div>')),
        Chart("Hostages", Markup('<div id="chart-b"></div>')),
    ]
    page = render_page([section(charts=charts)], [], generated=GENERATED)
    assert re.findall(r'<section class="chart">(<div id="chart-.">)</div></section>', page) == [
        '<div id="chart-a">',
        '<div id="chart-b">',
    ]
    assert "No positions recorded yet" not in page


def test_a_feed_url_with_a_password_is_shown_without_it() -> None:
    hidden = "http://reader:pw-s3cret@outlet.example/rss"
    page = render_page(
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
