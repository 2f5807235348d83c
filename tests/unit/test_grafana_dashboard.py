"""The sample Grafana dashboard asks only for metrics Deskgate exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from deskgate.observability.metrics import Gauges, exposition

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "deskgate.json"


def test_every_metric_of_the_dashboard_is_exposed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"deskgate_[a-z_]+", target["expr"])
    }
    exposed = set()
    for family in text_string_to_metric_families(exposition(Gauges(0, 0, 0.0)).decode()):
        exposed |= {family.name, f"{family.name}_total", f"{family.name}_bucket"}
    assert len(asked) >= 8
    assert asked <= exposed, asked - exposed
