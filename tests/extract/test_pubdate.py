from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.pubdate import publication_date
from etl.records import DateSource

MTIME_NS = 1_668_038_400_123_456_789  # 2022-11-10 00:00:00.123456789 UTC
MTIME = datetime(2022, 11, 10, 0, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("metadata_value", "expected"),
    [
        ("2022-11-10", datetime(2022, 11, 10, tzinfo=UTC)),
        ("2022-11-10T14:03:00Z", datetime(2022, 11, 10, 14, 3, tzinfo=UTC)),
        ("2022-11-10T16:03:00+02:00", datetime(2022, 11, 10, 14, 3, tzinfo=UTC)),
        ("  2022-11-10 14:03  ", datetime(2022, 11, 10, 14, 3, tzinfo=UTC)),
        ("Thu, 10 Nov 2022 14:03:00 GMT", datetime(2022, 11, 10, 14, 3, tzinfo=UTC)),
        ("10 November 2022", datetime(2022, 11, 10, tzinfo=UTC)),
        ("10 novembre 2022", datetime(2022, 11, 10, tzinfo=UTC)),
    ],
)
def test_pubdate_metadata_parses_to_utc(metadata_value: str, expected: datetime) -> None:
    # metadata wins over a date in the path
    assert publication_date(metadata_value, "/in/2021/03/04/a.json", MTIME_NS) == (
        expected,
        DateSource.METADATA,
    )


@pytest.mark.parametrize(
    "metadata_value",
    [
        "",
        "not a date",
        "2022-02-30",
        "yesterday",
        "3 days ago",
        "November 2022",
        "Nov 10",
        "0001-01-01T00:00+01:00",
    ],
)
def test_pubdate_unusable_metadata_falls_through_to_path(metadata_value: str) -> None:
    assert publication_date(metadata_value, "/in/2021/03/04/a.json", MTIME_NS) == (
        datetime(2021, 3, 4, tzinfo=UTC),
        DateSource.PATH,
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/in/2022/11/10/kherson.txt", datetime(2022, 11, 10, tzinfo=UTC)),
        ("/in/2021/01/01/2022/11/10/kherson.txt", datetime(2022, 11, 10, tzinfo=UTC)),
        ("/in/news/2022-11-10-kherson.txt", datetime(2022, 11, 10, tzinfo=UTC)),
        ("/in/news/kherson_20221110.txt", datetime(2022, 11, 10, tzinfo=UTC)),
        ("/in/2022/13/45/kherson-2022-11-10.txt", datetime(2022, 11, 10, tzinfo=UTC)),
        ("/in/2022/11/10/kherson-2021-01-01.txt", datetime(2022, 11, 10, tzinfo=UTC)),
    ],
)
def test_pubdate_from_path(path: str, expected: datetime) -> None:
    assert publication_date(None, path, MTIME_NS) == (expected, DateSource.PATH)


@pytest.mark.parametrize(
    "path",
    [
        "/in/news/kherson.txt",
        "/in/2022/13/45/kherson.txt",  # not a calendar date
        "/in/news/2022-02-30.txt",
        "/in/news/id-123456789.txt",  # digits, but no 19xx/20xx date
        "/in/news/120221110.txt",  # a date inside a longer number is an id
        "/in/2022/11/kherson.txt",  # no day folder
        "/in/news/000_40024aaf683d07a5.txt",
    ],
)
def test_pubdate_falls_back_to_mtime(path: str) -> None:
    assert publication_date(None, path, MTIME_NS) == (MTIME, DateSource.MTIME)


@settings(deadline=None)  # dateparser loads its language data on first use
@given(st.one_of(st.none(), st.text()), st.text(), st.integers(min_value=0, max_value=4_102_444_800 * 10**9))
def test_pubdate_never_raises_and_is_utc(metadata_value: str | None, path: str, mtime_ns: int) -> None:
    published_at, date_source = publication_date(metadata_value, path, mtime_ns)
    assert published_at.utcoffset() is not None
    assert published_at.utcoffset().total_seconds() == 0
    assert date_source in DateSource
