import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import etl.extract
from etl.errors import InputError, RejectedInput
from etl.extract import discover, parse_file, read_source
from etl.records import DateSource, FileExtract, RawDocument, Rejection, SourceFile

MTIME_NS = 1_668_038_400_000_000_000  # 2022-11-10 00:00 UTC
MTIME = datetime(2022, 11, 10, tzinfo=UTC)

HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Harbour bridge reopens after repairs | The Riverside Gazette</title>
<meta property="og:title" content="Harbour bridge reopens after repairs">
<meta property="og:site_name" content="The Riverside Gazette">
<meta property="og:url" content="https://gazette.example/2023/04/harbour-bridge">
<meta property="article:published_time" content="2023-04-18T09:30:00+02:00">
</head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/weather">Weather</a></li></ul></nav>
<main><article>
<h1>Harbour bridge reopens after repairs</h1>
<p>The harbour bridge in Riverside reopened to traffic on Tuesday morning after eight months of structural
repairs, the city council said.</p>
<p>Engineers replaced forty steel cables and resurfaced the deck, work that cost the city about 12 million
euros according to the council's published accounts.</p>
<p>Mayor Elena Varga told reporters at the opening that the bridge would carry buses again from next week,
once the final safety inspection is complete.</p>
</article></main>
<footer><p>Contact us</p><p>Privacy policy</p></footer>
</body>
</html>
"""


def write_source(folder: Path, name: str, data: bytes) -> SourceFile:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(MTIME_NS, MTIME_NS))
    return SourceFile(path.as_posix(), len(data), MTIME_NS)


def extract(folder: Path, name: str, data: bytes) -> FileExtract:
    source = write_source(folder, name, data)
    return parse_file(source, read_source(source, max_file_bytes=1_000_000))


def txt_document(path: Path, title: str, text: str) -> RawDocument:
    return RawDocument(
        source_path=path.as_posix(),
        record_index=0,
        format="txt",
        title=title,
        text=text,
        published_at=MTIME,
        published_at_source=DateSource.MTIME,
    )


def rejection_reasons(result: FileExtract) -> list[tuple[int, str]]:
    return [(rejection.record_index, rejection.reason) for rejection in result.rejections]


# discover


def test_extract_discover_lists_regular_files_sorted_skipping_hidden_and_symlinked_folders(
    tmp_path: Path,
) -> None:
    write_source(tmp_path, "b.txt", b"bb")
    write_source(tmp_path, "a/z.json", b"{}")
    write_source(tmp_path, "a/2022/11/10/y.txt", b"yyy")
    write_source(tmp_path, ".hidden.txt", b"h")
    write_source(tmp_path, ".git/config", b"h")
    write_source(tmp_path, "a/.cache/x.txt", b"h")
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "c-link.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")

    found = list(discover(tmp_path))

    assert found == [
        SourceFile((tmp_path / "a/2022/11/10/y.txt").as_posix(), 3, MTIME_NS),
        SourceFile((tmp_path / "a/z.json").as_posix(), 2, MTIME_NS),
        SourceFile((tmp_path / "b.txt").as_posix(), 2, MTIME_NS),
        SourceFile((tmp_path / "c-link.txt").as_posix(), 2, MTIME_NS),
    ]


def test_extract_discover_escapes_a_name_that_is_not_utf8_and_reads_the_file_by_its_real_name(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/caf\xe9 \\ \xc3\xa9.txt"  # Latin-1 é, a backslash and a UTF-8 é
    descriptor = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(descriptor, b"Cafe\n\nText.")
    os.close(descriptor)

    [source] = discover(tmp_path)

    assert source.path == f"{tmp_path.as_posix()}/caf\\xe9 \\ é.txt"
    source.path.encode("utf-8")  # storable
    assert source.os_path is not None and os.fsencode(source.os_path) == name
    assert read_source(source, 100) == b"Cafe\n\nText."


def test_extract_discover_gives_absolute_paths_for_a_relative_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_source(tmp_path, "in/a.txt", b"a")
    monkeypatch.chdir(tmp_path)

    assert [source.path for source in discover(Path("in"))] == [(tmp_path / "in/a.txt").as_posix()]


def test_extract_discover_rejects_a_missing_folder_before_iterating(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=f"input folder does not exist: {tmp_path / 'nope'}"):
        discover(tmp_path / "nope")


def test_extract_discover_rejects_a_file_as_folder(tmp_path: Path) -> None:
    write_source(tmp_path, "a.txt", b"a")
    with pytest.raises(InputError, match=f"input folder is not a folder: {tmp_path / 'a.txt'}"):
        discover(tmp_path / "a.txt")


def test_extract_discover_names_a_folder_it_cannot_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 000 does not stop root (as in CI containers), so the listing itself is made to fail.
    write_source(tmp_path, "locked/a.txt", b"a")
    list_folder = os.scandir

    def scandir(path: Path) -> Iterator[os.DirEntry[str]]:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return list_folder(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputError, match=f"cannot list folder {tmp_path / 'locked'}: Permission denied"):
        list(discover(tmp_path))


# read_source


def test_extract_read_source_returns_the_bytes(tmp_path: Path) -> None:
    source = write_source(tmp_path, "a.txt", b"Title\n\nBody")
    assert read_source(source, max_file_bytes=11) == b"Title\n\nBody"


def test_extract_read_source_rejects_an_oversized_file_unread(tmp_path: Path) -> None:
    source = write_source(tmp_path, "big.txt", b"x" * 2_000)
    with pytest.raises(RejectedInput) as rejected:
        read_source(source, max_file_bytes=1_000)
    assert rejected.value.reason == "file is 2,000 bytes, over the limit of 1,000 bytes (max_file_bytes)"


def test_extract_read_source_rejects_a_file_that_grew_past_the_limit(tmp_path: Path) -> None:
    source = write_source(tmp_path, "a.txt", b"small")
    (tmp_path / "a.txt").write_bytes(b"x" * 1_500)
    with pytest.raises(RejectedInput) as rejected:
        read_source(source, max_file_bytes=1_000)
    assert rejected.value.reason == "file is 1,500 bytes, over the limit of 1,000 bytes (max_file_bytes)"


def test_extract_read_source_rejects_a_vanished_file(tmp_path: Path) -> None:
    source = write_source(tmp_path, "a.txt", b"a")
    (tmp_path / "a.txt").unlink()
    with pytest.raises(RejectedInput, match=r"^file vanished since it was found$"):
        read_source(source, max_file_bytes=1_000)


def test_extract_read_source_rejects_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 000 does not stop root (as in CI containers), so the permission error is raised by `open` itself.
    def denied(path: str, mode: str) -> None:
        raise PermissionError(13, "Permission denied", path)

    source = write_source(tmp_path, "a.txt", b"a")
    monkeypatch.setattr(etl.extract, "open", denied, raising=False)
    with pytest.raises(RejectedInput, match=r"^permission denied: the file cannot be read$"):
        read_source(source, max_file_bytes=1_000)


def test_extract_read_source_rejects_a_path_that_became_a_folder(tmp_path: Path) -> None:
    source = write_source(tmp_path, "a.txt", b"a")
    (tmp_path / "a.txt").unlink()
    (tmp_path / "a.txt").mkdir()
    with pytest.raises(RejectedInput, match=r"^cannot read the file: Is a directory$"):
        read_source(source, max_file_bytes=1_000)


# parse_file: plain text


def test_extract_txt_with_bom_and_crlf(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfBridge reopens\r\n\r\nThe bridge reopened.\r\nTraffic resumed.\r\n\r\nMore.\r\n"
    result = extract(tmp_path, "a.txt", data)
    assert result.documents == (
        txt_document(
            tmp_path / "a.txt",
            "Bridge reopens",
            "The bridge reopened.\nTraffic resumed.\n\nMore.",
        ),
    )
    assert result.rejections == ()


def test_extract_txt_with_old_mac_line_endings_and_no_extension(tmp_path: Path) -> None:
    result = extract(tmp_path, "bridge", b"Bridge reopens\r\rThe bridge reopened.\r")
    assert result.documents == (txt_document(tmp_path / "bridge", "Bridge reopens", "The bridge reopened."),)


def test_extract_txt_in_latin1(tmp_path: Path) -> None:
    text = "Café society\n\nThe café in Zürich charged £5 for a crème brûlée, the façade was repainted."
    result = extract(tmp_path, "a.text", text.encode("latin-1"))
    assert result.documents == (
        txt_document(
            tmp_path / "a.text",
            "Café society",
            "The café in Zürich charged £5 for a crème brûlée, the façade was repainted.",
        ),
    )


def test_extract_txt_in_utf16_with_bom(tmp_path: Path) -> None:
    result = extract(tmp_path, "a.txt", "Bridge reopens\r\n\r\nThe bridge reopened.".encode("utf-16"))
    assert result.documents == (txt_document(tmp_path / "a.txt", "Bridge reopens", "The bridge reopened."),)


def test_extract_txt_date_from_folder(tmp_path: Path) -> None:
    result = extract(tmp_path, "2023/04/18/a.txt", b"Bridge reopens\n\nThe bridge reopened.")
    assert result.documents[0].published_at == datetime(2023, 4, 18, tzinfo=UTC)
    assert result.documents[0].published_at_source == DateSource.PATH


def test_extract_txt_with_only_a_headline_is_rejected(tmp_path: Path) -> None:
    result = extract(tmp_path, "a.txt", b"\n\nBridge reopens\n\n  \n")
    assert result.documents == ()
    assert result.rejections == (
        Rejection((tmp_path / "a.txt").as_posix(), "no article text after the headline on line 1"),
    )


def test_extract_txt_holding_json_is_read_as_json(tmp_path: Path) -> None:
    result = extract(tmp_path, "a.txt", b'  {"title": "Bridge reopens", "text": "The bridge reopened."}')
    assert [(doc.format, doc.title, doc.text) for doc in result.documents] == [
        ("json", "Bridge reopens", "The bridge reopened.")
    ]


def test_extract_txt_opening_with_a_brace_stays_text(tmp_path: Path) -> None:
    result = extract(tmp_path, "a.txt", b"{Draft} Bridge reopens\n\nThe bridge reopened.")
    assert [(doc.format, doc.title, doc.text) for doc in result.documents] == [
        ("txt", "{Draft} Bridge reopens", "The bridge reopened.")
    ]


def test_extract_txt_holding_html_is_read_as_html(tmp_path: Path) -> None:
    result = extract(tmp_path, "page", HTML_PAGE.encode())
    assert [(doc.format, doc.title) for doc in result.documents] == [("html", "Harbour bridge reopens after repairs")]


# parse_file: JSON


def test_extract_json_object_with_every_field(tmp_path: Path) -> None:
    data = (
        b'{"title": "Bridge reopens", "body": "The bridge reopened.", "text": "ignored: body wins",'
        b' "url": "https://gazette.example/b", "source": "Riverside Gazette", "language": "en",'
        b' "published_at": "2023-04-18T09:30:00+02:00", "tags": ["ignored"]}'
    )
    result = extract(tmp_path, "a.json", data)
    assert result.documents == (
        RawDocument(
            source_path=(tmp_path / "a.json").as_posix(),
            record_index=0,
            format="json",
            title="Bridge reopens",
            text="The bridge reopened.",
            url="https://gazette.example/b",
            source="Riverside Gazette",
            language="en",
            published_at=datetime(2023, 4, 18, 7, 30, tzinfo=UTC),
            published_at_source=DateSource.METADATA,
        ),
    )


@pytest.mark.parametrize("date_field", ["date", "published"])
def test_extract_json_date_field_aliases(tmp_path: Path, date_field: str) -> None:
    data = f'{{"title": "T", "text": "Body.", "{date_field}": "18 April 2023"}}'.encode()
    document = extract(tmp_path, "a.json", data).documents[0]
    assert (document.published_at, document.published_at_source) == (
        datetime(2023, 4, 18, tzinfo=UTC),
        DateSource.METADATA,
    )


def test_extract_json_unparseable_date_falls_back_to_mtime(tmp_path: Path) -> None:
    document = extract(tmp_path, "a.json", b'{"title": "T", "text": "Body.", "date": "last week"}').documents[0]
    assert (document.published_at, document.published_at_source) == (MTIME, DateSource.MTIME)


def test_extract_json_array_keeps_good_records_and_rejects_bad_ones(tmp_path: Path) -> None:
    data = b"""[
        {"title": "First", "body": "One."},
        {"title": 42, "body": "Two."},
        "not an object",
        {"title": "Fourth", "text": "Four."}
    ]"""
    result = extract(tmp_path, "a.json", data)
    assert [(doc.record_index, doc.format, doc.title, doc.text) for doc in result.documents] == [
        (1, "json", "First", "One."),
        (4, "json", "Fourth", "Four."),
    ]
    assert rejection_reasons(result) == [
        (2, "record 2: field 'title' must be a string, got number"),
        (3, "record 3: expected a JSON object, got string"),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"body": "Text."}', "missing field 'title'"),
        (b'{"title": "T", "body": null}', "missing field 'body' (or 'text')"),
        (b'{"title": "  ", "body": "Text."}', "field 'title' is empty"),
        (b'{"title": "T", "body": ""}', "field 'body' is empty"),
        (b'{"title": ["T"], "body": "Text."}', "field 'title' must be a string, got array"),
        (b'{"title": "T", "body": {"p": 1}}', "field 'body' must be a string, got object"),
        (b'{"title": "T", "body": "B", "url": true}', "field 'url' must be a string, got boolean"),
        (
            b'{"title": "T", "body": "B", "published_at": 1668038400}',
            "field 'published_at' must be a string, got number",
        ),
        (
            b'{"title": "T", "body": "B",\n "url": "x" "source": "y"}',
            "invalid JSON: Expecting ',' delimiter (line 2, col 13)",
        ),
        (b"[]", "empty JSON array: no articles"),
        (b'"just a string"', "expected a JSON object or an array of objects, got string"),
    ],
)
def test_extract_json_file_rejections(tmp_path: Path, data: bytes, reason: str) -> None:
    result = extract(tmp_path, "a.json", data)
    assert result.documents == ()
    assert result.rejections == (Rejection((tmp_path / "a.json").as_posix(), reason),)


def test_extract_jsonl_with_bad_lines(tmp_path: Path) -> None:
    data = b"\n".join(
        [
            b'{"title": "First", "body": "One.", "date": "2023-04-18"}',
            b"",
            b'{"title": "A" "body": "x"}',
            b'{"title": "No body"}',
            b"[1, 2]",
            b'   {"title": "Sixth", "text": "Six."}   ',
            b"",
        ]
    )
    result = extract(tmp_path, "a.jsonl", data)
    assert [(doc.record_index, doc.format, doc.title, doc.text, doc.published_at) for doc in result.documents] == [
        (1, "jsonl", "First", "One.", datetime(2023, 4, 18, tzinfo=UTC)),
        (6, "jsonl", "Sixth", "Six.", MTIME),
    ]
    assert rejection_reasons(result) == [
        (3, "line 3: invalid JSON: Expecting ',' delimiter (col 15)"),
        (4, "line 4: missing field 'body' (or 'text')"),
        (5, "line 5: expected a JSON object, got array"),
    ]


def test_extract_ndjson_is_json_lines(tmp_path: Path) -> None:
    result = extract(tmp_path, "a.ndjson", b'{"title": "T", "body": "B."}\r\n{"title": "U", "body": "C."}\r\n')
    assert [(doc.record_index, doc.format, doc.title) for doc in result.documents] == [
        (1, "jsonl", "T"),
        (2, "jsonl", "U"),
    ]


# parse_file: HTML


def test_extract_html_page(tmp_path: Path) -> None:
    result = extract(tmp_path, "bridge.html", HTML_PAGE.encode())
    assert result.rejections == ()
    (document,) = result.documents
    assert (document.record_index, document.format, document.title) == (
        0,
        "html",
        "Harbour bridge reopens after repairs",
    )
    assert (document.url, document.source) == (
        "https://gazette.example/2023/04/harbour-bridge",
        "The Riverside Gazette",
    )
    assert (document.published_at, document.published_at_source) == (
        datetime(2023, 4, 18, tzinfo=UTC),
        DateSource.METADATA,
    )
    paragraphs = document.text.split("\n\n")
    assert "The harbour bridge in Riverside reopened to traffic on Tuesday morning" in paragraphs[1]
    assert paragraphs[-1].startswith("Mayor Elena Varga told reporters")
    for furniture in ("Home", "Sport", "Weather", "Contact us", "Privacy policy"):
        assert furniture not in paragraphs


def test_extract_html_without_article_text_is_rejected(tmp_path: Path) -> None:
    result = extract(
        tmp_path,
        "a.htm",
        b"<html><head><title>Empty</title></head><body><script>var x = 1;</script></body></html>",
    )
    assert rejection_reasons(result) == [(0, "no article text found in the HTML page")]


# parse_file: whole-file rejections


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b" \r\n\t\n", "empty file"),
        ("bom-only.json", b"\xef\xbb\xbf\n", "empty file"),
        ("nul.txt", b"Title\n\nBody\x00\x01\x02", "binary content, not text"),
        ("noise.txt", bytes(range(1, 256)) * 4, "binary content, not text"),
        ("report.pdf", b"%PDF-1.7", "unsupported file type '.pdf'"),
        ("photo.PNG", b"\x89PNG\r\n", "unsupported file type '.png'"),
        ("letter.docx", b"PK\x03\x04", "unsupported file type '.docx'"),
    ],
)
def test_extract_whole_file_rejections(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    result = extract(tmp_path, name, data)
    assert result.documents == ()
    assert result.rejections == (Rejection((tmp_path / name).as_posix(), reason),)


@settings(deadline=None)  # trafilatura and charset-normalizer warm up on first use
@given(
    suffix=st.sampled_from(["", ".txt", ".json", ".jsonl", ".html", ".pdf"]),
    data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
)
def test_extract_parse_file_never_raises(suffix: str, data: bytes) -> None:
    source = SourceFile(f"/in/article{suffix}", len(data), MTIME_NS)
    result = parse_file(source, data)
    assert result.documents or result.rejections
    assert all(rejection.reason for rejection in result.rejections)
