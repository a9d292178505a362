import pytest


@pytest.fixture(scope="session", autouse=True)
def _flows_run_in_the_prefect_harness(prefect_harness: None) -> None:
    """Every flow test runs against the session's throwaway Prefect backend (tests/conftest.py)."""
