"""An event's participants as records: the entity, country and sector of each argument's phrase, and the event's
place."""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spacy.tokens import Span, Token

from etl.nlp import gazetteer
from etl.nlp.agency import Agency, Mentions, agency, antecedent, mention_at
from etl.nlp.lexicon import load_word_classes
from etl.nlp.syntax import SUBJECT_DEPS, governing_verb, noun_phrase
from etl.nlp.trigger_match import TriggerMatch
from etl.records import Entity, Mention, Participant

WORDS = load_word_classes()
LOCATION_PREPS = frozenset(WORDS["location_preposition"])
LOCATION_LABELS = frozenset({"GPE", "LOC", "FAC"})
# Acts whose place is where their target is ("shelled Kherson").
PLACE_TARGET_TYPES = frozenset({"ASSAULT", "COERCE"})
ETHNIC_LABEL = re.compile(r"\bethnic\s+\S+", re.IGNORECASE)
INTERNATIONAL_CODES = frozenset({"IGO", "NGO"})
# Subject pronouns that continue the previous sentence's subject when that is a party, named or described.
CONTINUING_PRONOUNS = frozenset({"it", "they"})
SINGULAR_PRONOUNS = frozenset({"it"})
PLURAL_TAGS = frozenset({"NNS", "NNPS"})
MAX_CONTINUED_SENTENCES = 3
BOTH_SIDES_WORDS = frozenset({"both", "two"})


@dataclass(frozen=True, slots=True)
class EventSetting:
    """What a participant is read against besides its own words: the article's mentions and entities, the country of
    the event's place, and the one country its sentence names (`sentence_country`)."""

    mentions: Mentions
    entities: Mapping[str, Entity]
    place_country: str | None = None
    sentence_country: str | None = None


def participant_of(role: str, token: Token, setting: EventSetting) -> Participant:
    # A pronoun is what it stands for: the subject it continues, a description or a name ("The Taiwanese company
    # said … . It denied …": the company, Taiwanese, not the Taiwanese people), else the nearest entity of its
    # kind ("he" the president named before), else none at all.
    referent = continued_subject(token) if token.pos_ == "PRON" else None
    if referent is None or agency(referent, setting.mentions) is not Agency.AGENT:
        referent = token
    span = noun_phrase(referent)
    if referent.i != token.i:
        mention = mention_at(referent, setting.mentions)
    elif token.pos_ == "PRON":
        mention = antecedent(token, setting.mentions)
    else:
        mention = _mention_for(span, token, setting.mentions)
    entity = setting.entities.get(mention.entity_key) if mention else None
    # "Ethnic Albanians in south Serbia" are Serbia's: an ethnic label names a minority, not its kin state.
    ethnic = any(t.lower_ == "ethnic" for t in span)
    sector = gazetteer.sector_of(span.text)
    # A private person (a name or a pronoun with no office) is of no country the sentence names by the way, nor are
    # the two sides of a meeting or a deal ("the two presidents", "both countries").
    private = sector is None and (
        token.pos_ == "PRON" or (mention.label == "PERSON" if mention is not None else token.pos_ == "PROPN")
    )
    both_sides = any(c.lower_ in BOTH_SIDES_WORDS for c in referent.children if c.dep_ in {"det", "nummod", "predet"})
    country = (
        (entity.country if entity and not ethnic else None)
        # The phrase carries what the entity may not: "the Russian army", "Hungarian officials", "Kenzo Oshima,
        # the UN relief coordinator"; then a participle that describes it ("a newspaper based in Beirut"); then,
        # for a party named by no country at all ("prisoners rioted in Dili"), the country where it happened, else
        # the one country its sentence names (`sentence_country`), unless a private person.
        or _phrase_country(span.text)
        or (_phrase_country(_description(referent)) if any(c.dep_ == "acl" for c in referent.children) else None)
        or setting.place_country
        or (None if private or both_sides else setting.sentence_country)
    )
    # The words as written keep the clause that says which ones are meant; the entity and the country are read
    # from the phrase without it ("people who fled to the border" are no border's).
    written = noun_phrase(token, defining=True)
    return Participant(
        role=role,
        start=written.start_char,
        end=written.end_char,
        text=written.text,
        entity_key=mention.entity_key if mention else None,
        canonical=entity.canonical_name if entity else None,
        country=country,
        sector=sector,
    )


def sentence_country(sentence: Span, mentions: Mentions, entities: Mapping[str, Entity]) -> str | None:
    """The country a sentence is about, when its entities name one and no other: "tribal elders demanded that the
    Ghanaian water ministry reopen the village wells", "Judge Ortega opened an investigation against twelve Chilean
    officials" (news names a domestic party's country once, if at all); None when they name none or several ("the
    US urged China"), and international bodies belong to no country."""
    first = bisect.bisect_left(mentions.starts, sentence.start_char)
    last = bisect.bisect_left(mentions.starts, sentence.end_char)
    countries = {
        entity.country
        for m in mentions[first:last]
        if (entity := entities.get(m.entity_key)) is not None
        and entity.country is not None
        and entity.country not in INTERNATIONAL_CODES
        and not _names_a_place_only(sentence, m)
    }
    return countries.pop() if len(countries) == 1 else None


def _names_a_place_only(sentence: Span, mention: Mention) -> bool:
    """The mention is where something happens ("agreed in Nairobi", "an Oslo-based group"), not a party: a place
    says less of who acts there than a people or a state named as a party does."""
    span = sentence.doc.char_span(mention.start, mention.end)
    if span is None:
        return False
    head = span.root
    return (head.dep_ == "pobj" and head.head.lower_ in LOCATION_PREPS) or head.head.lower_ == "based"


def continued_subject(pronoun: Token) -> Token | None:
    """The subject a subject "it" or "they" at the head of its sentence continues: the main subject of the sentence
    before ("The union said nurses in Scotland and Wales had backed walkouts. It is demanding …": the union, not
    Wales), through the pronouns that continue it in turn; None for any other pronoun, or when that subject is
    missing, a person's name or a pronoun of another kind."""
    current = pronoun
    for _ in range(MAX_CONTINUED_SENTENCES):
        sentence = current.sent
        if (
            current.lower_ not in CONTINUING_PRONOUNS
            or current.dep_ not in SUBJECT_DEPS
            or current.head.i != sentence.root.i
            or sentence.start == 0
        ):
            return None
        previous = current.doc[sentence.start - 1].sent
        subjects = [c for c in previous.root.children if c.dep_ in SUBJECT_DEPS]
        if not subjects:
            return None
        current = subjects[0]
        if current.pos_ != "PRON":
            plural = current.tag_ in PLURAL_TAGS
            if current.ent_type_ == "PERSON" or (plural and pronoun.lower_ in SINGULAR_PRONOUNS):
                return None
            return current
    return None


def _mention_for(span: Span, head: Token, mentions: Sequence[Mention]) -> Mention | None:
    overlapping = [m for m in mentions if m.start < span.end_char and span.start_char < m.end]
    for mention in overlapping:
        if mention.start <= head.idx < mention.end:
            return mention
    return overlapping[0] if overlapping else None


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


def event_place_key(match: TriggerMatch, recipients: Sequence[Token], mentions: Sequence[Mention]) -> str | None:
    heads = list(match.span)
    if match.token.pos_ != "VERB" and (verb := governing_verb(match.token)) is not None:
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
