"""Settings: defaults, instance/config.py, FEEDBACK_* variables, test config."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedback_app import create_app


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FEEDBACK_INSTANCE_PATH", str(tmp_path))
    return tmp_path


def test_defaults_live_in_the_instance_folder(instance: Path) -> None:
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'feedback.sqlite3'}"
    assert app.config["SITE_INDEX_PATH"] == str(instance / "site.json")
    assert app.config["SITE_URL"] == "http://127.0.0.1:8000"
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024


def test_secret_key_is_created_once_and_kept_private(instance: Path) -> None:
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 40
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600


def test_instance_config_then_environment_then_test_config(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (instance / "config.py").write_text(
        'SITE_URL = "https://from-file.example/"\nMAX_NAME_LENGTH = 50\n'
        'SECRET_KEY = "file key"\n'
    )
    app = create_app()
    assert app.config["SITE_URL"] == "https://from-file.example"  # no trailing /
    assert app.config["MAX_NAME_LENGTH"] == 50
    assert app.config["SECRET_KEY"] == "file key"

    monkeypatch.setenv("FEEDBACK_SITE_URL", "https://from-env.example")
    monkeypatch.setenv("FEEDBACK_MAX_NAME_LENGTH", "60")  # parsed as JSON
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", "sqlite:////tmp/env.sqlite3")
    app = create_app()
    assert app.config["SITE_URL"] == "https://from-env.example"
    assert app.config["MAX_NAME_LENGTH"] == 60
    assert app.config["DATABASE_URL"] == "sqlite:////tmp/env.sqlite3"

    app = create_app({"SITE_URL": "https://from-test.example"})
    assert app.config["SITE_URL"] == "https://from-test.example"


def test_cookies_are_secure_when_the_site_is_https(instance: Path) -> None:
    assert (
        create_app({"SITE_URL": "http://127.0.0.1:8000"}).config[
            "SESSION_COOKIE_SECURE"
        ]
        is False
    )
    assert (
        create_app({"SITE_URL": "https://blog.example.org"}).config[
            "SESSION_COOKIE_SECURE"
        ]
        is True
    )
    forced = create_app(
        {"SITE_URL": "https://blog.example.org", "SESSION_COOKIE_SECURE": False}
    )
    assert forced.config["SESSION_COOKIE_SECURE"] is False


def test_an_empty_key_file_is_replaced(instance: Path) -> None:
    (instance / "secret_key").write_text("")
    assert len(create_app().config["SECRET_KEY"]) >= 40
