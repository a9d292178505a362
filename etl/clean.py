"""Clean: raw documents → articles with normalised text and no web boilerplate.

`clean_text` is the reusable core (the `annotate` command runs it on raw text too): unicode NFC, odd spaces
and line breaks made plain, invisible characters removed, each line stripped, boilerplate lines dropped
(patterns in etl/reference_data/boilerplate.txt), and paragraphs separated by exactly one blank line.
"""

import functools
import hashlib
import re
import sys
import unicodedata

from etl.errors import RejectedInput, article_stage
from etl.language import LanguagePolicy, article_language
from etl.records import Article, RawDocument
from etl.resources import REFERENCE_DIR
from etl.settings import MAX_ARTICLE_CHARS

BOILERPLATE_PATTERNS = REFERENCE_DIR / "boilerplate.txt"
_FOOTER_PREFIX = "footer: "

_LINE_BREAK = re.compile(r"\r\n?|[\v\f\x1c-\x1e\x85\u2028]")
_OTHER_SPACE = re.compile(r"[^\S\n]+")  # tabs, NBSP, thin and ideographic spaces, … and runs of them
_BLANK_LINES = re.compile(r"\n{3,}")
_BULLET = re.compile(r"^[•·▪►▶‣◦*\-–—]+\s*")


def clean_document(
    doc: RawDocument, languages: LanguagePolicy | None = None, max_chars: int = MAX_ARTICLE_CHARS
) -> Article:
    """The article in a raw document, with its language; `RejectedInput` when no text is left once boilerplate is
    removed, when its text is longer than `max_chars`, or when it is confidently in a language `languages` (by
    default English only) rejects. An unforeseen error of cleaning or language detection is an `ArticleFailed`."""
    with article_stage("cleaning"):
        title = _clean_title(doc.title or "")
        body = clean_text(doc.text)
    # Web pages often repeat the headline as the first paragraph; it is stored once, as the title.
    if title and (body == title or body.startswith(f"{title}\n\n")):
        body = body.removeprefix(title).lstrip("\n")
    if not body:
        raise RejectedInput("no article text after removing boilerplate")
    if not any(character.isalpha() for character in body):
        raise RejectedInput("no sentences: the article text has no words, only digits, punctuation or symbols")
    if len(body) > max_chars:
        raise RejectedInput(
            f"article text of {len(body):,} characters, over the limit of {max_chars:,} characters (max_article_chars)"
        )
    with article_stage("language detection"):
        language = article_language(f"{title}\n\n{body}", doc.language, languages or LanguagePolicy())
    return Article(
        source_path=doc.source_path,
        record_index=doc.record_index,
        title=title,
        body=body,
        content_sha256=hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest(),
        word_count=len(body.split()),
        url=doc.url,
        source=doc.source,
        language=language,
        published_at=doc.published_at,
        published_at_source=doc.published_at_source,
    )


def clean_text(text: str) -> str:
    """Normalised text without boilerplate lines; paragraphs separated by one blank line. Idempotent."""
    line_pattern, footer_pattern = _boilerplate()
    kept: list[str] = []
    for line in _normalise_characters(text).split("\n"):
        line = line.strip()
        core = _BULLET.sub("", line)
        if footer_pattern.fullmatch(core):
            break
        if not line_pattern.fullmatch(core):
            kept.append(line)
    return _BLANK_LINES.sub("\n\n", "\n".join(kept)).strip()


def _clean_title(title: str) -> str:
    return " ".join(_normalise_characters(title).split())


def _normalise_characters(text: str) -> str:
    """NFC text whose only line break is \\n and only space ' ' (runs collapsed), with nothing invisible."""
    text = _LINE_BREAK.sub("\n", text).replace("\u2029", "\n\n")
    # Removed before spaces are collapsed ("a \b b" has one space) and before NFC, so that NFC composes
    # what a reader sees ("e\u200b\u0301"); NFC itself creates no space or invisible character.
    text = _invisible_characters().sub("", text)
    text = _OTHER_SPACE.sub(" ", text)
    return unicodedata.normalize("NFC", text)


@functools.cache
def _invisible_characters() -> re.Pattern[str]:
    """Control characters (other than whitespace such as \\n and tab), format characters (zero-width spaces
    and joiners, BOM, soft hyphen, bidi marks) and lone surrogates, which cannot be stored as UTF-8."""
    code_points = [
        code
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Cs") and not chr(code).isspace()
    ]
    ranges: list[list[int]] = []
    for code in code_points:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in ranges) + "]")


@functools.cache
def _boilerplate() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The boilerplate line pattern and the footer pattern, each one alternation of the data file's lines."""
    lines, footers = [], []
    for entry in BOILERPLATE_PATTERNS.read_text(encoding="utf-8").splitlines():
        if not entry.strip() or entry.startswith("#"):
            continue
        if entry.startswith(_FOOTER_PREFIX):
            footers.append(entry.removeprefix(_FOOTER_PREFIX))
        else:
            lines.append(entry)
    return (
        re.compile("|".join(f"(?:{pattern})" for pattern in lines), re.IGNORECASE),
        re.compile("|".join(f"(?:{pattern})" for pattern in footers), re.IGNORECASE),
    )
