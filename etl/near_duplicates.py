"""Near-duplicate articles: MinHash signatures of each body's word shingles, looked up through LSH band keys
stored in the database.

A wire story republished with another headline, its own boilerplate or a paragraph trimmed keeps most of its
three-word shingles, so the estimated Jaccard similarity of the two signatures stays high; a follow-up report in
its own words shares few. Each signature is cut into LSH bands (datasketch's banding for a similarity of
`BAND_THRESHOLD`, the lowest threshold the settings allow) and every band's key is stored in `article_bands`:
an article's candidates are the articles sharing a band key with it, found by an indexed look-up, whose
signatures (`article_signatures`) are then compared with its own. A run thus compares its new articles with
every article stored before without reading their bodies, in time and memory that grow with the matches, not
the corpus. The banding does not depend on the threshold, so changing the threshold needs no recomputation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection, bindparam, insert, select, update

from etl.database import pages
from etl.models import ArticleBandRow, ArticleRow, ArticleSignatureRow

if TYPE_CHECKING:
    from datasketch import MinHash

SHINGLE_WORDS = 3
NUM_PERM = 128
BAND_THRESHOLD = 0.5
# Misses weigh more than candidates to compare: with these, 32 bands of 4 values find 99% of the pairs at a
# similarity of 0.6 and 87% at 0.5, and make 5% of the pairs at 0.2 candidates.
BAND_WEIGHTS = (0.1, 0.9)
ARTICLES_PER_PAGE = 200
_WORDS = re.compile(r"\w+")


# datasketch is imported where a signature or the banding is first needed, not with this module: it imports all of
# itself, SciPy included, which is a CPU-second for every `newsetl` process that loads nothing (status, query, an
# idle or refused run), and each one imports this module through the article store.


@cache
def _template() -> MinHash:
    from datasketch import MinHash

    # A fixed seed and scheme: stored signatures stay comparable with new ones across runs and datasketch versions.
    return MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32")


@cache
def band_ranges() -> tuple[tuple[int, int], ...]:
    """The (start, end) slices of a signature that make its LSH bands."""
    from datasketch import MinHashLSH

    return tuple(MinHashLSH(threshold=BAND_THRESHOLD, num_perm=NUM_PERM, weights=BAND_WEIGHTS).hashranges)


def signature(body: str) -> np.ndarray | None:
    """The MinHash signature (NUM_PERM unsigned 32-bit values) of the body's lower-cased three-word shingles;
    None for a body without words."""
    words = _WORDS.findall(body.lower())
    if not words:
        return None
    count = max(len(words) - SHINGLE_WORDS + 1, 1)
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]).encode() for i in range(count)}
    minhash = _template().copy()
    minhash.update_batch(shingles)
    return minhash.hashvalues


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """The Jaccard similarity of two signatures' shingle sets, as MinHash estimates it."""
    return float(np.count_nonzero(first == second)) / len(first)


def band_keys(minhash: np.ndarray) -> list[tuple[int, int]]:
    """(band, key) of each LSH band: the band's values hashed to a signed 64-bit integer."""
    return [
        (band, int.from_bytes(hashlib.blake2b(minhash[start:end].tobytes(), digest_size=8).digest(), signed=True))
        for band, (start, end) in enumerate(band_ranges())
    ]


def link_near_duplicates(
    connection: Connection, articles: Sequence[tuple[int, str]], threshold: float
) -> dict[int, int]:
    """Sign newly stored articles (id, body) and link each near-duplicate to the earliest article of its group.

    In id order, an article whose similarity to an article stored before it (or earlier in `articles`) is at
    least `threshold` gets `near_duplicate_of` = the group's earliest article (the lowest id). Their signatures
    and band keys are stored for later articles. Returns the links made, by article id."""
    signed = [
        (article_id, minhash) for article_id, body in sorted(articles) if (minhash := signature(body)) is not None
    ]
    keys = {article_id: band_keys(minhash) for article_id, minhash in signed}
    ours = {article_id for article_id, _ in signed}
    stored = _stored_candidates(connection, sorted({key for article_keys in keys.values() for key in article_keys}))
    stored_ids = sorted({article_id for ids in stored.values() for article_id in ids} - ours)
    signatures, roots = _stored_signatures(connection, stored_ids)
    links: dict[int, int] = {}
    in_run: dict[tuple[int, int], list[int]] = {}
    for article_id, minhash in signed:
        candidates = {c for key in keys[article_id] for c in stored.get(key, ()) if c in signatures and c not in ours}
        candidates.update(c for key in keys[article_id] for c in in_run.get(key, ()))
        matches = [c for c in sorted(candidates) if similarity(minhash, signatures[c]) >= threshold]
        if matches:
            links[article_id] = min(roots[c] for c in matches)
        signatures[article_id] = minhash
        roots[article_id] = links.get(article_id, article_id)
        for key in keys[article_id]:
            in_run.setdefault(key, []).append(article_id)
    if signed:
        connection.execute(
            insert(ArticleSignatureRow),
            [{"article_id": article_id, "minhash": minhash.astype("<u4").tobytes()} for article_id, minhash in signed],
        )
        connection.execute(
            insert(ArticleBandRow),
            [
                {"band": band, "band_key": key, "article_id": article_id}
                for article_id, _ in signed
                for band, key in keys[article_id]
            ],
        )
    _set_originals(connection, links)
    return links


def link_stored(connection: Connection, threshold: float) -> None:
    """Sign every stored article and link the near-duplicates among them, in id order, a page at a time (an
    upgraded database's articles, stored before signatures were)."""
    last_id = 0
    while page := connection.execute(
        select(ArticleRow.id, ArticleRow.body)
        .where(ArticleRow.id > last_id)
        .order_by(ArticleRow.id)
        .limit(ARTICLES_PER_PAGE)
    ).all():
        link_near_duplicates(connection, [(article_id, body) for article_id, body in page], threshold)
        last_id = page[-1].id


def relink_copies(connection: Connection, deleted: Sequence[int]) -> None:
    """Before articles are deleted: the copies of each of them take the earliest remaining copy as their
    original, which becomes the group's first article (its own `near_duplicate_of` null)."""
    gone = set(deleted)
    links: dict[int, int | None] = {}
    for page in pages(sorted(gone)):
        rows = connection.execute(
            select(ArticleRow.near_duplicate_of, ArticleRow.id)
            .where(ArticleRow.near_duplicate_of.in_(page), ArticleRow.id.not_in(gone))
            .order_by(ArticleRow.near_duplicate_of, ArticleRow.id)
        )
        first_of: dict[int, int] = {}
        for original, copy in rows:
            first = first_of.setdefault(original, copy)
            links[copy] = None if first == copy else first
    _set_originals(connection, links)


def _set_originals(connection: Connection, links: dict[int, int | None]) -> None:
    if links:
        connection.execute(
            update(ArticleRow)
            .where(ArticleRow.id == bindparam("article_id"))
            .values(near_duplicate_of=bindparam("of")),
            [{"article_id": article_id, "of": of} for article_id, of in sorted(links.items())],
        )


def _stored_candidates(connection: Connection, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
    """The stored articles holding each of these band keys: one look-up per band, `band = ? AND band_key IN (…)`,
    which both databases answer from the primary key's index (a row-value `IN` of pairs SQLite answers by
    scanning the table)."""
    by_band: dict[int, list[int]] = {}
    for band, key in keys:
        by_band.setdefault(band, []).append(key)
    found: dict[tuple[int, int], list[int]] = {}
    for band, in_band in sorted(by_band.items()):
        for page in pages(sorted(set(in_band))):
            rows = connection.execute(
                select(ArticleBandRow.band_key, ArticleBandRow.article_id).where(
                    ArticleBandRow.band == band, ArticleBandRow.band_key.in_(page)
                )
            )
            for key, article_id in rows:
                found.setdefault((band, key), []).append(article_id)
    return found


def _stored_signatures(
    connection: Connection, article_ids: Sequence[int]
) -> tuple[dict[int, np.ndarray], dict[int, int]]:
    """The signatures of stored articles, and the first article of each one's group."""
    signatures: dict[int, np.ndarray] = {}
    roots: dict[int, int] = {}
    for page in pages(article_ids):
        rows = connection.execute(
            select(ArticleSignatureRow.article_id, ArticleSignatureRow.minhash, ArticleRow.near_duplicate_of)
            .join(ArticleRow, ArticleRow.id == ArticleSignatureRow.article_id)
            .where(ArticleSignatureRow.article_id.in_(page))
        )
        for article_id, minhash, original in rows:
            signatures[article_id] = np.frombuffer(minhash, dtype="<u4").astype(np.uint32)
            roots[article_id] = original if original is not None else article_id
    return signatures, roots
