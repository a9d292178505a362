"""How often English news would be rejected as another language, at the threshold of `etl/language.py`.

Reads every article of a folder of English `.txt` files (headline on line 1) by path and detects the language of
the whole article, of its headline, of each paragraph and of its first 10 to 150 characters; prints how many of
each are taken for another language, and the highest confidence of such a wrong guess (a rejection needs
`NEWSETL_LANGUAGE_MIN_CONFIDENCE`, 0.95).

Example: `.venv/bin/python bench/language_bbc.py ../shared/data/bbc`
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from etl.language import detect_language  # noqa: E402 - bench/ is a folder of scripts, not a package
from etl.settings import Settings  # noqa: E402


def main(
    folder: Annotated[Path, typer.Argument(help="Folder of English .txt articles, one subfolder per category.")],
) -> None:
    threshold = Settings.model_fields["language_min_confidence"].default
    texts = []
    for path in sorted(folder.glob("*/*.txt")):  # one folder per category
        data = path.read_bytes()
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(data.decode("cp1252"))
    detect_language("warm up the model")
    started = time.perf_counter()
    whole = [detect_language(text) for text in texts]
    seconds = time.perf_counter() - started
    print(f"{len(texts)} articles, {sum(map(len, texts)):,} characters: {1000 * seconds / len(texts):.2f} ms each")
    print(f"whole articles: lowest confidence of en {min(d.confidence for d in whole if d.language == 'en'):.4f}")
    pieces = {
        "whole articles": texts,
        "headlines": [text.split("\n", 1)[0] for text in texts],
        "paragraphs": [p for text in texts for p in text.split("\n") if p.strip()],
        **{f"first {n} characters": [text[:n] for text in texts] for n in (10, 20, 30, 50, 75, 100, 150)},
    }
    for name, items in pieces.items():
        wrong = [d for d in map(detect_language, items) if d.language != "en"]
        rejected = sum(d.confidence >= threshold for d in wrong)
        highest = max((d.confidence for d in wrong), default=0.0)
        print(f"{name:>24}: {len(items):>6} texts, {len(wrong):>5} not en, highest {highest:.3f}, rejected {rejected}")


if __name__ == "__main__":
    typer.run(main)
