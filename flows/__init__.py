"""Prefect flows: thin orchestration over the `etl` library."""
