"""Verb patterns beyond the lexicon: an act read from the verb together with its object's class.

A weapon used ("threw a grenade at a patrol"), property returned, aid given, people held as human shields, a joint
exercise, a state of exception declared or lifted: the lexicon holds a verb's pattern for a class word ("hurl weapon",
"give aid") or none at all, and these read the class, or the act, from the object's words.
"""

from __future__ import annotations

from spacy.tokens import Token

from etl.nlp import gazetteer
from etl.nlp.agency import counted, head_phrase
from etl.nlp.lexicon import Lexicon, Trigger, load_word_classes
from etl.nlp.trigger_match import TriggerMatch

WORDS = load_word_classes()
# The object of a verb pattern, active or passive: "expelled two inspectors", "two inspectors were expelled".
OBJECT_DEPS = frozenset({"dobj", "nsubjpass"})
# The object word under which the lexicon keeps a verb's pattern for any weapon ("hurl weapon", "drop weapon").
WEAPON_CLASS = "weapon"
AIM_PREPS = frozenset(WORDS["aim_preposition"])
# A verb that stops or cuts what its object names, and one that lifts or ends it: the state of exception it ends is
# lifted; the aid or sanction it stops is coded in triggers.py.
DISCONTINUING_VERBS = frozenset(WORDS["discontinuing_verb"])
EASING_VERBS = DISCONTINUING_VERBS | frozenset(WORDS["easing_verb"])
TARGET_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC"})
PARTY_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})
# The object word under which the lexicon keeps a verb's pattern for property given back ("return property").
PROPERTY_CLASS = "property"
EXERCISE_NOUNS = frozenset(WORDS["exercise_noun"])
JOINT = "joint"
JOINT_EXERCISE = Trigger("COOPERATE", None, "062", "newsetl")
# A state of exception declared or imposed, and lifted (CAMEO 1724 and 0814).
EXCEPTION_STATES = frozenset({"emergency", "siege"})
DECLARING_VERBS = frozenset(WORDS["declaring_verb"])
EXCEPTION_IMPOSED = Trigger("COERCE", "martial-law", "1724", "newsetl")
EXCEPTION_LIFTED = Trigger("RETREAT", None, "0814", "newsetl")
# The object word under which the lexicon keeps a verb's pattern for aid given ("give aid", "deliver aid"), and what
# is given as humanitarian aid: PETRARCH2 codes SUPPLIES, MEDICAL, RELIEF, &FOOD, VACCINES as aid (CAMEO 073) under
# some giving verbs only.
AID_CLASS = "aid"
AID_GOODS = frozenset(WORDS["aid_goods"])
GOODS_DEPS = frozenset({"amod", "compound"})
# People held or used "as human shields" are coerced (CAMEO 170), whatever the verb: PETRARCH2 has only "form a human
# shield", a protest.
HUMAN_SHIELDS = Trigger("COERCE", None, "170", "newsetl")


def verb_pattern(verb: Token, heads: list[str], lemmas: tuple[str, ...], lexicon: Lexicon) -> TriggerMatch | None:
    """The act a verb's pattern beyond the lexicon reads from the verb and its object's class, tried in turn: a weapon
    used, property returned, aid given, people held as human shields, a joint exercise, a state of exception declared
    or lifted. `heads` are the verb's lemmas with its particle ("hand over") and without; `lemmas` without."""
    if (weapon_use := _weapon_trigger(verb, heads, lexicon)) is not None:
        return weapon_use
    if (returned := _returned_property(verb, lemmas, lexicon)) is not None:
        return returned
    if (given := _given_aid(verb, heads, lexicon)) is not None:
        return given
    if (shields := _human_shields(verb)) is not None:
        return shields
    if (exercise := _joint_exercise(verb)) is not None:
        return exercise
    return _state_of_exception(verb)


def _weapon_trigger(verb: Token, heads: list[str], lexicon: Lexicon) -> TriggerMatch | None:
    """A verb's weapon pattern ("hurl weapon", "drop weapon", "use weapon": CAMEO's &WEAPON class) applied to any
    weapon the weapons table names, as object or passive subject: "threw a grenade at a patrol", "a mortar shell
    was dropped on the market", not only the class's own words."""
    trigger = next((t for head in heads if (t := lexicon.phrase(head, WEAPON_CLASS, "VERB"))), None)
    if trigger is None:
        return None
    for child in verb.children:
        if (
            child.dep_ in OBJECT_DEPS
            and gazetteer.names_weapon(head_phrase(child)[1])
            and (_aimed(verb) or _aimed(child))
        ):
            return TriggerMatch(verb, verb.doc[min(verb.i, child.i) : max(verb.i, child.i) + 1], trigger)
    return None


def _returned_property(verb: Token, lemmas: tuple[str, ...], lexicon: Lexicon) -> TriggerMatch | None:
    """A verb's pattern for property returned ("return property", "repatriate artwork": CAMEO 0842, return or
    release property) applied to any thing given back to a party: "returned five artifacts to the government of
    Peru", "a sculpture was returned to Borduvia". A thing kept or sent anywhere else ("returned the ball to the
    keeper"), and people returned, are not."""
    trigger = next((t for lemma in lemmas if (t := lexicon.phrase(lemma, PROPERTY_CLASS, "VERB"))), None)
    if trigger is None or not any(_to_party(prep) for prep in verb.children if prep.dep_ in {"prep", "dative"}):
        return None
    for child in verb.children:
        if child.dep_ in OBJECT_DEPS and child.pos_ != "PRON" and not _party(counted(child)):
            return TriggerMatch(verb, verb.doc[min(verb.i, child.i) : max(verb.i, child.i) + 1], trigger)
    return None


def _given_aid(verb: Token, heads: list[str], lexicon: Lexicon) -> TriggerMatch | None:
    """A verb's pattern for aid given ("give aid", "send aid", "hand over aid") applied to supplies, medicine, food or
    shelter given to a party: "handed over medical supplies to the ministry", "gave 200 tents to Borduvia", "sent
    emergency supplies to Kessel". Other things given ("gave a speech to parliament") are not aid."""
    trigger = next((t for head in heads if (t := lexicon.phrase(head, AID_CLASS, "VERB"))), None)
    if trigger is None or trigger.event_type != "AID":
        return None
    if not any(_to_party(prep) for prep in verb.children if prep.dep_ in {"prep", "dative"}):
        return None
    for child in verb.children:
        if child.dep_ in OBJECT_DEPS and any(word.lemma_.lower() in AID_GOODS for word in _goods_words(child)):
            return TriggerMatch(verb, verb.doc[min(verb.i, child.i) : max(verb.i, child.i) + 1], trigger)
    return None


def _goods_words(obj: Token) -> list[Token]:
    """The words that say what an object given is: the noun, its modifiers ("medical equipment") and what it measures
    or counts ("700 kg of medicine", "dozens of tents")."""
    words = [obj, *(p for of in obj.children if of.lower_ == "of" for p in of.children if p.dep_ == "pobj")]
    return words + [c for word in words for c in word.children if c.dep_ in GOODS_DEPS]


def _human_shields(verb: Token) -> TriggerMatch | None:
    """People held or used as human shields: "held the villagers as human shields", "used civilians as a human
    shield"."""
    for prep in verb.children:
        if prep.dep_ == "prep" and prep.lower_ == "as":
            for shield in prep.children:
                if shield.dep_ == "pobj" and shield.lemma_.lower() == "shield" and _modified_by(shield, "human"):
                    return TriggerMatch(verb, verb.doc[verb.i : shield.i + 1], HUMAN_SHIELDS)
    return None


def _joint_exercise(verb: Token) -> TriggerMatch | None:
    """A joint military exercise held, begun or staged is military cooperation (CAMEO 062), as PETRARCH2 codes "begin
    joint exercise", "conduct joint maneuvers", "hold joint exercises": "performed joint war games", "started another
    round of joint drills". An exercise of one's own is not."""
    for child in verb.children:
        exercise = counted(child)
        if child.dep_ in OBJECT_DEPS and exercise.lemma_.lower() in EXERCISE_NOUNS and _modified_by(exercise, JOINT):
            return TriggerMatch(verb, verb.doc[min(verb.i, child.i) : max(verb.i, child.i) + 1], JOINT_EXERCISE)
    return None


def _state_of_exception(verb: Token) -> TriggerMatch | None:
    """A state of emergency or siege, or martial law, declared or imposed is CAMEO 1724 (COERCE), and lifted or
    ended, 0814 (RETREAT), as PETRARCH2 codes "impose state of emergency" and "lift state of emergency" (patterns with
    a prepositional phrase the compiler cannot read): "declared a state of siege over the capital", "lifted the
    state of emergency across six provinces". Other states ("declared a state of mourning") are none."""
    for child in verb.children:
        if child.dep_ in OBJECT_DEPS and _names_exception(child):
            if verb.lemma_ in EASING_VERBS:
                trigger = EXCEPTION_LIFTED
            elif verb.lemma_ in DECLARING_VERBS:
                trigger = EXCEPTION_IMPOSED
            else:
                return None
            # The trigger's words run to what the state is of ("declared a state of siege"): a kind, not a target.
            end = max([child.i, *(p.i for of in child.children if of.lower_ == "of" for p in of.children)])
            return TriggerMatch(verb, verb.doc[min(verb.i, child.i) : max(verb.i, end) + 1], trigger)
    return None


def _names_exception(noun: Token) -> bool:
    """ "a state of emergency", "the state of siege", "martial law"."""
    if noun.lemma_.lower() == "law":
        return _modified_by(noun, "martial")
    return noun.lemma_.lower() == "state" and any(
        pobj.lemma_.lower() in EXCEPTION_STATES
        for of in noun.children
        if of.dep_ == "prep" and of.lower_ == "of"
        for pobj in of.children
        if pobj.dep_ == "pobj"
    )


def _modified_by(noun: Token, word: str) -> bool:
    """The noun's adjective or noun modifier is `word`: "human shields", "joint exercises", "martial law"."""
    return any(c.dep_ in {"amod", "compound"} and c.lower_ == word for c in noun.children)


def _to_party(prep: Token) -> bool:
    """A "to" phrase naming a party: "to Borduvia", "to the government of Peru", "to Ruritanian authorities"."""
    return prep.lower_ == "to" and any(c.dep_ == "pobj" and _party(c) for c in prep.children)


def _party(token: Token) -> bool:
    """The word names a party: a state, an organisation, a people, a person or a generic agent."""
    phrase = head_phrase(token)[1]
    return (
        token.ent_type_ in PARTY_LABELS
        or gazetteer.is_agent_term(token.lemma_)
        or gazetteer.agent_sector(phrase) is not None
        or gazetteer.country_of(phrase) is not None
    )


def _aimed(token: Token) -> bool:
    """The word is aimed at a party, a place or what force is used on ("at a patrol", "on the town", "into
    Kessel"), not put somewhere ("dropped his knife on the floor")."""
    for prep in token.children:
        if prep.dep_ == "prep" and prep.lower_ in AIM_PREPS:
            for target in (c for c in prep.children if c.dep_ == "pobj"):
                phrase = head_phrase(target)[1]
                if (
                    target.ent_type_ in TARGET_LABELS
                    or gazetteer.names_target(phrase)
                    or gazetteer.agent_sector(phrase) is not None
                ):
                    return True
    return False
