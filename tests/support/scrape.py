"""Reading /metrics as Prometheus would: the text format, parsed by the client library's own parser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Scrape:
    def __init__(self, text: str) -> None:
        self.text = text
        self.series: Series = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.series[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        return self.series.get((name, frozenset(labels.items())), 0.0)

    def label_values(self, name: str, label: str) -> set[str]:
        return {dict(labels)[label] for (found, labels) in self.series if found == name and label in dict(labels)}


async def scrape(http: httpx.AsyncClient, **headers: str) -> Scrape:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


async def scrape_until(http: httpx.AsyncClient, done: Callable[[Scrape], bool], timeout: float = 10.0) -> Scrape:
    """Scrape until `done` holds, as a dashboard would see it converge (for values set by another task
    or process)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                found = await scrape(http)
            except httpx.TransportError:  # not listening yet (worker processes starting)
                found = None
            if found is not None and done(found):
                return found
            await asyncio.sleep(0.05)
