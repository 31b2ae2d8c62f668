"""The service's settings: read from the environment (and `.env`) once, checked
before anything starts (app/config/settings.py), and the rules production adds
for secrets (app/config/secret_rules.py)."""

from app.config.settings import (
    ConfigError,
    Settings,
    development_jwt_secret,
    load_settings,
    refusals,
    settings_problems,
)

__all__ = ["ConfigError", "Settings", "development_jwt_secret", "load_settings", "refusals", "settings_problems"]
