"""Extract: files under the input folder → raw documents, one per article, or rejections saying why not.

`discover` lists the files, `read_source` reads one within the size limit, and `parse_file` turns its bytes
into `RawDocument`s. Bad content never raises out of `parse_file`: a bad file becomes one `Rejection`, and a
bad record of a multi-record file (JSON array, JSON lines) becomes a `Rejection` of that record only.
"""

import codecs
import json
import os
import stat
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import charset_normalizer
import trafilatura

from etl.errors import InputError, RejectedInput
from etl.pubdate import publication_date
from etl.records import FileExtract, RawDocument, Rejection, SourceFile

_FORMAT_BY_SUFFIX = {
    "": "txt",
    ".txt": "txt",
    ".text": "txt",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".html": "html",
    ".htm": "html",
}
_DATE_FIELDS = ("published_at", "date", "published")
_JSON_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
}

# Only dates in the page's markup and URL count as metadata: htmldate's extensive search would also take
# the first date-like string in the text, which is often an event date, not the publication date.
_HTML_DATE_PARAMS = {"original_date": True, "extensive_search": False}


def discover(input_dir: Path) -> Iterator[SourceFile]:
    """The regular files under `input_dir`, in sorted path order, skipping hidden files and folders.

    Symlinked folders are not entered (no loops); symlinked files are listed. Raises `InputError` at once
    when `input_dir` is missing or not a folder, and while walking when a subfolder cannot be listed.
    """
    root = Path(os.path.abspath(input_dir))
    if not root.exists():
        raise InputError(f"input folder does not exist: {storable_path(str(root))}")
    if not root.is_dir():
        raise InputError(f"input folder is not a folder: {storable_path(str(root))}")
    return _walk(str(root))


def _walk(folder: str) -> Iterator[SourceFile]:
    # Paths stay strings: a Path per file was half the time of planning a large folder that has not changed.
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        raise InputError(f"cannot list folder {storable_path(str(folder))}: {error.strerror}") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path)
            continue
        try:
            status = entry.stat()  # follows a symlink: a link to a file is listed, a link to a folder is not
        except FileNotFoundError:  # a dangling symlink, or removed while walking
            continue
        except OSError:  # a symlink loop, or a link it cannot follow: listed, so reading it records why it failed
            yield _source_file(entry.path, entry.stat(follow_symlinks=False))
            continue
        if stat.S_ISREG(status.st_mode):
            yield _source_file(entry.path, status)


def _source_file(path: str, status: os.stat_result) -> SourceFile:
    posix = path if os.sep == "/" else path.replace(os.sep, "/")  # as `Path.as_posix()` spells it, without a Path
    stored = storable_path(posix)
    return SourceFile(stored, status.st_size, status.st_mtime_ns, None if stored == posix else posix)


def storable_path(path: str) -> str:
    """`path` as stored and shown: each byte of a name that is not valid UTF-8 written `\\xNN`, the rest unchanged.

    Python lists such a name with lone surrogates (PEP 383), which SQLite and PostgreSQL cannot store: the batch
    holding the file failed. The file is loaded, not rejected: a name from an old Latin-1 archive says nothing
    against its content, and a rejection would need a storable path all the same. `\\xNN` (Python's
    backslashreplace) leaves every UTF-8 path exactly as before, so existing rows keep matching, and the same name
    gives the same stored path on every run, so the file is found unchanged next time; each `\\xNN` gives back its
    byte. Only a UTF-8 name spelling a literal `\\xNN` beside a file whose
    name holds that byte would share its stored path.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def read_source(source: SourceFile, max_file_bytes: int) -> bytes:
    """The file's bytes; `RejectedInput` when it is over the limit, unreadable, gone, or changed since it was found."""
    if source.size > max_file_bytes:
        raise RejectedInput(_too_large(source.size, max_file_bytes))
    try:
        with open(source.os_path or source.path, "rb") as file:
            data = file.read(max_file_bytes + 1)  # it may have grown since discovery
            after = os.fstat(file.fileno())
            if len(data) > max_file_bytes:
                raise RejectedInput(_too_large(after.st_size, max_file_bytes))
            # Written to while being read, or since it was found: the bytes may be half old, half new. Its
            # recorded size and mtime are those found, so the next run sees it changed and reads it again.
            if (after.st_size, after.st_mtime_ns) != (source.size, source.mtime_ns) or len(data) != after.st_size:
                raise RejectedInput("file changed while being read; the next run reads it again")
    except FileNotFoundError:
        raise RejectedInput("file vanished since it was found") from None
    except PermissionError:
        raise RejectedInput("permission denied: the file cannot be read") from None
    except OSError as error:
        raise RejectedInput(f"cannot read the file: {error.strerror}") from None
    return data


def _too_large(size: int, max_file_bytes: int) -> str:
    return f"file is {size:,} bytes, over the limit of {max_file_bytes:,} bytes (max_file_bytes)"


def parse_file(source: SourceFile, data: bytes) -> FileExtract:
    """The documents in one file's bytes, and rejections for what cannot be loaded. Never raises. The bytes' hash is
    the reader's, which compares it with the last loaded one before parsing (`etl.pipeline`)."""
    try:
        suffix = PurePosixPath(source.path).suffix.lower()
        if suffix not in _FORMAT_BY_SUFFIX:
            raise RejectedInput(f"unsupported file type '{suffix}'")
        text = _decode(data)
        file_format = _sniff_format(_FORMAT_BY_SUFFIX[suffix], text)
        if file_format == "jsonl":
            results = _jsonl_documents(source, text)
        elif file_format == "json":
            results = _json_file_documents(source, text)
        elif file_format == "html":
            results = [_html_document(source, text)]
        else:
            results = [_text_document(source, text)]
    except RejectedInput as rejected:
        return FileExtract(source, rejections=(Rejection(source.path, rejected.reason),))
    return FileExtract(
        source,
        documents=tuple(result for result in results if isinstance(result, RawDocument)),
        rejections=tuple(result for result in results if isinstance(result, Rejection)),
    )


def _decode(data: bytes) -> str:
    """Text with \\n line endings: UTF-8 (BOM stripped), UTF-16 with a BOM, else the likeliest code page."""
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        elif b"\x00" in data:
            raise RejectedInput("binary content, not text")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _decode_legacy(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise RejectedInput("empty file")
    return text


def _decode_legacy(data: bytes) -> str:
    # A few accented bytes are too little for charset-normalizer to tell code pages apart, and it may rank a
    # look-alike first (a Latin-1 '£' read as cp932 '｣'). Legacy files in an English news corpus are nearly
    # always Windows-1252 (a superset of Latin-1), so it wins whenever charset-normalizer finds it plausible.
    matches = charset_normalizer.from_bytes(data)
    guess = next((match for match in matches if match.encoding == "cp1252"), matches.best())
    if guess is None:
        raise RejectedInput("binary content, not text")
    return str(guess)


def _sniff_format(file_format: str, text: str) -> str:
    """The format named by the file's extension, except that a plain-text file may hold JSON or HTML."""
    if file_format != "txt":
        return file_format
    start = text.lstrip()[:15].lower()
    if start.startswith(("<!doctype html", "<html")):
        return "html"
    if start.startswith("{"):
        try:
            if isinstance(_load_json(text, with_line=True), dict):
                return "json"
        except RejectedInput:
            pass  # prose that happens to open with a brace
    return "txt"


def _text_document(source: SourceFile, text: str) -> RawDocument:
    """Plain text: the headline on the first line, the body after it."""
    headline, _, body = text.strip().partition("\n")
    if not body.strip():
        raise RejectedInput("no article text after the headline on line 1")
    published_at, date_source = publication_date(None, source.path, source.mtime_ns)
    return RawDocument(
        source_path=source.path,
        record_index=0,
        format="txt",
        title=headline.strip(),
        text=body.strip(),
        published_at=published_at,
        published_at_source=date_source,
    )


def _html_document(source: SourceFile, text: str) -> RawDocument:
    """A web page: trafilatura's main text, and title, URL, site name and date from its metadata."""
    # Tables kept and comments dropped: the best body word F1 on the 181-page benchmark (0.959 vs 0.948
    # for trafilatura's defaults); favor_precision loses more recall than it gains precision.
    page = trafilatura.bare_extraction(
        text,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params=_HTML_DATE_PARAMS,
    )
    if page is None or not page.text or not page.text.strip():
        raise RejectedInput("no article text found in the HTML page")
    published_at, date_source = publication_date(page.date, source.path, source.mtime_ns)
    return RawDocument(
        source_path=source.path,
        record_index=0,
        format="html",
        title=page.title,
        # trafilatura puts one block (paragraph, heading, list item) per line; make each a paragraph.
        text="\n\n".join(page.text.split("\n")),
        url=page.url,
        source=page.sitename,
        published_at=published_at,
        published_at_source=date_source,
    )


def _json_file_documents(source: SourceFile, text: str) -> list[RawDocument | Rejection]:
    """A `.json` file: one article object, or an array of them (record_index 1..n)."""
    value = _load_json(text, with_line=True)
    if isinstance(value, dict):
        return [_json_document(source, 0, "json", value)]
    if not isinstance(value, list):
        raise RejectedInput(f"expected a JSON object or an array of objects, got {_json_type(value)}")
    if not value:
        raise RejectedInput("empty JSON array: no articles")
    return [
        _record_or_rejection(source, number, f"record {number}", partial(_json_document, source, number, "json", item))
        for number, item in enumerate(value, start=1)
    ]


def _jsonl_documents(source: SourceFile, text: str) -> list[RawDocument | Rejection]:
    """A JSON-lines file: one article object per line (record_index = line number), blank lines ignored."""
    return [
        _record_or_rejection(source, number, f"line {number}", partial(_jsonl_document, source, number, line))
        for number, line in enumerate(text.split("\n"), start=1)
        if line.strip()
    ]


def _jsonl_document(source: SourceFile, number: int, line: str) -> RawDocument:
    return _json_document(source, number, "jsonl", _load_json(line, with_line=False))


def _record_or_rejection(
    source: SourceFile, record_index: int, label: str, parse: Callable[[], RawDocument]
) -> RawDocument | Rejection:
    """One record of a multi-record file: its document, or a rejection of that record alone."""
    try:
        return parse()
    except RejectedInput as rejected:
        return Rejection(source.path, f"{label}: {rejected.reason}", record_index=record_index)


def _load_json(text: str, *, with_line: bool) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, col {error.colno}" if with_line else f"col {error.colno}"
        raise RejectedInput(f"invalid JSON: {error.msg} ({where})") from None
    except RecursionError:  # the parser recurses per bracket, and gives up long before the text ends: linear
        raise RejectedInput("invalid JSON: arrays or objects nested too deeply to read") from None


def _json_document(source: SourceFile, record_index: int, file_format: str, record: Any) -> RawDocument:
    """An article object: `title`, `body` or `text` (body wins), and optional url, source, date, language."""
    if not isinstance(record, dict):
        raise RejectedInput(f"expected a JSON object, got {_json_type(record)}")
    title = _required_string(record, "title", "'title'")
    body_field = "body" if record.get("body") is not None else "text"
    body = _required_string(record, body_field, "'body' (or 'text')")
    date_value = next((value for name in _DATE_FIELDS if (value := _optional_string(record, name)) is not None), None)
    published_at, date_source = publication_date(date_value, source.path, source.mtime_ns)
    return RawDocument(
        source_path=source.path,
        record_index=record_index,
        format=file_format,
        title=title,
        text=body,
        url=_optional_string(record, "url"),
        source=_optional_string(record, "source"),
        language=_optional_string(record, "language"),
        published_at=published_at,
        published_at_source=date_source,
    )


def _required_string(record: dict[str, Any], name: str, described: str) -> str:
    value = _optional_string(record, name)
    if value is None:
        raise RejectedInput(f"missing field {described}")
    if not value.strip():
        raise RejectedInput(f"field '{name}' is empty")
    return value


def _optional_string(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise RejectedInput(f"field '{name}' must be a string, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(value), "null")
