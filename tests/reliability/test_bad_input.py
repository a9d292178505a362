"""Bad input through a real nightly run: every file ends in a known state, a rejected one with a specific reason
in `rejected_files`, and the run goes on to load the good files."""

import builtins
import itertools
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from newsetl_process import NEWSETL, cli_env  # tests/newsetl_process.py
from sqlalchemy import Engine, select
from test_faults import snapshot

import etl.extract
from etl.clean import clean_text
from etl.database import create_engine_for
from etl.integrity import check_database
from etl.models import ArticleRow, RejectedFileRow, SourceFileRow
from flows.nightly import nightly

MAX_FILE_BYTES = 1_000_000
MAX_ARTICLE_CHARS = 200_000
TINY_PARAGRAPHS = 20_000
FEED_RECORDS = 100  # one file of many records: several spaCy batches (nlp_batch_size 16), each record an article
ARTICLE = "Germany pledged aid to Ukraine on Tuesday. Berlin will send generators to Kyiv."

LONG_PARAGRAPH_CHARS = 60_000


def long_paragraph(chars: int) -> str:
    """One paragraph, no line break, of distinct news-like sentences (annotation time once grew with its square)."""
    people = ["The foreign minister", "A spokeswoman for the army", "Protesters in Tbilisi", "The central bank",
              "Local officials in Odesa", "Chinese diplomats", "The mayor of Warsaw", "Opposition leaders"]  # fmt: skip
    acts = ["condemned the strike on", "announced new loans for", "held talks with", "blocked roads leading to",
            "promised to rebuild", "accused the militia of shelling", "delivered medicine to"]  # fmt: skip
    places = ["Mykolaiv", "the port of Izmail", "Chisinau", "the Georgian parliament", "Zaporizhzhia", "Vilnius"]
    times = ["on Friday", "early on Saturday", "two days ago", "in October", "before the summit"]
    sentences = []
    for number, (who, act, place, when) in enumerate(itertools.product(people, acts, places, times)):
        sentences.append(f"{who} {act} {place} {when}, according to report {number}.")
        if sum(map(len, sentences)) + len(sentences) >= chars:
            break
    return " ".join(sentences)


# name → (bytes, the reason it is rejected with; None when it loads)
BAD_FILES: dict[str, tuple[bytes, str | None]] = {
    "empty.txt": (b"", "empty file"),
    "whitespace.txt": (b" \n\t\r\n  \n", "empty file"),
    "image.txt": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4,
        "binary content, not text",
    ),
    "document.txt": (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nstream\n" + bytes(range(1, 256)) * 4,
        "binary content, not text",
    ),
    "archive.txt": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4, "binary content, not text"),
    "huge.txt": (b"Huge\n\n" + b"word " * 220_000, "over the limit of 1,000,000 bytes (max_file_bytes)"),
    "nul.txt": (b"Title\n\nSome text\x00with a NUL byte.", "binary content, not text"),
    "no-sentences.txt": (b"Figures\n\n... --- 123 456 !!! %%%", "no sentences: the article text has no words"),
    "headline-only.txt": (b"Just a headline\n", "no article text after the headline on line 1"),
    "malformed.json": (b'{"title": "Aid", "body": "text"', "invalid JSON: Expecting ',' delimiter (line 1, col 32)"),
    "wrong-types.json": (
        json.dumps({"title": 5, "body": ARTICLE}).encode(),
        "field 'title' must be a string, got number",
    ),
    "missing-body.json": (json.dumps({"title": "Aid"}).encode(), "missing field 'body' (or 'text')"),
    "no-body.html": (
        b"<html><head><title>Aid</title></head><body></body></html>",
        "no article text found in the HTML page",
    ),
    "nested.html": (
        b"<html><body>" + b"<div>" * 5_000 + b"<p>Deep.</p>" + b"</div>" * 5_000 + b"</body></html>",
        "no article text found in the HTML page",
    ),
    "invalid.html": (b"<html><body><p>Unclosed <div><b>\xff\xfe<<>>&&;</i></body>", None),
    "crlf-bom.txt": (b"\xef\xbb\xbfAid pledged\r\n\r\n" + ARTICLE.encode() + b"\r\n", None),
    "latin1-mixed.txt": (
        "Café talks\n\nThe café in Kyiv reopened on Monday, officials said. ".encode() + b"Prices rose 5\xa3.",
        None,
    ),
    "long-line.txt": (b"Long line\n\n" + (ARTICLE.encode() + b" ") * 100, None),
    "long-paragraph.txt": (b"Long paragraph\n\n" + long_paragraph(LONG_PARAGRAPH_CHARS).encode(), None),
    "impossible-date.json": (
        json.dumps({"title": "Impossible date", "body": ARTICLE, "published_at": "2022-02-30"}).encode(),
        None,
    ),
    "odd name ü 'q\" ;DROP TABLE articles;--.txt": (b"Odd name\n\nRussian forces attacked Kharkiv on Sunday.", None),
    # A German article, written for this test: confidently not English, so rejected by the default settings.
    "german.txt": (
        "Hilfe für Kiew\n\nDie Bundesregierung hat am Dienstag weitere Hilfen für die Ukraine zugesagt. Berlin "
        "werde Stromgeneratoren nach Kiew schicken, sagte eine Sprecherin des Auswärtigen Amts.".encode(),
        "language 'de' detected (confidence 1.00), not an accepted language (en): add it to "
        "NEWSETL_ACCEPTED_LANGUAGES, or set NEWSETL_OTHER_LANGUAGES=keep to load it",
    ),
    # Pathological shapes, each read in time linear in its size (docs/reliability.md has the figures).
    "deep.json": (b"[" * 200_000 + b"]" * 200_000, "invalid JSON: arrays or objects nested too deeply to read"),
    "deep-records.json": (
        b'[{"title": "Aid", "body": "' + ARTICLE.encode() + b'"}, ' + b"[" * 100_000 + b"]" * 100_000 + b"]",
        "invalid JSON: arrays or objects nested too deeply to read",
    ),
    "deeper.html": (
        b"<html><body>" + b"<div>" * 50_000 + b"<p>Deep.</p>" + b"</div>" * 50_000 + b"</body></html>",
        "no article text found in the HTML page",
    ),
    "tiny-paragraphs.txt": (
        b"Tiny paragraphs\n\n" + b"Aid.\n\n" * TINY_PARAGRAPHS,
        None,
    ),
    "utf16-bom.txt": (f"Aid in UTF-16\n\n{ARTICLE} Zürich, Kraków.".encode("utf-16"), None),
    "invisible.txt": (
        "Aid\u200b promised\n\n\u202eGermany\u202c pledged\u200d aid to\u2066 Ukraine\u2069 on \u200fTuesday.\ufeff "
        "Berlin will send generators to\u00ad Kyiv.".encode(),
        None,
    ),
    "emoji.txt": (
        "🇺🇦 Aid 🙏🏽\n\nGermany pledged aid 🙏🏽 to Ukraine on Tuesday. 👍 Berlin will send generators to "
        "Kyiv.".encode(),
        None,
    ),
    "too-long.txt": (
        b"Too long\n\n" + " ".join([long_paragraph(LONG_PARAGRAPH_CHARS)] * 4).encode(),
        "over the limit of 200,000 characters (max_article_chars)",
    ),
    # A declared language that is no language tag, and longer than the column: ignored, never stored.
    "long-language.json": (
        json.dumps(
            {"title": "Aid for Kyiv", "body": ARTICLE, "language": "English as written in the Kyiv newsroom"}
        ).encode(),
        None,
    ),
}
# A JSON-lines file: the bad lines are rejected alone, the good records load.
LINES = [json.dumps({"title": "Talks", "body": "Serbian and Kosovo leaders met in Brussels on Monday."}), "{not json",
         json.dumps({"title": ["a"], "body": "x"}), json.dumps(["an", "array"])]  # fmt: skip
LINE_REASONS = {
    2: "line 2: invalid JSON: Expecting property name enclosed in double quotes (col 2)",
    3: "line 3: field 'title' must be a string, got array",
    4: "line 4: expected a JSON object, got array",
}


def _rejections(engine: Engine) -> dict[tuple[str, int], str]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(RejectedFileRow.source_path, RejectedFileRow.record_index, RejectedFileRow.reason)
        )
        return {(Path(path).name, index): reason for path, index, reason in rows}


@pytest.mark.slow
def test_bad_input_each_kind_is_rejected_with_its_reason_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite alone: reading, cleaning and annotating do not depend on the database; what PostgreSQL refuses to
    # store is tested in tests/load.
    engine = create_engine_for(f"sqlite:///{tmp_path / 'newsetl.db'}")
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, (data, _) in BAD_FILES.items():
        (folder / name).write_bytes(data)
    (folder / "records.jsonl").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    feed = [json.dumps({"title": f"Aid {n}", "body": f"{ARTICLE} Shipment {n} left."}) for n in range(FEED_RECORDS)]
    (folder / "feed.jsonl").write_text("\n".join(feed) + "\n", encoding="utf-8")
    (folder / "good.txt").write_text(f"Aid\n\n{ARTICLE}\n", encoding="utf-8")
    os.symlink("loop-b.txt", folder / "loop-a.txt")
    os.symlink("loop-a.txt", folder / "loop-b.txt")
    for name in ("locked.txt", "vanishing.txt", "changing.txt"):
        (folder / name).write_text(f"{name}\n\n{ARTICLE} {name}\n", encoding="utf-8")

    # Root reads any file whatever its mode, so a denied read, a file deleted between listing and reading, and
    # one written to while it is read are made at the moment `read_source` opens them.
    def troubled_open(path: str, *args: Any, **kwargs: Any) -> Any:
        name = Path(path).name
        if name == "locked.txt":
            raise PermissionError(13, "Permission denied", path)
        if name == "vanishing.txt":
            os.unlink(path)
        if name == "changing.txt":
            with builtins.open(path, "a", encoding="utf-8") as writer:
                writer.write("A paragraph added while the file was read.\n")
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(etl.extract, "open", troubled_open, raising=False)
    monkeypatch.setenv("NEWSETL_MAX_FILE_BYTES", str(MAX_FILE_BYTES))
    monkeypatch.setenv("NEWSETL_MAX_ARTICLE_CHARS", str(MAX_ARTICLE_CHARS))

    counts = nightly(input_dir=str(folder), db_url=engine.url.render_as_string(hide_password=False))

    rejected = _rejections(engine)
    for name, (_, reason) in BAD_FILES.items():
        if reason is None:
            assert (name, 0) not in rejected, f"{name} was rejected: {rejected.get((name, 0))}"
        else:
            assert reason in rejected.get((name, 0), ""), f"{name}: {rejected.get((name, 0))!r}"
    for index, reason in LINE_REASONS.items():
        assert rejected[("records.jsonl", index)] == reason
    assert (
        rejected[("loop-a.txt", 0)]
        == rejected[("loop-b.txt", 0)]
        == ("cannot read the file: Too many levels of symbolic links")
    )
    assert rejected[("locked.txt", 0)] == "permission denied: the file cannot be read"
    assert rejected[("vanishing.txt", 0)] == "file vanished since it was found"
    assert rejected[("changing.txt", 0)] == "file changed while being read; the next run reads it again"

    with engine.connect() as connection:
        statuses = dict(connection.execute(select(SourceFileRow.path, SourceFileRow.status)).all())
        stored = connection.execute(select(ArticleRow.source_path, ArticleRow.title, ArticleRow.body)).all()
    loaded_names = {Path(path).name for path, _, _ in stored}
    expected_loaded = {name for name, (_, reason) in BAD_FILES.items() if reason is None} | {
        "good.txt",
        "records.jsonl",
        "feed.jsonl",
    }
    assert loaded_names == expected_loaded
    # Every file listed ends in a known state; the vanished one was gone before it could be recorded as read.
    assert len(statuses) == len(BAD_FILES) + 8 - 1 + 1
    assert sum(path.endswith("/feed.jsonl") for path, _, _ in stored) == FEED_RECORDS
    assert counts.loaded == len(expected_loaded) and counts.rejected == len(statuses) - len(expected_loaded)
    with engine.connect() as connection:
        languages = dict(connection.execute(select(ArticleRow.source_path, ArticleRow.language)).all())
    assert set(languages.values()) <= {"en", None}, languages
    # Two short sentences are not detected confidently, and the declared value is no language tag: unknown.
    assert languages[(folder / "long-language.json").as_posix()] is None
    [long_body] = [body for path, _, body in stored if path.endswith("/long-paragraph.txt")]
    assert len(long_body) >= LONG_PARAGRAPH_CHARS and "\n" not in long_body  # loaded whole, one paragraph
    for _, title, body in stored:
        assert "\r" not in body and "\ufeff" not in title + body and "\x00" not in body
        assert not set("\u200b\u200d\u200f\u202c\u202e\u2066\u2069\u00ad") & set(title + body)  # invisible: removed
    bodies = {Path(path).name: body for path, _, body in stored}
    assert bodies["invisible.txt"].startswith("Germany pledged aid to Ukraine on Tuesday.")
    assert "🙏🏽 to Ukraine on Tuesday. 👍" in bodies["emoji.txt"] and "Zürich, Kraków" in bodies["utf16-bom.txt"]
    assert len(bodies["tiny-paragraphs.txt"].split("\n\n")) == TINY_PARAGRAPHS
    assert check_database(engine) == []

    # The next run reads again the file that changed while it was read, and it loads.
    monkeypatch.setattr(etl.extract, "open", builtins.open, raising=False)
    again = nightly(input_dir=str(folder), db_url=engine.url.render_as_string(hide_password=False))
    assert again.loaded == 1 + 1  # changing.txt, and locked.txt now that it can be read
    # Files that still cannot be read (too large, symlink loops) are tried again but not rejected anew: a run over
    # an unchanged folder adds no rows, and they keep their status and reason.
    assert again.rejected == 0

    def row_counts() -> tuple[int, int]:
        with engine.connect() as connection:
            return (
                len(connection.execute(select(RejectedFileRow.id)).all()),
                len(connection.execute(select(ArticleRow.id)).all()),
            )

    before = row_counts()
    third = nightly(input_dir=str(folder), db_url=engine.url.render_as_string(hide_password=False))
    assert (third.loaded, third.rejected) == (0, 0)
    assert row_counts() == before
    with engine.connect() as connection:
        statuses = dict(connection.execute(select(SourceFileRow.path, SourceFileRow.status)).all())
    assert {statuses[(folder / name).as_posix()] for name in ("huge.txt", "loop-a.txt")} == {"rejected"}


def test_bad_input_a_missing_input_folder_is_a_clear_error(engine: Engine, tmp_path: Path) -> None:
    from etl.errors import InputError

    with pytest.raises(InputError, match=f"^input folder does not exist: {tmp_path / 'nowhere'}$"):
        nightly(input_dir=str(tmp_path / "nowhere"), db_url=engine.url.render_as_string(hide_password=False))


@pytest.mark.slow
def test_bad_input_a_file_name_that_is_not_utf8_loads_under_an_escaped_path_and_stays_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    # Names from an old Latin-1 archive: bytes that are not UTF-8, in a folder name and a file name.
    folder = tmp_path / "articles"
    latin1_folder = os.fsencode(folder) + b"/d\xfcsseldorf"
    os.makedirs(latin1_folder)
    descriptor = os.open(latin1_folder + b"/caf\xe9.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(descriptor, f"Aid\n\n{ARTICLE}\n".encode())
    os.close(descriptor)
    (folder / "talks.txt").write_text("Talks\n\nSerbian and Kosovo leaders met in Brussels on Monday.\n")
    db_url = engine.url.render_as_string(hide_password=False)

    first = nightly(input_dir=str(folder), db_url=db_url)

    escaped = f"{folder.as_posix()}/d\\xfcsseldorf/caf\\xe9.txt"  # each byte that is not UTF-8 written \xNN
    with engine.connect() as connection:
        statuses = dict(connection.execute(select(SourceFileRow.path, SourceFileRow.status)).all())
        articles = connection.execute(select(ArticleRow.source_path, ArticleRow.title)).all()
    assert (first.loaded, first.rejected) == (2, 0)
    assert statuses == {escaped: "loaded", f"{folder.as_posix()}/talks.txt": "loaded"}
    assert (escaped, "Aid") in articles
    # Reversible: reading the \xNN escapes back gives the bytes of the name.
    assert escaped.encode().decode("unicode_escape").encode("latin-1") == latin1_folder + b"/caf\xe9.txt"
    assert check_database(engine) == []

    second = nightly(input_dir=str(folder), db_url=db_url)
    assert (second.loaded, second.skipped, second.rejected, second.duplicate) == (0, 2, 0, 0)
    with engine.connect() as connection:
        assert len(connection.execute(select(ArticleRow.id)).all()) == 2
        assert len(connection.execute(select(SourceFileRow.path)).all()) == 2


@pytest.mark.slow
def test_bad_input_a_2mb_single_paragraph_is_rejected_in_seconds_and_the_rest_loads(
    corpus: Path, tmp_path: Path, prefect_api_url: str
) -> None:
    db_url = f"sqlite:///{tmp_path / 'newsetl.db'}"  # rejected before anything reaches the database
    # A log pasted into a .txt: one paragraph of 2,000,000 characters. spaCy refused it ([E088]), failing the run.
    body = ((long_paragraph(200_000) + " ") * 10)[:2_000_000]
    (corpus / "pasted-log.txt").write_text(f"Pasted log\n\n{body}", encoding="utf-8")
    command = [str(NEWSETL), "run", "--input", str(corpus), "--db", db_url]
    env = cli_env(tmp_path, prefect_api_url)  # the default settings

    started = time.monotonic()
    first = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - started

    assert first.returncode == 0, first.stdout + first.stderr
    assert seconds < 120 and "Traceback" not in first.stdout + first.stderr
    summary = " ".join(first.stdout.split())
    assert "files loaded │ 6 │" in summary and "files rejected │ 1 │" in summary, first.stdout
    [(path, _, _, reason)] = snapshot(db_url, corpus)["rejected_files"]
    assert (path, reason) == (
        "pasted-log.txt",
        f"article text of {len(clean_text(body)):,} characters, over the limit of 500,000 characters "
        "(max_article_chars)",
    )
    # The next run (the flow in this process: a newsetl process costs about 10 CPU-seconds before any work).
    assert nightly(input_dir=str(corpus), db_url=db_url).skipped == 7
