"""`ops-bridge` run as an operator runs it: its own process, settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.config import Settings

# Only what a test names reaches the command: none of the developer's own settings.
_SETTINGS = {name.upper() for name in Settings.model_fields}


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k not in _SETTINGS and not k.startswith("PROMETHEUS")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**inherited, "DATA_DIR": str(cwd / "data"), **env},
        cwd=cwd,  # no .env of the checkout is read
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
