"""The PLOVER lexicon: its compiler (on small synthetic sources) and the committed, compiled file; the coder's word
classes."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from etl.errors import InputError
from etl.nlp.lexicon import LEXICON_COLUMNS, lexicon_version, load_lexicon, load_word_classes

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
PLOVER_TYPES = {
    "AGREE", "CONSULT", "SUPPORT", "CONCEDE", "COOPERATE", "AID", "RETREAT", "REQUEST",
    "ACCUSE", "REJECT", "THREATEN", "PROTEST", "SANCTION", "MOBILIZE", "COERCE", "ASSAULT",
}  # fmt: skip


def _compiler():
    sys.path.insert(0, str(REPO / "tools"))  # as when run: the script's folder, for the tools it imports
    spec = importlib.util.spec_from_file_location("compile_lexicon", REPO / "tools/compile_lexicon.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["compile_lexicon"] = module
    spec.loader.exec_module(module)
    return module


compile_lexicon = _compiler()

TABLE = """\
# a conversion table in the CAMEO2PLOVER layout
04: CONSULT
040: CONSULT, ,  # Consult
042: CONSULT, visit,   # Make a visit
080: CONCEDE,   ,  # Yield
0874: RETREAT, disarm,   military # Retreat or surrender militarily
110: DISAPPROVE, disapprove,    # an older name
190: ASSAULT, , military # Use conventional military force
"""
VERBS = """\
####### SYNONYM SETS #######

&TROOPS
+SOLDIERS
+TROOPS

####### VERB PATTERNS #######

---  STATEMENT   [010]  ---
SAY  {SAYS SAID SAYING}

---  PULLBACK   [080]  ---
+PULL_OUT # a phrasal verb
WITHDRAW {WITHDRAWS WITHDREW }
RECEDE
- * &TROOPS                                           [0874]        # WITHDRAW
- * (FROM RACE)                                       [---]         # WITHDRAW

---  VISIT   [042]  ---
VISIT
CALL_ON {}

---  FIGHT   [190]  ---
ATTACK
MEET [040]
+FALL_BACK_ON

---  MEETING   [040]  ---
MEET
DISPARAGE [:110]

---  TALKING   [040]  ---
MEET
SCORN [110]

---  DERIDING   [110]  ---
SCORN

---  LAY   [---]  ---
LAY {LAYING LAIN LAID LIE }
- * DOWN &TROOPS                                      [0874]        # LAID_DOWN
- * BACK TO                                           [042]         # LAY

######## TRANSFORMATIONS ##########
"""
ADDITIONS = """\
trigger,pos,event_type,mode
recede,VERB,,
withdrawal,NOUN,RETREAT,withdraw
"""


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "data/plover").mkdir(parents=True)
    (tmp_path / "reference/petrarch2").mkdir(parents=True)
    (tmp_path / compile_lexicon.CAMEO2PLOVER).write_text(TABLE, encoding="utf-8")
    (tmp_path / compile_lexicon.VERB_DICTIONARY).write_text(VERBS, encoding="utf-8")
    additions = tmp_path / "additions.csv"
    additions.write_text(ADDITIONS, encoding="utf-8")
    return tmp_path, additions


def _rows(text: str) -> dict[tuple[str, str], tuple[str, ...]]:
    lines = text.splitlines()
    assert lines[0] == ",".join(LEXICON_COLUMNS)
    return {(r[0], r[1]): tuple(r[2:]) for r in (line.split(",") for line in lines[1:])}


def test_compile_lexicon_maps_codes_and_resolves_conflicts(sources: tuple[Path, Path]) -> None:
    rows = _rows(compile_lexicon.compile_lexicon(*sources))
    assert rows["withdraw", "VERB"] == ("CONCEDE", "", "080", "petrarch2")
    assert rows["pull out", "VERB"] == ("CONCEDE", "", "080", "petrarch2")
    assert rows["withdraw soldiers", "VERB"] == ("RETREAT", "disarm", "0874", "petrarch2")
    assert rows["visit", "VERB"] == ("CONSULT", "visit", "042", "petrarch2")
    # three votes for CONSULT (one a line override) against none elsewhere
    assert rows["meet", "VERB"] == ("CONSULT", "", "040", "petrarch2")
    # two votes for 110, one of them a line override inside a CONSULT block
    assert rows["scorn", "VERB"] == ("ACCUSE", "disapprove", "110", "petrarch2")
    assert rows["withdrawal", "NOUN"] == ("RETREAT", "withdraw", "", "newsetl")


def test_compile_lexicon_drops_non_events(sources: tuple[Path, Path]) -> None:
    rows = _rows(compile_lexicon.compile_lexicon(*sources))
    assert ("say", "VERB") not in rows  # CAMEO 010 has no PLOVER type
    assert ("recede", "VERB") not in rows  # removed by newsetl's additions
    assert ("disparage", "VERB") not in rows  # ":110" swaps the roles, which a lemma cannot express
    assert ("call on", "VERB") not in rows  # "{}" marks a fixed inflected form, not a lemma
    assert ("fall back on", "VERB") not in rows  # longer than two words
    assert ("withdraw race", "VERB") not in rows  # prepositional patterns are not phrases


def test_compile_lexicon_reads_particle_patterns(sources: tuple[Path, Path]) -> None:
    rows = _rows(compile_lexicon.compile_lexicon(*sources))
    assert rows["lay down soldiers", "VERB"] == ("RETREAT", "disarm", "0874", "petrarch2")
    assert ("lay", "VERB") not in rows  # the block's "[---]": the verb alone is no event
    assert ("lay back to", "VERB") not in rows  # a particle and a preposition name no object


def test_compile_lexicon_is_deterministic(sources: tuple[Path, Path]) -> None:
    assert compile_lexicon.compile_lexicon(*sources) == compile_lexicon.compile_lexicon(*sources)


def test_compile_lexicon_rejects_unknown_types(sources: tuple[Path, Path]) -> None:
    shared, additions = sources
    additions.write_text("trigger,pos,event_type,mode\nskirmish,NOUN,BATTLE,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="BATTLE"):
        compile_lexicon.compile_lexicon(shared, additions)


@pytest.mark.skipif(not (SHARED / compile_lexicon.VERB_DICTIONARY).exists(), reason="needs ../shared sources")
def test_lexicon_committed_file_is_what_the_compiler_writes() -> None:
    committed = compile_lexicon.OUTPUT.read_text(encoding="utf-8")
    assert committed == compile_lexicon.compile_lexicon(SHARED)


def test_load_lexicon_answers_words_and_phrases() -> None:
    lexicon = load_lexicon()
    assert lexicon.word("withdraw", "VERB").event_type == "RETREAT"
    assert lexicon.word("Withdrawal", "NOUN").event_type == "RETREAT"
    assert lexicon.word("talk", "NOUN").event_type == "CONSULT"
    assert lexicon.phrase("pull", "out", "VERB").event_type == "RETREAT"
    assert lexicon.phrase("launch", "attack", "VERB").event_type == "ASSAULT"
    for reporting in ("say", "announce", "tell", "report", "claim"):
        assert lexicon.word(reporting, "VERB") is None


def test_load_lexicon_keys_a_phrasal_verb_and_its_object_by_the_phrasal_verb() -> None:
    lexicon = load_lexicon()
    assert lexicon.phrase("call off", "strike", "VERB").event_type == "CONCEDE"
    assert lexicon.phrase("call", "off", "VERB").event_type == "SANCTION"
    assert lexicon.phrase("lay down", "weapon", "VERB").event_type == "RETREAT"  # `- * DOWN &WEAPON` (LAY)
    assert lexicon.word("must", "AUX").event_type == "REQUEST"


def test_load_lexicon_types_are_plover() -> None:
    lexicon = load_lexicon()
    triggers = [*lexicon.words.values(), *lexicon.phrases.values()]
    assert {t.event_type for t in triggers} <= PLOVER_TYPES
    assert load_lexicon() is lexicon  # cached


def test_lexicon_version_is_a_short_stable_hash(tmp_path: Path) -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", lexicon_version())
    assert lexicon_version() == lexicon_version()
    copy = tmp_path / "lexicon.csv"
    copy.write_bytes(compile_lexicon.OUTPUT.read_bytes() + b"riot,NOUN,PROTEST,riot,,x\n")
    assert lexicon_version(copy) != lexicon_version()


def test_load_word_classes_keeps_each_class_in_file_order() -> None:
    classes = load_word_classes()
    assert classes["recipient_preposition"][:2] == ("against", "on")  # tried in this order
    assert "say" in classes["reporting_verb"] and "will" in classes["future_modal"]
    assert load_word_classes() is classes  # cached


def test_load_word_classes_names_the_file_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "coder_words.csv"
    bad.write_text("kind,term\nfuture_modal,will\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(str(bad))):
        load_word_classes(bad)
