from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str = "", env: dict[str, str] | None = None,
        cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COACH_KNOWLEDGE": str(ROOT / "knowledge"),
            "COACH_EMBEDDINGS": "off", **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, env=full, timeout=120)


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("counter-coach ")
    out = run("--help").stdout
    for command in ("run", "chat", "ask", "kb"):
        assert command in out
    assert "--kb" in run("ask", "--help").stdout


def test_piped_chat_greets_and_exits(tmp_path: Path) -> None:
    proc = run("chat", stdin="hello\n", cwd=tmp_path,
               env={"PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert "Counter Coach" in proc.stdout and "/drill" in proc.stdout
    # the console uses its own demo database, never the production default
    assert (tmp_path / "data" / "demo.db").exists()
    assert not (tmp_path / "data" / "coach.db").exists()


def test_chat_uses_coach_db_when_set(tmp_path: Path) -> None:
    db = tmp_path / "mine.db"
    proc = run("chat", stdin="/help\n", cwd=tmp_path,
               env={"PYTHONPATH": str(ROOT), "COACH_DB": str(db)})
    assert proc.returncode == 0, proc.stderr
    assert db.exists()


def test_run_without_token_is_a_clear_error(tmp_path: Path) -> None:
    proc = run("run", cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("counter-coach: TELEGRAM_BOT_TOKEN")
