"""newsetl's spaCy components, registered here and nowhere else; `etl.nlp.model` adds them to the pipeline.

Factory names carry their version as `_v1` (spaCy refuses dots in factory names). Each follows spaCy's
`SpanRuler` shape: `match(doc)` finds spans, `set_annotations(doc, spans)` writes them.

- `newsetl_paragraph_breaks_v1` (before the parser): a blank line ends a sentence, so a headline without a
  full stop is not read as the start of the first sentence under it.
- `newsetl_results_lines_v1`: sports results and tables ("Lazio 2 Roma 1", "Hull 4 2 2 0 4 2 8",
  "5. Leah Pells ( Canada ) 4:09.95") name competitors. spaCy reads the teams as places or people; a
  table lists one kind of thing, so all its competitors take the label most of them got (PERSON for
  athletes, else ORG for teams), except countries, which stay GPE (national teams).
- `newsetl_datelines_v1`: a wire dateline ("BELGRADE 1996-08-31", "KYIV, Nov 10") names a place.
- `newsetl_known_places_v1`: a name the gazetteer knows as a place is not a person ("Kherson", "Mykolaiv"
  tagged PERSON by the small model become GPE). Organisations keep their label: a city is often a team.
- `newsetl_document_labels_v1`: a name tagged once is tagged wherever the document repeats it.
- `newsetl_token_attributes_v1` (in place of the model's `attribute_ruler` and `lemmatizer`): the same
  attributes, worked out once per distinct token (`etl.nlp.token_attributes`).
"""

from __future__ import annotations

import re
from collections import Counter

from spacy.attrs import IS_SPACE, ORTH
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from etl.nlp import gazetteer
from etl.nlp.token_attributes import TokenAttributes

_NUMBER = re.compile(r"^[+-]?\d[\d.,:/=-]*(?:st|nd|rd|th)?$|^\.\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?$")
# Lowercase words that may sit inside a name ("Queen 's Park", "Bank of England").
_NAME_JOINERS = frozenset({"'s", "’s", "of", "de", "del", "la", "le", "van", "von", "&", "-", "."})
_SEPARATORS = frozenset({",", ";", "(", ")", ":"})
# Added by `etl.nlp.model.load_pipeline`, in this order, before `parser` and after `ner`.
BEFORE_PARSER = ("newsetl_paragraph_breaks_v1",)
AFTER_NER = (
    "newsetl_results_lines_v1",
    "newsetl_datelines_v1",
    "newsetl_known_places_v1",
    "newsetl_document_labels_v1",
)
# In place of the model's `attribute_ruler` followed by its `lemmatizer`, when it has both.
TOKEN_ATTRIBUTES = "newsetl_token_attributes_v1"
_NAMED_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC"})


def _token_rows(doc: Doc) -> tuple[list[str], list[bool]]:
    """Each token's text, and whether it is whitespace, read as arrays: a Token object per word costs more than
    the work done with it, and so does `doc.text`, which spaCy joins from every token anew on each use."""
    strings = doc.vocab.strings
    return [strings[orth] for orth in doc.to_array(ORTH).tolist()], doc.to_array(IS_SPACE).astype(bool).tolist()


def _lines(doc: Doc) -> list[list[int]]:
    """Token indices of each line of the document, without the line-break tokens."""
    texts, spaces = _token_rows(doc)
    lines: list[list[int]] = [[]]
    for i, (text, space) in enumerate(zip(texts, spaces, strict=True)):
        if not space:
            lines[-1].append(i)
        if "\n" in text:  # the whitespace after a token is a space or nothing: a line break is a token's
            lines.append([])
    return [line for line in lines if line]


def _is_name_word(text: str) -> bool:
    return text[:1].isupper() or text in _NAME_JOINERS


def _segments(doc: Doc, line: list[int]) -> list[tuple[str, int, int]] | None:
    """The line as ("num" | "name" | separator, start, end) items, or None when it is running text."""
    items: list[tuple[str, int, int]] = []
    for i in line:
        text = doc[i].text
        if _NUMBER.match(text):
            items.append(("num", i, i + 1))
        elif text in _SEPARATORS:
            items.append((text, i, i + 1))
        elif text in _NAME_JOINERS and not (items and items[-1][0] == "name"):
            items.append(("sep", i, i + 1))  # "1 ." of a rank, a dash between columns
        elif _is_name_word(text):
            if items and items[-1][0] == "name":
                items[-1] = ("name", items[-1][1], i + 1)
            else:
                items.append(("name", i, i + 1))
        else:
            return None
    return items


def _competitors(items: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """Name spans of a results line: "A 2 B 1 ...", "[rank] A [( country )] 3 1 0 ..."; else none."""
    kinds = [kind for kind, _, _ in items]
    if kinds[:2] == ["num", "name"]:  # a rank ("5.", "1=") or a score before the name
        items, kinds = items[1:], kinds[1:]
    elif kinds[:3] == ["num", "sep", "name"]:
        items, kinds = items[2:], kinds[2:]
    # A parenthesised name after a competitor is its country or club: matched on its own below.
    flat = []
    position = 0
    while position < len(items):
        kind = kinds[position]
        if kind == "(" and kinds[position + 1 : position + 3] == ["name", ")"]:
            position += 3
            continue
        flat.append(items[position])
        position += 1
    flat_kinds = [kind for kind, _, _ in flat]
    if flat_kinds[:4] == ["name", "num", "name", "num"]:
        return [(flat[0][1], flat[0][2]), (flat[2][1], flat[2][2])]
    if flat_kinds[:2] == ["name", "num"] and all(kind != "name" for kind in flat_kinds[1:]):
        return [(flat[0][1], flat[0][2])]
    return []


def _country_in_parentheses(items: list[tuple[str, int, int]], doc: Doc) -> list[tuple[int, int]]:
    kinds = [kind for kind, _, _ in items]
    return [
        (items[i + 1][1], items[i + 1][2])
        for i in range(len(items) - 2)
        if kinds[i : i + 3] == ["(", "name", ")"]
        and gazetteer.is_country_name(doc[items[i + 1][1] : items[i + 1][2]].text)
    ]


def _label_of(doc: Doc, start: int, end: int) -> str | None:
    labels = Counter(token.ent_type_ for token in doc[start:end] if token.ent_type_)
    return labels.most_common(1)[0][0] if labels else None


def _with_spans(doc: Doc, spans: list[Span]) -> None:
    """Write spans as entities, replacing any entity they overlap."""
    taken = {i for span in spans for i in range(span.start, span.end)}
    kept = [ent for ent in doc.ents if not taken.intersection(range(ent.start, ent.end))]
    doc.ents = filter_spans([*kept, *spans])


class ParagraphBreaks:
    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.match(doc))
        return doc

    def match(self, doc: Doc) -> list[int]:
        """Indices of the first words after a blank line: two line breaks in the whitespace between two words."""
        texts, spaces = _token_rows(doc)
        starts = []
        line_breaks = None  # since the last word; None before the first
        for i, (text, space) in enumerate(zip(texts, spaces, strict=True)):
            if space:
                if line_breaks is not None:
                    line_breaks += text.count("\n")
                continue
            if line_breaks is not None and line_breaks >= 2:
                starts.append(i)
            line_breaks = 0
        return starts

    def set_annotations(self, doc: Doc, starts: list[int]) -> None:
        for i in starts:
            doc[i].is_sent_start = True


class ResultsLines:
    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.match(doc))
        return doc

    def match(self, doc: Doc) -> list[Span]:
        competitors: list[tuple[int, int]] = []
        countries: list[tuple[int, int]] = []
        for line in _lines(doc):
            items = _segments(doc, line)
            if not items:
                continue
            found = _competitors(items)
            if found:
                competitors.extend(found)
                countries.extend(_country_in_parentheses(items, doc))
        if not competitors:
            return []
        # Competitors followed by their country are athletes, whatever the model said.
        ent_at = {ent.start: ent for ent in doc.ents}
        # A vote counts when the model's entity is the name, perhaps with its score; not one running over lines.
        votes = Counter(
            ent_at[start].label_ for start, end in competitors if start in ent_at and ent_at[start].end <= end + 1
        )
        votes["PERSON"] += len(countries)
        people = votes["PERSON"] > len(competitors) / 2
        spans = [Span(doc, start, end, label="GPE") for start, end in countries]
        for start, end in competitors:
            if gazetteer.is_country_name(doc[start:end].text):
                spans.append(Span(doc, start, end, label="GPE"))
            else:
                spans.append(Span(doc, start, end, label="PERSON" if people else "ORG"))
        return spans

    def set_annotations(self, doc: Doc, spans: list[Span]) -> None:
        if spans:
            _with_spans(doc, spans)


class Datelines:
    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.match(doc))
        return doc

    def match(self, doc: Doc) -> list[Span]:
        spans = []
        for line in _lines(doc):
            name_end = next((n for n, i in enumerate(line) if not doc[i].text[:1].isupper()), len(line))
            rest = [doc[i].text for i in line[name_end:] if doc[i].text != ","]
            if (
                0 < name_end <= 4
                and rest
                and _DATE.match(rest[0])
                and len(rest) <= 3
                and _label_of(doc, line[0], line[name_end - 1] + 1) in {None, *_NAMED_LABELS}
            ):
                spans.append(Span(doc, line[0], line[name_end - 1] + 1, label="GPE"))
        return spans

    def set_annotations(self, doc: Doc, spans: list[Span]) -> None:
        if spans:
            _with_spans(doc, spans)


class KnownPlaces:
    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.match(doc))
        return doc

    def match(self, doc: Doc) -> list[Span]:
        return [
            Span(doc, ent.start, ent.end, label="GPE")
            for ent in doc.ents
            if ent.label_ == "PERSON" and gazetteer.is_place_name(ent.text)
        ]

    def set_annotations(self, doc: Doc, spans: list[Span]) -> None:
        if spans:
            _with_spans(doc, spans)


class DocumentLabels:
    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.match(doc))
        return doc

    def match(self, doc: Doc) -> list[Span]:
        """Every mention of a tagged name, with the label the document gives it most often.

        A person's surname alone ("Simmons" after "Phil Simmons") is that person, whatever the model said.
        Untagged repeats are added; tagged ones whose label lost the vote are relabelled.
        """
        votes: dict[tuple[str, ...], Counter[str]] = {}
        surnames = set()
        for ent in doc.ents:
            if ent.label_ in _NAMED_LABELS and ent.text[:1].isupper():
                votes.setdefault(tuple(token.text for token in ent), Counter())[ent.label_] += 1
                if ent.label_ == "PERSON" and len(ent) >= 2 and len(ent[-1].text) > 2 and ent[-1].text[:1].isupper():
                    surnames.add((ent[-1].text,))
        if not votes:
            return []
        labels = {words: counter.most_common(1)[0][0] for words, counter in votes.items()}
        labels.update(dict.fromkeys(surnames, "PERSON"))
        longest = max(len(words) for words in labels)
        # Token texts read once, and only where a name can start: a Span per position and size cost the most.
        texts, _ = _token_rows(doc)
        first_words = {words[0] for words in labels}
        spans = []
        i = 0
        while i < len(doc):
            sizes = range(min(longest, len(doc) - i), 0, -1) if texts[i] in first_words else ()
            for size in sizes:
                label = labels.get(tuple(texts[i : i + size]))
                if label is None:
                    continue
                span = doc[i : i + size]
                tagged = {token.ent_type_ for token in span} - {""}
                is_whole_ent = not tagged or (
                    span[0].ent_iob_ == "B"
                    and all(token.ent_iob_ == "I" for token in span[1:])
                    and (span.end == len(doc) or doc[span.end].ent_iob_ != "I")
                )
                if is_whole_ent and tagged != {label}:
                    spans.append(Span(doc, i, i + size, label=label))
                if is_whole_ent:
                    i += size - 1
                    break
            i += 1
        return spans

    def set_annotations(self, doc: Doc, spans: list[Span]) -> None:
        if spans:
            _with_spans(doc, spans)


@Language.factory("newsetl_paragraph_breaks_v1")
def make_paragraph_breaks(nlp: Language, name: str) -> ParagraphBreaks:
    return ParagraphBreaks()


@Language.factory("newsetl_results_lines_v1")
def make_results_lines(nlp: Language, name: str) -> ResultsLines:
    return ResultsLines()


@Language.factory("newsetl_datelines_v1")
def make_datelines(nlp: Language, name: str) -> Datelines:
    return Datelines()


@Language.factory("newsetl_known_places_v1")
def make_known_places(nlp: Language, name: str) -> KnownPlaces:
    return KnownPlaces()


@Language.factory("newsetl_document_labels_v1")
def make_document_labels(nlp: Language, name: str) -> DocumentLabels:
    return DocumentLabels()


@Language.factory(TOKEN_ATTRIBUTES)
def make_token_attributes(nlp: Language, name: str) -> TokenAttributes:
    """Takes over the pipeline's own `attribute_ruler` and `lemmatizer`, which `load_pipeline` then removes."""
    return TokenAttributes(nlp.get_pipe("attribute_ruler"), nlp.get_pipe("lemmatizer"))
