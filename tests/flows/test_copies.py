"""A folder with copies of its stories, as outlets republish wire copy, counts the events of the originals."""

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from etl.database import create_engine_for
from etl.integrity import check_database
from etl.models import ArticleRow, EventClusterRow, EventRow
from flows.nightly import nightly

pytestmark = pytest.mark.slow

STRIKE = (
    "Dock workers at the port of Valmora walked off the job on Monday, halting the loading of grain ships after "
    "talks with the harbour authority over night-shift pay broke down.",
    "The union said the strike would last at least three days. Prime Minister Elena Marsh urged both sides to "
    "return to the table and asked the transport ministry to appoint a mediator.",
    "Harbour officials said six vessels were waiting at anchor outside the breakwater and that perishable cargo "
    "had been diverted to the smaller terminal at Corran, along the coast.",
    "Farmers warned that a long stoppage would leave the autumn harvest stuck in silos just as prices were "
    "recovering. Police reported no incidents at the picket lines.",
)
SUMMIT = (
    "Germany and France agreed on Tuesday to build a joint air defence system, Chancellor Olaf Scholz said after "
    "talks with President Emmanuel Macron in Berlin.",
    "The two leaders also discussed energy prices and support for Ukraine, and Macron invited Scholz to Paris for "
    "a second meeting in the spring.",
    "Officials from both governments will meet in Brussels next month to draft the plan, which other members of "
    "the European Union may join later.",
    "Defence companies in both countries welcomed the agreement, while opposition lawmakers in Berlin asked how "
    "it would be paid for.",
)
ORIGINALS = {
    "wire-strike.json": ("Valmora dock workers strike over night pay", "Coastal Wire", "\n\n".join(STRIKE)),
    "wire-summit.json": ("Scholz and Macron agree on joint air defence", "Coastal Wire", "\n\n".join(SUMMIT)),
}
COPIES = {
    # Another headline and the outlet's own boilerplate.
    "gazette-strike.json": (
        "Port of Valmora at a standstill as dockers down tools",
        "Valmora Gazette",
        "\n\n".join(STRIKE) + "\n\nSubscribe to the Gazette for the latest news from the coast.",
    ),
    # A paragraph trimmed.
    "herald-summit.json": ("Berlin and Paris to build air shield", "Daily Herald", "\n\n".join(SUMMIT[:3])),
    # A few words changed.
    "courier-strike.json": (
        "Valmora strike halts grain ships",
        "Evening Courier",
        "\n\n".join(STRIKE).replace("six vessels", "seven ships").replace("along the coast", "down the coast"),
    ),
}


def _write(folder: Path, articles: dict[str, tuple[str, str, str]]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, (title, source, body) in articles.items():
        record = {"title": title, "source": source, "text": body, "published_at": "2022-11-14T09:00:00Z"}
        (folder / name).write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_copies_link_to_their_original_and_add_no_event_clusters(db_url: str, second_db_url: str, tmp_path: Path):
    originals = _write(tmp_path / "originals", ORIGINALS)
    with_copies = _write(tmp_path / "with-copies", {**ORIGINALS, **COPIES})
    nightly(input_dir=str(originals), db_url=second_db_url)
    nightly(input_dir=str(with_copies), db_url=db_url)

    alone, engine = create_engine_for(second_db_url), create_engine_for(db_url)
    count_clusters = select(func.count()).select_from(EventClusterRow)
    with alone.connect() as connection:
        expected = connection.scalar(count_clusters)
    with engine.connect() as connection:
        clusters = connection.scalar(count_clusters)
        events = connection.scalar(select(func.count()).select_from(EventRow))
        titles = dict(connection.execute(select(ArticleRow.id, ArticleRow.title)).tuples().all())
        links = connection.execute(select(ArticleRow.id, ArticleRow.near_duplicate_of)).tuples().all()
    by_original = {titles[copy]: titles[of] for copy, of in links if of is not None}
    # Each story's group points at the article of it stored first, whichever file that was.
    groups = {"strike": {"Valmora", "Port of Valmora", "dockers"}, "summit": {"air defence", "air shield"}}
    assert len(by_original) == 3 and all(title not in by_original for title in by_original.values())
    for copy, original in by_original.items():
        story = next(name for name, words in groups.items() if any(word in copy for word in words))
        assert any(word in original for word in groups[story]), (copy, original)
    assert expected > 0 and clusters == expected and events > clusters
    problems = [str(p) for p in check_database(engine) if p.check in ("event cluster counts", "near-duplicate links")]
    assert problems == []
    alone.dispose()
    engine.dispose()
