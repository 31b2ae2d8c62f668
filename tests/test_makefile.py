"""`make run` and `make test` from a fresh clone, read through `make -n` (what make would run):
running installs only what running needs, with pip's progress shown; testing adds the rest;
the stamps keep a second `make run` from installing again."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _clone(tmp_path: Path) -> Path:
    """What make reads of a fresh clone: no .venv yet."""
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _planned(target: str, where: Path) -> list[str]:
    # Under `make test` the suite inherits MAKELEVEL and MAKEFLAGS, and a sub-make then prints
    # "Entering directory" lines: plan as a user's top-level make would.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEFILES"}}
    result = subprocess.run(
        ["make", "-n", target], cwd=where, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.splitlines()


def _installs(lines: list[str]) -> list[str]:
    return [line for line in lines if "pip install" in line]


def test_make_run_installs_only_what_running_needs_and_shows_its_progress(tmp_path: Path) -> None:
    planned = _planned("run", _clone(tmp_path))

    [install] = _installs(planned)
    assert "-e '.[embedded]'" in install
    assert "dev" not in install
    assert "--quiet" not in install
    assert " -q" not in install
    assert any(line.startswith("echo ") for line in planned[: planned.index(install)])  # says what comes
    assert planned[-1].endswith("ops-bridge serve")


def test_make_test_adds_the_test_and_lint_tools_then_runs_the_suite(tmp_path: Path) -> None:
    planned = _planned("test", _clone(tmp_path))

    installs = _installs(planned)
    assert "-e '.[embedded]'" in installs[0]
    assert "-e '.[embedded,dev]'" in installs[-1]
    assert planned[-1].endswith("pytest")
    for tool in ("ruff format --check", "ruff check", "mypy"):
        assert any(tool in line for line in planned), tool


def test_once_installed_make_run_only_serves(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    (clone / ".venv" / "bin").mkdir(parents=True)
    (clone / ".venv" / "bin" / "python").touch()
    later = time.time() + 5
    for stamp in (".run-stamp", ".test-stamp"):
        (clone / ".venv" / stamp).touch()
        os.utime(clone / ".venv" / stamp, (later, later))

    assert _planned("run", clone) == [".venv/bin/ops-bridge serve"]
    assert _installs(_planned("test", clone)) == []
