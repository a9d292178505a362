"""Who performs an event and whom it targets, once the actors that cannot act are set aside; None for a trigger
that is no political event (a natural force's act, a forecast, force on weapons or on a figure of speech)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spacy.tokens import Span, Token

from etl.nlp import gazetteer
from etl.nlp.agency import (
    GROUP_PRONOUNS,
    PERSON_PRONOUNS,
    Agency,
    Mentions,
    agency,
    antecedent,
    head_phrase,
    mention_at,
    names_measure,
)
from etl.nlp.arguments import ARMED_SECTORS, RECIPIENT_PREPS
from etl.nlp.lexicon import load_word_classes
from etl.nlp.participants import LOCATION_LABELS, PLACE_TARGET_TYPES
from etl.nlp.syntax import TIME_LABELS, governing_verb, noun_phrase, prep_objects, with_conjuncts, with_participles
from etl.nlp.trigger_match import TriggerMatch
from etl.nlp.verb_patterns import OBJECT_DEPS

WORDS = load_word_classes()
PARTY_PREPS = frozenset(WORDS["party_preposition"])
PLACE_TARGET_PREPS = frozenset(WORDS["place_target_preposition"])
# Material acts whose place is their target when no party is ("declared a ceasefire in Tripoli"); talks or
# protests in a city are not aimed at it.
PLACE_TARGETED_TYPES = frozenset({"ASSAULT", "COERCE", "RETREAT", "MOBILIZE", "AID", "SANCTION", "CONCEDE"})
# So are a visit ("arrived in Kyiv": the host) and refuge sought ("sought refuge in Tanzania": the state asked).
PLACE_TARGETED_MODES = frozenset({"visit", "asylum"})
# Outcomes that befall people and things without anyone doing them (an earthquake kills, a tank explodes): coded
# only with a stated perpetrator or weapon ("killed by a roadside bomb"); the attack that caused them is coded
# on its own ("killed in an air strike", "wounded when gunmen opened fire").
OUTCOME_LEMMAS = frozenset(WORDS["outcome_verb"])
# Force used on weapons alone is a weapons find, not an attack on anyone ("destroyed a cache of IEDs").
DISARMING_LEMMAS = frozenset(WORDS["disarming_verb"])
# Firing or sacking people is dismissing them ("fired its chief executive", "100 staff were fired"); shots are fired
# at or on a target ("fired on the crowd", "fired rubber bullets at protesters").
DISMISSING_LEMMAS = frozenset(WORDS["dismissing_verb"])
FORCE_SECTORS = ARMED_SECTORS | {"COP"}
# Acts that move forces: what they move is the actor's own ("withdrew peacekeepers", "sent 200 troops"), and their
# target is where or against whom the forces go.
FORCE_MOVING_TYPES = frozenset({"MOBILIZE", "RETREAT", "SANCTION", "AID"})
DESTINATION_PREPS = tuple(WORDS["destination_preposition"])  # in order of preference
# A warning is a threat only of a hostile act, a refusal or armed force ("warned it would strike", "that police
# would not allow any more rallies"), not of a forecast ("warned that profits would fall", "warning of delays").
WARNING_LEMMAS = frozenset(WORDS["warning_word"])
WARNING_CONTENT_PREPS = frozenset(WORDS["warning_content_preposition"])
# What a warning advises against ("cautioned against further rises").
ADVICE_PREPS = frozenset(WORDS["advice_preposition"])
COMPULSION_LEMMAS = frozenset(WORDS["compulsion_verb"])
PERSONAL_PRONOUNS = frozenset(WORDS["personal_pronoun"]) | PERSON_PRONOUNS | GROUP_PRONOUNS
# Responses to another party's act: their target is the party whose act it is ("rejected the plan by X").
RESPONSE_TYPES = frozenset({"AGREE", "CONSULT", "SUPPORT", "ACCUSE", "REJECT"})
# Verbs whose object is a stance ("expressed concern", "voiced hope"): its target is what the stance is about.
STANCE_VERBS = frozenset(WORDS["stance_verb"])
STANCE_PREPS = tuple(WORDS["stance_preposition"])  # in order of preference
# No office, force or movement: none, or PLOVER's elites (celebrities, former office holders) and business.
CIVILIAN_SECTORS = frozenset({None, "ELI", "BUS"})
CRIMINAL_SECTORS = frozenset({"CRM"})
STATE_LABELS = frozenset({"GPE", "NORP"})
MEASURE_LABELS = frozenset({"MONEY", "PERCENT", "QUANTITY"})


@dataclass(frozen=True, slots=True)
class Parties:
    """Who performs an event and whom it targets, once the actors that cannot act are set aside."""

    actors: list[Token]
    recipients: list[Token]
    uncaused: bool = False  # a death, injury or damage with no perpetrator or weapon stated


def event_parties(
    match: TriggerMatch,
    actors: list[Token],
    recipients: list[Token],
    mentions: Mentions,
    hostile: set[int],
    violent: Callable[[], bool],
) -> Parties | None:
    """The actors that are agents, with no actor for a clear act whose agent goes unstated ("was shelled", "a
    roadside bomb killed five"); None when the trigger is no political event: its only actors cannot act ("a
    strong earthquake killed eight"), a warning forecasts ("warned that sales would slow", "the threat of
    inflation") or is a commentator's ("analysts cautioned against further rises"), or force is used on
    weapons alone ("seized guns", "destroyed IEDs")."""
    # The warning word of the trigger: itself, or the noun of its phrase ("issued a warning").
    warning = next((t for t in (match.token, *match.span) if t.lemma_ in WARNING_LEMMAS), None)
    if warning is not None and _forecast_only(warning, hostile):
        return None
    # An attack that kills ("a roadside bombing killed one soldier") is, like a weapon, an unnamed attacker's,
    # unless a party is named in it ("US drone attacks killed…").
    kinds = [agency(a, mentions) for a in actors]
    kinds = [Agency.WEAPON if a.i in hostile and k is Agency.NONE else k for a, k in zip(actors, kinds, strict=True)]
    agents = [a for a, kind in zip(actors, kinds, strict=True) if kind is Agency.AGENT]
    if not agents and actors and Agency.WEAPON not in kinds:
        return None
    # A target chosen where no weapon, armed party or police is named, and by no state, is an aim, not an attack:
    # "prosecutors have targeted the ranch", "the studios are targeting file-sharers", "she targets the world title"
    # (not "warplanes targeted the area", "a suicide bomber targeted a police vehicle", "Russia began targeting
    # Ukraine's power stations").
    if (
        match.trigger.event_type == "ASSAULT"
        and match.token.lemma_ == "target"
        and not violent()
        and not any(names_forces(a) or _names_state(a, mentions) for a in agents)
    ):
        return None
    # Force is not used on a measure ("hit a record high", "dominated the market", "hit sales"), unless the sentence
    # names a weapon or an armed party ("gunmen attacked the market"); a rally in a measure is a market's ("a fresh
    # rally in oil prices").
    if match.trigger.event_type in PLACE_TARGET_TYPES and any(map(names_measure, recipients)) and not violent():
        return None
    if match.trigger.event_type == "PROTEST" and any(map(names_measure, prep_objects(match.token, ("in",)))):
        return None
    if match.token.lemma_ in DISMISSING_LEMMAS and any(
        (o.pos_ == "NUM" or agency(o, mentions) is Agency.AGENT) and not gazetteer.names_weapon(head_phrase(o)[1])
        for o in match.token.children
        if o.dep_ in OBJECT_DEPS
    ):
        return None
    # A raid or an operation in which weapons are found or taken is a weapons find too: "guns and drugs were seized in a
    # raid on a house", "dozens of explosives were defused in the raid".
    if match.token.pos_ == "NOUN" and _finds_weapons(governing_verb(match.token), mentions):
        return None
    # What the act is done to as the parse gives it: an amount is no recipient (below), but force used on it is
    # force used on a thing ("hit 50 billion dollars in exports", "seized 20 percent of the market").
    objects = recipients
    # Forces are mobilised, not things, unless forces mobilise them: "the operator is deploying a faster wireless
    # technology", "the government mobilised funds" (not "deployed 300 troops", "deployed tanks to the border",
    # "police patrol problem hotspots").
    if match.trigger.event_type == "MOBILIZE" and not any(map(names_forces, agents)):
        deployed = [o for c in match.token.children if c.dep_ in OBJECT_DEPS for o in with_conjuncts(c)]
        if deployed and not any(_mobilised(o, mentions) for o in deployed):
            return None
    # A party the verb pattern itself names is its target, before one a preposition names: "summoned a senior
    # Borduvian diplomat to its foreign ministry".
    phrase_objects = _phrase_objects(match)
    if named := [o for o in phrase_objects if agency(o, mentions) is Agency.AGENT]:
        recipients = with_conjuncts(named[0])
    targets = [agency(r, mentions) for r in recipients]
    if Agency.WEAPON in targets and Agency.AGENT not in targets:
        # "fired missiles at a checkpoint": the weapon is the means, the target is the prepositional object.
        if match.trigger.event_type == "COERCE" or match.token.lemma_ in DISARMING_LEMMAS:
            return None
        recipients = prep_objects(match.token, RECIPIENT_PREPS)
    elif recipients and Agency.AGENT not in targets:
        # "suspended aid to Pakistan", "imposed sanctions on Turkey": the party named after the object is the target.
        # An amount is what is given, lent or taken, never whom: "donated $2 million to help Ruritania".
        recipients = (
            _party_objects([match.token, *recipients], mentions)
            or _authors(match, recipients, mentions)
            or _given_to([r for r in recipients if r.ent_type_ in MEASURE_LABELS])
            or [r for r in recipients if r.ent_type_ not in MEASURE_LABELS]
        )
    if match.token.lemma_ in STANCE_VERBS and recipients and all(r.head.i == match.token.i for r in recipients):
        # "expressed concern for the hostages", "voiced hope that Borduvia will change": the stance is no target.
        recipients = _stance_targets(match.token, recipients)
    # "stormed a police headquarters", "two journalists were arrested on charges of spying": a party or target in
    # the phrase, before a prepositional object that names none.
    if not any(_party_or_place(r, mentions) for r in recipients):
        recipients = [o for o in phrase_objects if _party_or_place(o, mentions)] or recipients
    if match.trigger.event_type in FORCE_MOVING_TYPES and match.trigger.mode != "release":
        # The forces a verb moves are the actor's own, even in its phrase ("withdrew its peacekeepers"); captives
        # released are the other side's ("freed 280 soldiers"), and aid to forces is aimed at them.
        # "withdrew its troops", "the withdrawal of troops", "withdrawing some of its troops"
        moved = [c for c in match.token.children if c.dep_ == "dobj"] or prep_objects(match.token, ("of",))
        if moved and all(map(names_forces, moved)):
            recipients = _destinations([match.token, *moved], mentions)
    if not recipients:
        recipients = _content_targets(match, mentions)
    if not recipients:
        recipients = _office_holder(match.token, mentions)
    # "was forced to close", "were obliged to pull out", "should not be forced into using it": circumstances compel,
    # and the act compelled is coded. A passive's subject is compelled, not the actor a conjunct lends it: "the
    # government tried to cut subsidies but was forced to back down".
    if match.token.lemma_ in COMPULSION_LEMMAS and _compels_an_act(match.token) and (not actors or _unagented(match)):
        return None
    # With no actor, the target or the sentence's weapons say an act is political: "Kherson was shelled", "five
    # were arrested", "tear gas was fired", not "our assets were seized", "access is restricted", "the link is
    # hidden in a spam e-mail". Protests are the public's: "rallies were held across the country".
    # A personal pronoun alone is not enough: "she was beaten" (in a race), "it was honoured", "thank you"; "all
    # were arrested", "those deported" count people.
    if (
        not actors
        and match.trigger.event_type != "PROTEST"
        and not any(_party_or_place(r, mentions) and r.lower_ not in PERSONAL_PRONOUNS for r in recipients)
        and not violent()
    ):
        return None
    # Force on what is neither a party, a place nor a target, in a sentence naming no weapon or armed party, is a
    # figure of speech: "airlines attacked the legislation", "she hit the front", "scientists overcame a problem".
    if (
        match.trigger.event_type == "ASSAULT"
        and (recipients or objects)
        and not any(_party_or_place(r, mentions) for r in recipients or objects)
        and not violent()
    ):
        return None
    # Coercion of a thing (no party, place or target) is an event only when a state or a political party does it:
    # "customs seized the drugs", "the government banned the film", not "the virus steals passwords", "a drone
    # captured footage" (mobilisation of things is forces' alone: above). Criminals taking things commit a crime,
    # not a political act: "criminals steal valuable data", "gangs took over home PCs" (their force on people or
    # places stays: "a criminal gang seized three police officers").
    if (
        match.trigger.event_type == "COERCE"
        and (recipients or objects)
        and not any(_party_or_place(r, mentions) for r in recipients or objects)
        and not any(_political(a, mentions) and not _criminal(a) for a in agents)
    ):
        return None
    # A warning by no state, office, force or movement, that names no party and no hostile act, is commentary: "analysts
    # cautioned against further rises", "the company is tackling security threats", not "Iran warned the US". A
    # state's or a minister's warning is a threat, as CAMEO codes it ("warned against scrapping the agreement").
    if (
        match.trigger.event_type == "THREATEN"
        and warning is not None
        and not any(_political(a, mentions) for a in agents)
        and not any(_party_or_place(r, mentions) for r in recipients)
        and not _names_hostile(_warning_contents(warning, WARNING_CONTENT_PREPS | ADVICE_PREPS), hostile, mentions)
    ):
        return None
    uncaused = not actors and match.token.pos_ == "VERB" and match.token.lemma_ in OUTCOME_LEMMAS
    return Parties(agents, recipients, uncaused)


def _finds_weapons(verb: Token | None, mentions: Mentions) -> bool:
    """The verb finds, takes or destroys weapons and no party: "seized guns and drugs", "explosives were defused"."""
    if verb is None or verb.lemma_ not in DISARMING_LEMMAS:
        return False
    kinds = {agency(o, mentions) for c in verb.children if c.dep_ in OBJECT_DEPS for o in with_conjuncts(c)}
    return Agency.WEAPON in kinds and Agency.AGENT not in kinds


def _political(token: Token, mentions: Mentions) -> bool:
    """The phrase (or a pronoun's antecedent) names a state or a people, an organisation of the organisations table
    (an armed group, an IGO, an NGO), or a party with an office, a force or a movement: a sector other than
    business and celebrities ("the authorities", "police", "NATO"; not "IBM", "the studio"). A person or an
    organisation the model names and no table knows holds none."""
    if token.pos_ == "PRON":
        mention = antecedent(token, mentions)
        label, text = (mention.label, mention.text) if mention is not None else (None, "")
    else:
        mention = mention_at(token, mentions)
        if mention is None and token.pos_ == "PROPN":
            return True  # a name the model could not type is given the benefit of the doubt ("Borduria annexed")
        label, text = (mention.label if mention is not None else None), noun_phrase(token).text
    return (
        _state(label, text)
        or gazetteer.organization_of(text) is not None  # armed groups, IGOs and NGOs: the table holds no companies
        or gazetteer.sector_of(text) not in CIVILIAN_SECTORS
    )


def _names_state(token: Token, mentions: Mentions) -> bool:
    """The phrase names a state or a people: "Russia", "Ruritanian forces", "the Kenyan government"."""
    mention = mention_at(token, mentions)
    return _state(mention.label if mention is not None else None, noun_phrase(token).text)


def _state(label: str | None, text: str) -> bool:
    """A mention's label, or the phrase's words, name a state or a people."""
    return label in STATE_LABELS or gazetteer.country_of(text) is not None


def _compels_an_act(verb: Token) -> bool:
    """The verb takes the act compelled: "forced to close", "forced into selling"."""
    return any(
        c.dep_ == "xcomp" or (c.dep_ == "prep" and c.lower_ == "into" and any(g.dep_ == "pcomp" for g in c.children))
        for c in verb.children
    )


def _unagented(match: TriggerMatch) -> bool:
    """A passive verb with no "by" agent: "was forced to back down"."""
    children = [c.dep_ for c in match.token.children]
    return "auxpass" in children and "agent" not in children


def _criminal(token: Token) -> bool:
    """The phrase names criminals (sector CRM): "criminals", "tech savvy criminals", "phishing gangs", "hackers"."""
    return token.pos_ != "PRON" and gazetteer.sector_of(noun_phrase(token).text) in CRIMINAL_SECTORS


def _phrase_objects(match: TriggerMatch) -> list[Token]:
    """The objects of a verb that are words of its lexicon phrase, active or passive ("stormed a police
    headquarters", "two journalists were arrested"), but not the actor's own ("strengthened its forces")."""
    verb = match.token
    if verb.pos_ != "VERB":
        return []
    objects = [t for t in match.span if t.dep_ in OBJECT_DEPS and t.head.i == verb.i]
    return [o for o in objects if not any(c.dep_ == "poss" and c.pos_ == "PRON" for c in o.children)]


def _stance_targets(verb: Token, stances: list[Token]) -> list[Token]:
    """Whom a stance expressed is about: the object of a preposition on the stance or the verb, by preference
    ("condolences to the families", "optimism at the deal", "concern for the health of the president"), else the
    subject of the clause the stance holds ("surprise that the Herald published…", "hope the government will
    change"); none when neither names one."""
    for preposition in STANCE_PREPS:
        for prep in (p for h in [*stances, verb] for p in h.children if p.dep_ == "prep" and p.lower_ == preposition):
            # "pessimism about bringing the standoff to an end": what the gerund acts on
            for about in (c for c in prep.children if c.dep_ in {"pobj", "pcomp"} and c.ent_type_ not in TIME_LABELS):
                objects = [about] if about.dep_ == "pobj" else [c for c in about.children if c.dep_ == "dobj"]
                if objects:
                    return with_conjuncts(objects[0])
    for head in [*stances, verb]:
        for clause in (c for c in head.children if c.dep_ in {"acl", "ccomp"} and c.pos_ in {"VERB", "AUX"}):
            if subjects := [c for c in clause.children if c.dep_ in {"nsubj", "nsubjpass"} and c.pos_ != "PRON"]:
                return with_conjuncts(subjects[0])
    return []


def _authors(match: TriggerMatch, objects: list[Token], mentions: Mentions) -> list[Token]:
    """For a response to another party's act, the party whose act it is: "denied charges by the clergymen",
    "rejected an appeal lodged by the front", "welcomed the visit by the minister"; also where the parser hangs the
    "by" phrase on the active verb, which has no agent of its own ("has denied charges by the Chamber")."""
    if match.trigger.event_type not in RESPONSE_TYPES:
        return []
    heads = with_participles(objects)
    if match.token.pos_ == "VERB" and not any(c.dep_ == "nsubjpass" for c in match.token.children):
        heads.append(match.token)
    for head in heads:
        for author in prep_objects(head, ("by",)):
            if agency(author, mentions) is Agency.AGENT:
                return with_conjuncts(author)
    return []


def _given_to(amounts: list[Token]) -> list[Token]:
    """Whom an amount goes to, named inside its phrase: "provides €10 million in aid to the Palestinian people"."""
    for amount in amounts:
        for word in amount.subtree:
            if objects := prep_objects(word, ("to",)):
                return with_conjuncts(objects[0])
    return []


def names_forces(token: Token) -> bool:
    """The phrase ends with armed forces or police ("peacekeepers", "200 troops", "its forces"), or its "of" phrase
    does ("some of its troops", "its withdrawal of troops")."""
    return any(
        gazetteer.agent_sector(head_phrase(t)[1]) in FORCE_SECTORS for t in [token, *prep_objects(token, ("of",))]
    )


def _destinations(heads: list[Token], mentions: Mentions) -> list[Token]:
    """Where or against whom forces are moved: the party or place a destination preposition on any of `heads`
    takes, or on the purpose they are moved for ("withdrew peacekeepers from the Golan Heights", "sent troops to
    Mali", "mobilized the army for an assault against Borduvia"); none when no such phrase names one."""
    purposes = [o for h in heads for p in h.children if p.lower_ == "for" for o in p.children if o.dep_ == "pobj"]
    for preposition in DESTINATION_PREPS:
        for head in [*heads, *purposes]:
            places = [o for o in prep_objects(head, (preposition,)) if _party_or_place(o, mentions)]
            if places:
                return with_conjuncts(places[0])
    return []


def _content_targets(match: TriggerMatch, mentions: Mentions) -> list[Token]:
    """The party a request asks to act, the subject of the act requested ("demanded that the government free the
    reporters", "urged that the army return to its barracks"); else the target of the act a speech act or an intent
    is about ("threatened to attack a US base", "refused to lift the ban on SIMI"), else the place an act done to a
    place is done to ("declared a ceasefire in Tripoli", "sent experts to Alabama", "remained on alert in Kessel")."""
    token, kind = match.token, match.trigger.event_type
    request = kind == "REQUEST"
    place_targeted = kind in PLACE_TARGETED_TYPES or match.trigger.mode in PLACE_TARGETED_MODES
    # and of its purpose: "donated $2 million to help Ruritania"
    contents = [
        c
        for c in token.children
        if c.pos_ in {"VERB", "AUX"}
        and (c.dep_ in {"xcomp", "ccomp"} or (c.dep_ == "advcl" and any(a.tag_ == "TO" for a in c.children)))
    ]
    for content in contents:
        subjects = [c for c in content.children if c.dep_ == "nsubj" and c.pos_ != "PRON"]
        if request and subjects and agency(subjects[0], mentions) is Agency.AGENT:
            return with_conjuncts(subjects[0])
        objects = [c for c in content.children if c.dep_ in {"dobj", "dative"}]
        parties = _party_objects(with_participles([content, *objects]), mentions)
        if parties or objects:
            return parties or with_conjuncts(objects[0])
    heads = [token, *(c for c in token.children if c.dep_ == "dobj")] if place_targeted else []
    # A nominal act's place is named on its clause's verb: "troops remained on alert in Kessel".
    if heads and token.pos_ == "NOUN" and (verb := governing_verb(token)) is not None:
        heads.append(verb)
    for head in heads:
        for prep in head.children:
            if prep.dep_ == "prep" and prep.lower_ in PLACE_TARGET_PREPS:
                for place in (o for o in prep.children if o.dep_ == "pobj"):
                    # a place named, or described: "in the north region", "in Bosnian Serb territory"
                    if names_place(place, mentions):
                        return [place]
    return []


def _office_holder(token: Token, mentions: Mentions) -> list[Token]:
    """The party whose office the act is done in: "resigned as president of Indonesia", "stepped down as head of
    the union"."""
    offices = prep_objects(token, ("as",))
    return [o for office in offices[:1] for o in prep_objects(office, ("of",)) if _party_or_place(o, mentions)]


def _party_or_place(token: Token, mentions: Mentions) -> bool:
    """The token names a party, people counted ("five were arrested"), a place, or what force is used on ("the
    port", "a convoy")."""
    return token.pos_ == "NUM" or agency(token, mentions) is Agency.AGENT or names_place(token, mentions)


def names_place(token: Token, mentions: Mentions) -> bool:
    """The token names a place (a location the model found), or, where it found no entity, what force is used on
    ("the port", "a convoy", "the north region")."""
    mention = mention_at(token, mentions)
    if mention is not None:
        return mention.label in LOCATION_LABELS
    return gazetteer.names_target(head_phrase(token)[1])


def _mobilised(token: Token, mentions: Mentions) -> bool:
    """What can be mobilised: a party, people counted, a place or a weapon."""
    return _party_or_place(token, mentions) or agency(token, mentions) is Agency.WEAPON


def _party_objects(heads: list[Token], mentions: Mentions) -> list[Token]:
    """The first party named as the object of a recipient preposition on any of `heads`, with its conjuncts."""
    for head in heads:
        for prep in head.children:
            if prep.dep_ not in {"prep", "dative"} or prep.lower_ not in PARTY_PREPS:
                continue
            for pobj in prep.children:
                if pobj.dep_ == "pobj" and agency(pobj, mentions) is Agency.AGENT:
                    return with_conjuncts(pobj)
    return []


def violent_sentence(sentence: Span, mentions: Mentions) -> bool:
    """The sentence names a weapon or an armed party (soldiers, militants, an armed group)."""
    for token in sentence:
        if token.pos_ not in {"NOUN", "PROPN"}:
            continue
        if gazetteer.sector_of(token.text) in ARMED_SECTORS or agency(token, mentions) is Agency.WEAPON:
            return True
    return False


def _warning_contents(warning: Token, preps: frozenset[str]) -> list[Token]:
    """What a warning says will happen or advises against: its clause, or its phrase of one of `preps`."""
    return [c for c in warning.children if c.dep_ in {"ccomp", "xcomp"} or (c.dep_ == "prep" and c.lower_ in preps)]


def _names_hostile(contents: list[Token], hostile: set[int], mentions: Mentions | None = None) -> bool:
    """The phrases name a hostile act, a refusal or armed force. Given the mentions, an act whose subject is a thing
    is none: a firm's "warned that yields would decline", "warned it was low on cash when its shares were suspended"."""
    return any(
        (t.i in hostile and not (mentions is not None and _thing_subject(t, mentions)))
        or t.dep_ == "neg"
        or gazetteer.sector_of(t.text) in FORCE_SECTORS
        for c in contents
        for t in c.subtree
    )


def _thing_subject(verb: Token, mentions: Mentions) -> bool:
    """The verb's subject, active or passive, names no party, place or person counted ("yields", "its shares")."""
    subjects = [c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}]
    return bool(subjects) and not any(s.pos_ == "PRON" or _party_or_place(s, mentions) for s in subjects)


def _forecast_only(warning: Token, hostile: set[int]) -> bool:
    """A warning with a clause or an "of"/"about" phrase that names no hostile act ("warned that sales would slow",
    "the threat of inflation")."""
    contents = _warning_contents(warning, WARNING_CONTENT_PREPS)
    return bool(contents) and not _names_hostile(contents, hostile)
