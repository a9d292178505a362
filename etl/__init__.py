"""newsetl: a folder of news articles in, a database of entities and PLOVER events out."""

from importlib.metadata import version

# Written once, in pyproject.toml; an install (wheel or editable) records it in the package metadata.
__version__ = version("newsetl")
