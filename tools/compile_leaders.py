"""Compile newsetl's leaders table (`etl/reference_data/leaders.csv`) from the Phoenix country dictionary.

Input, read by path and never copied into the repository (MIT, Open Event Data Alliance): the person entries
of PETRARCH2's Phoenix.Countries.actors.txt, each a head name, `+` aliases and role codes with date ranges
(`[RUSGOV 990809-000507]`, `[RUSGOV >080508]`, and an undated default such as `[RUSELI]`).

A person is an entry whose code in force names a country and a role, whose head name has at least two words
and whose names carry no organisation word (those go to organizations.csv). Only people with a role in force
or ended since 2000 are kept: the dictionary dates from January 2014, and older leaders only add surname
clashes. Each row gives the role that was current when the dictionary was compiled: the open-ended one
(`>date`) if any, else the default code once the last dated role had ended ("former" leaders are ELI).
Output rows are sorted, so the file is byte-for-byte reproducible.

usage: .venv/bin/python tools/compile_leaders.py [--shared ../shared] [--output etl/reference_data]
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from compile_reference import (
    DEFAULT_OUTPUT,
    DEFAULT_SHARED,
    ORGANIZATION_WORDS,
    PETRARCH,
    ActorEntry,
    alias_key,
    country_rows,
    display_name,
    read_actor_entries,
    sector_of_code,
    split_code,
    write_csv,
)

KEEP_ROLES_ENDING_FROM = "2000-01-01"
_DATED = re.compile(r"^([A-Z]+)\s+(?:(\d{6,8})-(\d{6,8})|>(\d{6,8}))$")


@dataclass(frozen=True, slots=True)
class Role:
    code: str
    since: str  # ISO date, "" when unknown
    until: str  # ISO date, "" while in force


def iso_date(digits: str) -> str:
    """A dictionary date as ISO: YYMMDD (years up to 14 are 20xx, the file is from 2014) or YYYYMMDD."""
    if len(digits) == 8:
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    year = int(digits[:2])
    century = 2000 if year <= 14 else 1900
    return f"{century + year}-{digits[2:4]}-{digits[4:]}"


def current_role(entry: ActorEntry) -> Role | None:
    """The role in force when the dictionary was compiled (see the module docstring)."""
    dated: list[Role] = []
    default: str | None = None
    for code in entry.codes:
        match = _DATED.match(code.strip())
        if match is None:
            if re.fullmatch(r"[A-Z]+", code.strip()):
                default = code.strip()
            continue
        name, start, end, open_start = match.groups()
        if open_start:
            dated.append(Role(name, iso_date(open_start), ""))
        else:
            dated.append(Role(name, iso_date(start), iso_date(end)))
    open_roles = [role for role in dated if not role.until]
    if open_roles:
        return max(open_roles, key=lambda role: role.since)
    if not dated:
        return Role(default, "", "") if default else None
    last = max(dated, key=lambda role: role.until)
    if last.until < KEEP_ROLES_ENDING_FROM:
        return None
    return Role(default or last.code, last.since, last.until)


def leader_rows(shared: Path) -> list[tuple[str, str, str, str, str, str, str]]:
    """(alias, canonical_name, country, sector, code, since, until) for every alias of every kept person.

    A person listed twice (Xi Jinping is) keeps the role that started last, with the aliases of both entries.
    """
    countries = {row.iso3: row for row in country_rows()}
    people: dict[tuple[str, str], tuple[Role, str, set[str]]] = {}
    for entry in read_actor_entries(shared / PETRARCH / "Phoenix.Countries.actors.txt"):
        role = current_role(entry)
        if role is None:
            continue
        iso3, rest = split_code(role.code, countries)
        sector = sector_of_code(rest) if iso3 else None
        keys = [key for key in map(alias_key, entry.names) if key]
        if iso3 is None or sector is None or not keys or len(keys[0].split()) < 2:
            continue
        if any(ORGANIZATION_WORDS & set(key.split()) for key in keys):
            continue
        canonical = display_name(entry.names[0], set())
        known = people.get((canonical, iso3))
        aliases = set(keys) | (known[2] if known else set())
        if known is None or role.since > known[0].since:
            people[canonical, iso3] = (role, sector, aliases)
        else:
            known[2].update(keys)
    return sorted(
        (alias, canonical, iso3, sector, role.code, role.since, role.until)
        for (canonical, iso3), (role, sector, aliases) in people.items()
        for alias in aliases
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared/ folder")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder for the CSV table")
    args = parser.parse_args()
    header = ("alias", "canonical_name", "country", "sector", "code", "since", "until")
    count = write_csv(args.output / "leaders.csv", header, leader_rows(args.shared))
    print(f"leaders.csv: {count} rows")


if __name__ == "__main__":
    main()
