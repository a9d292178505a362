"""One self-contained HTML page about the results (the `report` command's library side).

Charts are drawn by matplotlib as inline SVG, and each figure's numbers follow it in a folded table: nothing is fetched
from a network. The map of event locations plots points on a latitude/longitude grid, without coastlines (no
offline outline data is shipped).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from html import escape
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from sqlalchemy import DateTime, Engine, text

from etl.nlp.confidence import MIN_CONFIDENCE
from etl.nlp.event_dates import BACKGROUND_DAYS

TOP = 15
# What the views count (migration 0006), said under every figure of events.
COUNTED = (
    f"Counted events only: confidence {MIN_CONFIDENCE} or more, negated and hypothetical ones below it, and none "
    f"dated over {BACKGROUND_DAYS} days before its article (background); every event stays in the events table."
)
TIMESTAMPS = {"started_at": DateTime(), "finished_at": DateTime()}  # SQLite returns them as text


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[Any, ...]]
    note: str = ""
    bar_column: str | None = None  # a numeric column drawn as bars


CLUSTERS_COUNTED = (
    "Events are counted once however many articles report them: distinct event clusters (`event_cluster_facts`)."
)


def _in_range(since: date | None, until: date | None) -> tuple[str, str, dict[str, date]]:
    """Conditions keeping the articles published from `since` to `until`: on `day`, on `article_id`; and their
    parameters (a null parameter would leave PostgreSQL unable to tell its type, so absent bounds are left out)."""
    bounds = {name: value for name, value in (("since", since), ("until", until)) if value is not None}
    if not bounds:
        return "1 = 1", "1 = 1", {}
    on_day = " AND ".join(f"day {'>=' if name == 'since' else '<='} :{name}" for name in bounds)
    return on_day, f"article_id IN (SELECT article_id FROM article_overview WHERE {on_day})", bounds


def report_sections(engine: Engine, since: date | None = None, until: date | None = None) -> list[Section]:
    """The report's figures as tables, from the views; articles published from `since` to `until`."""
    on_day, in_range, params = _in_range(since, until)
    queries = (
        ("Articles per day", f"SELECT day, count(*) AS articles FROM article_overview WHERE {in_range} "
         "GROUP BY day ORDER BY day", "articles", ""),
        ("Events per type and month (by event date)",
         "SELECT substr(CAST(event_date AS TEXT), 1, 7) AS month, event_type, quad_class, "
         f"count(DISTINCT cluster_id) AS events FROM event_facts WHERE event_date IS NOT NULL AND {in_range} "
         "GROUP BY substr(CAST(event_date AS TEXT), 1, 7), event_type, quad_class "
         "ORDER BY month, events DESC, event_type", "events", f"{CLUSTERS_COUNTED} {COUNTED}"),
        ("Top actors",
         "SELECT coalesce(e.canonical_name, p.text) AS actor, coalesce(p.country, e.country) AS country, "
         "count(DISTINCT ev.cluster_id) AS events FROM event_participants AS p "
         "JOIN events AS ev ON ev.id = p.event_id LEFT JOIN entities AS e ON e.id = p.entity_id "
         f"WHERE p.role = 'actor' AND p.event_id IN (SELECT event_id FROM event_facts WHERE {in_range}) "
         "GROUP BY coalesce(e.canonical_name, p.text), coalesce(p.country, e.country) "
         f"ORDER BY events DESC, actor LIMIT {TOP}", "events", f"{CLUSTERS_COUNTED} {COUNTED}"),
        ("Top dyads (actor, recipient and type; negated and hypothetical events left out)",
         "SELECT actor, recipient, event_type, events, first_date, last_date FROM actor_dyads "
         f"ORDER BY events DESC, last_date DESC, actor LIMIT {TOP}", "events",
         "All dates: dyads are counted over the whole database, and count reports (an event reported by three "
         "articles counts three times). " + COUNTED),
        ("Most mentioned entities",
         "SELECT entity, type, country, sum(mentions) AS mentions, sum(articles) AS article_days "
         f"FROM entity_daily_mentions WHERE {on_day} "
         f"GROUP BY entity_id, entity, type, country ORDER BY mentions DESC, entity LIMIT {TOP}", "mentions", ""),
        ("Latest runs",
         "SELECT id AS run, flow, status, started_at, finished_at, files_loaded, files_skipped, files_duplicate, "
         "files_rejected, files_deleted, articles, events FROM runs ORDER BY id DESC LIMIT 10", None, ""),
        ("Rejected files in those runs",
         "SELECT run_id AS run, source_path, record_index, reason FROM rejected_files "
         "WHERE run_id IN (SELECT id FROM runs ORDER BY id DESC LIMIT 10) ORDER BY run_id DESC, source_path",
         None, ""),
    )  # fmt: skip
    sections = []
    with engine.connect() as connection:
        for title, sql, bar_column, note in queries:
            result = connection.execute(text(sql).columns(**TIMESTAMPS), params)
            sections.append(Section(title, tuple(result.keys()), result.all(), note, bar_column))
        undated = connection.execute(
            text(
                "SELECT count(*) FROM article_overview AS o JOIN articles AS a ON a.id = o.article_id "
                f"WHERE a.published_at_source = 'mtime' AND {on_day}"
            ),
            params,
        ).scalar_one()
        locations = connection.execute(
            text(
                "SELECT location, location_country, location_lat, location_lon, count(DISTINCT cluster_id) AS events "
                "FROM event_facts "
                f"WHERE location IS NOT NULL AND {in_range} "
                "GROUP BY location, location_country, location_lat, location_lon ORDER BY events DESC, location"
            ),
            params,
        ).all()
    if undated:  # otherwise a day of loading looks like a day of news
        sections[0] = replace(
            sections[0],
            note=f"{undated} of these articles carry no date of their own: each is counted on the day its file was "
            "last modified.",
        )
    located = [row for row in locations if row[2] is not None and row[3] is not None]
    drawn = "; only those are drawn on the map" if located else ", so no map is drawn"
    note = (
        f"{len(located)} of {len(locations)} event locations have coordinates{drawn}. "
        "The gazetteer ships no coordinates yet, so places without them are listed here. "
        f"{CLUSTERS_COUNTED} {COUNTED}"
    )
    sections.insert(5, Section("Event locations", ("location", "country", "lat", "lon", "events"), locations, note))
    return sections


def render_report(sections: Sequence[Section], since: date | None, until: date | None) -> str:
    """The page: a title, the map and each section's table; styles and drawing inline."""
    period = f"{since or 'the first article'} to {until or 'the last'}"
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>newsetl report</title>',
        f"<style>{STYLE}</style></head><body>",
        f"<h1>newsetl report</h1><p>Articles published from {escape(period)}. Made {made}.</p>",
    ]
    for section in sections:
        parts.append(f"<section><h2>{escape(section.title)}</h2>")
        if section.note:
            parts.append(f'<p class="note">{escape(section.note)}</p>')
        chart = CHARTS.get(section.title)
        figure = chart(section.rows) if chart else None
        if figure is None:
            parts.append(_table(section))
        else:  # the chart shows the numbers; its table is there for whoever wants them exactly
            parts.append(_svg(figure))
            parts.append(
                f"<details><summary>The numbers ({len(section.rows)} rows)</summary>{_table(section)}</details>"
            )
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def build_report(engine: Engine, since: date | None = None, until: date | None = None) -> str:
    return render_report(report_sections(engine, since, until), since, until)


def _table(section: Section) -> str:
    if not section.rows:
        return '<p class="empty">none</p>'
    bar_index = section.columns.index(section.bar_column) if section.bar_column else None
    largest = max((row[bar_index] or 0 for row in section.rows), default=0) if bar_index is not None else 0
    head = "".join(f"<th>{escape(name.replace('_', ' '))}</th>" for name in section.columns)
    body = []
    for row in section.rows:
        cells = []
        for index, value in enumerate(row):
            shown = escape(_cell_text(value))
            if index == bar_index and largest:
                width = round(100 * (value or 0) / largest)
                shown = f'<span class="bar" style="width:{width}%"></span> {shown}'
            cells.append(f"<td>{shown}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:%Y-%m-%d %H:%M:%S}" if isinstance(value, datetime) else str(value)  # no microseconds


def _svg(figure: Figure) -> str:
    """The figure as an `<svg>` element, its text kept as text (searchable, and readable by a test)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    return '<figure class="chart">' + svg[svg.index("<svg") :] + "</figure>"


def _articles_chart(rows: Sequence[tuple[Any, ...]]) -> Figure | None:
    if not rows:
        return None
    figure = Figure(figsize=(9, 2.6))
    axes = figure.subplots()
    axes.bar([str(day) for day, _ in rows], [count for _, count in rows], color="#4a78b5")
    axes.set_ylabel("articles")
    axes.tick_params(axis="x", labelrotation=90, labelsize=7)
    return figure


def _events_chart(rows: Sequence[tuple[Any, ...]]) -> Figure | None:
    """Stacked bars: events per month, one colour per event type."""
    if not rows:
        return None
    months = sorted({month for month, *_ in rows})
    counts: dict[str, dict[str, int]] = {}
    for month, event_type, _quad_class, events in rows:
        counts.setdefault(event_type, {})[month] = events
    figure = Figure(figsize=(9, 3.2))
    axes = figure.subplots()
    bottom = [0] * len(months)
    colours = matplotlib.colormaps["tab20"]
    for index, (event_type, by_month) in enumerate(sorted(counts.items())):
        heights = [by_month.get(month, 0) for month in months]
        axes.bar(months, heights, bottom=bottom, label=event_type, color=colours(index % 20))
        bottom = [below + height for below, height in zip(bottom, heights, strict=True)]
    axes.set_ylabel("events")
    axes.tick_params(axis="x", labelrotation=90, labelsize=7)  # events quoting history reach back decades
    axes.legend(fontsize=7, ncols=2, loc="upper left", bbox_to_anchor=(1.01, 1))
    return figure


def _map_chart(rows: Sequence[tuple[Any, ...]]) -> Figure | None:
    """Event locations with coordinates on a longitude/latitude grid, sized by their number of events."""
    located = [
        (lon, lat, events, name) for name, _country, lat, lon, events in rows if lat is not None and lon is not None
    ]
    if not located:  # an empty grid would only look like a map of nothing happening
        return None
    figure = Figure(figsize=(9, 4.5))
    axes = figure.subplots()
    axes.set(xlim=(-180, 180), ylim=(-90, 90), xlabel="longitude", ylabel="latitude", aspect="equal")
    axes.set_xticks(range(-180, 181, 30))
    axes.set_yticks(range(-90, 91, 30))
    axes.grid(color="#dde")
    for lon, lat, events, name in located:
        axes.scatter([lon], [lat], s=20 + 15 * min(events, 10), color="#c0392b", alpha=0.6)
        axes.annotate(str(name), (lon, lat), fontsize=7, xytext=(4, 4), textcoords="offset points")
    return figure


CHARTS = {
    "Articles per day": _articles_chart,
    "Events per type and month (by event date)": _events_chart,
    "Event locations": _map_chart,
}


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
.bar { display: inline-block; height: 0.8em; background: #4a78b5; min-width: 1px; max-width: 200px; }
td:has(.bar) { width: 260px; }
.note { color: #555; }
.chart { margin: 0; }
.chart svg { max-width: 100%; height: auto; }
.table { overflow-x: auto; }
summary { color: #555; cursor: pointer; margin: 0.3em 0 1em; }
"""
