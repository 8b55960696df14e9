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


@pytest.mark.parametrize(
    "key", ["SIGNIN_SLOW_AFTER", "SIGNIN_LOCK_AFTER", "SIGNIN_LOCK_AFTER_CLIENT"]
)
@pytest.mark.parametrize(("value", "works"), [(1, True), (0, False), ("3", False)])
def test_sign_in_throttle_settings_are_checked_at_start(
    instance: Path, key: str, value: object, works: bool
) -> None:
    if works:
        assert create_app({key: value}).config[key] == value
    else:
        with pytest.raises(ValueError, match=f"{key} must be a whole number"):
            create_app({key: value})


def test_log_level_in_any_case(instance: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_LOG_LEVEL", "warning")
    assert create_app().config["LOG_LEVEL"] == "WARNING"


def test_unhandled_errors_are_logged_without_the_paths_secrets(
    instance: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app({"PROPAGATE_EXCEPTIONS": False})

    @app.get("/r/<token>/broken")
    def broken(token: str) -> str:
        raise RuntimeError("boom")

    token = "k" * 43
    response = app.test_client().get(f"/r/{token}/broken")
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.getMessage().startswith("Exception")]
    assert record.getMessage() == "Exception on /r/-/broken [GET]"
    assert token not in caplog.text


def test_database_errors_do_not_carry_readers_data(instance: Path) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from feedback_app.core.db import get_db, upgrade

    app = create_app()
    upgrade(app)
    insert = text("INSERT INTO author (id, name, email) VALUES (1, :name, :email)")
    row = {"name": "Rita", "email": "rita.private@example.org"}
    with pytest.raises(IntegrityError) as caught, get_db(app).write() as session:
        session.execute(insert, row)
        session.execute(insert, row)
    assert "rita.private@example.org" not in str(caught.value)
    get_db(app).dispose()


@pytest.mark.parametrize(
    ("mail_from", "expected"),
    [
        ("blog@example.org", "blog+{token}@example.org"),
        ("Talking Shop <blog@example.org>", "blog+{token}@example.org"),
        (None, "noreply+{token}@localhost"),
    ],
)
def test_the_reply_address_defaults_to_mail_from_plus_a_token(
    instance: Path, mail_from: str | None, expected: str
) -> None:
    assert create_app({"MAIL_FROM": mail_from}).config["MAIL_REPLY_ADDRESS"] == expected


def test_a_reply_address_without_a_token_is_refused_and_empty_is_off(
    instance: Path,
) -> None:
    with pytest.raises(ValueError, match=r"MAIL_REPLY_ADDRESS must contain \{token\}"):
        create_app({"MAIL_REPLY_ADDRESS": "blog@example.org"})
    assert create_app({"MAIL_REPLY_ADDRESS": ""}).config["MAIL_REPLY_ADDRESS"] == ""
