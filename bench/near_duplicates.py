"""What near-duplicate detection and event clustering cost (issue 18), against what annotating costs.

Per article of a corpus, in one process: the MinHash signature of its body (`etl.near_duplicates.signature`),
and annotation by the spaCy pipeline (one process, as `newsetl run --n-process 1` would). Then the whole of
`link_near_duplicates` for `--new` articles of the corpus in one transaction, against an empty SQLite database
and against one holding `--stored` articles already signed (random signatures: their band keys fill the index
as real ones would, and match nothing), to show the look-up does not grow with what is stored.

    .venv/bin/python bench/near_duplicates.py ../shared/data/bbc --new 1000 --stored 100000 --annotate 50
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from etl.database import create_engine_for, upgrade
from etl.models import ArticleBandRow, ArticleRow, ArticleSignatureRow
from etl.near_duplicates import NUM_PERM, band_keys, link_near_duplicates, signature
from etl.nlp.annotator import Annotator
from etl.nlp.lexicon import load_lexicon
from etl.records import NEAR_DUPLICATE_THRESHOLD
from etl.run_ledger import start_run
from etl.settings import Settings


def _bodies(corpus: Path) -> list[str]:
    files = sorted(path for path in corpus.rglob("*.txt") if path.name != "README.TXT")
    return [path.read_text(encoding="utf-8", errors="replace").partition("\n")[2].strip() for path in files]


def _store_random(engine, count: int) -> int:
    """`count` articles with random signatures and their band keys; returns the next free id."""
    rng = np.random.default_rng(1)
    run_id = start_run(engine, "bench", {})
    page = 5_000
    with engine.begin() as connection:
        for first in range(1, count + 1, page):
            ids = range(first, min(first + page, count + 1))
            connection.execute(
                insert(ArticleRow),
                [
                    {"id": i, "source_path": f"/stored/{i}", "record_index": 0, "content_sha256": f"{i:064d}",
                     "title": "t", "body": "b", "published_at_source": "mtime", "word_count": 1,
                     "pipeline_version": "bench", "first_seen_run_id": run_id, "updated_run_id": run_id}
                    for i in ids
                ],
            )  # fmt: skip
            signatures = {i: rng.integers(0, 2**32, NUM_PERM, dtype=np.uint64).astype(np.uint32) for i in ids}
            connection.execute(
                insert(ArticleSignatureRow),
                [{"article_id": i, "minhash": s.astype("<u4").tobytes()} for i, s in signatures.items()],
            )
            connection.execute(
                insert(ArticleBandRow),
                [{"band": b, "band_key": k, "article_id": i} for i, s in signatures.items() for b, k in band_keys(s)],
            )
    return count + 1


def _link_seconds(stored: int, bodies: list[str]) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine_for(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        next_id = _store_random(engine, stored) if stored else 1
        run_id = start_run(engine, "bench", {})
        with engine.begin() as connection:
            connection.execute(
                insert(ArticleRow),
                [
                    {"id": next_id + n, "source_path": f"/new/{n}", "record_index": 0,
                     "content_sha256": f"new{n:061d}", "title": "t", "body": body, "published_at_source": "mtime",
                     "word_count": 1, "pipeline_version": "bench", "first_seen_run_id": run_id,
                     "updated_run_id": run_id}
                    for n, body in enumerate(bodies)
                ],
            )  # fmt: skip
            started = time.perf_counter()
            links = link_near_duplicates(
                connection, [(next_id + n, body) for n, body in enumerate(bodies)], NEAR_DUPLICATE_THRESHOLD
            )
            seconds = time.perf_counter() - started
        engine.dispose()
    return seconds, len(links)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--new", type=int, default=1000, help="articles linked in one run")
    parser.add_argument("--stored", type=int, default=100_000, help="articles stored before")
    parser.add_argument("--annotate", type=int, default=50, help="articles annotated, for comparison")
    args = parser.parse_args()
    bodies = _bodies(args.corpus)
    random.Random(1).shuffle(bodies)
    new = bodies[: args.new]

    started = time.perf_counter()
    for body in new:
        signature(body)
    per_signature = (time.perf_counter() - started) / len(new)

    with Annotator(Settings().spacy_model, load_lexicon(), batch_size=16, n_process=1) as annotator:
        sample = [(body, None, n) for n, body in enumerate(bodies[: args.annotate])]
        list(annotator.annotate(sample[:2]))  # the model loaded and warm
        started = time.perf_counter()
        list(annotator.annotate(sample))
        per_annotation = (time.perf_counter() - started) / len(sample)

    empty, empty_links = _link_seconds(0, new)
    full, full_links = _link_seconds(args.stored, new)
    print(f"signature: {per_signature * 1000:.2f} ms per article ({len(new)} articles)")
    print(f"annotation: {per_annotation * 1000:.1f} ms per article ({len(sample)} articles, one process)")
    print(
        f"link_near_duplicates of {len(new)} articles: {empty:.2f} s with none stored ({empty_links} links), "
        f"{full:.2f} s with {args.stored:,} stored ({full_links} links)"
    )
    per_article = full / len(new)
    share = per_article / per_annotation
    print(f"signature and look-up: {per_article * 1000:.2f} ms per article, {share:.1%} of annotating it")


if __name__ == "__main__":
    main()
