"""Walks over the dependency parse that the event coder's stages share: a token's clause and governing verb,
conjuncts, prepositional objects, a noun's phrase, a verb's lemmas."""

from __future__ import annotations

from collections.abc import Iterator

from spacy.tokens import Span, Token

# A clause or phrase under a word through these relations is that word's content or circumstance ("agreed to
# withdraw", "staged protests to demand reform", "opened fire, killing one").
CONTENT_DEPS = frozenset(
    {"xcomp", "ccomp", "pcomp", "prep", "pobj", "dobj", "acomp", "attr", "nsubj", "nsubjpass", "advcl"}
)
TIME_LABELS = frozenset({"DATE", "TIME"})
SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
SPAN_EXCLUDED_DEPS = frozenset({"relcl", "acl", "advcl", "cc", "conj"})
VOWELS = frozenset("aeiouy")


def clause_path(token: Token) -> Iterator[Token]:
    """The token and its ancestors up to and including the nearest verb above it (its clause's predicate)."""
    current = token
    while True:
        yield current
        if current.head.i == current.i:
            return
        if current.i != token.i and current.pos_ in {"VERB", "AUX"}:
            return
        current = current.head


def governing_verb(token: Token) -> Token | None:
    """The verb whose clause a nominal trigger belongs to ("began" for "began a withdrawal")."""
    for ancestor in clause_path(token):
        if ancestor.i != token.i and ancestor.pos_ in {"VERB", "AUX"}:
            return ancestor
    return None


def with_conjuncts(token: Token) -> list[Token]:
    return [token, *token.conjuncts]


def with_all_conjuncts(tokens: list[Token]) -> list[Token]:
    seen: dict[int, Token] = {}
    for token in tokens:
        for t in with_conjuncts(token):
            seen.setdefault(t.i, t)
    return list(seen.values())


def with_participles(tokens: list[Token]) -> list[Token]:
    """The tokens and the participles that describe them ("the ban imposed on the front"): a measure's target is
    often named in the participle that tells who it was imposed on."""
    return [*tokens, *(c for t in tokens for c in t.children if c.dep_ == "acl" and c.tag_ == "VBN")]


def prep_objects(token: Token, prepositions: tuple[str, ...]) -> list[Token]:
    """Objects of the first of `prepositions` (in that order of preference) attached to the token."""
    for preposition in prepositions:
        for child in token.children:
            if child.dep_ in {"prep", "agent", "dative"} and child.lower_ == preposition:
                objects = [c for c in child.children if c.dep_ == "pobj" and c.ent_type_ not in TIME_LABELS]
                if objects:
                    return objects
    return []


def noun_phrase(token: Token, defining: bool = False) -> Span:
    """The token's subtree without relative clauses, conjuncts, edge punctuation and the phrases that date it
    ("rebels in the north on Tuesday" are the rebels in the north); with its apposition, which says who it is
    ("Ali Kushayb, a Sudanese militia leader"). `defining` keeps the clauses that say which ones are meant, not set
    off by a comma: "two ministers who served in his government", "workers employed by the agency"."""
    excluded = {
        t.i
        for c in token.children
        if c.dep_ in SPAN_EXCLUDED_DEPS and not (defining and _defines(c))
        for t in c.subtree
    }
    excluded.update(t.i for prep in token.subtree if _dates(prep) for t in prep.subtree)
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
    if end + 1 < len(doc) and _closes(doc[start : end + 1], doc[end + 1]):
        end += 1
    return doc[start : end + 1]


def verb_lemmas(verb: Token) -> tuple[str, ...]:
    """The verb's lemma, then the lemma with the final "e" the small model's lemmatizer cuts from a verb whose
    stem is a word too: "fines", "fined", "fining" are lemmatized "fin" (not "fine"), "rapes" "rap", "hopes" "hop"."""
    lemma = verb.lemma_.lower()
    return (lemma, f"{lemma}e") if lemma[-1:] not in VOWELS and verb.lower_.startswith(lemma) else (lemma,)


def _defines(clause: Token) -> bool:
    """A relative clause or a participle that restricts its noun: not set off by a comma ("the ministers who
    served", not "the minister, who served")."""
    start = clause.left_edge.i
    return clause.dep_ in {"relcl", "acl"} and start > 0 and clause.doc[start - 1].text != ","


def _dates(token: Token) -> bool:
    """A preposition whose object is a date or a time ("on Tuesday", "in May")."""
    return token.dep_ == "prep" and any(c.dep_ == "pobj" and c.ent_type_ in TIME_LABELS for c in token.children)


def _closes(span: Span, token: Token) -> bool:
    """The token closes a bracket the span leaves open: "the US Anti-Doping Agency (USADA)"."""
    opened = sum(1 if t.is_left_punct else -1 for t in span if t.is_bracket)
    return opened > 0 and token.is_bracket and token.is_right_punct
