"""A trigger found in a sentence: the word its event hangs on, the trigger's words and the lexicon's coding."""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Span, Token

from etl.nlp.lexicon import Trigger


@dataclass(frozen=True, slots=True)
class TriggerMatch:
    token: Token  # the word the event hangs on: the verb, or the noun of a nominal trigger
    span: Span  # the trigger's words ("pulled out", "launched an attack")
    trigger: Trigger
    obligation: bool = False  # a reported "must" clause: the speaker requests the act of the clause's subject
