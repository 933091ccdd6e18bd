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
