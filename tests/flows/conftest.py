import pytest

from flows.runtime import configure_prefect


@pytest.fixture(scope="session", autouse=True)
def prefect_harness(tmp_path_factory: pytest.TempPathFactory):
    """One throwaway Prefect backend for every flow test (Prefect's own testing guide)."""
    configure_prefect(tmp_path_factory.mktemp("prefect-data"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield
