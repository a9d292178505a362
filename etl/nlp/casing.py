"""Truecasing of words written in capitals, so that headlines and shouted lines do not hide their entities.

spaCy's small English model reads word shape: in "LEICESTERSHIRE TAKE OVER AT TOP" every word looks like an
acronym and the county is missed. Each word in capitals is rewritten in the casing the same document uses
for it elsewhere ("Leicestershire" in the body); in a line that is mostly capitals, a word the document
never writes otherwise is lowercased (measured on CoNLL-2003 dev: better than title case, which invents names).
The rewrite never changes a length, so every offset into the truecased text is an offset into the input.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

# A word: letters, with inner apostrophes, dots or hyphens ("O'BRIEN", "U.S.", "JED-FOREST").
_WORD = re.compile(r"[^\W\d_]+(?:['’.\-][^\W\d_]+)*\.?")
_LINE = re.compile(r"[^\n]+")

# A line is shouted when at least this share of its words (and at least two of them) are in capitals.
SHOUTED_SHARE = 0.6


def _is_capitals(word: str) -> bool:
    """At least two letters, all capitals; most words are refused at their first small letter."""
    letters = 0
    for ch in word:
        if ch.isalpha():
            if not ch.isupper():
                return False
            letters += 1
    return letters >= 2


def _same_length_case(source: str, target: str) -> str | None:
    """`target` cased like `source`, or None when casing would change its length (a rare Unicode fold)."""
    return source if len(source) == len(target) and source.casefold() == target.casefold() else None


def _document_casing(text: str) -> dict[str, str]:
    """The most frequent mixed- or lower-case spelling of each word the document writes not in capitals."""
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for match in _WORD.finditer(text):
        word = match.group()
        if not _is_capitals(word) and any(ch.isalpha() for ch in word):
            forms[word.casefold()][word] += 1
    return {key: counter.most_common(1)[0][0] for key, counter in forms.items()}


def truecase(text: str) -> str:
    """`text` with its words in capitals recased from evidence in the same text; same length as `text`."""
    if not any(_is_capitals(match.group()) for match in _WORD.finditer(text)):
        return text
    casing = _document_casing(text)
    out = list(text)
    for line in _LINE.finditer(text):
        words = list(_WORD.finditer(line.group()))
        capitals = [w for w in words if _is_capitals(w.group())]
        shouted = len(capitals) >= 2 and len(capitals) >= SHOUTED_SHARE * len(words)
        for match in capitals:
            word = match.group()
            known = casing.get(word.casefold())
            if known is not None and (shouted or known[0].isupper()):
                recased = _same_length_case(known, word)
            elif shouted:
                recased = _same_length_case(word.lower(), word)
            else:
                recased = None  # an acronym in running text ("NATO", "US"): leave it
            if recased is not None:
                start = line.start() + match.start()
                out[start : start + len(word)] = recased
    return "".join(out)
