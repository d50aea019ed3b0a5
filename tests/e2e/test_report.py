"""`parley report`: a self-contained page with a section per negotiation, looked at in headless
Chromium with the network off; --negotiation KEY keeps one."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.catalog import load_reference_data
from etl.ledger.additions import ClaimText, add_claim
from etl.ledger.corrections import reject_claim
from etl.ledger.store import apply_claims
from etl.settings import PROJECT_ROOT, Settings
from models import Claim, Feed
from tests.conftest import run_parley
from tests.db.conftest import VERSION, day, state
from tests.e2e.test_cli import error_line

PLOTLY_FIRST_COLOUR = (0x63, 0x6E, 0xFA)  # the first trace's line and markers (plotly's default colorway)
HOSTILE = "</script><script>document.title='pwned'</script><img src=x onerror=alert(1)>"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: CI must install Debian's chromium package")
        pytest.skip("needs headless chromium (apt-get install -y chromium)")
    return found


def run_chromium(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
            "--hide-scrollbars", "--window-size=1200,1600", "--virtual-time-budget=15000",
            *args, page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )  # fmt: skip


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of RGB(A) pixels of a non-interlaced 8-bit PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG format"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = previous[x]
            c = previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line) if bpp == 3 else bytes(v for i, v in enumerate(line) if i % 4 != 3))
        previous = line
    return width, height, rows


@pytest.fixture
def ledger_with_history(clean_db: Engine, settings: Settings) -> Engine:
    load_reference_data(clean_db, PROJECT_ROOT / "seeds")
    with clean_db.begin() as conn:
        conn.execute(
            insert(Feed),
            [{"url": f"http://outlet{i}.example/rss", "title": f"Outlet {i}"} for i in (1, 2, 3)],
        )
    state(clean_db, "israel", "ceasefire_duration", "4", "proposes", day(2), outlet=1)
    state(clean_db, "hamas", "ceasefire_duration", "5", "demands", day(3), outlet=2)
    state(clean_db, "israel", "ceasefire_duration", "6", "accepts", day(6), outlet=2)
    state(clean_db, "hamas", "ceasefire_duration", "6", "accepts", day(6), outlet=3)
    state(clean_db, "hamas", "prisoners_released", "all", "demands", day(1), outlet=1)
    state(clean_db, "hamas", "prisoners_released", "150", "accepts", day(7), outlet=3)
    # the Russia–Ukraine talks have an issue of the same key: it must chart in its own section
    state(clean_db, "russia", "ceasefire_duration", "3", "proposes", day(4), outlet=1, negotiation="ukraine")
    state(clean_db, "ukraine", "ceasefire_duration", "30", "demands", day(5), outlet=2, negotiation="ukraine")
    with clean_db.begin() as conn:  # evidence is text from the web: it must stay text in the page
        conn.exec_driver_sql("UPDATE claims SET evidence = evidence || %s", (HOSTILE,))
    apply_claims(clean_db, settings, ["console://"], version=VERSION)
    return clean_db


def sections(source: str) -> dict[str, str]:
    """The page's negotiation sections by key: each runs from its opening tag to the next one's."""
    parts = re.split(r'<section class="negotiation" id="negotiation-([a-z_]+)">', source)[1:]
    return dict(zip(parts[::2], parts[1::2], strict=True))


def write_report(cli_env: dict[str, str], out: Path, *options: str) -> tuple[str, str]:
    """``parley report --out OUT [options]``: what it printed, and the page it wrote."""
    result = run_parley("report", "--out", str(out), *options, env=cli_env)
    assert result.returncode == 0, result.stderr
    return result.stdout, (out / "index.html").read_text(encoding="utf-8")


def test_report_page_has_a_section_per_negotiation_under_its_label(
    ledger_with_history: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    said, source = write_report(cli_env, tmp_path / "report")
    assert "2 negotiations, 3 issue charts, 8 recent changes" in said
    assert not re.search(r"<script[^>]+src=", source), "the page must carry its scripts inline"
    assert source.count("* plotly.js v") == 1, "plotly.js goes inline once, in the page's first chart"
    assert "onerror=alert" not in source.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    found = sections(source)
    assert list(found) == ["gaza", "ukraine"]
    gaza, ukraine = found["gaza"], found["ukraine"]
    assert gaza.startswith("\n<h2>Gaza captives and truce talks</h2>")
    assert ukraine.startswith("\n<h2>Russia–Ukraine talks</h2>")
    assert re.findall(r'id="(chart-[a-z_-]+)"', gaza) == [
        "chart-gaza-ceasefire_duration",
        "chart-gaza-prisoners_released",
    ]
    assert re.findall(r'id="(chart-[a-z_-]+)"', ukraine) == ["chart-ukraine-ceasefire_duration"]
    assert "<td>Russia</td>" in ukraine and "<td>Russia</td>" not in gaza  # its positions and changes
    assert ukraine.count("<td>Russia</td><td>ceasefire_duration</td>") == 2
    assert gaza.count("<td>Hamas</td><td>prisoners_released</td>") == 3  # current, and two events


def test_report_page_renders_every_chart_offline(
    ledger_with_history: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    page = tmp_path / "report" / "index.html"
    write_report(cli_env, page.parent)
    dom = run_chromium(page, tmp_path, "--dump-dom").stdout.decode()
    for chart_id in ("gaza-ceasefire_duration", "gaza-prisoners_released", "ukraine-ceasefire_duration"):
        chart = dom[dom.index(f'id="chart-{chart_id}"') :]
        assert 'class="main-svg"' in chart[:5000], f"plotly did not draw the {chart_id} chart"
    assert dom.count('class="trace scatter') >= 5  # israel, hamas (truce), hamas (prisoners), russia, ukraine
    assert "<title>parley: how positions moved</title>" in dom  # the hostile evidence ran no script
    assert "http://outlet3.example/" in dom and "Outlet 3" in dom  # the changes table, with links

    shot = tmp_path / "report.png"
    run_chromium(page, tmp_path, f"--screenshot={shot}")
    width, height, rows = png_pixels(shot)
    assert (width, height) == (1200, 1600)
    first_colour = bytes(PLOTLY_FIRST_COLOUR)
    drawn = sum(1 for row in rows for x in range(0, len(row), 3) if row[x : x + 3] == first_colour)
    assert drawn > 200, f"only {drawn} pixels of the first trace's colour: the chart did not render"


def test_report_of_one_negotiation_has_its_section_only(
    ledger_with_history: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    said, source = write_report(cli_env, tmp_path / "report", "--negotiation", "ukraine")
    assert "1 negotiation, 1 issue chart, 2 recent changes" in said
    assert list(sections(source)) == ["ukraine"] and "Gaza captives" not in source
    text = re.sub(r"<script.*?</script>", "", source, flags=re.DOTALL)  # plotly.js knows every country
    assert "<nav>" not in text and "Israel" not in text and "Hamas" not in text
    assert source.count("* plotly.js v") == 1  # the first chart of the page is Ukraine's


def test_report_of_an_unknown_negotiation_fails_in_one_line_writing_nothing(
    ledger_with_history: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "report"
    result = run_parley("report", "--out", str(out), "--negotiation", "kashmir", env=cli_env)
    assert result.returncode == 1
    assert (
        error_line(result)
        == "parley: error: no negotiation 'kashmir': the known negotiations are gaza, ukraine"
    )
    assert not out.exists()


def test_report_marks_corrected_events_and_lists_the_corrections(
    ledger_with_history: Engine, settings: Settings, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with Session(ledger_with_history) as session:
        five = session.scalar(select(Claim.id).where(Claim.actor == "hamas", Claim.value == "5"))
    assert five is not None
    reject_claim(ledger_with_history, settings, five, f"misread {HOSTILE}", "ana", ["console://"])
    words = ClaimText(
        "gaza", "hamas", "ceasefire_duration", "7", "demands", "https://outlet9.example/hamas-seven-days",
        "Hamas demanded a seven-day truce.", day(8),
    )  # fmt: skip
    add_claim(ledger_with_history, settings, words, "bob", "read on the radio", ["console://"])

    _, source = write_report(cli_env, tmp_path / "report", "--negotiation", "gaza")
    heading = "<h3>Analysts' corrections</h3>"

    gaza = sections(source)["gaza"]
    corrections = gaza[gaza.index(heading) :]
    rows = re.findall(r"<tr><td>[^<]*</td><td>(\w+)</td><td>(\w+)</td>\s*<td>Hamas</td>", corrections)
    assert rows == [("bob", "add"), ("ana", "reject")]  # newest first
    assert "read on the radio" in corrections and "misread &lt;/script&gt;" in corrections
    assert "<script>document.title" not in source
    changes = gaza[gaza.index("<h3>Recent changes</h3>") : gaza.index(heading)]
    assert changes.count("<td>added by bob</td>") == 1  # Hamas 6 → 7 opened by bob's claim
    assert changes.count('<tr class="corrected">') == changes.count(
        "<td>Hamas</td><td>ceasefire_duration</td>"
    )
    assert "parley:analysts" not in source  # the analysts' feed is no feed of the health table
