"""The nightly flow run as `newsetl serve` runs it (a run of the deployment it registers, executed by Prefect's runner
in a process of its own) records the same rows as `newsetl run` on the same folder: one composition for both."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from etl.database import create_engine_for
from etl.models import Base, RunRow, UTCDateTime
from newsetl.cli import app

pytestmark = pytest.mark.slow

ARTICLES = {
    "talks.txt": "Talks in Ankara\n\nTurkey hosted talks between the two delegations on Monday.\n",
    "aid.txt": "Aid for Kyiv\n\nGermany pledged aid to Ukraine on Tuesday. Berlin said more would follow.\n",
    "copy.txt": "Talks in Ankara\n\nTurkey hosted talks between the two delegations on Monday.\n",
    "empty.txt": "",
}


def _rows(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in key order, without the times they were written and without the database's URL."""
    engine = create_engine_for(db_url)
    rows = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [column for column in table.columns if not isinstance(column.type, UTCDateTime)]
            found = connection.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            if table.name == RunRow.__tablename__:
                position = [column.name for column in columns].index("parameters")
                found = [(*row[:position], _without_url(row[position]), *row[position + 1 :]) for row in found]
            rows[table.name] = [tuple(row) for row in found]
    engine.dispose()
    return rows


def _without_url(parameters: str) -> dict[str, Any]:
    return {name: value for name, value in json.loads(parameters).items() if name != "db_url"}


def _serve_runs_once(articles: Path, db_url: str) -> None:
    """One run of the deployment `newsetl serve` registers, started now and executed as its runner executes it."""
    from prefect.deployments import run_deployment
    from prefect.runner import Runner

    from flows.serve import nightly_deployment

    runner = Runner(name="newsetl-serve-test", pause_on_shutdown=False)
    deployment_id = runner.add_deployment(nightly_deployment("0 2 * * *", "UTC", str(articles), db_url))
    run_deployment(deployment_id, timeout=0)
    asyncio.run(runner.start(run_once=True))


def test_serve_runs_the_nightly_flow_recording_what_newsetl_run_records(
    tmp_path: Path, prefect_api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite alone: what is compared is which steps run and in what order, the same on either database. (And the
    # deployment's name is registered on the session's Prefect server, which all xdist workers share.)
    db_url, second_db_url = (f"sqlite:///{tmp_path / name}" for name in ("by-run.db", "by-serve.db"))
    articles = tmp_path / "articles"
    articles.mkdir()
    for name, text in ARTICLES.items():
        (articles / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PREFECT_API_URL", prefect_api_url)  # the session's Prefect backend, not a server of its own

    for _ in range(2):  # a run that loads, then an idle one
        result = CliRunner().invoke(app, ["run", "--input", str(articles), "--db", db_url])
        assert result.exit_code == 0, result.stderr
        _serve_runs_once(articles, second_db_url)

    by_run, by_serve = _rows(db_url), _rows(second_db_url)
    assert by_serve == by_run
    runs = by_serve["runs"]
    assert len(runs) == 2 and len(by_serve["articles"]) == 2 and by_serve["events"]
