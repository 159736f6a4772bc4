"""The README and the settings model are the manual: every setting and every command is in them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.query.catalog import load_catalog
from bot.settings import Settings


def test_every_setting_is_documented_in_the_model_and_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no description"
        assert f"`FLOWBOT_{name.upper()}`" in readme, f"FLOWBOT_{name.upper()} is missing from the README"


def test_settings_come_from_flowbot_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBOT_MAX_LIMIT", "500")
    monkeypatch.setenv("FLOWBOT_SLACK_SIGNING_SECRET", "shh")
    monkeypatch.setenv("FLOWBOT_SLACK_API_URL", "http://127.0.0.1:9/api")
    settings = Settings()
    assert settings.max_limit == 500
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert "shh" not in repr(settings)
    assert (
        settings.slack_signing_secret is not None
        and settings.slack_signing_secret.get_secret_value() == "shh"
    )


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBOT_HTTP_PORT", "70000")
    with pytest.raises(ValidationError):
        Settings()


def test_every_command_is_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for template in load_catalog():
        assert f"| `{template.usage}` |" in readme, f"`{template.usage}` is missing from the README's tables"
