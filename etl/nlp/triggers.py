"""Triggers of a sentence: the verbs, verb phrases and nouns the PLOVER lexicon codes, and how they nest.

A trigger is a verb (or verb + particle/object phrase: "pull out", "launch attack") or a noun ("the withdrawal",
"held talks") found in the lexicon. A trigger that is the content of another ("agreed to withdraw", "condemned
the attack") is coded by the outer one only; a circumstance ("after the shelling") is background.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from spacy.tokens import Span, Token

from etl.nlp import gazetteer
from etl.nlp.agency import ARMED_SECTORS, QUANTITY_NOUNS, counted, head_phrase
from etl.nlp.lexicon import Lexicon, Trigger, load_word_classes
from etl.nlp.modality import passive_prediction, unasserted
from etl.nlp.syntax import CONTENT_DEPS, SUBJECT_DEPS, clause_path, verb_lemmas
from etl.nlp.trigger_match import TriggerMatch
from etl.nlp.verb_patterns import DISCONTINUING_VERBS, EASING_VERBS, OBJECT_DEPS, TARGET_LABELS, verb_pattern

WORDS = load_word_classes()
# Clauses that only describe a participant ("refugees fleeing the war") are background, not news;
# "according (to)" is tagged as a verb.
BACKGROUND_DEPS = frozenset({"relcl", "acl", "amod", "compound", "nmod", "npadvmod", "prep"})
PHRASE_DEPS = frozenset({"prt", "prep", "advmod", "dative"}) | OBJECT_DEPS
# An object that only counts what its "of" phrase names: "some of", "two of", "dozens of".
COUNTING_POS = frozenset({"NUM", "DET", "PRON"})
# A reported obligation's clause ("declared that China must drop barriers").
REPORTED_DEPS = frozenset({"ccomp", "acl"})
# Subordinate clauses and prepositional adjuncts that set the scene of the main event rather than report news.
CIRCUMSTANCE_MARKS = frozenset(WORDS["circumstance_mark"])
CIRCUMSTANCE_PREPS = frozenset(WORDS["circumstance_preposition"])
# Verbs and nouns are triggers; an auxiliary only as the modal of a reported obligation ("must").
TRIGGER_POS = frozenset({"VERB", "AUX", "NOUN"})
# A verb that stops or cuts what its object names ("reduced military aid", "halted its assistance") turns material
# cooperation into its withdrawal: CAMEO 162, "reduce or stop material aid", a SANCTION.
DISCONTINUED_TYPES = frozenset({"AID", "COOPERATE"})
DISCONTINUED = Trigger("SANCTION", "discontinue", "162", "newsetl")
# A sanction a verb lifts, stops or cuts ("lifted its embargo", "removed the sanctions on Rusal") is eased: CAMEO 085,
# "ease economic sanctions, boycott, or embargo", as PETRARCH2's own "lift sanctions" is.
EASED = Trigger("RETREAT", "ease", "085", "newsetl")
# Forces sent as peacekeepers, observers or trainers, or to help, train or support another's, are military aid
# (CAMEO 074, "provide military protection or peacekeeping"), not a show of force.
PEACEKEEPING_NOUNS = frozenset(WORDS["peacekeeping_noun"])
ASSISTING_VERBS = frozenset(WORDS["assisting_verb"])
PURPOSE_DEPS = frozenset({"advcl", "xcomp"})
OWN_CLAUSE_BREAKS = frozenset({"conj", "cc", "ccomp", "parataxis"})
COMPLETING_DEPS = frozenset({"xcomp", "dobj"})
PEACEKEEPING = Trigger("AID", None, "074", "newsetl")
VISIT_MODE = "visit"
# A verb that only scales an act its object names ("intensified its bombardment", "stepped up attacks") or joins in
# it ("joined the protests") is not an act of its own: the object is, as with a light verb.
SCALING_VERBS = frozenset(WORDS["scaling_verb"]) | frozenset(WORDS["joining_verb"])
# Verbs of capture that, in the passive and "in" something that is no place, party or act, say people were trapped:
# "four men were caught in a torrent", "caught in the crossfire".
ENTRAPPING_VERBS = frozenset(WORDS["entrapping_verb"])
# A noun the press qualifies names the press's own document or briefing, not an act: "a press release" frees nobody;
# and an illness names a seizure of the body: "suffered a heart attack", "a panic attack".
NOT_ACT_MODIFIERS = frozenset(WORDS["press_modifier"]) | frozenset(WORDS["illness_modifier"])
# Words of protest that, with an object, a clause or an "of" phrase, mean showing it ("demonstrated its new phone").
SHOWING_WORDS = frozenset(WORDS["showing_word"])
SHOWN_DEPS = frozenset({"dobj", "ccomp"})
# Nouns that only say an act is undertaken, the act named by their noun modifier: "a mediation effort", "a bombing
# campaign", "a protest campaign".
EFFORT_NOUNS = frozenset(WORDS["effort_noun"])


def sentence_triggers(sentence: Span, lexicon: Lexicon) -> Iterator[TriggerMatch]:
    for token in sentence:
        # Other words are never triggers: tested first, it spares most tokens the walks up the parse below.
        pos = token.pos_
        if pos not in TRIGGER_POS or any(t.dep_ == "relcl" for t in token.ancestors):
            continue
        # A "must" clause is news even as a noun's complement ("a reminder that it must cooperate").
        if pos != "NOUN" and (obligation := _obligation_trigger(token, lexicon)):
            yield obligation
            continue
        if pos == "AUX" or passive_prediction(token):
            continue
        if (token.dep_ in BACKGROUND_DEPS or _in_participle_clause(token)) and not passive_description(token):
            continue
        if pos == "VERB" and (_scales_an_act(token, lexicon) or _trapped(token, lexicon) or _eases(token, lexicon)):
            continue
        if _showing(token):
            continue
        match = _verb_trigger(token, lexicon) if pos == "VERB" else _noun_trigger(token, lexicon)
        # A described noun's act is as asserted as the noun's clause: "hopes he will lift sanctions imposed by X".
        if match is not None and not unasserted(token.head if passive_description(token) else token):
            yield replace(match, trigger=PEACEKEEPING) if _sent_to_help(match) else match


def _verb_trigger(verb: Token, lexicon: Lexicon) -> TriggerMatch | None:
    doc = verb.doc
    # A phrase is more specific than its verb: "withdraw ambassador" is SANCTION where "withdraw" is RETREAT,
    # "call off a strike" is CONCEDE where "call off" is SANCTION.
    particles = [c for c in verb.children if c.dep_ == "prt"]
    lemmas = verb_lemmas(verb)
    heads = [f"{lemma} {p.lower_}" for lemma in lemmas for p in particles[:1]] + list(lemmas)
    for child in sorted(verb.children, key=lambda c: (c.dep_ not in OBJECT_DEPS, c.i)):
        if child.dep_ not in PHRASE_DEPS or (child.dep_ == "prep" and child.i < verb.i):
            continue
        objects = _object_words(child) if child.dep_ in OBJECT_DEPS else [child]
        for head in heads:
            # A preposition and its object: "took to the streets" is "take to street".
            for pobj in (c for c in child.children if child.dep_ == "prep" and c.dep_ == "pobj"):
                trigger = lexicon.phrase(f"{head} {child.lower_}", pobj.lemma_, "VERB")
                if trigger is not None:
                    return TriggerMatch(verb, doc[min(verb.i, pobj.i) : max(verb.i, pobj.i) + 1], trigger)
            for obj in objects:
                # A preposition is matched as written: "according" is not the noun "accord".
                lemma = obj.lower_ if obj.dep_ == "prep" else obj.lemma_
                trigger = lexicon.phrase(head, lemma, "VERB") or lexicon.phrase(head, obj.lower_, "VERB")
                if trigger is not None:
                    return TriggerMatch(verb, doc[min(verb.i, child.i) : max(verb.i, child.i) + 1], trigger)
    if (pattern := verb_pattern(verb, heads, lemmas, lexicon)) is not None:
        return pattern
    trigger = next((t for lemma in lemmas if (t := lexicon.word(lemma, "VERB"))), None)
    return TriggerMatch(verb, doc[verb.i : verb.i + 1], trigger) if trigger else None


def _scales_an_act(verb: Token, lexicon: Lexicon) -> bool:
    """A scaling or joining verb ("intensify", "step up", "join") whose object is a nominal trigger ("its
    bombardment", "attacks", "the protests")."""
    particles = [c.lower_ for c in verb.children if c.dep_ == "prt"]
    scaling = any(
        lemma in SCALING_VERBS or any(f"{lemma} {p}" in SCALING_VERBS for p in particles) for lemma in verb_lemmas(verb)
    )
    return scaling and any(c.dep_ == "dobj" and lexicon.word(c.lemma_, "NOUN") for c in verb.children)


def _eases(verb: Token, lexicon: Lexicon) -> bool:
    """An easing verb ("remove", "end") whose object is a sanction noun the lexicon has no pattern of the verb for
    ("removed the sanctions"; "lifted sanctions" is PETRARCH2's own): the noun is the act, eased, as a light verb's
    noun is."""
    return verb.lemma_ in EASING_VERBS and any(
        c.dep_ == "dobj"
        and (t := lexicon.word(c.lemma_, "NOUN")) is not None
        and t.event_type == "SANCTION"
        and lexicon.phrase(verb.lemma_, c.lemma_, "VERB") is None
        and lexicon.phrase(verb.lemma_, c.lower_, "VERB") is None
        for c in verb.children
    )


def _trapped(verb: Token, lexicon: Lexicon) -> bool:
    """ "were caught in a torrent", "caught in the crossfire": an entrapping verb in the passive, with no agent, "in"
    what is neither a place, a party nor an act ("were caught in a raid", "caught in Kessel" are arrests)."""
    if verb.lemma_ not in ENTRAPPING_VERBS or not any(c.dep_ == "auxpass" for c in verb.children):
        return False
    if any(c.dep_ == "agent" for c in verb.children):
        return False
    return any(
        pobj.ent_type_ not in TARGET_LABELS and lexicon.word(pobj.lemma_, "NOUN") is None
        for prep in verb.children
        if prep.dep_ == "prep" and prep.lower_ == "in"
        for pobj in prep.children
        if pobj.dep_ == "pobj"
    )


def _showing(token: Token) -> bool:
    """ "demonstrated the displeasure", "demonstrated why he never scores", "ran a demonstration of the service": to
    demonstrate something is to show it. A demonstration by itself, against or for something is a protest."""
    return token.lemma_ in SHOWING_WORDS and any(
        c.dep_ in SHOWN_DEPS or (c.dep_ == "prep" and c.lower_ == "of") for c in token.children
    )


def _object_words(obj: Token) -> list[Token]:
    """The words a verb's pattern may name as its object (active or passive): the object, its noun modifier
    ("halted mediation efforts" is "halt mediation") unless the object is an armed force, which the modifier only
    qualifies ("attacked government forces" is no "attack government", a criticism), and what a quantity counts
    ("expelled some of the peacekeepers" is "expel peacekeeper")."""
    words = [obj]
    if gazetteer.agent_sector(head_phrase(obj)[1]) not in ARMED_SECTORS:
        words += [c for c in obj.children if c.dep_ == "compound"]
    if obj.pos_ in COUNTING_POS or obj.lemma_ in QUANTITY_NOUNS:
        words += [p for of in obj.children if of.lower_ == "of" for p in of.children if p.dep_ == "pobj"]
    return words


def _obligation_trigger(verb: Token, lexicon: Lexicon) -> TriggerMatch | None:
    """A reported obligation ("declared that China must drop barriers") is a request by the speaker.

    The modal is the trigger (a lexicon row for the AUX lemma); the clause must be reported by a verb or a noun
    ("a reminder that it must cooperate"), or nobody is asking.
    """
    if verb.dep_ not in REPORTED_DEPS:
        return None
    for child in verb.children:
        if child.dep_ == "aux" and child.i < verb.i and (trigger := lexicon.word(child.lemma_, "AUX")):
            return TriggerMatch(verb, verb.doc[child.i : verb.i + 1], trigger, obligation=True)
    return None


def _noun_trigger(noun: Token, lexicon: Lexicon) -> TriggerMatch | None:
    doc = noun.doc
    trigger = None
    for child in noun.lefts:
        if child.dep_ == "compound" and child.lemma_.lower() in NOT_ACT_MODIFIERS:
            return None
        if child.dep_ == "compound":
            trigger = trigger or lexicon.phrase(child.lemma_, noun.lemma_, "NOUN")
    trigger = trigger or lexicon.word(noun.lemma_, "NOUN") or _effort_trigger(noun, lexicon)
    if trigger is None:
        return None
    head = noun.head
    if noun.dep_ == "dobj" and head.pos_ == "VERB":  # a light verb: "held talks", "began a withdrawal"
        if head.lemma_ in DISCONTINUING_VERBS and trigger.event_type in DISCONTINUED_TYPES:
            trigger = DISCONTINUED
        elif head.lemma_ in EASING_VERBS and trigger.event_type == "SANCTION":
            trigger = EASED
        return TriggerMatch(noun, doc[head.i : noun.i + 1], trigger)
    return TriggerMatch(noun, doc[noun.i : noun.i + 1], trigger)


def _effort_trigger(noun: Token, lexicon: Lexicon) -> Trigger | None:
    """An effort, campaign or operation is the act its noun modifier names: "launched a mediation effort" is a
    mediation launched, as "launched a mediation" is; the modifier alone is no trigger (a compound describes)."""
    if noun.lemma_.lower() not in EFFORT_NOUNS:
        return None
    return next((t for c in noun.lefts if c.dep_ == "compound" and (t := lexicon.word(c.lemma_, "NOUN"))), None)


def _sent_to_help(match: TriggerMatch) -> bool:
    """A deployment of peacekeepers, observers or trainers, or one whose purpose is to help, train or support:
    "sent troops to serve as peacekeepers", "offered troops to help its ally". The verb a deployment completes or
    is the object of counts too: "peacekeepers started deploying", "ordered a deployment for a peacekeeping
    operation"."""
    if match.trigger.event_type != "MOBILIZE" and not _forces_arriving(match):
        return False
    token = match.token
    heads = (token, token.head) if token.dep_ in COMPLETING_DEPS else (token,)
    for head in heads:
        for child in head.children:
            if child.dep_ in OWN_CLAUSE_BREAKS:
                continue
            for word in child.subtree:
                if word.lemma_.lower() in PEACEKEEPING_NOUNS or (
                    word.dep_ in PURPOSE_DEPS and word.lemma_ in ASSISTING_VERBS and word.head in heads
                ):
                    return True
    return False


def _forces_arriving(match: TriggerMatch) -> bool:
    """A visit whose subject is armed forces ("Ruritanian troops arrived in Vell") is their deployment, not a
    diplomatic visit: sent as peacekeepers or to help, it is military aid as a deployment is."""
    return match.trigger.mode == VISIT_MODE and any(
        c.dep_ in SUBJECT_DEPS and gazetteer.agent_sector(head_phrase(counted(c))[1]) in ARMED_SECTORS
        for c in match.token.children
    )


def _in_participle_clause(token: Token) -> bool:
    """Inside a participle modifying a noun of its own clause ("refugees fleeing the war")."""
    return any(t.dep_ == "acl" for t in clause_path(token))


def outer_trigger(token: Token, matches: Mapping[int, TriggerMatch], deps: frozenset[str] = CONTENT_DEPS) -> int | None:
    """The index of the trigger whose content (through `deps`) this token is, if any.

    A conjunct stands where its first conjunct stands: in "opened fire, killing one and arresting 12" the
    arrest is a circumstance of the shooting as much as the killing is.
    """
    current = token
    while current.head.i != current.i:
        if current.dep_ == "conj":
            current = current.head
            continue
        if current.dep_ not in deps:
            return None
        current = current.head
        if current.i in matches:
            return current.i
    return None


def passive_description(token: Token) -> bool:
    """A past participle describing a noun, with the act's agent named: "a police car hit by a suicide
    bomber", "diplomats expelled by the US". The act is news when the sentence reports no other."""
    return token.dep_ == "acl" and token.tag_ == "VBN" and any(c.dep_ == "agent" for c in token.children)


def circumstantial(token: Token) -> bool:
    """The token is in a temporal or causal adverbial clause, or in an "after …"/"during …" phrase, or describes a
    noun ("a vehicle targeted by a bomber")."""
    if passive_description(token):
        return True
    for ancestor in (token, *token.ancestors):
        if ancestor.dep_ == "prep" and ancestor.lower_ in CIRCUMSTANCE_PREPS:
            return True
        if circumstance_clause(ancestor):
            return True
    return False


def circumstance_clause(token: Token) -> bool:
    """The token is the verb of a temporal or causal adverbial clause ("after Kurdish forces withdrew")."""
    return token.dep_ == "advcl" and any(c.dep_ == "mark" and c.lower_ in CIRCUMSTANCE_MARKS for c in token.children)
