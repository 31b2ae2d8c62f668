"""Makes the board's screenshots in docs/images/ (shown in docs/console.md) from a real service and
a real Chromium: `.venv/bin/python -m tests.console.screenshots [OUT_DIR]`.

Not a test (pytest does not collect it): run it again when the board's look changes, and commit the images.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, expect

from tests.conftest import make_settings, token
from tests.support.alerts import am_alert, am_group
from tests.support.browser import BoardPage, fresh_page, launched
from tests.support.database import pg_server
from tests.support.jira import issue_event
from tests.support.server import server_in_thread

SIZES = {"1920x1080": (1920, 1080), "1280x720": (1280, 720), "phone": (390, 844)}
OUT = Path(__file__).resolve().parents[2] / "docs" / "images"

# (number, project, summary, priority, status, category, minutes ago)
INCIDENTS = [
    (1482, "OPS", "Checkout API p99 latency above 4 s", "Highest", "Open", "new", 12),
    (1479, "PAY", "Card payments failing for one acquirer", "Highest", "In Progress", "indeterminate", 48),
    (1475, "PLAT", "Kafka consumer lag on orders topic", "High", "In Progress", "indeterminate", 95),
    (1470, "OPS", "Login page slow in eu-west", "Medium", "Open", "new", 180),
    (1466, "PLAT", "Nightly backup took twice as long", "Low", "Open", "new", 600),
    (1461, "OPS", "DNS resolution errors from one node", "High", "Done", "done", 30),
]
ALERTS = [
    ("f1", "PostgresReplicationLag", "critical", "production", "pg-orders-02:9187", "firing"),
    ("f2", "HighErrorRate", "critical", "production", "checkout-api", "firing"),
    ("f3", "DiskWillFillIn4Hours", "warning", "production", "web-07:9100", "firing"),
    ("f4", "CertificateExpiresSoon", "info", "staging", "ingress-staging", "firing"),
    ("f5", "NodeMemoryPressure", "warning", "production", "web-03:9100", "resolved"),
]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "+0000")


def _incident(number: int, project: str, summary: str, priority: str, status: str, category: str, minutes: int,
              now: datetime) -> dict[str, Any]:  # fmt: skip
    body = issue_event(number, project=project, summary=summary, priority=priority, status=status, category=category)
    body["issue"]["fields"]["created"] = _iso(now - timedelta(minutes=minutes))
    body["issue"]["fields"]["updated"] = _iso(now - timedelta(minutes=min(minutes, 5)))
    body["issue"]["fields"]["assignee"] = {"displayName": "Priya Raman", "emailAddress": "priya@example.com"}
    return body


def _alert(fingerprint: str, name: str, severity: str, env: str, instance: str, status: str,
           now: datetime) -> dict[str, Any]:  # fmt: skip
    starts = (now - timedelta(minutes=40)).isoformat().replace("+00:00", "Z")
    ends = now.isoformat().replace("+00:00", "Z") if status == "resolved" else "0001-01-01T00:00:00Z"
    return am_alert(fingerprint, status=status, alertname=name, severity=severity, env=env, instance=instance,
                    starts_at=starts, ends_at=ends, value="312")  # fmt: skip


async def seed(base: str) -> None:
    now = datetime.now(UTC)
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for row in INCIDENTS:
            (await client.post("/api/webhooks/jira", json=_incident(*row, now=now))).raise_for_status()
        alerts = [_alert(*row, now=now) for row in ALERTS]
        (await client.post("/api/webhooks/alertmanager", json=am_group(*alerts))).raise_for_status()
        notification = {"title": "Deploy freeze from 16:00", "message": "Checkout is frozen for the sale.",
                        "type": "warning", "priority": "high"}  # fmt: skip
        admin = {"Authorization": f"Bearer {token(roles=('admin',))}"}
        (await client.post("/api/notifications", json=notification, headers=admin)).raise_for_status()


async def shoot(out: Path) -> list[Path]:
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        with pg_server(root) as postgres:
            postgres.create_template()
            with postgres.fresh_database() as url, server_in_thread(make_settings(url, root)) as server:
                async with launched() as browser:
                    written += await _shots(browser, server.http, out)
    return written


async def _shots(browser: Browser, base: str, out: Path) -> list[Path]:
    written: list[Path] = []
    for name, (width, height) in SIZES.items():
        for wall in (False, True) if name == "1920x1080" else (False,):
            async with fresh_page(browser, width=width, height=height) as page:
                board = BoardPage(page, base)
                await board.open()
                await board.sign_in(token(sub="noc-wall", roles=("viewer",)))
                if not written:
                    await seed(base)
                await expect(board.count("incidents")).to_have_text("5")
                if wall:
                    await board.open("?wall=1")
                    await expect(board.count("incidents")).to_have_text("5")
                path = out / f"board-{name}{'-wall' if wall else ''}.png"
                await page.screenshot(path=str(path), full_page=name == "phone")
                written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    target.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(shoot(target)):
        print(path)  # noqa: T201
