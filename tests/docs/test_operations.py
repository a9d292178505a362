"""prefect.yaml deploys flows that exist, with parameters they take and schedules Prefect accepts; the
operations guide shows each way of scheduling."""

import importlib
import inspect
from pathlib import Path

import pytest
import yaml
from prefect.flows import Flow
from prefect.schedules import Cron

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_operations_prefect_yaml_deploys_a_flow_with_its_parameters(deployment: dict) -> None:
    path, name = deployment["entrypoint"].split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, name)
    assert isinstance(flow, Flow)
    assert set(deployment["parameters"]) <= set(inspect.signature(flow.fn).parameters)
    for schedule in deployment.get("schedules", []):
        Cron(schedule["cron"], timezone=schedule["timezone"])


def test_operations_guide_shows_serve_prefect_yaml_cron_and_systemd() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for needle in ("newsetl serve --cron", "prefect deploy --all", "```cron\n", "OnCalendar="):
        assert needle in guide
