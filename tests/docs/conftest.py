"""The sample database every docs page is tested against, loaded once for the session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> str:
    """A SQLite database with `seeds/articles` loaded by the nightly flow, as `make run` does."""
    from flows.nightly import nightly

    db_url = f"sqlite:///{tmp_path_factory.mktemp('sample') / 'newsetl.db'}"
    nightly(input_dir=str(ROOT / "seeds" / "articles"), db_url=db_url)
    return db_url
