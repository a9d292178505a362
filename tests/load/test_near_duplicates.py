"""Near-duplicate articles: copies of a story as outlets republish it are linked to it; other stories are not."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select

from etl.file_ledger import retire_file
from etl.models import ArticleBandRow, ArticleRow, ArticleSignatureRow, ArticleSourceRow, RunRow, SourceFileRow
from etl.near_duplicates import NUM_PERM, band_keys, link_near_duplicates, signature, similarity
from etl.records import NEAR_DUPLICATE_THRESHOLD

PARAGRAPHS = (
    "Dock workers at the port of Valmora walked off the job on Monday morning, halting the loading of grain "
    "ships for the first time in eleven years, after talks with the harbour authority over night-shift pay "
    "broke down late on Sunday.",
    "The union representing some four thousand crane operators and stevedores said the strike would last at "
    "least three days and could be extended if the authority did not return to the table with a better offer.",
    "Harbour officials said six vessels were waiting at anchor outside the breakwater and that perishable "
    "cargo had been diverted to the smaller terminal at Corran, forty kilometres along the coast.",
    "Farmers' associations warned that a long stoppage would leave the autumn harvest stuck in silos just as "
    "prices were recovering, and asked the transport ministry to appoint a mediator before the weekend.",
    "The ministry said in a statement that it respected the right to strike but urged both sides to resume "
    "negotiations, adding that the navy would keep the channel open for emergency and medical shipments.",
    "Picket lines formed at all three gates of the container yard by mid-morning, and police reported no "
    "incidents, although traffic backed up for several kilometres on the coastal road leading to the docks.",
)
ORIGINAL = "\n\n".join(PARAGRAPHS)
COPIES = {
    "added boilerplate": "Valmora (Coastal Wire) - "
    + ORIGINAL
    + "\n\nSign up for our morning briefing to get the day's top stories in your inbox. Reporting by the "
    "Coastal Wire newsroom; editing by the regional desk.",
    "trimmed paragraph": "\n\n".join(PARAGRAPHS[:-1]),
    "added paragraph": ORIGINAL
    + "\n\nIt is the third large strike in the region this year, after bus drivers and hospital cleaners "
    "stopped work over pay in the spring.",
    "a few words changed": ORIGINAL.replace("Monday morning", "Monday")
    .replace("four thousand", "4,000")
    .replace("six vessels", "seven vessels")
    .replace("forty kilometres", "40 km")
    .replace("mid-morning", "late morning"),
}
# The same strike, reported in other words: a follow-up and another outlet's own story.
SAME_TOPIC = {
    "follow-up": "The strike at Valmora's port entered its second day on Tuesday with no sign of a deal. Union "
    "leaders told reporters outside the harbour authority's offices that members had voted to stay out until "
    "the weekend, while the authority said its offer on night-shift pay was final. Grain exporters estimated "
    "their losses at several million a day and said buyers abroad were already turning to other suppliers. "
    "The transport minister is expected to meet both sides on Wednesday.",
    "own story": "Thousands of port workers in Valmora have stopped work in a row over pay for night shifts, "
    "leaving grain carriers idle in the bay. The walkout, called by the stevedores' union after weekend talks "
    "collapsed, is the first at the port in over a decade. Shipping agents said some cargo was being sent to "
    "Corran instead. Growers fear their harvest could spoil if the dispute drags on, and have called on the "
    "government to step in.",
}


def test_near_duplicates_copies_are_at_or_above_the_threshold_and_other_stories_below() -> None:
    original = signature(ORIGINAL)
    for name, copy in COPIES.items():
        assert similarity(original, signature(copy)) >= NEAR_DUPLICATE_THRESHOLD, name
    for name, story in SAME_TOPIC.items():
        assert similarity(original, signature(story)) < 0.2, name


@given(st.text(max_size=300))
def test_near_duplicates_signature_of_any_text_is_deterministic_and_sized(text: str) -> None:
    first = signature(text)
    if first is None:
        assert not any(character.isalnum() or character == "_" for character in text)
        return
    assert len(first) == NUM_PERM and similarity(first, signature(text)) == 1.0
    assert band_keys(first) == band_keys(signature(text))


def test_near_duplicates_signature_ignores_case_and_punctuation() -> None:
    assert similarity(signature(ORIGINAL), signature(ORIGINAL.upper().replace(",", " ;"))) == 1.0


def _store(engine: Engine, bodies: list[str]) -> list[int]:
    """Articles with these bodies, as the load stage stores them; their ids."""
    with engine.begin() as connection:
        if connection.scalar(select(RunRow.id)) is None:
            connection.execute(
                insert(RunRow).values(
                    id=1, flow="nightly", parameters="{}", started_at=datetime.now(UTC), status="running"
                )
            )
        first = (connection.scalar(select(ArticleRow.id).order_by(ArticleRow.id.desc()).limit(1)) or 0) + 1
        ids = list(range(first, first + len(bodies)))
        for article_id, body in zip(ids, bodies, strict=True):
            path = f"/in/{article_id}.txt"
            connection.execute(
                insert(ArticleRow).values(
                    id=article_id, source_path=path, record_index=0, content_sha256=f"{article_id:064d}",
                    title="Strike", body=body, published_at_source="metadata", word_count=len(body.split()),
                    pipeline_version="v", first_seen_run_id=1, updated_run_id=1,
                )
            )  # fmt: skip
            connection.execute(insert(ArticleSourceRow).values(source_path=path, record_index=0, article_id=article_id))
            connection.execute(
                insert(SourceFileRow).values(
                    path=path, size=1, mtime_ns=1, file_sha256="x", status="loaded", last_run_id=1
                )
            )
        link_near_duplicates(connection, list(zip(ids, bodies, strict=True)), NEAR_DUPLICATE_THRESHOLD)
    return ids


def _originals(engine: Engine) -> dict[int, int | None]:
    with engine.connect() as connection:
        return dict(connection.execute(select(ArticleRow.id, ArticleRow.near_duplicate_of)).tuples().all())


def test_near_duplicates_copies_loaded_later_link_to_the_stored_original(engine: Engine) -> None:
    [original] = _store(engine, [ORIGINAL])
    others = _store(engine, list(SAME_TOPIC.values()))  # another night
    copies = _store(engine, list(COPIES.values()))
    links = _originals(engine)
    assert [links[copy] for copy in copies] == [original] * len(COPIES)
    assert links[original] is None and [links[other] for other in others] == [None, None]
    with engine.connect() as connection:
        assert connection.scalar(select(ArticleBandRow.article_id).where(ArticleBandRow.article_id == original))
        signed = connection.scalars(select(ArticleSignatureRow.article_id)).all()
    assert sorted(signed) == sorted(links)


def test_near_duplicates_in_one_batch_link_to_the_earliest_of_their_group(engine: Engine) -> None:
    ids = _store(engine, [COPIES["trimmed paragraph"], ORIGINAL, COPIES["added paragraph"]])
    # The trimmed copy is stored first: the others are its near-duplicates, even the one further from it.
    assert _originals(engine) == {ids[0]: None, ids[1]: ids[0], ids[2]: ids[0]}


def test_near_duplicates_threshold_decides(engine: Engine) -> None:
    copy_similarity = similarity(signature(ORIGINAL), signature(COPIES["trimmed paragraph"]))
    [original] = _store(engine, [ORIGINAL])
    with engine.begin() as connection:
        connection.execute(
            insert(ArticleRow).values(
                id=original + 1, source_path="/in/strict.txt", record_index=0, content_sha256="f" * 64,
                title="Strike", body=COPIES["trimmed paragraph"], published_at_source="metadata", word_count=1,
                pipeline_version="v", first_seen_run_id=1, updated_run_id=1,
            )
        )  # fmt: skip
        links = link_near_duplicates(connection, [(original + 1, COPIES["trimmed paragraph"])], copy_similarity + 0.01)
    assert links == {}


def test_near_duplicates_deleting_the_original_makes_the_next_copy_the_first(engine: Engine) -> None:
    original, first_copy, second_copy = _store(
        engine, [ORIGINAL, COPIES["added boilerplate"], COPIES["a few words changed"]]
    )
    retire_file(engine, f"/in/{original}.txt")
    assert _originals(engine) == {first_copy: None, second_copy: first_copy}
    with engine.connect() as connection:
        assert connection.scalar(select(ArticleBandRow.article_id).where(ArticleBandRow.article_id == original)) is None
