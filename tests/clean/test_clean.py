import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.clean import clean_document, clean_text
from etl.errors import RejectedInput
from etl.records import Article, DateSource, RawDocument

SEED_ARTICLE = "000_40024aaf683d07a5.txt"


@pytest.fixture
def shared_seed() -> Path:
    """The real war report the product was specified from, kept outside the repo (publisher-owned)."""
    path = Path(__file__).resolve().parents[2].parent / "shared" / "seeds" / SEED_ARTICLE
    if not path.exists():
        pytest.skip(f"shared seed article not available at {path}")
    return path


def raw(text: str, title: str | None = "Bridge reopens") -> RawDocument:
    return RawDocument(
        source_path="/in/a.txt",
        record_index=3,
        format="jsonl",
        title=title,
        text=text,
        url="https://gazette.example/b",
        source="Riverside Gazette",
        language="en",
        published_at=datetime(2023, 4, 18, tzinfo=UTC),
        published_at_source=DateSource.METADATA,
    )


# clean_text: characters and spacing


def test_clean_text_normalises_spaces_lines_and_paragraphs() -> None:
    text = (
        "  First\u00a0line  of\tone  paragraph. \r\n  Its second line.\r\n\r\n\r\n\n"
        " Next\u2003paragraph.\u2029Last one.  \n\n"
    )
    assert clean_text(text) == ("First line of one paragraph.\nIts second line.\n\nNext paragraph.\n\nLast one.")


def test_clean_text_removes_invisible_characters_and_composes_accents() -> None:
    text = "Zu\u0308rich\u200b ca\ufefffe\u0301 co\u00adoperation\x07 \u200eleft\x00 and right"
    assert clean_text(text) == "Zürich café cooperation left and right"


def test_clean_text_of_nothing_is_empty() -> None:
    assert clean_text(" \n\u00a0\n\u200b\t") == ""


# clean_text: boilerplate


@pytest.mark.parametrize(
    "line",
    [
        "Read more: Ministers meet in Brussels",
        "• Read more: Ministers meet in Brussels",
        "- READ MORE: Ministers meet in Brussels",
        "See also\u00a0The embassy reopens next week",
        "Related: Ten things to know about bridges",
        "Share this article",
        "Share this:",
        "Sign up for our newsletter",
        "Subscribe to our daily newsletter for the latest news",
        "Advertisement",
        "ADVERTISEMENT",
        "Click here to subscribe",
        "Follow us on Twitter and Facebook",
        "We use cookies to improve your experience on our site.",
        "By continuing to use this site you agree to our use of cookies.",
        "© 2022 Riverside Gazette",
        "Copyright 2022 Riverside Gazette. All rights reserved.",
        "Riverside Gazette. All Rights Reserved.",
        "Required fields are marked *",
    ],
)
def test_clean_text_drops_boilerplate_lines(line: str) -> None:
    text = f"The bridge reopened on Tuesday.\n\n{line}\n\nTraffic resumed at noon."
    assert clean_text(text) == "The bridge reopened on Tuesday.\n\nTraffic resumed at noon."


@pytest.mark.parametrize(
    "footer",
    ["Leave a Reply", "Leave a comment", "Your email address will not be published.", "Comments are closed."],
)
def test_clean_text_drops_a_comment_footer_and_everything_after(footer: str) -> None:
    text = f"The bridge reopened.\n\n{footer}\n\nName *\n\nGreat news, thanks!\n\nPost Comment"
    assert clean_text(text) == "The bridge reopened."


@pytest.mark.parametrize(
    "sentence",
    [
        "Readers were told to see also the council's report, which said more repairs are due.",
        "Copyright lawyers said the ruling would matter for publishers.",
        "The advertisement campaign cost the council 2 million euros.",
        "Shares in the bridge operator rose 4% after the reopening.",
        "Leave a reply to the consultation by Friday, the council told residents, if you want a say.",
        "He said: “We use cookies as an example of tracking,” adding that regulators agreed.",
    ],
)
def test_clean_text_keeps_news_sentences_that_mention_boilerplate_words(sentence: str) -> None:
    assert clean_text(f"The bridge reopened.\n\n{sentence}") == f"The bridge reopened.\n\n{sentence}"


def test_clean_text_on_the_real_seed_article(shared_seed: Path) -> None:
    raw_text = shared_seed.read_text(encoding="utf-8")
    cleaned = clean_text(raw_text)
    lines = cleaned.split("\n")

    assert not [line for line in lines if line.startswith(("• Read more", "Read more", "See also"))]
    assert "Leave a Reply" not in cleaned
    assert "Your email address will not be published" not in cleaned
    # the news stays, first paragraph to last, with its paragraph breaks
    assert lines[0] == "Ukraine announced its recapture of Kherson in Moscow"
    assert "Ukraine announced on Thursday the recapture of a dozen villages in the Kherson region" in cleaned
    assert "The silence of the Kremlin" in lines
    assert lines[-1].startswith("In a sign of a change in tone after US presidential adviser Jack Sullivan")
    assert "\n\n\n" not in cleaned and "\u00a0" not in cleaned
    kept_paragraphs = [p for p in raw_text.split("\n\n") if not p.lstrip("• ").startswith(("Read more", "See also"))]
    assert len(cleaned.split("\n\n")) == len(kept_paragraphs) - 2  # less "Leave a Reply" and the form's line


# clean_text: properties


@given(st.text())
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


@given(
    st.lists(
        st.one_of(
            st.text(),
            st.sampled_from(
                [
                    "\n",
                    "\r\n",
                    "\r",
                    "\n\n\n",
                    " ",
                    "\u00a0",
                    "\u200b",
                    "\x00",
                    "Read more: x",
                    "Leave a Reply",
                ]
            ),
        )
    ).map("".join)
)
def test_clean_text_output_is_plain(text: str) -> None:
    cleaned = clean_text(text)
    assert cleaned == cleaned.strip()
    assert "\r" not in cleaned and "\x00" not in cleaned and "\n\n\n" not in cleaned and "  " not in cleaned
    assert all(line == line.strip() for line in cleaned.split("\n"))
    cleaned.encode("utf-8")  # no lone surrogates


# clean_document


def test_clean_document_builds_the_article() -> None:
    doc = raw(
        "The bridge\u00a0reopened.\n\n\nRead more: Other news\n\nTraffic resumed.",
        title="  Bridge\n reopens ",
    )
    body = "The bridge reopened.\n\nTraffic resumed."
    assert clean_document(doc) == Article(
        source_path="/in/a.txt",
        record_index=3,
        title="Bridge reopens",
        body=body,
        content_sha256=hashlib.sha256(f"Bridge reopens\n\n{body}".encode()).hexdigest(),
        word_count=5,
        url="https://gazette.example/b",
        source="Riverside Gazette",
        language="en",
        published_at=datetime(2023, 4, 18, tzinfo=UTC),
        published_at_source=DateSource.METADATA,
    )


def test_clean_document_equal_content_has_equal_hash() -> None:
    first = clean_document(raw("The bridge reopened.\r\n\r\nAdvertisement\r\n\r\nTraffic resumed."))
    second = clean_document(raw("The  bridge reopened.\n\n\n\nTraffic resumed.\n\nLeave a Reply\n\nNice."))
    assert first.content_sha256 == second.content_sha256


def test_clean_document_drops_a_headline_repeated_as_first_paragraph() -> None:
    article = clean_document(raw("Bridge reopens\n\nThe bridge reopened."))
    assert article.body == "The bridge reopened."


def test_clean_document_keeps_a_first_paragraph_that_only_starts_like_the_headline() -> None:
    article = clean_document(raw("Bridge reopens to buses on Monday.\n\nThe bridge reopened."))
    assert article.body == "Bridge reopens to buses on Monday.\n\nThe bridge reopened."


def test_clean_document_without_a_title_has_an_empty_one() -> None:
    assert clean_document(raw("The bridge reopened.", title=None)).title == ""


@pytest.mark.parametrize("text", ["Read more: Other news\n\nAdvertisement", "Leave a Reply\n\nNice article", "\u200b"])
def test_clean_document_rejects_a_body_of_only_boilerplate(text: str) -> None:
    with pytest.raises(RejectedInput) as rejected:
        clean_document(raw(text))
    assert rejected.value.reason == "no article text after removing boilerplate"
