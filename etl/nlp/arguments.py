"""The arguments of a trigger from the dependency parse: its actors (subjects, passive agents, a nominal's
modifiers), its recipients (objects, prepositional objects) and the sources reporting it."""

from __future__ import annotations

from spacy.tokens import Token

from etl.nlp import gazetteer
from etl.nlp.agency import ARMED_SECTORS, head_phrase
from etl.nlp.lexicon import load_word_classes
from etl.nlp.modality import passive_prediction
from etl.nlp.syntax import (
    governing_verb,
    noun_phrase,
    prep_objects,
    with_all_conjuncts,
    with_conjuncts,
    with_participles,
)
from etl.nlp.trigger_match import TriggerMatch

WORDS = load_word_classes()
RECIPIENT_PREPS = WORDS["recipient_preposition"]  # in order of preference
# Force named by a noun is done to its "of" phrase: "the shelling of Kherson", "the arrest of two journalists",
# "the occupation of Crimea"; other acts' "of" is often their agent ("the visit of the president").
OBJECTIVE_PREPS = WORDS["objective_preposition"]
OBJECTIVE_TYPES = frozenset({"ASSAULT", "COERCE"})
# Reported speech: the subject of these verbs is the source of the events in the clause they report
# ("Rebels attacked the convoy, the ministry said"), and so is the object of "according to" when it names a party
# ("according to police"; not "according to the plan").
REPORTING_VERBS = frozenset(WORDS["reporting_verb"])
REPORTED_CLAUSE_DEPS = frozenset({"ccomp", "conj", "xcomp"})
PARTY_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})
SOURCE_NOUNS = frozenset(WORDS["source_noun"])
AMOUNT_LABELS = frozenset({"MONEY", "PERCENT", "QUANTITY", "CARDINAL", "DATE", "TIME"})


def arguments(match: TriggerMatch) -> tuple[list[Token], list[Token]]:
    """(actors, recipients) of a trigger from the dependency parse."""
    token = match.token
    if match.obligation:
        return _obligation_arguments(token)
    if token.pos_ == "VERB":
        actors, recipients = _verb_arguments(token)
        in_trigger = {t.i for t in match.span}
        # An indirect object stands inside the phrase only by its place: "gave Tanzania a grant".
        recipients = [r for r in recipients if r.i not in in_trigger or r.dep_ == "dative"]
        if not recipients:  # "launched an attack on the port": the object is part of the trigger
            recipients = _phrase_targets(match)
        return actors, with_all_conjuncts(recipients)
    possessors = [c for c in token.children if c.dep_ == "poss"]
    # "continued their hunger strike": a possessive pronoun is the light verb's subject, named there.
    actors = [c for c in possessors if c.pos_ != "PRON"]
    verb = governing_verb(token)
    # "the Russian attack", "a rebel assault", "the police crackdown": the modifier names who acts. An agent word
    # before the object of a verb with a subject names a kind of act instead: "the US reduced military aid".
    kind_of_act = verb is not None and token.dep_ == "dobj" and bool(_verb_arguments(verb)[0])
    actors += [
        c
        for c in token.children
        if c.dep_ in {"amod", "compound"}
        and (c.ent_type_ in {"NORP", "GPE"} or (not kind_of_act and gazetteer.is_agent_term(c.lemma_)))
    ]
    actors += prep_objects(token, ("by",))
    recipients = prep_objects(token, RECIPIENT_PREPS)
    if not recipients and match.trigger.event_type in OBJECTIVE_TYPES:
        recipients = prep_objects(token, OBJECTIVE_PREPS)
    if verb is None or actors:
        actors = actors or possessors
    else:
        verb_actors, _ = _verb_arguments(verb)
        actors = [a for a in verb_actors if a.i != token.i] or possessors
        if token.dep_ == "dobj":
            recipients = recipients or prep_objects(verb, RECIPIENT_PREPS)
    return with_all_conjuncts(actors), with_all_conjuncts(recipients)


def _obligation_arguments(verb: Token) -> tuple[list[Token], list[Token]]:
    """(the speaker, the party obliged) of a reported "must" clause; "it" in "told Iraq that it must" is Iraq."""
    reporter = verb.head if verb.head.pos_ in {"VERB", "AUX"} else governing_verb(verb.head)
    speakers = _subjects(reporter) if reporter is not None else []
    obliged = [c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}]
    if reporter is not None and all(o.pos_ == "PRON" for o in obliged):
        addressees = [c for c in reporter.children if c.dep_ == "dative" and c.pos_ != "ADP"]
        obliged = addressees or prep_objects(reporter, ("to",)) or obliged
    return speakers, with_all_conjuncts(obliged)


def _phrase_targets(match: TriggerMatch) -> list[Token]:
    """The target named inside a verb-phrase trigger: the object of a recipient preposition on its words or on the
    nouns its prepositions take ("launched an attack on the port", "called for sanctions against the junta",
    "launched an investigation into the firm") or on the participles describing them ("lifted a ban imposed on
    the front"), else the "of" object of its nominal act ("lifted the blockade of the port"), unless that names
    armed forces: "the withdrawal of troops" moves them, it is not aimed at them."""
    in_trigger = {t.i for t in match.span}
    # A "with" phrase beside an object in the phrase that force is used on names the means, and the object is the
    # target: "blocked the motorway with tractors".
    means = bool(prep_objects(match.token, ("with",)))
    targets = [o for o in match.token.children if o.dep_ == "dobj" and o.i in in_trigger][:1]
    targets = [o for o in targets if means and gazetteer.names_target(head_phrase(o)[1])]
    preps = [p for p in RECIPIENT_PREPS if p != "with"] if targets else RECIPIENT_PREPS
    words = [*match.span, *(o for t in match.span if t.dep_ == "prep" for o in t.children if o.dep_ == "pobj")]
    words = with_participles(words)
    # By preposition first, then by word: "established ties with Seychelles at ambassadorial level".
    found = [r for p in preps for t in words for r in prep_objects(t, (p,))][:1]
    if found or targets:
        return found or targets
    acts = [t for t in words if t.pos_ == "NOUN" and t.i != match.token.i]
    # not the trigger's own words: "declared a state of emergency"
    objects = [o for t in acts for o in prep_objects(t, ("of",)) if o.i not in in_trigger][:1]
    return [
        o
        for o in objects
        if o.pos_ != "NUM"
        and o.ent_type_ not in AMOUNT_LABELS
        and gazetteer.sector_of(noun_phrase(o).text) not in ARMED_SECTORS
    ]


def _verb_arguments(verb: Token) -> tuple[list[Token], list[Token]]:
    passive_subjects = _passive_subjects(verb)
    if passive_subjects:
        agents = [pobj for c in verb.children if c.dep_ == "agent" for pobj in c.children if pobj.dep_ == "pobj"]
        return with_all_conjuncts(agents), with_all_conjuncts(passive_subjects)
    actors = _subjects(verb)
    recipients = [c for c in verb.children if c.dep_ in {"dobj", "dative"}]
    recipients = recipients or prep_objects(verb, RECIPIENT_PREPS)
    return actors, with_all_conjuncts(recipients)


def _passive_subjects(verb: Token) -> list[Token]:
    """The verb's passive subjects; a passive participle with none of its own has those of the passive verb it is
    conjoined to: in "he was dragged away and attacked by a mob" he is the one attacked, the mob attacks."""
    current = verb
    while True:
        subjects = [c for c in current.children if c.dep_ == "nsubjpass"]
        if subjects or current.dep_ != "conj" or current.tag_ != "VBN" or current.head.i == current.i:
            return subjects
        if any(c.dep_ in {"nsubj", "csubj"} for c in current.children):
            return []
        current = current.head


def _subjects(verb: Token) -> list[Token]:
    """The subjects of a verb, each conjunct separately; inherited along xcomp/conj chains ("is willing to")."""
    current: Token | None = verb
    while current is not None:
        subjects = [
            c
            for c in current.children
            if c.dep_ in {"nsubj", "csubj"} or (c.dep_ == "nsubjpass" and passive_prediction(current))
        ]
        if subjects:
            found = with_conjuncts(subjects[0])
            if all(s.pos_ == "PRON" for s in found):
                return _antecedent_subject(current) or found
            return found
        if current.dep_ in {"xcomp", "conj", "advcl", "acomp"} and current.head.i != current.i:
            current = current.head
        elif current.dep_ == "pcomp" and current.head.dep_ == "prep":  # "eroded their lines by knocking out…"
            current = current.head.head
        else:
            return []
    return []


def _antecedent_subject(verb: Token) -> list[Token]:
    """For a pronoun subject, the named subject of a clause above it: the speaker in "the army announced it had
    begun a withdrawal", the main subject in "the minister reiterated the demand as he embarked on a trip"."""
    current = verb
    while current.dep_ in {"ccomp", "advcl", "conj", "xcomp"} and current.head.i != current.i:
        current = current.head
        named = [c for c in current.children if c.dep_ == "nsubj" and c.pos_ != "PRON"]
        if named:
            return with_conjuncts(named[0])
    return []


def sources(match: TriggerMatch) -> list[Token]:
    """Who reported the event: the subject of the reporting verb over its clause, else "according to" a party."""
    reporter = _reporting_verb(match)
    if reporter is not None:
        return _subjects(reporter)
    scope = {match.token.i, *(t.i for t in match.token.ancestors)}
    for according in match.token.sent:
        if according.lower_ == "according" and according.head.i in scope:
            for party in (p for to in according.children if to.lower_ == "to" for p in to.children):
                if party.dep_ == "pobj" and _names_a_party(party):
                    return with_conjuncts(party)
    return []


def _reporting_verb(match: TriggerMatch) -> Token | None:
    """The verb reporting the trigger's clause: "announced (the withdrawal)", "said (it had begun a withdrawal)".

    Only as content (ccomp): in "the minister said so and visited Kyiv" the visit is his act, not his report.
    """
    verb = match.token if match.token.pos_ == "VERB" else governing_verb(match.token)
    if verb is None:
        return None
    if verb.i != match.token.i and verb.lemma_ in REPORTING_VERBS:
        return verb
    current = verb
    while current.dep_ in REPORTED_CLAUSE_DEPS and current.head.i != current.i:
        dep, current = current.dep_, current.head
        if dep == "ccomp" and current.lemma_ in REPORTING_VERBS:
            return current
    return None


def _names_a_party(token: Token) -> bool:
    return (
        token.ent_type_ in PARTY_LABELS
        or token.pos_ == "PROPN"
        or token.lemma_.lower() in SOURCE_NOUNS
        or gazetteer.sector_of(noun_phrase(token).text) is not None
    )
