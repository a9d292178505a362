"""The modality of a trigger's act: asserted or not (wished, weighed, claimed, predicted), negated, hypothetical,
or announced as an intent, and the PLOVER type an intent codes as."""

from __future__ import annotations

from spacy.tokens import Token

from etl.nlp.lexicon import load_word_classes
from etl.nlp.syntax import CONTENT_DEPS, governing_verb, verb_lemmas

WORDS = load_word_classes()
# PLOVER codes an announced future act as an intent: to cooperate is AGREE, to coerce or fight is THREATEN,
# not to cooperate is REJECT; so do these predicate adjectives ("is willing to withdraw").
INTENT_ADJECTIVES = frozenset(WORDS["intent_adjective"])
COOPERATIVE_TYPES = frozenset({"AGREE", "AID", "CONCEDE", "CONSULT", "COOPERATE", "RETREAT", "SUPPORT"})
HOSTILE_TYPES = frozenset({"ASSAULT", "COERCE", "MOBILIZE", "PROTEST", "SANCTION"})
FUTURE_MODALS = frozenset(WORDS["future_modal"])
EPISTEMIC_MODALS = frozenset(WORDS["epistemic_modal"])
CONDITIONAL_MARKS = frozenset(WORDS["conditional_mark"])
# A predicted act is hypothetical, and the subject of "is expected to" is the predicted actor, not an expecter.
PREDICTION_WORDS = frozenset(WORDS["prediction_word"])
# An act in the complement of these verbs is wished for, weighed or asked for, not done: "hoped to resume
# flights", "is considering sending aid", "wants the peacekeepers to leave", "a statement urging Iran to comply".
# When the verb is a trigger itself ("urged"), the nesting of triggers codes it; these also hold when it is not.
UNASSERTING_LEMMAS = frozenset(WORDS["unasserting_verb"])
# CAMEO codes a claim of responsibility (015) as a statement, not the act claimed: "claimed responsibility for
# the attack", "claimed (that) they had attacked the base", "claimed to have seized weapons". A claim about
# another party's act ("claimed that gunmen abducted eight") reports it, as "said" does.
CLAIM_LEMMAS = frozenset(WORDS["claim_verb"])
RESPONSIBILITY_NOUNS = frozenset(WORDS["responsibility_noun"])


def unasserted(token: Token) -> bool:
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
            lemmas = verb_lemmas(current)
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


def passive_prediction(token: Token) -> bool:
    """ "is expected to withdraw", "is set to reopen": a forecast, not the subject's intent."""
    return token.lemma_ in PREDICTION_WORDS and any(c.dep_ == "auxpass" for c in token.children)


def announced_as_intent(token: Token) -> bool:
    """A future modal on the trigger's clause ("will withdraw") or an intent adjective above it.

    Not for a nominal trigger in subject position: "the withdrawal would be a setback" intends nothing.
    """
    if token.pos_ == "NOUN" and token.dep_ in {"nsubj", "nsubjpass"}:
        return False
    for verb in _clause_verbs(token):
        if any(c.dep_ == "aux" and c.lower_ in FUTURE_MODALS for c in verb.children):
            return True
        if verb.dep_ == "xcomp" and verb.head.lemma_.lower() in INTENT_ADJECTIVES:
            return True
    return False


def intent_type(event_type: str, negated: bool) -> str:
    if event_type in COOPERATIVE_TYPES:
        return "REJECT" if negated else "AGREE"
    return "THREATEN" if event_type in HOSTILE_TYPES else event_type


def _clause_verbs(token: Token) -> list[Token]:
    """The trigger's verb and the verbs its clause hangs from through xcomp/conj (for modality and negation)."""
    verb = token if token.pos_ == "VERB" else governing_verb(token)
    verbs = []
    while verb is not None:
        verbs.append(verb)
        verb = verb.head if verb.dep_ in {"xcomp", "conj"} and verb.head.i != verb.i else None
    return verbs


def is_negated(token: Token) -> bool:
    verbs = _clause_verbs(token)
    return any(c.dep_ == "neg" for c in token.children) or any(c.dep_ == "neg" for v in verbs[:1] for c in v.children)


def is_hypothetical(token: Token, intended: bool) -> bool:
    """The act is not asserted: an epistemic modal, a condition, or a future that was not coded as an intent."""
    modals = EPISTEMIC_MODALS if intended else EPISTEMIC_MODALS | FUTURE_MODALS
    verbs = _clause_verbs(token)
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
