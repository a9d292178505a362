"""PLOVER event coding over a parsed spaCy Doc: per sentence, the triggers found, their arguments, parties and
modality, one event per predicate.

One predicate yields one event: a trigger that is the content of another trigger ("agreed to withdraw",
"condemned the attack", "warned it would strike") is coded by the outer one only, as PLOVER codes the speech act,
not the act spoken of. Verbs that are not events (reporting and light verbs: "said", "announced", "held") lend
their subject to the trigger they govern.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from functools import cache, partial

from spacy.tokens import Doc, Span, Token

from etl.nlp import gazetteer
from etl.nlp.agency import Mentions, counted, head_phrase
from etl.nlp.arguments import arguments, sources
from etl.nlp.confidence import TriggerKind, confidence, evidence_of
from etl.nlp.event_dates import continues_previous_day, is_background, resolve_event_date
from etl.nlp.lexicon import Lexicon, Trigger, load_word_classes
from etl.nlp.modality import HOSTILE_TYPES, announced_as_intent, intent_type, is_hypothetical, is_negated
from etl.nlp.participants import PLACE_TARGET_TYPES, EventSetting, event_place_key, participant_of, sentence_country
from etl.nlp.parties import (
    CIVILIAN_SECTORS,
    OUTCOME_LEMMAS,
    Parties,
    event_parties,
    names_forces,
    names_place,
    violent_sentence,
)
from etl.nlp.syntax import governing_verb
from etl.nlp.trigger_match import TriggerMatch
from etl.nlp.triggers import (
    PURPOSE_DEPS,
    circumstance_clause,
    circumstantial,
    outer_trigger,
    sentence_triggers,
)
from etl.records import Entity, Event, Mention, Participant

WORDS = load_word_classes()
# CAMEO 030 ("express intent to cooperate") verbs such as "plan", "decide", "prepare" take their type from
# what is intended.
INTENT_CODE = "030"
# Links from an intent verb to the act intended ("decided to approve", "plans to launch an attack").
INTENT_DEPS = frozenset({"xcomp", "ccomp", "dobj", "acomp"})
COMMAND_VERBS = frozenset(WORDS["command_verb"])
DECISION_VERBS = frozenset(WORDS["decision_verb"])
PERSONAL_PRONOUNS = frozenset(WORDS["personal_pronoun"])
CIVILIAN_LABELS = frozenset({"PERSON", "ORG"})
# A match, a race or an award: force, threats, protests and coercion in a sentence about one are the contest's
# ("Liverpool's late attacks", "a first-time strike", "threatened to break their defence", "upset the favourite",
# "the club banned its midfielder for three matches").
CONTEST_NOUNS = frozenset(WORDS["contest_noun"])
SPORT_NOUNS = frozenset(WORDS["sport_noun"])
# An article that names contests this often is about one (a match report, an awards night): its other sentences
# are the contest's too ("City broke swiftly up the field", "Bellamy took four minutes to threaten"). Sport's own
# words count here ("midfielder", "season", "goal"), not in a single sentence, where they have other senses ("a
# rights defender", "the fighting season"). Of the first 300 BBC News articles of each category, 271 sport and 103
# entertainment articles reach it, and 5 politics articles (on football's governance). There, the
# parties of the contest are any a country does not qualify and that are not armed, police or a court: a teacher
# who wins a race, critics attacking a film, "the home side" and "the athletics chief", whom the agents dictionary
# reads as officials (not "the Kenyan government banned the film", nor police at the ground).
CONTEST_ARTICLE_NOUNS = 3
OUTSIDE_CONTEST_SECTORS = frozenset({"MIL", "COP", "JUD", "REB", "UAF", "SPY", "CRM"})
CONTEST_TYPES = frozenset({"ASSAULT", "THREATEN", "PROTEST", "COERCE"})
# Acts mostly done in or aimed at another country than one's own: a visit, refuge sought, aid.
ABROAD_MODES = frozenset({"visit", "asylum"})
ABROAD_TYPES = frozenset({"AID"})
# Demands that take the form of a demonstration are PROTEST, not REQUEST (PLOVER's manual, REQUEST): protesters
# "came out to demand the release of the students", "staged a sit-in, urging lawmakers to act"; so is protesters'
# gathering, which the lexicon reads as a meeting (CAMEO 040).
PROTESTER_NOUNS = frozenset(WORDS["protester_noun"])
ASSEMBLING_VERBS = frozenset(WORDS["assembling_verb"])
DEMONSTRATION = Trigger("PROTEST", "demo", "141", "newsetl")
# Armed forces or police leaving a place withdraw from it ("troops began leaving the country"), as "withdraw" and
# "pull out" are; PETRARCH2 files LEAVE under CAMEO 040 (a visit's departure: "the minister left for talks").
DEPARTING_VERBS = frozenset(WORDS["departing_verb"])
WITHDRAWAL = Trigger("RETREAT", "withdraw", None, "newsetl")
# Passage blocked by a state's army or police restricts movement (PLOVER COERCE/restrict), as a curfew does; blocked
# by anyone else, rebels included ("rebels blocked transport into the capital", as PLOVER's gold codes it), it is a
# protest by obstruction (PROTEST/obstruct).
STATE_FORCE_SECTORS = frozenset({"MIL", "COP"})
MOVEMENT_RESTRICTED = Trigger("COERCE", "restrict", None, "newsetl")
# An attack by people on no place, where no weapon, armed party or harm is named, is made in words: criticism (CAMEO
# 111, PLOVER ACCUSE). Politics news says so daily: "Howard went on the offensive over the remarks", "Blair launched
# an attack on the Conservatives' spending plans".
ATTACK_LEMMAS = frozenset({"attack", "offensive"})
CRITICISM = Trigger("ACCUSE", "disapprove", "111", "newsetl")


def code_events(
    doc: Doc,
    mentions: Sequence[Mention],
    entities: Mapping[str, Entity],
    publication_date: date | None,
    lexicon: Lexicon,
) -> list[Event]:
    """The PLOVER events of a parsed document, one per trigger token, in text order."""
    events: list[Event] = []
    sentences = list(doc.sents)
    mentions = Mentions(mentions)
    about_contest = _contest_nouns(doc, CONTEST_NOUNS | SPORT_NOUNS) >= CONTEST_ARTICLE_NOUNS
    for sentence_index, sentence in enumerate(sentences):
        matches = {m.token.i: m for m in sentence_triggers(sentence, lexicon)}
        # "ordered the mobilisation of reservists" is the mobilisation, by whoever ordered it (as CAMEO codes
        # "order arrest"); an order to someone else ("ordered them to leave") stays a request.
        commands = {
            m.token.head.i
            for m in matches.values()
            if m.token.pos_ == "NOUN" and m.token.dep_ == "dobj" and m.token.head.lemma_ in COMMAND_VERBS
        }
        matches = {i: m for i, m in matches.items() if i not in commands}
        # A trigger nobody performs is no event; it is left out before the nesting below, so that an act it would
        # have framed is coded on its own ("four were killed when gunmen attacked a post": the attack).
        hostile = {i for i, m in matches.items() if m.trigger.event_type in HOSTILE_TYPES}
        # Whether the sentence names a weapon or an armed party: asked about several triggers, found once.
        violent = cache(partial(violent_sentence, sentence, mentions))
        parties = {i: event_parties(m, *arguments(m), mentions, hostile, violent) for i, m in matches.items()}
        parties = {i: p for i, p in parties.items() if p is not None}
        # Deaths and injuries nobody is said to cause are violence only in a sentence that names a weapon or an
        # armed party, and no attack: "three soldiers were wounded when an IED went off", not "… when a tank
        # exploded"; "… were killed when gunmen attacked a post" is the attack.
        uncaused = {i for i, p in parties.items() if p.uncaused}
        attacks = {i for i in parties.keys() - uncaused if matches[i].trigger.event_type == "ASSAULT"}
        if uncaused and (attacks or not violent()):
            # The attack's victims are the outcome's: "two soldiers were killed when a roadside bomb exploded".
            victims = next((parties[i].recipients for i in sorted(uncaused) if parties[i].recipients), [])
            parties = {
                i: replace(p, recipients=p.recipients or victims) if i in attacks else p
                for i, p in parties.items()
                if i not in uncaused
            }
        matches = {i: m for i, m in matches.items() if i in parties}
        outer = {i: outer_trigger(m.token, matches) for i, m in matches.items()}
        intent_markers = {i for i, m in matches.items() if m.trigger.cameo_code == INTENT_CODE}
        # An intent verb with an intended act gives way to that act, coded as an intent ("decided to withdraw",
        # "plans to launch an attack"); a trigger in its adjunct ("offered talks after the invasion") is not intended.
        intended_by = {i: outer_trigger(m.token, matches, INTENT_DEPS) for i, m in matches.items()}
        expanded = {o for o in intended_by.values() if o in intent_markers}
        # A withdrawal in a temporal clause of its own, by a named party the event it qualifies does not name, is
        # news too: territory changes hands ("Iraqi forces took the town after Kurdish forces withdrew from it").
        own_news = {i for i, m in matches.items() if _own_circumstance(m, outer[i], parties)}
        coded = [
            m
            for i, m in matches.items()
            if i not in expanded
            and (outer[i] is None or i in own_news or (outer[i] in expanded and intended_by[i] == outer[i]))
        ]
        # A circumstance ("as he embarked on a trip", "after the shelling") is background to a main-clause event.
        if any(not circumstantial(m.token) for m in coded):
            coded = [m for m in coded if not circumstantial(m.token) or m.token.i in own_news]
        if not coded:
            continue
        # "Minutes earlier, …" in a sentence naming no date of its own continues the day the sentences before it
        # last named. Dates are resolved only here and for events: most sentences' dates date nothing.
        continued = continues_previous_day(sentence)
        previous_day = None
        if continued is not None and resolve_event_date(sentence, publication_date)[1] is None:
            previous_day = _day_named_before(sentences, sentence_index, publication_date)
        protests = _protest_words(matches.values())
        for match in sorted(coded, key=lambda m: m.token.i):
            i = match.token.i
            if _protest_purpose(match, protests):
                continue
            if _demonstrated(match, parties[i].actors):
                match = replace(match, trigger=DEMONSTRATION)
            elif _forces_left(match, parties[i].actors, mentions):
                match = replace(match, trigger=WITHDRAWAL)
            elif _forces_obstructed(match, parties[i].actors):
                match = replace(match, trigger=MOVEMENT_RESTRICTED)
            # A decision taken is the act decided ("decided to lift the sanctions"), not an intent announced; a
            # decision not to act stays a refusal ("decided not to attend": REJECT).
            decided = (
                outer[i] is not None
                and matches[outer[i]].token.lemma_ in DECISION_VERBS
                and not is_negated(match.token)
            )
            intended = (outer[i] is not None and i not in own_news and not decided) or (
                announced_as_intent(match.token) and not (outer[i] is None and _announced_measure(match))
            )
            actors, recipients = parties[i].actors, parties[i].recipients
            event = _event(
                match, intended, sentence, sentence_index, actors, recipients, mentions, entities, publication_date
            )
            if not violent() and _attack_in_words(event, match, sentence):
                match = replace(match, trigger=CRITICISM)
                event = _event(
                    match, intended, sentence, sentence_index, actors, recipients, mentions, entities, publication_date
                )
            if not _counts(event, match.token.pos_ == "NOUN") or (
                not violent() and (_contest(event, entities) or _in_contest(event, sentence, about_contest))
            ):
                continue
            if previous_day is not None:
                event = replace(event, event_date=previous_day, date_text=continued)
            events.append(_scored(event, match, publication_date))
    return events


def _attack_in_words(event: Event, match: TriggerMatch, sentence: Span) -> bool:
    """An attack by people with an office or a country (a private person's force is no event: `_counts`), on no place
    and with no harm done in the sentence: "Blair attacked the Tory plans", not "Putin attacked Ukraine", "a man
    attacked the MP", "the minister's guard attacked him, injuring his arm" (the caller asks whether the sentence
    names a weapon or an armed party)."""
    actors = [p for p in event.participants if p.role == "actor"]
    return (
        event.event_type == "ASSAULT"
        and any(t.lemma_ in ATTACK_LEMMAS for t in match.span)
        and bool(actors)
        and all(_personal(p) and (p.country or p.sector) for p in actors)
        and event.location_key is None
        and not any(t.lemma_ in OUTCOME_LEMMAS for t in sentence)
    )


def _demonstrated(match: TriggerMatch, actors: Sequence[Token]) -> bool:
    """A demand by protesters, or their gathering: every actor's head is a protester noun ("thousands of
    demonstrators")."""
    kind = match.trigger.event_type
    if not (kind == "REQUEST" or (kind == "CONSULT" and match.token.lemma_ in ASSEMBLING_VERBS)):
        return False
    return bool(actors) and all(counted(a).lemma_.lower() in PROTESTER_NOUNS for a in actors)


def _announced_measure(match: TriggerMatch) -> bool:
    """A diplomatic or administrative measure (SANCTION) announced for the future, on no condition, is the measure
    decided, as PLOVER's coders code it: "ten diplomats will be expelled", "announced it would halt all aid". A
    threat names a condition ("will cut aid if …") or a threatening verb frames it ("threatened to expel")."""
    token = match.token
    return match.trigger.event_type == "SANCTION" and not is_negated(token) and not is_hypothetical(token, True)


def _forces_left(match: TriggerMatch, actors: Sequence[Token], mentions: Mentions) -> bool:
    """Forces leaving a place: a departing verb whose every actor is armed forces or police and whose object is a
    place named or a place force is used on ("American troops began leaving Kessel", "the rebels quit the town";
    not "police left the scene")."""
    token = match.token
    return (
        token.lemma_ in DEPARTING_VERBS
        and bool(actors)
        and all(map(names_forces, actors))
        and any(c.dep_ == "dobj" and names_place(c, mentions) for c in token.children)
    )


def _forces_obstructed(match: TriggerMatch, actors: Sequence[Token]) -> bool:
    """Passage blocked by a state's army or police: "police blocked the bridges into the city" (not "farmers
    blocked the motorway", nor rebels: protests)."""
    trigger = match.trigger
    return (
        (trigger.event_type, trigger.mode) == ("PROTEST", "obstruct")
        and bool(actors)
        and all(gazetteer.agent_sector(head_phrase(a)[1]) in STATE_FORCE_SECTORS for a in actors)
    )


def _protest_words(matches: Iterable[TriggerMatch]) -> set[int]:
    """The words of the sentence's protest triggers, and the verbs their nouns hang on ("went on strike")."""
    protests = [m for m in matches if m.trigger.event_type == "PROTEST"]
    verbs = (governing_verb(m.token) for m in protests if m.token.pos_ == "NOUN")
    return {t.i for m in protests for t in m.span} | {v.i for v in verbs if v is not None}


def _protest_purpose(match: TriggerMatch, protests: set[int]) -> bool:
    """A demand made by protesting is the protest's content, coded by the protest alone (PLOVER's manual codes a
    demonstration's demands as the demonstration): "began a hunger strike to demand the return of their land",
    "went on strike, demanding higher wages"."""
    token = match.token
    return match.trigger.event_type == "REQUEST" and token.dep_ in PURPOSE_DEPS and token.head.i in protests


def _own_circumstance(match: TriggerMatch, outer: int | None, parties: Mapping[int, Parties]) -> bool:
    """A temporal or causal clause's own RETREAT trigger whose actors are named (no pronoun, which may stand for the
    main actor) and are not the actors of the event the clause qualifies. Other acts in such a clause are the
    scene or the cause of the main event, as PLOVER codes them ("recalled its ambassador after border guards
    shelled a post")."""
    actors = parties[match.token.i].actors
    if (
        match.trigger.event_type != "RETREAT"
        or not circumstance_clause(match.token)
        or not actors
        or any(a.pos_ == "PRON" for a in actors)
    ):
        return False
    others = {head_phrase(a)[1].lower() for a in parties[outer].actors} if outer is not None else set()
    return others.isdisjoint(head_phrase(a)[1].lower() for a in actors)


def _day_named_before(sentences: Sequence[Span], index: int, publication_date: date | None) -> date | None:
    """The date the last sentence before `index` that names one names, or None."""
    for sentence in reversed(sentences[:index]):
        day, text = resolve_event_date(sentence, publication_date)
        if text is not None:
            return day
    return None


def _event(
    match: TriggerMatch,
    intended: bool,
    sentence: Span,
    sentence_index: int,
    actors: list[Token],
    recipients: list[Token],
    mentions: Mentions,
    entities: Mapping[str, Entity],
    publication_date: date | None,
) -> Event:
    predicate = match.token if match.token.pos_ == "VERB" else governing_verb(match.token) or match.token
    event_date, date_text = resolve_event_date(sentence, publication_date, predicate)
    actor_ids = {a.i for a in actors}
    location_key = event_place_key(match, recipients, mentions)
    location = entities.get(location_key) if location_key else None
    place_country = location.country if location else None
    # A visitor, a refugee or a donor is seldom a national of the place or of the country the sentence names: "the
    # Ruritanian minister arrived in Kenya", "donors sent food aid to Haitian villagers".
    abroad = match.trigger.mode in ABROAD_MODES or match.trigger.event_type in ABROAD_TYPES
    setting = EventSetting(mentions, entities, place_country, sentence_country(sentence, mentions, entities))
    actor_setting = EventSetting(mentions, entities) if abroad else setting
    participants = [participant_of("actor", a, actor_setting) for a in actors]
    participants += [participant_of("recipient", r, setting) for r in recipients if r.i not in actor_ids]
    participants += [participant_of("source", s, setting) for s in sources(match)]
    negated = is_negated(match.token)
    event_type = intent_type(match.trigger.event_type, negated) if intended else match.trigger.event_type
    return Event(
        event_type=event_type,
        mode=match.trigger.mode if event_type == match.trigger.event_type else None,
        trigger_start=match.span.start_char,
        trigger_end=match.span.end_char,
        trigger_text=match.span.text,
        sentence_index=sentence_index,
        sentence_text=sentence.text,
        participants=tuple(participants),
        event_date=event_date,
        date_text=date_text,
        location_key=location_key,
        negated=negated and event_type == match.trigger.event_type,
        hypothetical=is_hypothetical(match.token, intended and event_type != match.trigger.event_type),
    )


def _scored(event: Event, match: TriggerMatch, publication_date: date | None) -> Event:
    """The event with its confidence and background flag, from the evidence the coder found for it."""
    return replace(
        event,
        confidence=confidence(evidence_of(event, _trigger_kind(match))),
        is_background=is_background(event.event_date, publication_date),
    )


def _trigger_kind(match: TriggerMatch) -> TriggerKind:
    if match.obligation:
        return TriggerKind.OBLIGATION
    if match.token.pos_ == "VERB":  # a verb's span is longer than the verb only when a lexicon phrase matched
        return TriggerKind.VERB_PHRASE if len(match.span) > 1 else TriggerKind.VERB
    return TriggerKind.LIGHT_VERB_NOUN if len(match.span) > 1 else TriggerKind.NOUN


def _counts(event: Event, nominal: bool) -> bool:
    """A noun names an event only with a party or a place ("the attack on Kherson", not "security alerts" or "a
    crackdown"); and force is political: not a private person's act on another, unnamed by office or country
    ("she beat a world-class field", "he shot the designer")."""
    if (
        nominal
        and event.event_type != "PROTEST"  # protests are the public's: "rallies were held across the country"
        and event.location_key is None
        and not any(p.role != "source" for p in event.participants)
    ):
        return False
    actors = [p for p in event.participants if p.role == "actor"]
    private = [p for p in actors if p.country is None and p.sector is None and _personal(p)]
    return not (event.event_type in PLACE_TARGET_TYPES and actors and len(private) == len(actors))


def _contest(event: Event, entities: Mapping[str, Entity]) -> bool:
    """Force by parties that hold no office, command no force and speak for no state, on such parties or on nothing
    named, is a match, a race, a market, an award or a figure of speech ("Lagat beat Brannen", "the film knocked out
    its rivals", "the home side's attack", "the firm is targeting file-sharers"): in a sentence that names no weapon
    or armed party, it is no event. A pronoun whose antecedent names no such party may stand for anyone, and counts;
    a place is no such party, nor is the place of an act aimed at nobody named ("recaptured villages in Kessel")."""
    if event.event_type != "ASSAULT":
        return False
    actors = [p for p in event.participants if p.role == "actor"]
    recipients = [p for p in event.participants if p.role == "recipient"]
    if not actors or (not recipients and event.location_key is not None):
        return False
    return all(_civilian(p, entities) for p in actors + recipients)


def _in_contest(event: Event, sentence: Span, about_contest: bool) -> bool:
    """Force, a threat, a protest or coercion in a sentence that names a match, a race or an award, or in an article
    about one, by and on parties of no office, force or movement (armed parties are asked about by the caller): "the
    home side's attack", "the club banned its midfielder", not "police charged fans after the match" or "workers at
    the stadium went on strike"."""
    if event.event_type not in CONTEST_TYPES:
        return False
    participants = event.participants
    # In an article about a contest, an act by its parties; an act nobody is said to do may be the state's ("was
    # arrested"), and is the contest's only as in a sentence naming one.
    if (
        about_contest
        and any(p.role == "actor" for p in participants)
        and all(p.country is None and p.sector not in OUTSIDE_CONTEST_SECTORS for p in participants)
    ):
        return True
    return (about_contest or _contest_nouns(sentence, CONTEST_NOUNS) > 0) and all(
        p.sector in CIVILIAN_SECTORS for p in participants
    )


def _contest_nouns(text: Doc | Span, nouns: frozenset[str]) -> int:
    return sum(1 for t in text if t.pos_ in {"NOUN", "PROPN"} and t.lemma_.lower() in nouns)


def _civilian(participant: Participant, entities: Mapping[str, Entity]) -> bool:
    """A person or an organisation named, or a description ("the home side", "the firm"), holding no office,
    commanding no force, qualified by no country and naming nothing force is used on."""
    if participant.entity_key is None:
        return (
            participant.text.lower() not in PERSONAL_PRONOUNS
            and participant.country is None
            and participant.sector in CIVILIAN_SECTORS
            and gazetteer.organization_of(participant.text) is None
            and not gazetteer.names_target(participant.text)  # what force is used on: "the port", "a convoy"
        )
    entity = entities.get(participant.entity_key)
    return (
        entity is not None
        and entity.type in CIVILIAN_LABELS
        and entity.sector in CIVILIAN_SECTORS
        and participant.sector in CIVILIAN_SECTORS
        and gazetteer.organization_of(participant.text) is None
    )


def _personal(participant: Participant) -> bool:
    """A person named or referred to, but not as an agent of anyone: a PERSON entity or a personal pronoun."""
    if participant.entity_key is not None:
        # spaCy tags armed groups as people too ("Boko Haram"): the organisations table knows them.
        return participant.entity_key.startswith("PERSON:") and gazetteer.organization_of(participant.text) is None
    return participant.text.lower() in PERSONAL_PRONOUNS
