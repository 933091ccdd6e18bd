from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SPEC, ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults(tmp_path: Path) -> None:
    s = load_settings({}, env_file=tmp_path / "none")
    assert s.base_url == "https://api.telegram.org/bot"
    assert s.db == Path("data/coach.db")
    assert str(s.timezone) == "Asia/Shanghai"
    assert s.admins == frozenset() and s.explicit == frozenset()


def test_environment_wins_over_env_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("COACH_LOG_LEVEL=debug\nCOACH_ADMINS='1, 2'\n# comment\nCOACH_DB=x.db\n")
    s = load_settings({"COACH_DB": "y.db"}, env_file=env)
    assert s.db == Path("y.db")
    assert s.log_level == "DEBUG"
    assert s.admins == frozenset({1, 2})
    assert "COACH_DB" in s.explicit


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("COACH_TIMEZONE", "Mars/Base", "IANA time zone"),
        ("COACH_ADMINS", "12,abc", "numeric Telegram user ids"),
        ("COACH_LOG_LEVEL", "LOUD", "DEBUG, INFO"),
        ("TELEGRAM_BASE_URL", "ftp://x", "http(s) URL"),
        ("COACH_DRILL_SIZE", "0", "from 1 to 10"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "BotFather token"),
    ],
)
def test_bad_value_names_the_key(tmp_path: Path, key: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({key: value}, env_file=tmp_path / "none")
    assert str(err.value).startswith(f"{key}: expected")
    assert expected in str(err.value)


def test_bad_token_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"TELEGRAM_BOT_TOKEN": "secret-looking-value"}, env_file=tmp_path / "n")
    assert "secret-looking-value" not in str(err.value)


def test_startup_error_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "list"], cwd=ROOT, capture_output=True, text=True,
        env={"COACH_TIMEZONE": "Mars/Base", "PATH": "/usr/bin:/bin"}, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "counter-coach: COACH_TIMEZONE: expected an IANA time zone name such as Asia/Shanghai,"
        " got 'Mars/Base'"
    ]
    assert "Traceback" not in proc.stderr


def test_env_example_lists_every_setting() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    keys = [line.split("=")[0] for line in lines if line and not line.startswith("#")]
    assert keys == list(SPEC)
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[i - 1].startswith("# "), f"{line} has no comment"
    fields = {name for name, *_ in SPEC.values()}
    assert fields == set(Settings.__dataclass_fields__) - {"explicit"}


@pytest.mark.parametrize(("value", "expected"), [
    ("data/coach.db", Path("data/coach.db")),
    ("sqlite:///data/coach.db", Path("data/coach.db")),
    ("sqlite:////var/lib/coach/coach.db", Path("/var/lib/coach/coach.db")),
    ("postgresql://coach@db:5432/coach?sslmode=verify-full",
     "postgresql://coach@db:5432/coach?sslmode=verify-full"),
    ("postgres://coach:pw@db/coach", "postgres://coach:pw@db/coach"),
])
def test_coach_db_is_a_sqlite_file_or_a_postgresql_url(tmp_path: Path, value: str,
                                                       expected: Path | str) -> None:
    assert load_settings({"COACH_DB": value}, env_file=tmp_path / "none").db == expected


@pytest.mark.parametrize("value", ["mysql://coach@db/coach", "sqlite://", "postgresql://db:x/c",
                                   "postgresql://coach:s3cr3t-pw@db:5432/", " "])
def test_a_bad_coach_db_names_the_key_and_hides_the_password(tmp_path: Path,
                                                             value: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"COACH_DB": value}, env_file=tmp_path / "none")
    assert str(err.value).startswith("COACH_DB: expected a SQLite file path, sqlite:///FILE"
                                      " or postgresql://USER@HOST:PORT/DATABASE")
    assert "s3cr3t-pw" not in str(err.value)


def test_database_passwords_are_secrets(tmp_path: Path) -> None:
    """The log filter redacts every secret value: COACH_DB_PASSWORD and a password inside
    the URL (as written and percent-decoded)."""
    s = load_settings({"COACH_DB": "postgresql://coach:p%40ss-1@db/coach",
                       "COACH_DB_PASSWORD": "other-pw", "COACH_DB_POOL": "4"},
                      env_file=tmp_path / "none")
    assert {"p%40ss-1", "p@ss-1", "other-pw"} <= set(s.secret_values())
    assert s.db_pool == 4
    with pytest.raises(ConfigError):
        load_settings({"COACH_DB_POOL": "0"}, env_file=tmp_path / "none")
