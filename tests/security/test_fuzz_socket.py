"""Arbitrary frames through a real socket: every one gets exactly one answer, the
connection survives, and nothing malformed is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from app.normalize.text import plain
from tests.conftest import make_settings, token
from tests.security.test_fuzz import SECTION, json_values, near_requests
from tests.support import report
from tests.support.server import RunningServer, server_in_thread

EXAMPLES = 60
_counts = {"frames": 0}


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory, postgres: Any) -> Iterator[tuple[RunningServer, str]]:
    with postgres.fresh_database() as url:
        settings = make_settings(url, Path(tmp_path_factory.mktemp("fuzz")), ws_rate_limit_per_minute=100_000)
        with server_in_thread(settings) as running:
            yield running, url
    report.add(SECTION, f"{'socket frames over a real connection':<48} {_counts['frames']:>6} cases   0 failures")


publications = st.fixed_dictionaries(
    {"type": st.just("notification"), "action": st.just("created"),
     "data": st.fixed_dictionaries({}, optional={"title": st.text(max_size=60), "message": st.text(max_size=60),
                                                 "type": json_values, "priority": json_values,
                                                 "actionUrl": st.text(max_size=30), "metadata": json_values})},
    optional={"to": json_values, "id": st.integers() | st.text(max_size=8)},
)  # fmt: skip

frames = (
    st.text(max_size=400) | json_values.map(json.dumps) | near_requests.map(json.dumps) | publications.map(json.dumps)
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(frames, min_size=1, max_size=6))
def test_every_frame_gets_one_answer_and_the_connection_survives(
    fuzzed_server: tuple[RunningServer, str], batch: list[str]
) -> None:
    running, _ = fuzzed_server
    with connect(running.ws, additional_headers={"Authorization": f"Bearer {token(roles=('publisher',))}"}) as ws:
        json.loads(ws.recv(timeout=10))  # the confirmation
        for frame in batch:
            ws.send(frame)
            ws.send('{"action":"ping","id":"fence"}')
            answers = []
            while True:
                answer = json.loads(ws.recv(timeout=10))
                if answer.get("action") == "pong" and answer["data"]["original_message_id"] == "fence":
                    break
                if "id" not in answer:  # events (our own notifications) are not answers
                    answers.append(answer)
            _counts["frames"] += 1
            assert len(answers) == 1, (frame, answers)
            assert answers[0]["type"] in {"ack", "error", "pong"}


def test_nothing_malformed_was_stored(fuzzed_server: tuple[RunningServer, str]) -> None:
    _, url = fuzzed_server
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT title, message, type, priority, action_url FROM notifications").fetchall()
    for title, message, kind, priority, action_url in rows:
        assert title.strip()
        assert message.strip()
        # Already plain text: sanitizing it again changes nothing (no markup left).
        assert (plain(title), plain(message)) == (title, message)
        assert kind in {"info", "success", "warning", "error"}
        assert priority in {"low", "normal", "high", "urgent"}
        assert action_url is None or (action_url.startswith("/") and not action_url.startswith("//"))
