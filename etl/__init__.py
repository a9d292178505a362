"""newsetl: a folder of news articles in, a database of entities and PLOVER events out."""

__version__ = "0.2.0"
