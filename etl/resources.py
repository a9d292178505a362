"""Where the files shipped inside the package are, found through importlib.resources so that an installed wheel
finds them wherever it lives, whatever the working folder: the reference data and the schema migrations."""

from importlib.resources import files
from importlib.resources.abc import Traversable

REFERENCE_DIR: Traversable = files("etl.reference_data")
MIGRATIONS_DIR: Traversable = files("migrations")


def reference_files(directory: Traversable = REFERENCE_DIR, prefix: str = "") -> list[tuple[str, Traversable]]:
    """The data files under a reference folder as (path relative to it, file), sorted by path; the folder's
    Python module and its bytecode are not data."""
    found: list[tuple[str, Traversable]] = []
    for entry in directory.iterdir():
        path = f"{prefix}{entry.name}"
        if entry.is_dir():
            found.extend(reference_files(entry, f"{path}/"))
        elif not entry.name.endswith((".py", ".pyc")):
            found.append((path, entry))
    return sorted(found, key=lambda item: item[0])
