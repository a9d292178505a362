"""Reference tables follow their CSVs under etl/reference_data on every upgrade, writing only what changed."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from sqlalchemy import Engine, func, select

from etl.models import CountryRow, EventTypeRow
from etl.reference import SEEDS, SeedChanges, read_seed, sync_reference_tables
from etl.resources import REFERENCE_DIR


def _sync(engine: Engine, directory: Path) -> list[SeedChanges]:
    with engine.begin() as connection:
        return sync_reference_tables(connection, directory)


def test_reference_tables_hold_their_csvs_after_upgrade(engine: Engine):
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(EventTypeRow)) == len(read_seed(SEEDS[0]))
        assert connection.scalar(select(func.count()).select_from(CountryRow)) > 200
        ukraine = connection.execute(select(CountryRow).where(CountryRow.iso3 == "UKR")).one()
        assault = connection.execute(
            select(EventTypeRow.quad_class).where(EventTypeRow.event_type == "ASSAULT", EventTypeRow.mode == "")
        ).scalar_one()
    assert (ukraine.name, ukraine.region) == ("Ukraine", "Europe")
    assert assault == "material conflict"


def test_reference_reload_is_idempotent_and_follows_an_edited_csv(engine: Engine, tmp_path: Path):
    assert all(changes == SeedChanges(changes.table, 0, 0, 0) for changes in _sync(engine, REFERENCE_DIR))

    edited = Path(shutil.copytree(REFERENCE_DIR, tmp_path / "reference"))
    countries = edited / "countries.csv"
    lines = countries.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(("ABW,", "UKR,"))]
    kept.append("UKR,Ukraina,Europe,Kyiv\n")
    kept.append("ZZZ,Nowhere,Oceania,\n")
    countries.write_text("".join(kept), encoding="utf-8")

    changes = {change.table: change for change in _sync(engine, edited)}
    assert changes["countries"] == SeedChanges("countries", inserted=1, updated=1, deleted=1)
    assert changes["event_types"] == SeedChanges("event_types", 0, 0, 0)
    with engine.connect() as connection:
        names = dict(connection.execute(select(CountryRow.iso3, CountryRow.name)).tuples().all())
    assert names["UKR"] == "Ukraina" and names["ZZZ"] == "Nowhere" and "ABW" not in names


def test_reference_event_types_cover_every_type_and_mode_the_lexicon_codes():
    event_types = read_seed(SEEDS[0])
    types = {event_type for event_type, mode in event_types if mode == ""}
    assert len(types) == 16
    assert all(event_types[(event_type, mode)]["quad_class"] == event_types[(event_type, "")]["quad_class"]
               for event_type, mode in event_types)  # fmt: skip
    for lexicon in ("plover_lexicon.csv", "plover_lexicon_newsetl.csv"):
        with (REFERENCE_DIR / lexicon).open(encoding="utf-8", newline="") as handle:
            coded = {(row["event_type"], row["mode"]) for row in csv.DictReader(handle) if row["event_type"]}
        assert coded <= event_types.keys(), coded - event_types.keys()
