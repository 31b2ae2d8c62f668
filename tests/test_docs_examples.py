"""The README's and docs/' examples are safe to paste in a fresh clone, word by word: every file
they name is in the repository (relative paths in code, the `@file` a curl command posts), every
curl that writes fails loudly (`--fail-with-body`) instead of exiting 0 on an error, and none
deletes what the reader did not name (no bulk sync with `delete_missing: true`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import Settings
from app.server import _banner

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# Made by running things, not kept in the repository: the service's DATA_DIR and the Makefile's venv.
_MADE_AT_RUN_TIME = (".data/", ".venv/")
_FILE_TYPES = r"md|json|py|ya?ml|toml|ini|txt|pem|js|css|html|sh|cfg"
_TOP_LEVEL = {p.name for p in ROOT.iterdir() if not p.name.startswith(".") and not p.name.endswith(".egg-info")}


def _fenced(text: str) -> list[str]:
    """The contents of fenced blocks: what a reader pastes."""
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def _code(text: str) -> list[str]:
    """The contents of fenced blocks and inline code spans."""
    fenced = _fenced(text)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return fenced + re.findall(r"`([^`\n]+)`", prose)


def _paths(code: str) -> set[str]:
    named = set()
    for token in re.findall(r"(?:^|(?<=[\s=(@'\"`]))(\.{0,2}/?[\w.*-]+(?:/[\w.*{}-]*)+)", code):
        first = token.lstrip("./").split("/", 1)[0]
        is_file = re.search(rf"\.(?:{_FILE_TYPES})$", token) is not None
        if token.startswith("/") or "//" in token or token.startswith(_MADE_AT_RUN_TIME):
            continue  # a URL path, a URL, or something made by running
        if is_file or token.startswith("../") or first in _TOP_LEVEL:
            named.add(token)
    return named


def _uploads(code: str) -> set[str]:
    """What curl reads from files: `--data-binary @FILE`, `-d @FILE`, `-T FILE`, `-F name=@FILE`."""
    curls = "\n".join(re.findall(r"curl [^\n]*", code.replace("\\\n", " ")))
    found = re.findall(r"(?:--data(?:-binary|-urlencode)?|-d|-F\s+\w+=)\s*@([^\s'\"\\]+)", curls)
    return set(found) | set(re.findall(r"(?:-T|--upload-file)\s+([^\s'\"\\]+)", curls))


def _exists(page: Path, path: str) -> bool:
    return any(list(base.glob(path)) or (base / path).exists() for base in (ROOT, page.parent))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_page_names_is_in_the_repository(page: Path) -> None:
    named = {path for code in _code(page.read_text()) for path in _paths(code) | _uploads(code)}

    assert sorted(path for path in named if not _exists(page, path)) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_curl_that_writes_fails_loudly_when_it_fails(page: Path) -> None:
    code = "\n".join(_code(page.read_text())).replace("\\\n", " ")  # continued lines as one
    writes = [c for c in re.findall(r"curl [^\n]*", code) if re.search(r"-X (?:POST|PUT|PATCH|DELETE)|--data|-d ", c)]

    assert [command for command in writes if "--fail-with-body" not in command] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_example_deletes_what_the_reader_did_not_name(page: Path) -> None:
    destructive = [code for code in _fenced(page.read_text()) if re.search(r'"delete_missing"\s*:\s*true', code)]

    assert destructive == []


def test_every_npx_runs_without_stopping_at_a_prompt() -> None:
    """npx asks before installing a package; pasted into a pipeline or a script, it waits forever."""
    banner = _banner(Settings(_env_file=None, jwt_secret="x" * 32))
    texts = {str(page.relative_to(ROOT)): "\n".join(_code(page.read_text())) for page in PAGES} | {"banner": banner}

    assert "npx --yes wscat" in texts["README.md"]
    assert "npx --yes wscat" in banner
    assert {name: text.count("npx ") - text.count("npx --yes ") for name, text in texts.items()} == dict.fromkeys(
        texts, 0
    )


def test_the_readme_says_what_a_refused_handshake_shows_and_where_the_reason_is() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("**When the socket refuses you**") :].split("\n\n", 3)

    said = " ".join(" ".join(section[:3]).split())
    assert "Unexpected server response: 401" in said
    for where in ("/api/session", "log line", "ops-bridge check"):
        assert where in said, where


def test_the_checks_find_what_the_pages_name() -> None:
    """The scan is not blind: it sees the paths and uploads the quick start names."""
    code = "curl -X POST x --data-binary @tests/fixtures/a.json\nsee `app/db/embedded.py` and docs/api.md, /api/ws"

    assert _uploads(code) == {"tests/fixtures/a.json"}
    assert {"tests/fixtures/a.json", "app/db/embedded.py", "docs/api.md"} <= _paths(code)
    assert "/api/ws" not in _paths(code)
