"""Errors that say what failed and whether a retry can help."""


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
