"""Reading Deskgate's /metrics answer in tests: one sample's value, by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample `name` whose labels include `labels`; 0 when there is none (a labelled
    counter appears only once it has counted something)."""
    found = 0.0
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                found += item.value
    return found
