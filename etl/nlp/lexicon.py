"""The PLOVER trigger lexicon (lemmas and two-word lemma phrases → event type and mode) and the event coder's
closed word classes (modals, reporting verbs, prepositions of a recipient…).

The lexicon is `etl/reference_data/plover_lexicon.csv`, compiled by `tools/compile_lexicon.py` (sources credited in
`etl/reference_data/README.md`); the word classes are `etl/reference_data/coder_words.csv`, written by hand. This
module only loads them and answers lookups.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources.abc import Traversable
from types import MappingProxyType

from etl.errors import InputError
from etl.resources import REFERENCE_DIR

DEFAULT_LEXICON = REFERENCE_DIR / "plover_lexicon.csv"
CODER_WORDS = REFERENCE_DIR / "coder_words.csv"
LEXICON_COLUMNS = ("trigger", "pos", "event_type", "mode", "cameo_code", "source")


@dataclass(frozen=True, slots=True)
class Trigger:
    """What a trigger word or phrase codes as."""

    event_type: str
    mode: str | None
    cameo_code: str | None
    source: str  # "petrarch2" (derived from the CAMEO verb dictionary) or "newsetl" (hand-curated)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Triggers keyed by (lemma, pos), and phrases keyed by (leading lemmas, last lemma, pos).

    A verb phrase is a verb and its particle, preposition or object ("pull out", "launch attack"), or a phrasal
    verb and its object ("call off strike", keyed ("call off", "strike")); a noun phrase is a modifier and its
    head noun ("air strike").
    """

    words: Mapping[tuple[str, str], Trigger]
    phrases: Mapping[tuple[str, str, str], Trigger]

    def __reduce__(self) -> tuple[object, tuple[dict, dict]]:
        # Sent to annotation worker processes; a mappingproxy cannot be pickled, its dict can.
        return _read_only_lexicon, (dict(self.words), dict(self.phrases))

    def word(self, lemma: str, pos: str) -> Trigger | None:
        return self.words.get((lemma.lower(), pos))

    def phrase(self, first: str, second: str, pos: str) -> Trigger | None:
        return self.phrases.get((first.lower(), second.lower(), pos))


def _read_only_lexicon(words: dict[tuple[str, str], Trigger], phrases: dict[tuple[str, str, str], Trigger]) -> Lexicon:
    return Lexicon(MappingProxyType(words), MappingProxyType(phrases))


def load_lexicon(path: Traversable | None = None) -> Lexicon:
    """The lexicon at `path` (default: the committed one), read once per path."""
    return _load(path or DEFAULT_LEXICON)


@cache
def _load(path: Traversable) -> Lexicon:
    words: dict[tuple[str, str], Trigger] = {}
    phrases: dict[tuple[str, str, str], Trigger] = {}
    # Some 200 distinct codings serve 40,000 rows: each is made once, and pickled once for the worker processes.
    codings: dict[tuple[str, ...], Trigger] = {}
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = csv.reader(f)
            columns = {name: i for i, name in enumerate(next(rows))}
            text, pos, *coding = (columns[name] for name in LEXICON_COLUMNS)
            for row in rows:
                key = tuple(row[i] for i in coding)
                if (trigger := codings.get(key)) is None:
                    event_type, mode, cameo_code, source = key
                    trigger = codings[key] = Trigger(event_type, mode or None, cameo_code or None, source)
                *leading, last = row[text].split()
                if leading:
                    phrases[" ".join(leading), last, row[pos]] = trigger
                else:
                    words[last, row[pos]] = trigger
    except (OSError, KeyError, IndexError, StopIteration, ValueError) as e:
        raise InputError(f"cannot read the PLOVER lexicon {path}: {e!r}") from e
    return _read_only_lexicon(words, phrases)


def lexicon_version(path: Traversable | None = None) -> str:
    """A short hash of the lexicon file, to stamp into the pipeline version."""
    return hashlib.sha256((path or DEFAULT_LEXICON).read_bytes()).hexdigest()[:12]


@cache
def load_word_classes(path: Traversable = CODER_WORDS) -> Mapping[str, tuple[str, ...]]:
    """The coder's word classes by name, each class's words in file order (an order of preference where the
    coder tries them in turn, as the prepositions of a recipient), read once per path."""
    classes: dict[str, list[str]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                classes.setdefault(row["class"], []).append(row["word"])
    except (OSError, KeyError) as e:
        raise InputError(f"cannot read the event coder's word classes {path}: {e!r}") from e
    return MappingProxyType({name: tuple(words) for name, words in classes.items()})
