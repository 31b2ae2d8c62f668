"""`ops-bridge send FILE...`: post stored webhook bodies to a running service.

For demos and for testing a deployment. Each file is sent byte for byte to
its sender's endpoint, chosen from the folder it lies in (`jira_cloud/`,
`alertmanager/`..., as in tests/fixtures/) or by `--sender`, with the headers
recorded beside it in `NAME.headers.json` when there is one. Credentials:
`--auth recorded` sends the recorded ones as they are (the fixtures' own
signatures and tokens), `--auth settings` replaces them with what this
machine's settings hold (signing with JIRA_WEBHOOK_SECRET or
GRAFANA_WEBHOOK_SECRET, or presenting JIRA_WEBHOOK_TOKEN or
ALERT_WEBHOOK_TOKEN: the same environment as the service), `--auth none`
sends none. Secrets are read from the environment, never from the command line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from app.auth.webhook_signatures import hmac_sha256_hex
from app.config import Settings
from app.senders.registry import SENDERS, entry
from app.senders.sender import Registered

Auth = Literal["recorded", "settings", "none"]

# Folder names (ours and the fixtures') and the sender each holds.
_FOLDERS = {
    "jira": "jira",
    "jira_cloud": "jira",
    "jira_datacenter": "jira",
    "jira_server": "jira",
    "jira_automation": "jira",
    "alertmanager": "alertmanager",
    "grafana": "grafana",
    "generic": "generic",
    "alerts": "generic",
    "uptime_kuma": "uptime-kuma",
    "uptime-kuma": "uptime-kuma",
    "cloudwatch": "cloudwatch",
    "sns": "cloudwatch",
}
_CREDENTIAL_HINTS = ("authorization", "signature", "token", "secret", "cookie", "api-key", "apikey")
_NOT_FORWARDED = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_MAX_ANSWER = 500


class SendError(Exception):
    """A file that cannot be sent as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Delivery:
    path: Path
    sender: Registered
    body: bytes
    headers: dict[str, str]


def sender_of(path: Path, chosen: str | None) -> Registered:
    if chosen is not None:
        return entry(chosen)
    for folder in reversed(path.resolve().parent.parts):
        if folder in _FOLDERS:
            return SENDERS[_FOLDERS[folder]]
    for prefix, name in _FOLDERS.items():
        if path.name.startswith(prefix + "_"):
            return SENDERS[name]
    raise SendError(f"{path}: its folder does not say which sender it is from; pass --sender")


def recorded_headers(path: Path) -> dict[str, str]:
    """`NAME.headers.json` beside `NAME.json`, if there is one."""
    sibling = path.with_name(path.name.removesuffix(".json") + ".headers.json")
    if not sibling.exists():
        return {}
    try:
        found = json.loads(sibling.read_text())
    except json.JSONDecodeError as exc:
        raise SendError(f"{sibling}: not a JSON object of headers ({exc})") from None
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        raise SendError(f"{sibling}: not a JSON object of header names to strings")
    return {name: value for name, value in found.items() if name.lower() not in _NOT_FORWARDED}


def _without_credentials(headers: Mapping[str, str]) -> dict[str, str]:
    return {n: v for n, v in headers.items() if not any(hint in n.lower() for hint in _CREDENTIAL_HINTS)}


def credentials_from(settings: Settings, sender: str, body: bytes) -> dict[str, str]:
    """The headers that authenticate `body` as `sender` with these settings (empty: none configured)."""
    if sender == "jira":
        if settings.jira_webhook_secret is not None:
            signature = hmac_sha256_hex(settings.jira_webhook_secret.get_secret_value(), body)
            return {"X-Hub-Signature": f"sha256={signature}"}
        if settings.jira_webhook_token is not None:
            return {"X-Ops-Bridge-Token": settings.jira_webhook_token.get_secret_value()}
        return {}
    if sender == "grafana" and settings.grafana_webhook_secret is not None:
        stamp = str(int(time.time()))
        signed = hmac_sha256_hex(settings.grafana_webhook_secret.get_secret_value(), stamp.encode() + b":" + body)
        return {settings.grafana_signature_header: signed, settings.grafana_timestamp_header: stamp}
    if settings.alert_webhook_token is not None:
        return {"Authorization": f"Bearer {settings.alert_webhook_token.get_secret_value()}"}
    return {}


def prepare(path: Path, *, sender: str | None, auth: Auth, settings: Callable[[], Settings]) -> Delivery:
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise SendError(f"{path}: cannot be read ({exc.strerror})") from None
    chosen = sender_of(path, sender)
    headers = recorded_headers(path)
    headers.setdefault("Content-Type", "application/json")
    if auth != "recorded":
        headers = _without_credentials(headers)
    if auth == "settings":
        headers.update(credentials_from(settings(), chosen.name, body))
    return Delivery(path, chosen, body, headers)


def send_all(
    paths: Iterable[Path],
    *,
    url: str,
    sender: str | None,
    auth: Auth,
    params: Mapping[str, str],
    write: Callable[[str], None],
    timeout: float = 10.0,
) -> int:
    """Send each file in turn and write its answer; 0 if every one got a 2xx."""
    failures = 0
    loaded: Settings | None = None

    def settings() -> Settings:
        nonlocal loaded
        loaded = loaded or Settings()
        return loaded

    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout) as client:
        # `folder/*.json` names the headers files too: they go along with their bodies.
        for path in (p for p in paths if not p.name.endswith(".headers.json")):
            try:
                delivery = prepare(path, sender=sender, auth=auth, settings=settings)
                response = client.post(
                    delivery.sender.path, content=delivery.body, headers=delivery.headers, params=dict(params)
                )
            except SendError as exc:
                write(f"{path}: {exc}")
                failures += 1
                continue
            except httpx.HTTPError as exc:
                write(f"{path}: no answer from {url}: {exc}")
                failures += 1
                continue
            failures += not response.is_success
            write(f"{path} -> {delivery.sender.path}: {response.status_code} {_answer(response)}")
    return 1 if failures else 0


def _answer(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text if len(text) <= _MAX_ANSWER else text[:_MAX_ANSWER] + "…"
