"""Errors that say what failed and whether a retry can help."""

import traceback
from collections.abc import Iterator
from contextlib import contextmanager


class NewsetlError(Exception):
    """Base class; the CLI turns these into a one-line `Error: …` and a non-zero exit."""


class InputError(NewsetlError):
    """The input itself is wrong (a missing folder, a bad setting): retrying cannot help."""


class RejectedInput(NewsetlError):
    """One file or record cannot be loaded; terminal for that input only, the run goes on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientDatabaseError(NewsetlError):
    """The database was busy, locked or briefly unreachable: a retry with backoff may succeed."""


class RunLocked(NewsetlError):
    """Another newsetl run holds this database's run lock: this run did not start (the CLI exits with 3)."""


class RunLockLost(NewsetlError):
    """A run's lock went with its session (a server restart, a dropped connection) and another run took it before
    this one could take it again: this run stops, writing nothing more (the CLI exits with 1, the run failed)."""


class DiskFullError(NewsetlError):
    """The disk under the database is full: the step's transaction was rolled back, what was committed before stays,
    and retrying cannot help until space is freed."""


class ArticleFailed(RejectedInput):
    """A stage failed on one article with an error nobody foresaw (a library's limit, a bug): terminal for that
    article only. The reason names the stage and the error in one line; `details` holds the traceback, for the log."""

    def __init__(self, reason: str, details: str = "") -> None:
        super().__init__(reason)
        self.details = details


@contextmanager
def article_stage(stage: str) -> Iterator[None]:
    """The failure policy of the stages after extraction, for one article (STYLE.md point 8): a `RejectedInput`
    passes as it is; any other `Exception` raised in the block becomes an `ArticleFailed` whose reason is
    `<stage> failed: <error>`, so that the run rejects that article and goes on. `BaseException`s that are not
    `Exception`s (an interrupt, an exit) still stop the run. Only for steps that do not write: a database error of a
    step that writes is retried or fails the step as a whole (`etl.database.database_errors`)."""
    try:
        yield
    except RejectedInput:
        raise
    except Exception as exc:
        raise ArticleFailed(f"{stage} failed: {one_line(exc)}", traceback.format_exc()) from exc


def one_line(error: BaseException, limit: int = 300) -> str:
    """`Type: message` on one line, cut at `limit` characters (a library may put a whole text in its message)."""
    said = " ".join(str(error).split())
    text = f"{type(error).__name__}: {said}" if said else type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
