"""How far a coded event can be counted on: a score in [0, 1] from the evidence the coder had for it.

The score is the strength of the trigger times one factor for each weakness of the event's evidence. Every
weight is here, and only here (`docs/schema.md` explains the scale to analysts):

| Evidence                                                                 | Factor |
| ------------------------------------------------------------------------ | ------ |
| trigger: a verb phrase of the lexicon ("launched an attack", "pull out") | 1.00   |
| trigger: a verb alone ("shelled", "met")                                 | 0.90   |
| trigger: a noun that a verb takes as object ("held talks")               | 0.85   |
| trigger: a reported obligation ("said Iraq must withdraw")               | 0.75   |
| trigger: a bare noun ("the withdrawal", "protests")                      | 0.70   |
| actor: an entity, or a phrase with a sector ("police", "troops")         | 1.00   |
| actor: words that are neither ("the decision", an unresolved "he")       | 0.75   |
| no actor (an agentless passive: "Kherson was shelled")                   | 0.65   |
| no recipient                                                             | 0.90   |
| negated ("did not attack")                                               | 0.40   |
| hypothetical ("may attack", "if talks fail")                             | 0.40   |

Reported speech ("…, the ministry said") is no weakness: on the CASE 2021 dev snippets, 75% of the events with a
source had a type the snippet's gold class accepts, against 66% of those without (`docs/benchmarks.md`), as wire
copy attributes the events it reports; so a source leaves the score as it is.

`MIN_CONFIDENCE` (0.5) is the line the analysts' views and the report count from: a verb with a named actor
clears it with no other evidence, and so does an agentless passive with a recipient (0.585); a bare noun with
neither actor nor recipient (0.409) and every negated or hypothetical event (at most 0.40) do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from etl.records import Event

MIN_CONFIDENCE = 0.5


class TriggerKind(StrEnum):
    """How the trigger was found, most specific first."""

    VERB_PHRASE = "verb phrase"
    VERB = "verb"
    LIGHT_VERB_NOUN = "light verb noun"
    OBLIGATION = "obligation"
    NOUN = "noun"


class ActorKind(StrEnum):
    RESOLVED = "resolved"  # an entity, or a phrase the gazetteer gives a sector
    UNRESOLVED = "unresolved"
    NONE = "none"


TRIGGER_STRENGTH = {
    TriggerKind.VERB_PHRASE: 1.0,
    TriggerKind.VERB: 0.9,
    TriggerKind.LIGHT_VERB_NOUN: 0.85,
    TriggerKind.OBLIGATION: 0.75,
    TriggerKind.NOUN: 0.7,
}
ACTOR_FACTOR = {ActorKind.RESOLVED: 1.0, ActorKind.UNRESOLVED: 0.75, ActorKind.NONE: 0.65}
NO_RECIPIENT_FACTOR = 0.9
NEGATED_FACTOR = 0.4
HYPOTHETICAL_FACTOR = 0.4


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the coder knew about an event, as far as the score is concerned."""

    trigger: TriggerKind
    actor: ActorKind
    recipient: bool
    negated: bool
    hypothetical: bool


def evidence_of(event: Event, trigger: TriggerKind) -> Evidence:
    """The evidence of a coded event: its trigger's kind, and what its participants and flags say."""
    actors = [p for p in event.participants if p.role == "actor"]
    if any(p.entity_key is not None or p.sector is not None for p in actors):
        actor = ActorKind.RESOLVED
    else:
        actor = ActorKind.UNRESOLVED if actors else ActorKind.NONE
    recipient = any(p.role == "recipient" for p in event.participants)
    return Evidence(trigger, actor, recipient, event.negated, event.hypothetical)


def confidence(evidence: Evidence) -> float:
    """The event's score in [0, 1]: the product of the factors in the module's table, to three decimals."""
    score = TRIGGER_STRENGTH[evidence.trigger] * ACTOR_FACTOR[evidence.actor]
    if not evidence.recipient:
        score *= NO_RECIPIENT_FACTOR
    if evidence.negated:
        score *= NEGATED_FACTOR
    if evidence.hypothetical:
        score *= HYPOTHETICAL_FACTOR
    return round(score, 3)
