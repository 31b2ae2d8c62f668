"""A machine without the browser fails the browser tests, saying how to install it; it never skips them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import browser


def test_a_missing_chromium_fails_with_the_command_that_installs_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium-here")
    monkeypatch.setattr(shutil, "which", lambda _name: None)

    with pytest.raises(pytest.fail.Exception) as failed:
        browser.chromium_executable()

    assert "apt-get install -y --no-install-recommends chromium" in str(failed.value)


def test_the_installed_chromium_is_found() -> None:
    assert browser.chromium_executable() == Path("/usr/bin/chromium")
