"""Compile newsetl's PLOVER trigger lexicon (`etl/reference_data/plover_lexicon.csv`) from its sources.

Inputs, read by path and never copied into the repository:
  * the CAMEO → PLOVER conversion table (type and mode of each CAMEO code; CC BY-SA 4.0, OEDA);
  * PETRARCH2's CAMEO verb dictionary (verb lemmas and verb + object patterns under CAMEO codes; MIT);
  * `etl/reference_data/plover_lexicon_newsetl.csv`, newsetl's own hand-curated rows: nominal triggers,
    light-verb phrases, corrections, and verbs with an empty event_type, which are not events by themselves
    (reporting verbs such as "claim", and light verbs such as "take" or "give").

A trigger listed under several CAMEO codes keeps its most frequent PLOVER type, ties going to the most
specific code; a code with no PLOVER type (CAMEO 01–02, or a pattern-only "[---]" block) counts as a vote for
"not an event". Output rows are sorted, so the file is byte-for-byte reproducible.

usage: .venv/bin/python tools/compile_lexicon.py [--shared ../shared] [--output etl/reference_data/plover_lexicon.csv]
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from compile_reference import DEFAULT_OUTPUT, DEFAULT_SHARED

from etl.nlp.lexicon import LEXICON_COLUMNS

CAMEO2PLOVER = Path("data/plover/CAMEO2PLOVER-2021.txt")
VERB_DICTIONARY = Path("reference/petrarch2/CAMEO.2.0.txt")
ADDITIONS = DEFAULT_OUTPUT / "plover_lexicon_newsetl.csv"
OUTPUT = DEFAULT_OUTPUT / "plover_lexicon.csv"

PLOVER_TYPES = frozenset(
    {
        "AGREE",
        "CONSULT",
        "SUPPORT",
        "CONCEDE",
        "COOPERATE",
        "AID",
        "RETREAT",
        "REQUEST",
        "ACCUSE",
        "REJECT",
        "THREATEN",
        "PROTEST",
        "SANCTION",
        "MOBILIZE",
        "COERCE",
        "ASSAULT",
    }
)
RENAMED_TYPES = {"DEMAND": "REQUEST", "DISAPPROVE": "ACCUSE", "INVESTIGATE": "ACCUSE", "FIGHT": "ASSAULT"}

TABLE_ROW = re.compile(r"^(\d{3,4}):\s*([A-Z]+)\s*,([^,#]*)")
BLOCK_HEADER = re.compile(r"^---\s+(\S+)\s+\[([^\]]*)\]")
CODE_OVERRIDE = re.compile(r"\[([^\]]*)\]")
OBJECT_PATTERN = re.compile(r"^-\s+\*\s+(&?[A-Z][A-Z'-]*_?)\s+\[([^\]]*)\]$")
# A verb and a prepositional phrase: `- * (TO STREET) [141]` is "take to the streets".
PREP_PATTERN = re.compile(r"^-\s+\*\s+\(([A-Z]+)\s+(&?[A-Z][A-Z'-]*_?)\)\s+\[([^\]]*)\]$")
PREPOSITIONS = frozenset({"TO", "INTO", "ON", "AGAINST", "AT", "WITH", "FROM", "IN", "OVER", "FOR", "UNDER", "BEHIND"})
# A phrasal verb's particle and its object: `- * DOWN &WEAPON [0871]` in the LAY block is "lay down arms".
PARTICLE_PATTERN = re.compile(r"^-\s+\*\s+([A-Z]+)\s+(&?[A-Z][A-Z'-]*_?)\s+\[([^\]]*)\]$")
PARTICLES = frozenset({"DOWN", "UP", "OUT", "OFF", "BACK", "AWAY"})


@dataclass(frozen=True, slots=True)
class PloverCode:
    event_type: str
    mode: str


@dataclass(frozen=True, slots=True)
class LexiconRow:
    trigger: str
    pos: str
    event_type: str
    mode: str
    cameo_code: str
    source: str


def read_cameo2plover(path: Path) -> dict[str, PloverCode]:
    """CAMEO code → PLOVER type and mode; codes whose type is not one of the 16 are left out."""
    table: dict[str, PloverCode] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = TABLE_ROW.match(line.strip())
        if not match:
            continue
        code, event_type, mode = match.group(1), match.group(2), match.group(3).strip()
        event_type = RENAMED_TYPES.get(event_type, event_type)
        if event_type in PLOVER_TYPES:
            table.setdefault(code, PloverCode(event_type, mode.replace(" ", "")))
    return table


def plover_code(cameo_code: str, table: dict[str, PloverCode]) -> PloverCode | None:
    """The PLOVER type of a CAMEO code, falling back to its parent code (never to a two-digit root)."""
    code = cameo_code
    while len(code) >= 3:
        if code in table:
            return table[code]
        code = code[:-1]
    return None


def primary_code(raw: str) -> str | None:
    """The source-side code of a PETRARCH code field: "041:043" → "041"; ":110" (roles swapped), "---" → None."""
    first = raw.split(":")[0].strip()
    return first if first.isdigit() else None


def trigger_text(word: str) -> str:
    """PETRARCH spelling → lemma phrase: "+PULL_OUT" → "pull out"; a trailing "_" only blocks suffixes."""
    return word.lstrip("+").rstrip("_").replace("_", " ").lower()


def read_synonym_sets(lines: list[str]) -> dict[str, list[str]]:
    sets: dict[str, list[str]] = defaultdict(list)
    name = None
    for line in lines:
        if line.startswith("&"):
            name = line.split()[0]
        elif line.startswith("+") and name:
            sets[name].append(trigger_text(line.split()[0]))
        elif not line.strip():
            name = None
    return sets


def verb_votes(path: Path) -> Iterator[tuple[str, str | None]]:
    """(trigger, CAMEO code or None) for every verb and verb + object pattern of the dictionary."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("####### VERB PATTERNS"))
    end = next(i for i, line in enumerate(lines) if line.startswith("######## TRANSFORMATIONS"))
    synonyms = read_synonym_sets(lines[:start])
    block_code: str | None = None
    block_verbs: set[str] = set()  # the block's synonyms
    # Each verb with a code of its own, and each of its irregular forms, to its lemma.
    own_code_verbs: dict[str, str] = {}
    for line in lines[start + 1 : end]:
        header = BLOCK_HEADER.match(line)
        if header:
            block_code, block_verbs, own_code_verbs = primary_code(header.group(2)), set(), {}
            continue
        if line.startswith("-"):
            yield from object_pattern_votes(line, block_verbs, own_code_verbs, synonyms)
            continue
        body = line.split("#", 1)[0].strip()
        if not body or line.startswith(("#", "~", "&")) or "{}" in body:
            continue  # blank, comment, or a fixed inflected form ("+ANGERED_BY {}") rather than a lemma
        override = CODE_OVERRIDE.search(body)
        code = primary_code(override.group(1)) if override else block_code
        verb = trigger_text(re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", body).split()[0])
        if override:
            # "THROW {THROWS THROWING THREW THROWN}": a pattern's comment may name the verb by any of these forms.
            forms = re.search(r"\{([^}]*)\}", body)
            own_code_verbs.update({trigger_text(form): verb for form in (forms.group(1).split() if forms else [])})
            own_code_verbs[verb] = verb
        else:
            block_verbs.add(verb)
        yield verb, code


def object_pattern_votes(
    line: str, block_verbs: set[str], own_code_verbs: dict[str, str], synonyms: dict[str, list[str]]
) -> Iterator[tuple[str, str | None]]:
    """Verb + direct object phrases ("withdraw ambassador") from patterns of the form `- * OBJECT [code]`, verb +
    preposition + object phrases ("take to street") from `- * (PREPOSITION OBJECT) [code]`, and verb + particle +
    object phrases ("lay down arms") from `- * PARTICLE OBJECT [code]`.

    A pattern holds for every verb of its block, as in PETRARCH2, whose reader stores a block's patterns under its
    first verb and points every other verb of the block there ("a verb synonym block is a set of verbs which are
    synonymous with respect to the patterns"): "- * TIES [160]" in the SEPARATE block is "cut ties", "sever ties"
    and "split ties". The comment after a pattern names the verb TABARI's dictionary had it under; it decides only
    for a verb the dictionary gives a code of its own, which is not the block's synonym as an event and so not for
    its patterns either: ARREST [173] in the APPREHEND block [171] does not take "- * MINISTER [181]" (seize a
    minister: abduct), which CAPTURE, GRAB and SEIZE do.
    """
    pattern = line.split("#", 1)[0].strip()
    middle = ""  # a preposition or a particle between the verb and its object
    if match := _phrase_pattern(pattern):
        middle, word, raw_code = f" {match.group(1).lower()}", match.group(2), match.group(3)
    elif match := OBJECT_PATTERN.match(pattern):
        word, raw_code = match.groups()
    else:
        return
    code = primary_code(raw_code)
    objects = synonyms.get(word, []) if word.startswith("&") else [trigger_text(word)]
    named = {trigger_text(v) for v in re.findall(r"[A-Z][A-Z_]+", line.partition("#")[2])}
    verbs = block_verbs | {own_code_verbs[v] for v in named if v in own_code_verbs}
    if not middle and (word in PREPOSITIONS or word in PARTICLES):
        # A bare preposition or particle makes a phrasal verb of the verb the comment names alone: `- * ON [190]`
        # in the DEMAND block is "press on" (an advance), not "campaign on" or "need on", which any "on" phrase
        # after those verbs would match.
        verbs = verbs & named
    for verb in sorted(verbs):
        if " " in verb:
            continue
        for obj in objects:
            if " " not in obj:
                yield f"{verb}{middle} {obj}", code


def _phrase_pattern(pattern: str) -> re.Match[str] | None:
    """A preposition and its object, or a particle and an object: `- * (TO STREET) [141]`, `- * DOWN &WEAPON [0871]`
    (not `- * BACK TO [042]`, a particle and a preposition)."""
    if (match := PREP_PATTERN.match(pattern)) and match.group(1) in PREPOSITIONS:
        return match
    if (match := PARTICLE_PATTERN.match(pattern)) and match.group(1) in PARTICLES:
        return match if match.group(2) not in PREPOSITIONS else None
    return None


def _phrase_middle(middle: str, last: str) -> bool:
    """The middle word of a three-word row is a preposition or a particle before an object: "take to street", "lay
    down weapon"; not a phrasal verb's particle before a preposition ("fall back on")."""
    return middle in PREPOSITIONS or (middle in PARTICLES and last not in PREPOSITIONS)


def resolve(votes: Iterable[tuple[str, str | None]], table: dict[str, PloverCode]) -> dict[str, LexiconRow]:
    """One row per trigger: its most frequent PLOVER type, ties to the most specific code; None may win."""
    by_trigger: dict[str, Counter[str | None]] = defaultdict(Counter)
    codes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for trigger, code in votes:
        mapped = plover_code(code, table) if code else None
        by_trigger[trigger][mapped.event_type if mapped else None] += 1
        if mapped and code:
            codes[trigger, mapped.event_type].add(code)
    rows: dict[str, LexiconRow] = {}
    for trigger, counter in by_trigger.items():
        words = trigger.split()
        if len(words) > 2 and not (len(words) == 3 and _phrase_middle(words[1].upper(), words[2].upper())):
            continue

        def rank(item: tuple[str | None, int], trigger: str = trigger) -> tuple[int, int, int, str]:
            event_type, count = item
            specific = max((len(c) for c in codes[trigger, event_type]), default=0) if event_type else 0
            return (-count, event_type is None, -specific, event_type or "")

        event_type, _ = min(counter.items(), key=rank)
        if event_type is None:
            continue
        code = min(codes[trigger, event_type], key=lambda c: (-len(c), c))
        mapped = plover_code(code, table)
        assert mapped is not None
        rows[trigger] = LexiconRow(trigger, "VERB", event_type, mapped.mode, code, "petrarch2")
    return rows


def read_additions(path: Path) -> list[LexiconRow]:
    with path.open(encoding="utf-8", newline="") as f:
        return [
            LexiconRow(r["trigger"].strip(), r["pos"], r["event_type"], r["mode"], "", "newsetl")
            for r in csv.DictReader(f)
        ]


def compile_lexicon(shared: Path, additions: Path = ADDITIONS) -> str:
    """The lexicon CSV text: derived verb rows, with newsetl's rows replacing or removing same-keyed ones."""
    table = read_cameo2plover(shared / CAMEO2PLOVER)
    derived = resolve(verb_votes(shared / VERB_DICTIONARY), table)
    rows = {(row.trigger, row.pos): row for row in derived.values()}
    for row in read_additions(additions):
        if row.event_type and row.event_type not in PLOVER_TYPES:
            raise ValueError(f"{additions}: {row.trigger!r} has unknown event type {row.event_type!r}")
        if row.event_type:
            rows[row.trigger, row.pos] = row
        else:  # not an event by itself; its verb + object phrases stay
            rows.pop((row.trigger, row.pos), None)
    for trigger, pos in list(rows):
        verb = rows.get((trigger.split()[0], pos))
        if " " in trigger and verb and verb.event_type == rows[trigger, pos].event_type:
            del rows[trigger, pos]  # the phrase says no more than its verb alone
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LEXICON_COLUMNS)
    for key in sorted(rows):
        row = rows[key]
        writer.writerow((row.trigger, row.pos, row.event_type, row.mode, row.cameo_code, row.source))
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="folder holding data/ and reference/")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    text = compile_lexicon(args.shared)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10)) - 1} triggers to {args.output}")


if __name__ == "__main__":
    main()
