"""The language of an article, detected from its text, and whether the run accepts it.

py3langid (trafilatura's own choice) ships its model inside the package: no download at run time, about 1 ms per
article. Its confidence is a probability normalised for the text's length, so a short or mixed text gets a low
one; an article is rejected for its language only when that confidence reaches `min_confidence`.

Why 0.95 by default: over the 2,225 English BBC articles (title and body) every one is detected as `en`, the
lowest confidence being 0.9945; over their 12,860 single paragraphs, 2,225 headlines and first 10 to 150
characters, the most confident wrong (non-English) guess is 0.88 (docs/reliability.md has the command).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from etl.errors import InputError, RejectedInput

# A declared language tag ("en", "en-GB", "EN_us"): its primary subtag is the ISO 639 code.
_LANGUAGE_TAG = re.compile(r"([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*")


@dataclass(frozen=True, slots=True)
class LanguagePolicy:
    """Which languages a run loads, and what it does with the others (from the settings)."""

    accepted: tuple[str, ...] = ("en",)
    others: Literal["reject", "keep"] = "reject"
    min_confidence: float = 0.95

    def __post_init__(self) -> None:
        unknown = [code for code in self.accepted if code not in _identifier().labels]
        if unknown:
            raise InputError(
                f"unknown language code {', '.join(map(repr, unknown))} in accepted_languages: "
                "give ISO 639-1 codes such as en, de, fr"
            )


@dataclass(frozen=True, slots=True)
class Detection:
    language: str  # ISO 639-1 code where the language has one, else ISO 639-3 (py3langid's labels)
    confidence: float


def detect_language(text: str) -> Detection:
    """The likeliest language of `text` and its confidence (0–1, low for short or mixed texts)."""
    language, confidence = _identifier().classify(text)
    return Detection(language, confidence)


def article_language(text: str, declared: str | None, policy: LanguagePolicy) -> str | None:
    """The language stored for an article; `RejectedInput` when the policy rejects it.

    A confident detection wins over a declared language (a feed's `language` is often a site-wide default);
    otherwise the declared language, if it is a language tag, is trusted; otherwise the language is unknown
    (None) and the article is loaded: a short or ambiguous text is never rejected on a guess.
    """
    detection = detect_language(text)
    if detection.confidence >= policy.min_confidence:
        language, how = detection.language, f"detected (confidence {detection.confidence:.2f})"
    else:
        language, how = _declared_code(declared), "declared by the record"
    if language is None or language in policy.accepted or policy.others == "keep":
        return language
    accepted = ", ".join(policy.accepted)
    raise RejectedInput(
        f"language '{language}' {how}, not an accepted language ({accepted}): add it to "
        "NEWSETL_ACCEPTED_LANGUAGES, or set NEWSETL_OTHER_LANGUAGES=keep to load it"
    )


def _declared_code(declared: str | None) -> str | None:
    match = _LANGUAGE_TAG.fullmatch(declared.strip().lower()) if declared else None
    return match.group(1) if match else None


@functools.cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
