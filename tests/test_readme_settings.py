"""The README's configuration table and the settings stay in step (app/config/settings.py promises it)."""

from __future__ import annotations

import re
from pathlib import Path

from app.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_has_a_row_in_the_readme_configuration_table_and_no_row_is_stale() -> None:
    rows = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README.read_text(), re.MULTILINE))
    settings = {name.upper() for name in Settings.model_fields}

    assert settings - rows == set(), "settings without a README row"
    assert rows - settings == set(), "README rows for settings that do not exist"
