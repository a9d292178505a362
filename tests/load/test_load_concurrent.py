"""Batches loaded into PostgreSQL at the same time, from two connections: batches that share new entities or
articles, each loaded in one transaction, never wait on each other in a cycle (a deadlock)."""

import hashlib
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from etl.database import open_database
from etl.input_files import PendingFile, ReadFile
from etl.models import ArticleRow, EntityAliasRow, EntityRow, MentionRow
from etl.pipeline import Annotations, load_files
from etl.records import Annotation, Article, Entity, Mention, RunCounts, SourceFile
from etl.run_ledger import start_run
from etl.settings import Settings

ROUNDS = 21  # seven of each kind below
ARTICLES = 24  # per batch; as many entities per round, each named by two neighbouring articles
VERSION = "test-pipeline"
# What the two batches of a round share: the same new entities named in other articles; the same articles
# (a file and its copy read by two workers at once); the same articles, which name no entity.
KINDS = ("entities", "articles", "articles without entities")


def _article(path: str, round_: int, index: int, kind: str, worker: str) -> tuple[Article, Annotation]:
    """Article `index` of a round names its new entities `index` and `index + 1` (unless they are left out)."""
    names = [f"Person{round_}x{i % ARTICLES}" for i in (index, index + 1)]
    body = f"{names[0]} met {names[1]} in {'Vienna' if kind == 'entities' and worker == 'b' else 'Geneva'}."
    article = Article(
        source_path=path,
        record_index=0,
        title=f"Meeting {round_} {index}",
        body=body,
        content_sha256=hashlib.sha256(body.encode()).hexdigest(),
        word_count=len(body.split()),
    )
    if kind == "articles without entities":
        return article, Annotation()
    keys = [f"PERSON:{name.lower()}" for name in names]
    second = len(names[0]) + len(" met ")
    annotation = Annotation(
        entities=tuple(
            Entity(key, name, "PERSON", aliases=(name.removeprefix("Person"),), country="UKR" if index % 3 else None)
            for key, name in zip(keys, names, strict=True)
        ),
        mentions=(
            Mention(0, len(names[0]), names[0], "PERSON", 0, keys[0]),
            Mention(second, second + len(names[1]), names[1], "PERSON", 0, keys[1]),
        ),
    )
    return article, annotation


def _batch(folder: Path, worker: str, round_: int, order: list[int]) -> tuple[list[ReadFile], Annotations]:
    """One worker's batch of files, one article each, in the order given, with annotations made beforehand (as
    `annotate_files` makes them)."""
    kind = KINDS[round_ % len(KINDS)]
    read, by_content = [], {}
    for index in order:
        path = (folder / f"{worker}-{round_}-{index}.txt").as_posix()
        article, annotation = _article(path, round_, index, kind, worker)
        source = SourceFile(path, len(article.body), round_)
        read.append(ReadFile(PendingFile(source, None), f"{worker}{index:063d}", (article,), (), 0.0))
        by_content[article.content_sha256] = annotation
    return read, Annotations(VERSION, by_content)


def _count(engine: Engine, row_type: type) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(row_type))


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_load_concurrent_batches_of_the_same_new_entities_never_deadlock(db_url: str, tmp_path: Path) -> None:
    engine = open_database(db_url)
    run_id = start_run(engine, "nightly", {})
    settings = Settings(db_url=db_url, input_dir=tmp_path)
    # Worker a loads articles 0..23 of a round, worker b the same entities or contents in the opposite order.
    # Loaded in file order, a would lock entity (or article) 0 first and b entity 23, and they would meet in
    # the middle, each waiting for the other: PostgreSQL would abort one with "deadlock detected".
    errors: list[BaseException] = []
    counts: list[RunCounts] = []
    contents, entities = set(), set()
    for round_ in range(ROUNDS):
        batches = [
            _batch(tmp_path, "a", round_, list(range(ARTICLES))),
            _batch(tmp_path, "b", round_, list(reversed(range(ARTICLES)))),
        ]
        for _read, annotations in batches:
            contents.update(annotations.by_content)
            entities.update(e.entity_key for a in annotations.by_content.values() for e in a.entities)
        start = threading.Barrier(len(batches))

        def load(read: list[ReadFile], annotations: Annotations, start: threading.Barrier) -> None:
            start.wait()
            try:
                counts.append(load_files(engine, run_id, read, settings, annotations))
            except BaseException as exc:  # reported below, with the round
                errors.append(exc)

        threads = [threading.Thread(target=load, args=(*batch, start)) for batch in batches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert not errors, f"round {round_} ({KINDS[round_ % len(KINDS)]}): {errors[0]!r}"

    # Every content and every entity stored once, whichever batch stored it.
    assert sum(c.loaded for c in counts) == _count(engine, ArticleRow) == len(contents)
    assert sum(c.duplicate for c in counts) == ROUNDS * ARTICLES * 2 - len(contents)
    assert _count(engine, EntityRow) == len(entities) == (ROUNDS * 2 // 3) * ARTICLES
    assert _count(engine, EntityAliasRow) == len(entities) * 2  # its name and its short form
    assert _count(engine, MentionRow) == sum(c.mentions for c in counts)
    engine.dispose()
