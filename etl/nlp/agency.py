"""Who can perform an event: a named party, an agent noun, a weapon standing for an unnamed attacker, or nobody.

PLOVER codes what political actors do. A named person, organisation, state or people, or a generic agent of
the agents table ("police", "rebels", "officials"), is an agent; an earthquake, a tank that exploded, "oil
prices" or "the withdrawal" are not. A weapon ("a roadside bomb killed five") is the instrument of an attacker
the sentence does not name. Pronouns take the entity they stand for: the nearest mention before them of a
compatible kind (a person for "he"/"she", a group, state or organisation for "they"/"it").
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from enum import Enum

from spacy.tokens import Token

from etl.nlp import gazetteer
from etl.nlp.lexicon import load_word_classes
from etl.records import Mention

AGENT_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})
# The sectors of parties that bear arms: soldiers, rebels, militias, spies.
ARMED_SECTORS = frozenset({"MIL", "REB", "UAF", "SPY"})
PERSON_PRONOUNS = frozenset({"he", "him", "his", "himself", "she", "her", "hers", "herself"})
GROUP_PRONOUNS = frozenset({"they", "them", "their", "theirs", "themselves", "it", "its", "itself"})
# "it" and "its" stand for a thing as often as for a party: they act only through an antecedent.
THING_PRONOUNS = frozenset({"it", "its", "itself", "this", "that", "these", "which", "what", "something"})
ANTECEDENT_LABELS = {pronoun: frozenset({"PERSON"}) for pronoun in PERSON_PRONOUNS} | {
    pronoun: frozenset({"ORG", "GPE", "NORP", "LOC"})
    for pronoun in GROUP_PRONOUNS  # LOC: "Europe … it"
}
# Heads that count what their "of" phrase names: "dozens of rifles" are rifles, "members of a body" the body.
QUANTITY_NOUNS = frozenset(
    {"dozen", "hundred", "thousand", "number", "lot", "series", "cache", "total", "amount", "member", "round"}
    | {"group", "pair", "couple", "stockpile", "haul", "batch", "quantity", "kind", "type", "swathe"}
)
# A phrase's modifiers before its head that are part of what it names ("Ukrainian troops", "riot police").
HEAD_PHRASE_DEPS = frozenset({"compound", "amod", "nmod"})
# An explosion a weapon names is the weapon going off: "a bomb blast", "a car bomb explosion" (not "a gas explosion").
EXPLOSION_NOUNS = frozenset(load_word_classes()["explosion_noun"])
# A measure is nobody and nothing force is used on: "hit a record high", "the sluggish economy hit sales".
METRIC_NOUNS = frozenset(load_word_classes()["metric_noun"])


class Agency(Enum):
    AGENT = "agent"
    WEAPON = "weapon"  # the instrument of an attacker the text does not name
    NONE = "none"


class Mentions(tuple[Mention, ...]):
    """A document's mentions sorted by start, with their starts for lookups by offset and the agency of each
    token asked about, kept: the coder asks about the same arguments several times."""

    starts: list[int]
    agencies: dict[int, Agency]

    def __new__(cls, mentions: Sequence[Mention]) -> Mentions:
        self = super().__new__(cls, mentions)
        self.starts = [m.start for m in self]
        self.agencies = {}
        return self


def agency(token: Token, mentions: Mentions) -> Agency:
    """Whether the head word of an event's argument names an agent, a weapon, or neither."""
    kind = mentions.agencies.get(token.i)
    if kind is None:
        kind = mentions.agencies[token.i] = _agency(token, mentions)
    return kind


def _agency(token: Token, mentions: Mentions) -> Agency:
    if token.pos_ == "PRON":
        lower = token.lower_
        if lower not in THING_PRONOUNS or antecedent(token, mentions) is not None:
            return Agency.AGENT
        return Agency.NONE
    if (what := counted(token)) is not token:
        return agency(what, mentions)
    if token.ent_type_ and token.ent_type_ not in AGENT_LABELS:
        # A date, an amount, a law or a work is nobody ("on Tuesday"); a state the model types as a location is a
        # state, named or by its capital ("South Sudan lifted the state of emergency").
        mention = mention_at(token, mentions)
        named_state = mention is not None and mention.label == "LOC" and gazetteer.is_country_name(mention.text)
        return Agency.AGENT if named_state else Agency.NONE
    if names_measure(token):
        return Agency.NONE  # even of a party: "the European economy", "Ruritanian factory growth"
    if token.pos_ == "PROPN":
        # A weapon's name in capitals is a proper noun, even a named organisation ("Improvised Explosive Devices").
        return Agency.WEAPON if token.ent_type_ in {"", "ORG"} and _names_weapon_only(token) else Agency.AGENT
    start, phrase = head_phrase(token)
    # A named party heads the phrase or qualifies it ("Borduvian gunners", "the Kessel union").
    named = (mention_at(t, mentions) for t in token.doc[start : token.i + 1])
    if any(mention is not None and mention.label in AGENT_LABELS for mention in named):
        return Agency.AGENT
    if gazetteer.is_agent_term(token.lemma_):
        return Agency.AGENT
    if gazetteer.names_weapon(phrase):
        # A state's weapons stand for its forces ("Turkish jets", "Russian artillery").
        return Agency.AGENT if gazetteer.country_of(phrase) is not None else Agency.WEAPON
    if (
        token.lemma_.lower() in EXPLOSION_NOUNS
        and start < token.i
        and gazetteer.names_weapon(token.doc[start : token.i].text)
    ):
        return Agency.WEAPON
    # A generic agent, or anyone a country or an organisation qualifies ("Palestinian prisoners", "U.N. staff").
    if gazetteer.agent_sector(phrase) or gazetteer.country_of(phrase) or gazetteer.organization_of(phrase):
        return Agency.AGENT
    return Agency.NONE


def names_measure(token: Token) -> bool:
    """The word names a measure, in the singular or as written ("prices", "sales", "earnings")."""
    return token.lemma_.lower() in METRIC_NOUNS or token.lower_ in METRIC_NOUNS


def counted(token: Token) -> Token:
    """What a number or a quantity counts ("thousands of demonstrators": demonstrators), else the token itself."""
    if token.pos_ == "NUM" or token.lemma_ in QUANTITY_NOUNS:
        return next((o for p in token.children if p.lower_ == "of" for o in p.children if o.dep_ == "pobj"), token)
    return token


def _names_weapon_only(token: Token) -> bool:
    phrase = head_phrase(token)[1]
    return gazetteer.names_weapon(phrase) and gazetteer.country_of(phrase) is None


def head_phrase(token: Token) -> tuple[int, str]:
    """The head word with the modifiers before it that say what it is, without a possessor ("Kyiv's victories"
    is victories, not Kyiv): its first token's index and its text."""
    start = min((t.i for c in token.lefts if c.dep_ in HEAD_PHRASE_DEPS for t in c.subtree), default=token.i)
    return start, token.doc[start : token.i + 1].text


def mention_at(token: Token, mentions: Mentions) -> Mention | None:
    """The mention covering the token's first character."""
    index = bisect.bisect_right(mentions.starts, token.idx) - 1
    if index >= 0 and mentions[index].start <= token.idx < mentions[index].end:
        return mentions[index]
    return None


def antecedent(pronoun: Token, mentions: Mentions) -> Mention | None:
    """The nearest mention before a personal pronoun of a kind it can stand for, or None (also for "I", "we")."""
    labels = ANTECEDENT_LABELS.get(pronoun.lower_)
    if labels is None:
        return None
    for mention in reversed(mentions[: bisect.bisect_left(mentions.starts, pronoun.idx)]):
        if mention.label in labels:
            return mention
    return None
