"""Fixtures of the reliability tests: a small corpus of real articles, and flows under the Prefect harness."""

from pathlib import Path

import pytest

ARTICLES = {
    "aid.txt": "Germany pledged aid to Ukraine on Tuesday. Berlin will send generators to Kyiv.",
    "talks.txt": "Serbian and Kosovo leaders met in Brussels on Monday. The European Union mediated the talks.",
    "strike.txt": "Russian forces attacked Kharkiv on Sunday. Ukrainian officials said two people were killed.",
    "visit.txt": "French President Emmanuel Macron visited Washington on Wednesday. He met Joe Biden.",
    "sanctions.txt": "The European Union imposed sanctions on Iranian officials on Monday over the crackdown.",
    "grain.txt": "Turkey and the United Nations extended the grain deal with Russia and Ukraine on Thursday.",
}


@pytest.fixture(scope="session", autouse=True)
def _flows_run_in_the_prefect_harness(prefect_harness: None) -> None:
    """Flows run against the session's throwaway Prefect backend (tests/conftest.py)."""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder of six one-paragraph articles, headline on line 1."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, body in ARTICLES.items():
        (folder / name).write_text(f"{body.split('.')[0]}\n\n{body}\n", encoding="utf-8")
    return folder
