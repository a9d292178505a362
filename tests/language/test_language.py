"""`etl.language`: the language detected for an article, and the policy that loads or rejects it."""

import pytest

from etl.clean import clean_document
from etl.errors import InputError, RejectedInput
from etl.language import LanguagePolicy, article_language, detect_language
from etl.records import RawDocument
from etl.settings import Settings

# Short news texts written for these tests.
GERMAN = (
    "Die Bundesregierung hat am Dienstag weitere Hilfen für die Ukraine zugesagt. Berlin werde in den kommenden "
    "Wochen Stromgeneratoren und Winterkleidung nach Kiew schicken, sagte eine Sprecherin des Auswärtigen Amts."
)
SPANISH = (
    "El Gobierno de España anunció el martes un nuevo paquete de ayuda para Ucrania. Madrid enviará generadores "
    "eléctricos y ropa de invierno a Kiev en las próximas semanas, según una portavoz del Ministerio."
)
ENGLISH = "Germany pledged aid to Ukraine on Tuesday. Berlin will send generators to Kyiv before the winter."


def raw(text: str, title: str = "", language: str | None = None) -> RawDocument:
    return RawDocument("/in/a.txt", 0, "txt", title, text, language=language)


def test_language_detects_english_german_and_spanish_news_confidently() -> None:
    for text, code in ((ENGLISH, "en"), (GERMAN, "de"), (SPANISH, "es")):
        detection = detect_language(text)
        assert detection.language == code and detection.confidence >= 0.95, (text, detection)


def test_language_english_article_is_stored_as_en() -> None:
    assert clean_document(raw(ENGLISH, "Aid for Kyiv")).language == "en"


def test_language_german_article_is_rejected_naming_the_language_confidence_and_setting() -> None:
    with pytest.raises(RejectedInput) as rejected:
        clean_document(raw(GERMAN, "Hilfe für Kiew"))
    reason = rejected.value.reason
    assert reason.startswith("language 'de' detected (confidence 1.00), not an accepted language (en)")
    assert "NEWSETL_ACCEPTED_LANGUAGES" in reason and "NEWSETL_OTHER_LANGUAGES=keep" in reason


def test_language_other_languages_kept_or_accepted_are_stored_with_their_code() -> None:
    keep = LanguagePolicy(others="keep")
    assert clean_document(raw(SPANISH, "Ayuda para Kiev"), keep).language == "es"
    assert clean_document(raw(GERMAN), LanguagePolicy(accepted=("en", "de"))).language == "de"


@pytest.mark.parametrize("text", ["Kyiv", "OK, 5-3.", "Putin Zelensky Erdogan", "Ukraine Russia 123", "Hello"])
def test_language_short_or_ambiguous_texts_are_not_rejected(text: str) -> None:
    assert detect_language(text).confidence < 0.95
    assert article_language(text, None, LanguagePolicy()) is None  # unknown, and loaded


def test_language_declared_language_counts_only_when_detection_is_not_confident() -> None:
    policy = LanguagePolicy()
    assert article_language("Kyiv", "en-GB", policy) == "en"
    assert article_language("Kyiv", "English", policy) is None  # not a language tag: ignored
    with pytest.raises(RejectedInput, match=r"^language 'fr' declared by the record, not an accepted language"):
        article_language("Kyiv", "fr", policy)
    # A confident detection wins over a feed's site-wide default.
    assert article_language(GERMAN, "en", LanguagePolicy(others="keep")) == "de"


def test_language_unknown_accepted_code_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="unknown language code 'english' in accepted_languages"):
        LanguagePolicy(accepted=("english",))


def test_language_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSETL_ACCEPTED_LANGUAGES", '["EN", "de"]')
    monkeypatch.setenv("NEWSETL_OTHER_LANGUAGES", "keep")
    monkeypatch.setenv("NEWSETL_LANGUAGE_MIN_CONFIDENCE", "0.9")
    settings = Settings()
    assert (settings.accepted_languages, settings.other_languages, settings.language_min_confidence) == (
        ("en", "de"),
        "keep",
        0.9,
    )
