"""`ops-bridge serve` started as an operator starts it, for the rules that decide
whether it starts at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings
from tests.support.server import free_port

# Only what a test names reaches the service: none of the developer's own settings.
_SETTINGS = {name.upper() for name in Settings.model_fields}


def refusal(env: dict[str, str], cwd: Path) -> str:
    """What `ops-bridge serve` says as it refuses to start with `env` (exit code 2);
    fails the test, and stops the process, if it serves instead."""
    inherited = {k: v for k, v in os.environ.items() if k not in _SETTINGS and not k.startswith("PROMETHEUS")}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--no-migrate", "--port", str(free_port())],
        env={**inherited, "DATA_DIR": str(cwd / "data"), "LOG_LEVEL": "INFO", **env},
        cwd=cwd,  # no .env of the checkout is read
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    try:
        for line in process.stdout:
            output.append(line)
            if "Uvicorn running on" in line:  # printed once it serves
                pytest.fail("the service started instead of refusing to:\n" + "".join(output))
        assert process.wait(60) == 2, "".join(output)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        process.stdout.close()
    return "".join(output)
