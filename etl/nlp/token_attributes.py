"""The model's `attribute_ruler` and `lemmatizer`, applied once per distinct token instead of once per token.

Both set a token's POS, MORPH and LEMMA (and TAG and DEP of whitespace) from what the tagger and parser gave
it: its text, TAG and DEP, and, for a few patterns of two tokens ("gon na", "there is"), its neighbours. Run
on every token they take a quarter of the model's time, more than the parser, because they work token by
token in Python. `TokenAttributes` keeps the two components and asks them only about a token it has not
seen, on a copy of the token with its neighbours, and reuses their answer for every later token with the
same text, TAG and DEP (and the same neighbours, for the words a two-token pattern names). The attributes
are the very ones the two components would set; `tests/nlp/test_token_attributes.py` compares them.

The lemmatizer's rules test each candidate form for membership of its word list for the part of speech, a
Python list of up to 57,528 words scanned end to end; `TokenAttributes` turns those lists into sets, which answer
the same in constant time (parsing 300 BBC articles in one process: 23.0 s with the lists, 20.9 s with sets).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy
from spacy.attrs import DEP, HEAD, LEMMA, LOWER, MORPH, ORTH, POS, TAG
from spacy.pipeline import AttributeRuler
from spacy.tokens import Doc

_KEY_ATTRS = [ORTH, TAG, DEP, LOWER]
_SET_ATTRS = [TAG, DEP, POS, MORPH, LEMMA]
# Distinct tokens remembered (about 200 bytes each); past this the memory starts afresh. A third of the BBC corpus
# (742 articles, 347,000 tokens) makes about 34,000.
_MAX_REMEMBERED = 100_000

Key = tuple[int, ...]


class TokenAttributes:
    """A pipeline component that sets what `ruler` and then `lemmatizer` would, remembering their answers."""

    def __init__(self, ruler: AttributeRuler, lemmatizer: Callable[[Doc], Doc]) -> None:
        self.ruler, self.lemmatizer = ruler, lemmatizer
        _word_lists_as_sets(lemmatizer)
        self._in_context = _words_of_multi_token_patterns(ruler)
        self._answers: dict[Key, tuple[int, ...]] = {}
        self._needs_context: dict[int, bool] = {}  # by LOWER hash

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        tokens = doc.to_array(_KEY_ATTRS).tolist()
        keys = []
        for i, (orth, tag, dep, lower) in enumerate(tokens):
            if self._context_matters(doc, lower):
                before = tokens[i - 1][1:] if i > 0 else (0, 0, 0)
                after = tokens[i + 1][1:] if i + 1 < len(tokens) else (0, 0, 0)
                keys.append((orth, tag, dep, *before, *after))
            else:
                keys.append((orth, tag, dep))
        unseen = {key: i for i, key in enumerate(keys) if key not in self._answers}
        if unseen:
            if len(self._answers) + len(unseen) > _MAX_REMEMBERED:
                self._answers = {}
            self._answers.update(self._ask(doc, unseen))
        doc.from_array(_SET_ATTRS, numpy.array([self._answers[key] for key in keys], dtype="uint64"))
        return doc

    def _context_matters(self, doc: Doc, lower: int) -> bool:
        needs = self._needs_context.get(lower)
        if needs is None:
            needs = self._needs_context[lower] = self._in_context(doc.vocab.strings[lower])
        return needs

    def _ask(self, doc: Doc, unseen: dict[Key, int]) -> dict[Key, tuple[int, ...]]:
        """The two components' answers for the tokens at `unseen`'s positions, from one run over a copy of those
        tokens, each alone or, where its neighbours count, between them. Tokens side by side in the copy that
        were not in the document never meet a pattern that writes to them: only the words a two-token pattern
        writes to depend on their neighbours, and those come with their own."""
        window_of = {}  # the position in the copy of each unseen token
        positions: list[int] = []
        for key, i in unseen.items():
            window = range(max(i - 1, 0), min(i + 2, len(doc))) if len(key) > 3 else range(i, i + 1)
            window_of[key] = len(positions) + (i - window.start)
            positions.extend(window)
        span = [doc[i] for i in positions]
        copy = Doc(doc.vocab, words=[token.text for token in span], spaces=[False] * len(span))
        # Each token its own head (relative head 0): the patterns read DEP labels, never arcs.
        copy.from_array([TAG, DEP, HEAD], numpy.array([[t.tag, t.dep, 0] for t in span], dtype="uint64"))
        answers = self.lemmatizer(self.ruler(copy)).to_array(_SET_ATTRS).tolist()
        return {key: tuple(answers[position]) for key, position in window_of.items()}


def _word_lists_as_sets(lemmatizer: Callable[[Doc], Doc]) -> None:
    """Replaces the lists of the rule lemmatizer's `lemma_index` table, if it has one, by sets of the same words:
    the lemmatizer only ever asks whether a form is in them. The lemmatizer is this component's alone: the
    pipeline it came from no longer runs it."""
    lookups = getattr(lemmatizer, "lookups", None)
    if lookups is None or not lookups.has_table("lemma_index"):
        return
    index = lookups.get_table("lemma_index")
    for part_of_speech, words in list(index.items()):
        index[part_of_speech] = frozenset(words)


def _words_of_multi_token_patterns(ruler: AttributeRuler) -> Callable[[str], bool]:
    """Whether a lowercase word may take attributes from a pattern of two tokens: then its neighbours are part of
    what it is remembered by. Patterns of more tokens, or whose receiving token is not constrained by a LOWER
    value, a list of them or a regular expression, make every word depend on its neighbours (correct, only
    slower); patterns of more than two tokens are refused, as a neighbour on each side would not cover them."""
    words: set[str] = set()
    expressions: list[re.Pattern[str]] = []
    for entry in ruler.patterns:
        for pattern in entry["patterns"]:
            if len(pattern) > 2:
                raise ValueError(f"attribute_ruler pattern of {len(pattern)} tokens: only one or two are supported")
            if len(pattern) < 2:
                continue
            lower = pattern[entry.get("index", 0)].get("LOWER")  # the token the attributes go to
            if isinstance(lower, str):
                words.add(lower)
            elif isinstance(lower, dict) and isinstance(lower.get("IN"), list):
                words.update(lower["IN"])
            elif isinstance(lower, dict) and isinstance(lower.get("REGEX"), str):
                expressions.append(re.compile(lower["REGEX"]))
            else:
                return lambda _word: True
    return lambda word: word in words or any(expression.search(word) for expression in expressions)
