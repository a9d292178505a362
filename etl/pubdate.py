"""An article's publication date: from its metadata, else from a date in its path, else the file's mtime.

Every date returned is timezone-aware UTC. A metadata value that does not name a full calendar date (or
names an impossible one) is not an error: the next source is used instead.
"""

import re
from datetime import UTC, date, datetime, timedelta

import dateparser

from etl.records import DateSource

# Metadata dates that are not ISO 8601 ("Thu, 10 Nov 2022", "10 novembre 2022"). Relative dates
# ("yesterday") and partial ones ("November 2022") would be completed from today's date, so the
# relative-time parser is off and day, month and year are all required.
_DATEPARSER_SETTINGS = {
    "PARSERS": ["custom-formats", "absolute-time"],
    "REQUIRE_PARTS": ["day", "month", "year"],
    "TIMEZONE": "UTC",
    "TO_TIMEZONE": "UTC",
    "RETURN_AS_TIMEZONE_AWARE": True,
}

# Years are limited to 19xx/20xx so that an 8-digit id in a file name is not read as a date.
_DATE_FOLDERS = re.compile(r"(?:^|/)((?:19|20)\d\d)/(\d\d)/(\d\d)(?=/)")
_DATE_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d\d)(-?)(\d\d)\2(\d\d)(?!\d)")


def publication_date(metadata_value: str | None, path: str, mtime_ns: int) -> tuple[datetime, DateSource]:
    """The best publication date available for an article, and where it came from."""
    if metadata_value and (parsed := parse_metadata_date(metadata_value)):
        return parsed, DateSource.METADATA
    if from_path := date_from_path(path):
        return from_path, DateSource.PATH
    seconds, nanoseconds = divmod(mtime_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanoseconds // 1000), DateSource.MTIME


def parse_metadata_date(value: str) -> datetime | None:
    """A full date written in metadata, as UTC; None when it does not name one."""
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = dateparser.parse(value, settings=_DATEPARSER_SETTINGS)
        except (ValueError, OverflowError):
            return None
        if parsed is None:
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 falls before year 1 in UTC
        return None


def date_from_path(path: str) -> datetime | None:
    """A date folder sequence (…/2022/11/10/…) or a date in the file name (2022-11-10, 20221110)."""
    folder, _, name = path.rpartition("/")
    candidates = [(m[1], m[2], m[3]) for m in _DATE_FOLDERS.finditer(folder + "/")]
    candidates.reverse()  # the deepest date folder is the most specific
    candidates += [(m[1], m[3], m[4]) for m in _DATE_IN_NAME.finditer(name)]
    for year, month, day in candidates:
        try:
            found = date(int(year), int(month), int(day))
        except ValueError:  # 2022/13/45 is not a date
            continue
        return datetime(found.year, found.month, found.day, tzinfo=UTC)
    return None
