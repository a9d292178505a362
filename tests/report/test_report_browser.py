"""The report as a reader sees it: `newsetl report` on the sample database, rendered by headless Chromium.

Chromium comes from the OS packages (`.ci/run` installs it); without it these tests fail, they do not skip. It runs
with every host name unresolvable, so a page that needed the network would show missing parts. A short script added
to a copy of the page writes down what only a browser knows (each chart's drawn size, the page's width, the
resources it loaded) as attributes that `--dump-dom` prints; the report itself carries no script.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lxml.html
import numpy as np
import pytest
from lxml.html import HtmlElement
from matplotlib.image import imread
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from etl.nlp.confidence import MIN_CONFIDENCE
from newsetl.cli import app

pytestmark = pytest.mark.slow

WINDOW = (1280, 2000)
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND", f"--window-size={WINDOW[0]},{WINDOW[1]}",
)  # fmt: skip
SECTIONS = (
    "Articles per day",
    "Events per type and month (by event date)",
    "Top actors",
    "Top dyads (actor, recipient and type; negated and hypothetical events left out)",
    "Most mentioned entities",
    "Event locations",
    "Latest runs",
    "Rejected files in those runs",
)
PROBE = """<script>
window.addEventListener("load", () => {
  for (const svg of document.querySelectorAll("svg")) {
    const box = svg.getBoundingClientRect();
    svg.dataset.drawnWidth = box.width;
    svg.dataset.drawnHeight = box.height;
  }
  const page = document.documentElement;
  page.dataset.scrollWidth = page.scrollWidth;
  page.dataset.clientWidth = page.clientWidth;
  page.dataset.resources = JSON.stringify(performance.getEntriesByType("resource").map((entry) => entry.name));
});
</script>"""
BAR_BLUE = np.array([0x4A, 0x78, 0xB5]) / 255  # the charts' and the tables' bar colour


def _chromium(page: Path, profile: Path, *output: str) -> str:
    """Chromium's stdout for `page`, with a fresh profile; fails the test plainly when Chromium is not installed."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium not found: install Debian's package (apt-get install chromium), as make test does")
    command = [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *output, page.as_uri()]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr}"
    return completed.stdout


@pytest.fixture(scope="module")
def page(sample_db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the whole sample database, written by the command a user runs."""
    output = tmp_path_factory.mktemp("report") / "report.html"
    result = CliRunner().invoke(app, ["report", "--db", sample_db, "--output", str(output)])
    assert result.exit_code == 0, result.output
    return output


@pytest.fixture(scope="module")
def dom(page: Path, tmp_path_factory: pytest.TempPathFactory) -> HtmlElement:
    """The page's DOM after Chromium has loaded, laid out and measured it."""
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return lxml.html.fromstring(_chromium(probed, tmp_path_factory.mktemp("profile"), "--dump-dom"))


@pytest.fixture(scope="module")
def screenshot(page: Path, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The top of the page as Chromium draws it, as RGB(A) values from 0 to 1."""
    png = page.with_name("report.png")
    _chromium(page, tmp_path_factory.mktemp("profile"), f"--screenshot={png}")
    return imread(png)


@pytest.fixture(scope="module")
def sample(sample_db: str) -> dict[str, Any]:
    """What the sample database holds, asked directly of its tables rather than of the views the report reads."""
    engine = create_engine(sample_db)
    with engine.connect() as connection:

        def rows(sql: str) -> Sequence[Any]:
            return connection.execute(text(sql)).all()

        # The events the report counts, by the rule rather than by the view `counted_events`.
        counted = f"SELECT id FROM events WHERE confidence >= {MIN_CONFIDENCE} AND NOT is_background"
        facts = {
            "articles": rows("SELECT count(*) FROM articles")[0][0],
            "actors": rows(
                "SELECT coalesce(e.canonical_name, p.text), count(DISTINCT ev.cluster_id) FROM event_participants AS p "
                "JOIN events AS ev ON ev.id = p.event_id "
                f"LEFT JOIN entities AS e ON e.id = p.entity_id WHERE p.role = 'actor' AND p.event_id IN ({counted}) "
                "GROUP BY coalesce(e.canonical_name, p.text)"
            ),
            "mentions": rows(
                "SELECT e.canonical_name, count(*) FROM mentions AS m JOIN entities AS e ON e.id = m.entity_id "
                "GROUP BY e.id, e.canonical_name"
            ),
            "rejected": rows("SELECT source_path, reason FROM rejected_files"),
            "located": rows(f"SELECT count(*) FROM events WHERE id IN ({counted}) AND location_entity_id IN "
                            "(SELECT id FROM entities WHERE lat IS NOT NULL AND lon IS NOT NULL)")[0][0],
        }  # fmt: skip
    engine.dispose()
    return facts


def _section(dom: HtmlElement, title: str) -> HtmlElement:
    (heading,) = [h2 for h2 in dom.iter("h2") if h2.text_content() == title]
    return heading.getparent()


def _table(section: HtmlElement) -> list[dict[str, str]]:
    """A section's table as rows keyed by the column headers shown."""
    (table,) = section.iter("table")
    headers = [th.text_content().strip() for th in table.iter("th")]
    return [
        dict(zip(headers, (td.text_content().strip() for td in tr.iter("td")), strict=True))
        for tr in table.find("tbody").iter("tr")
    ]


def _best(counts: Sequence[Any]) -> tuple[set[str], int]:
    """The names sharing the largest count, and that count."""
    most = max(count for _, count in counts)
    return {name for name, count in counts if count == most}, most


def test_report_browser_shows_the_title_and_every_section_in_order(dom: HtmlElement):
    assert dom.findtext(".//title") == "newsetl report"
    assert dom.find(".//h1").text_content() == "newsetl report"
    assert [h2.text_content() for h2 in dom.iter("h2")] == list(SECTIONS)


def test_report_browser_draws_the_charts_with_a_size(dom: HtmlElement, sample: dict[str, Any]):
    charted = {title for title in SECTIONS if _section(dom, title).find(".//figure/svg") is not None}
    with_map = {"Event locations"} if sample["located"] else set()
    assert charted == {"Articles per day", "Events per type and month (by event date)"} | with_map
    for title in charted:
        svg = _section(dom, title).find(".//figure/svg")
        assert float(svg.get("data-drawn-width")) > 300 and float(svg.get("data-drawn-height")) > 100, title
    if not sample["located"]:
        assert "so no map is drawn" in _section(dom, "Event locations").text_content()


def test_report_browser_shows_the_sample_numbers(dom: HtmlElement, sample: dict[str, Any]):
    per_day = _table(_section(dom, "Articles per day"))
    assert sum(int(row["articles"]) for row in per_day) == sample["articles"]
    days_drawn = {node.text for node in _section(dom, "Articles per day").iter("{*}text", "text")}
    assert {row["day"] for row in per_day} <= days_drawn  # each day is a label on the chart
    (run,) = _table(_section(dom, "Latest runs"))
    assert int(run["articles"]) == sample["articles"] and run["status"] == "completed"

    top_actors, most_events = _best(sample["actors"])
    first_actor = _table(_section(dom, "Top actors"))[0]
    assert first_actor["actor"] in top_actors and int(first_actor["events"]) == most_events
    top_entities, most_mentions = _best(sample["mentions"])
    first_entity = _table(_section(dom, "Most mentioned entities"))[0]
    assert first_entity["entity"] in top_entities and int(first_entity["mentions"]) == most_mentions


def test_report_browser_lists_the_rejected_files_with_their_reasons(dom: HtmlElement, sample: dict[str, Any]):
    shown = {(row["source path"], row["reason"]) for row in _table(_section(dom, "Rejected files in those runs"))}
    assert shown == set(sample["rejected"]) and len(shown) >= 5
    assert any(reason.startswith("invalid JSON") for _, reason in shown)


def test_report_browser_page_needs_no_network(page: Path, dom: HtmlElement):
    html = lxml.html.fromstring(page.read_text(encoding="utf-8"))
    assert not html.findall(".//script") and not html.findall(".//iframe")
    for element in html.iter():
        for name in ("src", "href", "{http://www.w3.org/1999/xlink}href", "srcset", "data", "poster"):
            value = element.get(name, "")
            assert not value.startswith(("http:", "https:", "//", "ftp:")), f"<{element.tag} {name}={value!r}>"
    assert "url(" not in "".join(style.text_content() for style in html.iter("style"))
    assert json.loads(dom.get("data-resources")) == []  # Chromium loaded nothing beside the page itself


def test_report_browser_page_fits_the_window_width(dom: HtmlElement):
    assert int(dom.get("data-scroll-width")) <= int(dom.get("data-client-width"))


def test_report_browser_screenshot_shows_text_and_charts(screenshot: np.ndarray):
    assert screenshot.shape[:2] == (WINDOW[1], WINDOW[0])
    rgb = screenshot[..., :3]
    assert (rgb < 0.3).all(axis=2).mean() > 0.005  # dark text
    assert (np.abs(rgb - BAR_BLUE) < 0.02).all(axis=2).sum() > 5000  # bars drawn in the charts' blue
