"""PLOVER event coding over a parsed spaCy Doc: triggers from the lexicon, arguments from the dependency parse.

Per sentence, a trigger is a verb (or verb + particle/object phrase: "pull out", "launch attack") or a noun
("the withdrawal", "held talks") found in the lexicon. One predicate yields one event: a trigger that is the
content of another trigger ("agreed to withdraw", "condemned the attack", "warned it would strike") is
coded by the outer one only, as PLOVER codes the speech act, not the act spoken of. Verbs that are not events
(reporting and light verbs: "said", "announced", "held") lend their subject to the trigger they govern.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache, partial

from spacy.tokens import Doc, Span, Token

from etl.nlp import gazetteer
from etl.nlp.agency import Agency, Mentions, agency, antecedent, head_phrase, mention_at
from etl.nlp.confidence import TriggerKind, confidence, evidence_of
from etl.nlp.event_dates import continues_previous_day, is_background, resolve_event_date
from etl.nlp.lexicon import Lexicon, Trigger
from etl.records import Entity, Event, Mention, Participant

# A trigger under another trigger through these relations is that trigger's content or circumstance
# ("staged protests to demand reform", "opened fire, killing one"), not a second event.
CONTENT_DEPS = frozenset(
    {"xcomp", "ccomp", "pcomp", "prep", "pobj", "dobj", "acomp", "attr", "nsubj", "nsubjpass", "advcl"}
)
# Clauses that only describe a participant ("refugees fleeing the war") are background, not news;
# "according (to)" is tagged as a verb.
BACKGROUND_DEPS = frozenset({"relcl", "acl", "amod", "compound", "nmod", "npadvmod", "prep"})
# CAMEO 030 ("express intent to cooperate") verbs such as "plan", "decide", "prepare" take their type from
# what is intended; so do these predicate adjectives ("is willing to withdraw").
INTENT_CODE = "030"
COMMAND_VERBS = frozenset({"order", "decree", "authorize", "authorise"})
INTENT_ADJECTIVES = frozenset({"willing", "ready", "prepared", "committed", "determined", "poised"})
# PLOVER codes an announced future act as an intent: to cooperate is AGREE, to coerce or fight is THREATEN,
# not to cooperate is REJECT.
COOPERATIVE_TYPES = frozenset({"AGREE", "AID", "CONCEDE", "CONSULT", "COOPERATE", "RETREAT", "SUPPORT"})
HOSTILE_TYPES = frozenset({"ASSAULT", "COERCE", "MOBILIZE", "PROTEST", "SANCTION"})
FUTURE_MODALS = frozenset({"will", "would", "'ll", "wo", "shall"})
EPISTEMIC_MODALS = frozenset({"may", "might", "could", "should"})
PHRASE_DEPS = frozenset({"prt", "prep", "dobj", "advmod", "dative"})
RECIPIENT_PREPS = ("against", "on", "with", "to", "at")
PARTY_PREPS = frozenset({*RECIPIENT_PREPS, "for", "from", "over"})
PLACE_TARGET_PREPS = frozenset({"in", "into", "to", "on"})
# Material acts whose place is their target when no party is ("declared a ceasefire in Tripoli"); talks or
# protests in a city are not aimed at it.
PLACE_TARGETED_TYPES = frozenset({"ASSAULT", "COERCE", "RETREAT", "MOBILIZE", "AID", "SANCTION", "CONCEDE"})
LOCATION_PREPS = frozenset({"in", "at", "near", "from", "into"})
LOCATION_LABELS = frozenset({"GPE", "LOC", "FAC"})
PLACE_TARGET_TYPES = frozenset({"ASSAULT", "COERCE"})
TIME_LABELS = frozenset({"DATE", "TIME"})
CONDITIONAL_MARKS = frozenset({"if", "unless"})
# A predicted act is hypothetical, and the subject of "is expected to" is the predicted actor, not an expecter.
PREDICTION_WORDS = frozenset({"expect", "likely", "unlikely", "set", "due", "possible"})
# Links from an intent verb to the act intended ("decided to approve", "plans to launch an attack").
REPORTED_DEPS = frozenset({"ccomp", "acl"})
INTENT_DEPS = frozenset({"xcomp", "ccomp", "dobj", "acomp"})
# Subordinate clauses and prepositional adjuncts that set the scene of the main event rather than report news.
CIRCUMSTANCE_MARKS = frozenset({"as", "after", "before", "since", "when", "while", "until", "because", "once"})
CIRCUMSTANCE_PREPS = frozenset({"after", "following", "during", "despite", "amid", "before", "since"})
ETHNIC_LABEL = re.compile(r"\bethnic\s+\S+", re.IGNORECASE)
INTERNATIONAL_CODES = frozenset({"IGO", "NGO"})
# Verbs and nouns are triggers; an auxiliary only as the modal of a reported obligation ("must").
TRIGGER_POS = frozenset({"VERB", "AUX", "NOUN"})
SPAN_EXCLUDED_DEPS = frozenset({"relcl", "acl", "advcl", "cc", "conj", "punct", "appos"})
# Reported speech: the subject of these verbs is the source of the events in the clause they report
# ("Rebels attacked the convoy, the ministry said"), and so is the object of "according to" when it names a party
# ("according to police"; not "according to the plan").
REPORTING_VERBS = frozenset(
    {"say", "tell", "announce", "report", "state", "add", "claim", "confirm", "note", "stress", "explain"}
    | {"acknowledge", "admit", "insist", "reiterate", "write", "tweet"}
)
REPORTED_CLAUSE_DEPS = frozenset({"ccomp", "conj", "xcomp"})
PARTY_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})
# Outcomes that befall people and things without anyone doing them (an earthquake kills, a tank explodes): coded
# only with a stated perpetrator or weapon ("killed by a roadside bomb"); the attack that caused them is coded
# on its own ("killed in an air strike", "wounded when gunmen opened fire").
OUTCOME_LEMMAS = frozenset({"kill", "injure", "hurt", "wound", "damage", "destroy", "hit", "strike", "explode", "burn"})
# Force used on weapons alone is a weapons find, not an attack on anyone ("destroyed a cache of IEDs").
DISARMING_LEMMAS = frozenset({"destroy", "defuse", "dismantle", "find", "discover", "recover"})
# Force is not used on a measure: "hit a record high", "broke the world record", "dominated the market".
METRIC_NOUNS = frozenset({"record", "high", "low", "market", "share", "expectation", "forecast", "limit", "chart"})
ARMED_SECTORS = frozenset({"MIL", "REB", "UAF", "SPY"})
FORCE_SECTORS = ARMED_SECTORS | {"COP"}
PERSONAL_PRONOUNS = frozenset({"i", "he", "she", "we", "you", "me", "him", "her", "us"})
# A warning is a threat only of a hostile act, a refusal or armed force ("warned it would strike", "that police
# will no longer tolerate rallies"), not of a forecast ("warned that profits would fall", "warning of delays").
WARNING_LEMMAS = frozenset({"warn", "warning", "caution", "alert"})
COMPULSION_LEMMAS = frozenset({"force", "compel", "oblige"})
SOURCE_NOUNS = frozenset({"source", "witness", "report", "statement", "resident", "media", "diplomat", "analyst"})
# An act in the complement of these verbs is wished for, weighed or asked for, not done: "hoped to resume
# flights", "is considering sending aid", "wants the peacekeepers to leave", "a statement urging Iran to comply".
# When the verb is a trigger itself ("urged"), the nesting of triggers codes it; these also hold when it is not.
UNASSERTING_LEMMAS = frozenset(
    {"hope", "wish", "want", "consider", "contemplate", "mull", "ponder", "urge", "ask", "appeal", "demand", "call"}
)
# CAMEO codes a claim of responsibility (015) as a statement, not the act claimed: "claimed responsibility for
# the attack", "claimed (that) they had attacked the base", "claimed to have seized weapons". A claim about
# another party's act ("claimed that gunmen abducted eight") reports it, as "said" does.
CLAIM_LEMMAS = frozenset({"claim"})
RESPONSIBILITY_NOUNS = frozenset({"responsibility", "credit"})
VOWELS = frozenset("aeiouy")


@dataclass(frozen=True, slots=True)
class TriggerMatch:
    token: Token  # the word the event hangs on: the verb, or the noun of a nominal trigger
    span: Span  # the trigger's words ("pulled out", "launched an attack")
    trigger: Trigger
    obligation: bool = False  # a reported "must" clause: the speaker requests the act of the clause's subject


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
    for sentence_index, sentence in enumerate(sentences):
        matches = {m.token.i: m for m in _triggers(sentence, lexicon)}
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
        violent = cache(partial(_violent, sentence, mentions))
        parties = {i: _parties(m, *_arguments(m), mentions, hostile, violent) for i, m in matches.items()}
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
        outer = {i: _outer_trigger(m.token, matches) for i, m in matches.items()}
        intent_markers = {i for i, m in matches.items() if m.trigger.cameo_code == INTENT_CODE}
        # An intent verb with an intended act gives way to that act, coded as an intent ("decided to withdraw",
        # "plans to launch an attack"); a trigger in its adjunct ("offered talks after the invasion") is not intended.
        intended_by = {i: _outer_trigger(m.token, matches, INTENT_DEPS) for i, m in matches.items()}
        expanded = {o for o in intended_by.values() if o in intent_markers}
        coded = [
            m
            for i, m in matches.items()
            if i not in expanded and (outer[i] is None or (outer[i] in expanded and intended_by[i] == outer[i]))
        ]
        # A circumstance ("as he embarked on a trip", "after the shelling") is background to a main-clause event.
        if any(not _circumstantial(m.token) for m in coded):
            coded = [m for m in coded if not _circumstantial(m.token)]
        if not coded:
            continue
        # "Minutes earlier, …" in a sentence naming no date of its own continues the day the sentences before it
        # last named. Dates are resolved only here and for events: most sentences' dates date nothing.
        continued = continues_previous_day(sentence)
        previous_day = None
        if continued is not None and resolve_event_date(sentence, publication_date)[1] is None:
            previous_day = _day_named_before(sentences, sentence_index, publication_date)
        for match in sorted(coded, key=lambda m: m.token.i):
            i = match.token.i
            intended = outer[i] is not None or _announced_as_intent(match)
            actors, recipients = parties[i].actors, parties[i].recipients
            event = _event(
                match, intended, sentence, sentence_index, actors, recipients, mentions, entities, publication_date
            )
            if not _counts(event, match.token.pos_ == "NOUN"):
                continue
            if previous_day is not None:
                event = replace(event, event_date=previous_day, date_text=continued)
            events.append(_scored(event, match, publication_date))
    return events


def _day_named_before(sentences: Sequence[Span], index: int, publication_date: date | None) -> date | None:
    """The date the last sentence before `index` that names one names, or None."""
    for sentence in reversed(sentences[:index]):
        day, text = resolve_event_date(sentence, publication_date)
        if text is not None:
            return day
    return None


def _triggers(sentence: Span, lexicon: Lexicon) -> Iterator[TriggerMatch]:
    for token in sentence:
        # Other words are never triggers: tested first, it spares most tokens the walks up the parse below.
        pos = token.pos_
        if pos not in TRIGGER_POS or any(t.dep_ == "relcl" for t in token.ancestors):
            continue
        # A "must" clause is news even as a noun's complement ("a reminder that it must cooperate").
        if pos != "NOUN" and (obligation := _obligation_trigger(token, lexicon)):
            yield obligation
            continue
        if pos == "AUX" or token.dep_ in BACKGROUND_DEPS or _in_participle_clause(token) or _passive_prediction(token):
            continue
        match = _verb_trigger(token, lexicon) if pos == "VERB" else _noun_trigger(token, lexicon)
        if match is not None and not _unasserted(token):
            yield match


def _unasserted(token: Token) -> bool:
    """The trigger's act is wished for, weighed, asked for or claimed by its own actor: not reported as done."""
    current = token
    while current.head.i != current.i:
        dep, child, current = current.dep_, current, current.head
        if dep == "conj":  # a conjunct stands where its first conjunct stands
            continue
        if dep not in CONTENT_DEPS:
            return False
        if current.pos_ == "NOUN" and current.lemma_ in RESPONSIBILITY_NOUNS and dep == "prep":
            return True
        if current.pos_ in {"VERB", "AUX"}:
            lemmas = _verb_lemmas(current)
            # "hoped to resume talks", "hoped for a truce"
            wished = dep in {"xcomp", "ccomp", "dobj"} or (dep == "prep" and child.lower_ == "for")
            if wished and not UNASSERTING_LEMMAS.isdisjoint(lemmas):
                return True
            if dep in {"xcomp", "ccomp"} and not CLAIM_LEMMAS.isdisjoint(lemmas):
                return _own_act(child)
    return False


def _own_act(clause: Token) -> bool:
    """A claimed clause is the claimant's own act when its subject is the claimant's ("to have seized") or a pronoun."""
    subjects = [c for c in clause.children if c.dep_ in {"nsubj", "nsubjpass"}]
    return not subjects or all(s.pos_ == "PRON" for s in subjects)


def _passive_prediction(token: Token) -> bool:
    """ "is expected to withdraw", "is set to reopen": a forecast, not the subject's intent."""
    return token.lemma_ in PREDICTION_WORDS and any(c.dep_ == "auxpass" for c in token.children)


def _verb_trigger(verb: Token, lexicon: Lexicon) -> TriggerMatch | None:
    doc = verb.doc
    # A phrase is more specific than its verb: "withdraw ambassador" is SANCTION where "withdraw" is RETREAT,
    # "call off a strike" is CONCEDE where "call off" is SANCTION.
    particles = [c for c in verb.children if c.dep_ == "prt"]
    lemmas = _verb_lemmas(verb)
    heads = [f"{lemma} {p.lower_}" for lemma in lemmas for p in particles[:1]] + list(lemmas)
    for child in sorted(verb.children, key=lambda c: (c.dep_ != "dobj", c.i)):
        if child.dep_ not in PHRASE_DEPS or (child.dep_ == "prep" and child.i < verb.i):
            continue
        # The object's noun modifier counts as the object: "halted mediation efforts" is "halt mediation".
        objects = [child, *(c for c in child.children if c.dep_ == "compound")] if child.dep_ == "dobj" else [child]
        for head in heads:
            for obj in objects:
                trigger = lexicon.phrase(head, obj.lemma_, "VERB") or lexicon.phrase(head, obj.lower_, "VERB")
                if trigger is not None:
                    return TriggerMatch(verb, doc[min(verb.i, child.i) : max(verb.i, child.i) + 1], trigger)
    trigger = next((t for lemma in lemmas if (t := lexicon.word(lemma, "VERB"))), None)
    return TriggerMatch(verb, doc[verb.i : verb.i + 1], trigger) if trigger else None


def _verb_lemmas(verb: Token) -> tuple[str, ...]:
    """The verb's lemma, then the lemma with the final "e" the small model's lemmatizer cuts from a verb whose
    stem is a word too: "fines", "fined", "fining" are lemmatized "fin" (not "fine"), "rapes" "rap", "hopes" "hop"."""
    lemma = verb.lemma_.lower()
    return (lemma, f"{lemma}e") if lemma[-1:] not in VOWELS and verb.lower_.startswith(lemma) else (lemma,)


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
        if child.dep_ == "compound":
            trigger = trigger or lexicon.phrase(child.lemma_, noun.lemma_, "NOUN")
    trigger = trigger or lexicon.word(noun.lemma_, "NOUN")
    if trigger is None:
        return None
    head = noun.head
    if noun.dep_ == "dobj" and head.pos_ == "VERB":  # a light verb: "held talks", "began a withdrawal"
        return TriggerMatch(noun, doc[head.i : noun.i + 1], trigger)
    return TriggerMatch(noun, doc[noun.i : noun.i + 1], trigger)


def _in_participle_clause(token: Token) -> bool:
    """Inside a participle modifying a noun of its own clause ("refugees fleeing the war")."""
    return any(t.dep_ == "acl" for t in _clause_path(token))


def _clause_path(token: Token) -> Iterator[Token]:
    """The token and its ancestors up to and including the nearest verb above it (its clause's predicate)."""
    current = token
    while True:
        yield current
        if current.head.i == current.i:
            return
        if current.i != token.i and current.pos_ in {"VERB", "AUX"}:
            return
        current = current.head


def _outer_trigger(
    token: Token, matches: Mapping[int, TriggerMatch], deps: frozenset[str] = CONTENT_DEPS
) -> int | None:
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


def _circumstantial(token: Token) -> bool:
    """The token is in a temporal or causal adverbial clause, or in an "after …"/"during …" phrase."""
    for ancestor in (token, *token.ancestors):
        if ancestor.dep_ == "prep" and ancestor.lower_ in CIRCUMSTANCE_PREPS:
            return True
        if ancestor.dep_ == "advcl" and any(
            c.dep_ == "mark" and c.lower_ in CIRCUMSTANCE_MARKS for c in ancestor.children
        ):
            return True
    return False


def _announced_as_intent(match: TriggerMatch) -> bool:
    """A future modal on the trigger's clause ("will withdraw") or an intent adjective above it.

    Not for a nominal trigger in subject position: "the withdrawal would be a setback" intends nothing.
    """
    if match.token.pos_ == "NOUN" and match.token.dep_ in {"nsubj", "nsubjpass"}:
        return False
    for verb in _clause_verbs(match):
        if any(c.dep_ == "aux" and c.lower_ in FUTURE_MODALS for c in verb.children):
            return True
        if verb.dep_ == "xcomp" and verb.head.lemma_.lower() in INTENT_ADJECTIVES:
            return True
    return False


def _intent_type(event_type: str, negated: bool) -> str:
    if event_type in COOPERATIVE_TYPES:
        return "REJECT" if negated else "AGREE"
    return "THREATEN" if event_type in HOSTILE_TYPES else event_type


def _governing_verb(token: Token) -> Token | None:
    """The verb whose clause a nominal trigger belongs to ("began" for "began a withdrawal")."""
    for ancestor in _clause_path(token):
        if ancestor.i != token.i and ancestor.pos_ in {"VERB", "AUX"}:
            return ancestor
    return None


def _subjects(verb: Token) -> list[Token]:
    """The subjects of a verb, each conjunct separately; inherited along xcomp/conj chains ("is willing to")."""
    current: Token | None = verb
    while current is not None:
        subjects = [
            c
            for c in current.children
            if c.dep_ in {"nsubj", "csubj"} or (c.dep_ == "nsubjpass" and _passive_prediction(current))
        ]
        if subjects:
            found = _with_conjuncts(subjects[0])
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
            return _with_conjuncts(named[0])
    return []


def _with_conjuncts(token: Token) -> list[Token]:
    return [token, *token.conjuncts]


def _arguments(match: TriggerMatch) -> tuple[list[Token], list[Token]]:
    """(actors, recipients) of a trigger from the dependency parse."""
    token = match.token
    if match.obligation:
        return _obligation_arguments(token)
    if token.pos_ == "VERB":
        actors, recipients = _verb_arguments(token)
        in_trigger = {t.i for t in match.span}
        recipients = [r for r in recipients if r.i not in in_trigger]
        if not recipients:  # "launched an attack on the port": the object is part of the trigger
            recipients = [r for t in match.span for r in _prep_objects(t, RECIPIENT_PREPS)][:1]
        return actors, _with_all_conjuncts(recipients)
    possessors = [c for c in token.children if c.dep_ == "poss"]
    # "continued their hunger strike": a possessive pronoun is the light verb's subject, named there.
    actors = [c for c in possessors if c.pos_ != "PRON"]
    # "the Russian attack", "a rebel assault", "the police crackdown": the modifier names who acts.
    actors += [
        c
        for c in token.children
        if c.dep_ in {"amod", "compound"} and (c.ent_type_ in {"NORP", "GPE"} or gazetteer.is_agent_term(c.lemma_))
    ]
    actors += _prep_objects(token, ("by",))
    recipients = _prep_objects(token, RECIPIENT_PREPS)
    verb = _governing_verb(token)
    if verb is None or actors:
        actors = actors or possessors
    else:
        verb_actors, _ = _verb_arguments(verb)
        actors = [a for a in verb_actors if a.i != token.i] or possessors
        if token.dep_ == "dobj":
            recipients = recipients or _prep_objects(verb, RECIPIENT_PREPS)
    return _with_all_conjuncts(actors), _with_all_conjuncts(recipients)


def _obligation_arguments(verb: Token) -> tuple[list[Token], list[Token]]:
    """(the speaker, the party obliged) of a reported "must" clause; "it" in "told Iraq that it must" is Iraq."""
    reporter = verb.head if verb.head.pos_ in {"VERB", "AUX"} else _governing_verb(verb.head)
    speakers = _subjects(reporter) if reporter is not None else []
    obliged = [c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}]
    if reporter is not None and all(o.pos_ == "PRON" for o in obliged):
        addressees = [c for c in reporter.children if c.dep_ == "dative" and c.pos_ != "ADP"]
        obliged = addressees or _prep_objects(reporter, ("to",)) or obliged
    return speakers, _with_all_conjuncts(obliged)


def _verb_arguments(verb: Token) -> tuple[list[Token], list[Token]]:
    passive_subjects = [c for c in verb.children if c.dep_ == "nsubjpass"]
    if passive_subjects:
        agents = [pobj for c in verb.children if c.dep_ == "agent" for pobj in c.children if pobj.dep_ == "pobj"]
        return _with_all_conjuncts(agents), _with_all_conjuncts(passive_subjects)
    actors = _subjects(verb)
    recipients = [c for c in verb.children if c.dep_ in {"dobj", "dative"}]
    recipients = recipients or _prep_objects(verb, RECIPIENT_PREPS)
    return actors, _with_all_conjuncts(recipients)


def _sources(match: TriggerMatch) -> list[Token]:
    """Who reported the event: the subject of the reporting verb over its clause, else "according to" a party."""
    reporter = _reporting_verb(match)
    if reporter is not None:
        return _subjects(reporter)
    scope = {match.token.i, *(t.i for t in match.token.ancestors)}
    for according in match.token.sent:
        if according.lower_ == "according" and according.head.i in scope:
            for party in (p for to in according.children if to.lower_ == "to" for p in to.children):
                if party.dep_ == "pobj" and _names_a_party(party):
                    return _with_conjuncts(party)
    return []


def _reporting_verb(match: TriggerMatch) -> Token | None:
    """The verb reporting the trigger's clause: "announced (the withdrawal)", "said (it had begun a withdrawal)".

    Only as content (ccomp): in "the minister said so and visited Kyiv" the visit is his act, not his report.
    """
    verb = match.token if match.token.pos_ == "VERB" else _governing_verb(match.token)
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
        or gazetteer.sector_of(_noun_phrase(token).text) is not None
    )


def _prep_objects(token: Token, prepositions: tuple[str, ...]) -> list[Token]:
    """Objects of the first of `prepositions` (in that order of preference) attached to the token."""
    for preposition in prepositions:
        for child in token.children:
            if child.dep_ in {"prep", "agent", "dative"} and child.lower_ == preposition:
                objects = [c for c in child.children if c.dep_ == "pobj" and c.ent_type_ not in TIME_LABELS]
                if objects:
                    return objects
    return []


def _with_all_conjuncts(tokens: list[Token]) -> list[Token]:
    seen: dict[int, Token] = {}
    for token in tokens:
        for t in _with_conjuncts(token):
            seen.setdefault(t.i, t)
    return list(seen.values())


def _noun_phrase(token: Token) -> Span:
    """The token's subtree without relative clauses, appositions, conjuncts and edge punctuation."""
    excluded = {t.i for c in token.children if c.dep_ in SPAN_EXCLUDED_DEPS for t in c.subtree}
    kept = {t.i for t in token.subtree} - excluded
    start = end = token.i
    while start - 1 in kept:
        start -= 1
    while end + 1 in kept:
        end += 1
    doc = token.doc
    while start < end and (doc[start].is_punct or doc[start].dep_ == "cc"):
        start += 1
    while end > start and (doc[end].is_punct or doc[end].dep_ == "case"):
        end -= 1
    return doc[start : end + 1]


def _mention_for(span: Span, head: Token, mentions: Sequence[Mention]) -> Mention | None:
    overlapping = [m for m in mentions if m.start < span.end_char and span.start_char < m.end]
    for mention in overlapping:
        if mention.start <= head.idx < mention.end:
            return mention
    return overlapping[0] if overlapping else None


def _participant(
    role: str, token: Token, mentions: Mentions, entities: Mapping[str, Entity], place_country: str | None
) -> Participant:
    span = _noun_phrase(token)
    # A pronoun is the entity it stands for ("he" the president named before), or none at all.
    mention = antecedent(token, mentions) if token.pos_ == "PRON" else _mention_for(span, token, mentions)
    entity = entities.get(mention.entity_key) if mention else None
    # "Ethnic Albanians in south Serbia" are Serbia's: an ethnic label names a minority, not its kin state.
    ethnic = any(t.lower_ == "ethnic" for t in span)
    country = (
        (entity.country if entity and not ethnic else None)
        # The phrase carries what the entity may not: "the Russian army", "Hungarian officials"; then what
        # describes it ("Kenzo Oshima, the UN relief coordinator", "a newspaper based in Beirut"); then, for
        # a party named by no country at all ("prisoners rioted in Dili"), the country where it happened.
        or _phrase_country(span.text)
        or _phrase_country(_description(token))
        or place_country
    )
    return Participant(
        role=role,
        start=span.start_char,
        end=span.end_char,
        text=span.text,
        entity_key=mention.entity_key if mention else None,
        canonical=entity.canonical_name if entity else None,
        country=country,
        sector=gazetteer.sector_of(span.text),
    )


def _phrase_country(text: str) -> str | None:
    text = ETHNIC_LABEL.sub(" ", text)
    return gazetteer.country_of(text) or _international(text)


def _description(token: Token) -> str:
    """The token's phrase with its appositions and participle modifiers, without conjuncts or relative clauses."""
    excluded = {t.i for c in token.children if c.dep_ in {"conj", "cc", "relcl"} for t in c.subtree}
    return " ".join(t.text for t in token.subtree if t.i not in excluded)


def _international(text: str) -> str | None:
    """ "IGO" or "NGO" for a phrase naming an international organisation with no country of its own.

    CAMEO and PLOVER code such actors by this class in the country slot ("U.N. helicopters" -> IGO).
    """
    organization = gazetteer.organization_of(text)
    code = organization[1][:3] if organization is not None else None
    return code if code in INTERNATIONAL_CODES else None


def _location_key(match: TriggerMatch, recipients: Sequence[Token], mentions: Sequence[Mention]) -> str | None:
    heads = list(match.span)
    if match.token.pos_ != "VERB" and (verb := _governing_verb(match.token)) is not None:
        heads.append(verb)
    # "the recapture of a dozen villages in the region": the place of what a nominal trigger acts on.
    if match.token.pos_ == "NOUN":
        heads += [o for c in match.token.children if c.dep_ == "prep" and c.lower_ == "of" for o in c.children]
    for head in heads:
        for prep in head.children:
            if prep.dep_ != "prep" or prep.lower_ not in LOCATION_PREPS:
                continue
            # "at a jail in Dili": the place may be named inside the object's phrase.
            for place in (t for c in prep.children if c.dep_ == "pobj" for t in c.subtree):
                if (key := _place_key(place, mentions)) is not None:
                    return key
    # A visit happens in the place visited, an attack or a seizure where its target is ("shelled Kherson").
    if match.trigger.mode == "visit" or match.trigger.event_type in PLACE_TARGET_TYPES:
        return next((key for r in recipients if (key := _place_key(r, mentions)) is not None), None)
    return None


def _place_key(token: Token, mentions: Sequence[Mention]) -> str | None:
    for mention in mentions:
        if mention.label in LOCATION_LABELS and mention.start <= token.idx < mention.end:
            return mention.entity_key
    return None


def _clause_verbs(match: TriggerMatch) -> list[Token]:
    """The trigger's verb and the verbs its clause hangs from through xcomp/conj (for modality and negation)."""
    verb = match.token if match.token.pos_ == "VERB" else _governing_verb(match.token)
    verbs = []
    while verb is not None:
        verbs.append(verb)
        verb = verb.head if verb.dep_ in {"xcomp", "conj"} and verb.head.i != verb.i else None
    return verbs


def _negated(match: TriggerMatch) -> bool:
    verbs = _clause_verbs(match)
    return any(c.dep_ == "neg" for c in match.token.children) or any(
        c.dep_ == "neg" for v in verbs[:1] for c in v.children
    )


def _hypothetical(match: TriggerMatch, intended: bool) -> bool:
    """The act is not asserted: an epistemic modal, a condition, or a future that was not coded as an intent."""
    modals = EPISTEMIC_MODALS if intended else EPISTEMIC_MODALS | FUTURE_MODALS
    verbs = _clause_verbs(match)
    if not intended and any(v.lemma_ in PREDICTION_WORDS for v in verbs[1:]):
        return True  # "is expected to withdraw", "is likely to attack"
    for verb in verbs:
        for child in verb.children:
            if child.dep_ in {"aux", "auxpass"} and child.lower_ in modals:
                return True
            if child.dep_ == "mark" and child.lower_ in CONDITIONAL_MARKS:
                return True  # the trigger is in an "if" clause
            if child.dep_ == "advcl" and any(
                m.dep_ == "mark" and m.lower_ in CONDITIONAL_MARKS for m in child.children
            ):
                return True  # "… if confirmed", "… if talks fail"
    return False


@dataclass(frozen=True, slots=True)
class Parties:
    """Who performs an event and whom it targets, once the actors that cannot act are set aside."""

    actors: list[Token]
    recipients: list[Token]
    uncaused: bool = False  # a death, injury or damage with no perpetrator or weapon stated


def _parties(
    match: TriggerMatch,
    actors: list[Token],
    recipients: list[Token],
    mentions: Mentions,
    hostile: set[int],
    violent: Callable[[], bool],
) -> Parties | None:
    """The actors that are agents, with no actor for a clear act whose agent goes unstated ("was shelled", "a
    roadside bomb killed five"); None when the trigger is no political event: its only actors cannot act ("a
    strong earthquake killed eight"), a warning forecasts ("warned that sales would slow"), or force is used on
    weapons alone ("seized guns", "destroyed IEDs")."""
    if match.token.lemma_ in WARNING_LEMMAS and _forecast_only(match.token, hostile):
        return None
    # An attack that kills ("a roadside bombing killed one soldier") is, like a weapon, an unnamed attacker's,
    # unless a party is named in it ("US drone attacks killed…").
    kinds = [agency(a, mentions) for a in actors]
    kinds = [Agency.WEAPON if a.i in hostile and k is Agency.NONE else k for a, k in zip(actors, kinds, strict=True)]
    agents = [a for a, kind in zip(actors, kinds, strict=True) if kind is Agency.AGENT]
    if not agents and actors and Agency.WEAPON not in kinds:
        return None
    if match.trigger.event_type in PLACE_TARGET_TYPES and any(r.lemma_ in METRIC_NOUNS for r in recipients):
        return None
    targets = [agency(r, mentions) for r in recipients]
    if Agency.WEAPON in targets and Agency.AGENT not in targets:
        # "fired missiles at a checkpoint": the weapon is the means, the target is the prepositional object.
        if match.trigger.event_type == "COERCE" or match.token.lemma_ in DISARMING_LEMMAS:
            return None
        recipients = _prep_objects(match.token, RECIPIENT_PREPS)
    elif recipients and Agency.AGENT not in targets:
        # "suspended aid to Pakistan", "imposed sanctions on Turkey": the party named after the object is the target.
        recipients = _party_objects([match.token, *recipients], mentions) or recipients
    if not recipients:  # "stormed a police headquarters", "expelled two diplomats": a party or target in the phrase
        recipients = [o for o in _phrase_objects(match) if _party_or_place(o, mentions)]
    if not recipients:
        recipients = _content_targets(match.token, match.trigger.event_type in PLACE_TARGETED_TYPES, mentions)
    # "was forced to close", "were obliged to pull out": circumstances compel, and the act compelled is coded.
    if not actors and match.token.lemma_ in COMPULSION_LEMMAS and any(c.dep_ == "xcomp" for c in match.token.children):
        return None
    # With no actor, the target or the sentence's weapons say an act is political: "Kherson was shelled", "five
    # were arrested", "tear gas was fired", not "our assets were seized", "access is restricted", "the website is
    # contained in a spam e-mail". Protests are the public's: "rallies were held across the country".
    if (
        not actors
        and match.trigger.event_type != "PROTEST"
        and not any(_party_or_place(r, mentions) for r in recipients)
        and not violent()
    ):
        return None
    # Force on what is neither a party, a place nor a target, in a sentence naming no weapon or armed party, is a
    # figure of speech: "airlines attacked the legislation", "she hit the front", "scientists overcame a problem".
    if (
        match.trigger.event_type == "ASSAULT"
        and recipients
        and not any(_party_or_place(r, mentions) for r in recipients)
        and not violent()
    ):
        return None
    uncaused = not actors and match.token.pos_ == "VERB" and match.token.lemma_ in OUTCOME_LEMMAS
    return Parties(agents, recipients, uncaused)


def _phrase_objects(match: TriggerMatch) -> list[Token]:
    """The objects of a verb that are words of its lexicon phrase ("stormed a police headquarters"), but not the
    actor's own ("strengthened its forces")."""
    verb = match.token
    if verb.pos_ != "VERB":
        return []
    objects = [t for t in match.span if t.dep_ == "dobj" and t.head.i == verb.i]
    return [o for o in objects if not any(c.dep_ == "poss" and c.pos_ == "PRON" for c in o.children)]


def _content_targets(token: Token, place_targeted: bool, mentions: Mentions) -> list[Token]:
    """The target of the act a speech act or an intent is about ("threatened to attack a US base", "refused to
    lift the ban on SIMI"), else the place it is done to ("declared a ceasefire in Tripoli", "sent experts to
    Alabama")."""
    contents = [c for c in token.children if c.dep_ in {"xcomp", "ccomp"} and c.pos_ in {"VERB", "AUX"}]
    for content in contents:
        objects = [c for c in content.children if c.dep_ in {"dobj", "dative"}]
        parties = _party_objects([content, *objects], mentions)
        if parties or objects:
            return parties or _with_conjuncts(objects[0])
    heads = [token, *(c for c in token.children if c.dep_ == "dobj")] if place_targeted else []
    for head in heads:
        for prep in head.children:
            if prep.dep_ == "prep" and prep.lower_ in PLACE_TARGET_PREPS:
                for place in (o for o in prep.children if o.dep_ == "pobj"):
                    mention = mention_at(place, mentions)
                    if mention is not None and mention.label in LOCATION_LABELS:
                        return [place]
    return []


def _party_or_place(token: Token, mentions: Mentions) -> bool:
    """The token names a party, people counted ("five were arrested"), a place, or what force is used on ("the
    port", "a convoy")."""
    if token.pos_ == "NUM" or agency(token, mentions) is Agency.AGENT:
        return True
    mention = mention_at(token, mentions)
    return (mention is not None and mention.label in LOCATION_LABELS) or gazetteer.names_target(head_phrase(token)[1])


def _party_objects(heads: list[Token], mentions: Mentions) -> list[Token]:
    """The first party named as the object of a recipient preposition on any of `heads`, with its conjuncts."""
    for head in heads:
        for prep in head.children:
            if prep.dep_ not in {"prep", "dative"} or prep.lower_ not in PARTY_PREPS:
                continue
            for pobj in prep.children:
                if pobj.dep_ == "pobj" and agency(pobj, mentions) is Agency.AGENT:
                    return _with_conjuncts(pobj)
    return []


def _violent(sentence: Span, mentions: Mentions) -> bool:
    """The sentence names a weapon or an armed party (soldiers, militants, an armed group)."""
    for token in sentence:
        if token.pos_ not in {"NOUN", "PROPN"}:
            continue
        if gazetteer.sector_of(token.text) in ARMED_SECTORS or agency(token, mentions) is Agency.WEAPON:
            return True
    return False


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


def _personal(participant: Participant) -> bool:
    """A person named or referred to, but not as an agent of anyone: a PERSON entity or a personal pronoun."""
    if participant.entity_key is not None:
        # spaCy tags armed groups as people too ("Boko Haram"): the organisations table knows them.
        return participant.entity_key.startswith("PERSON:") and gazetteer.organization_of(participant.text) is None
    return participant.text.lower() in PERSONAL_PRONOUNS


def _forecast_only(warning: Token, hostile: set[int]) -> bool:
    """A warning with a clause or an "of"/"about" phrase that names no hostile act ("warned that sales would slow")."""
    contents = [
        c
        for c in warning.children
        if c.dep_ in {"ccomp", "xcomp"} or (c.dep_ == "prep" and c.lower_ in {"of", "about", "over", "that"})
    ]
    return bool(contents) and not any(
        t.i in hostile or t.dep_ == "neg" or gazetteer.sector_of(t.text) in FORCE_SECTORS
        for c in contents
        for t in c.subtree
    )


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
    predicate = match.token if match.token.pos_ == "VERB" else _governing_verb(match.token) or match.token
    event_date, date_text = resolve_event_date(sentence, publication_date, predicate)
    actor_ids = {a.i for a in actors}
    location_key = _location_key(match, recipients, mentions)
    location = entities.get(location_key) if location_key else None
    place_country = location.country if location else None
    participants = [_participant("actor", a, mentions, entities, place_country) for a in actors]
    participants += [
        _participant("recipient", r, mentions, entities, place_country) for r in recipients if r.i not in actor_ids
    ]
    participants += [_participant("source", s, mentions, entities, place_country) for s in _sources(match)]
    negated = _negated(match)
    event_type = _intent_type(match.trigger.event_type, negated) if intended else match.trigger.event_type
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
        hypothetical=_hypothetical(match, intended and event_type != match.trigger.event_type),
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
