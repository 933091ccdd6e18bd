"""A real LRS for the xAPI tests: Ralph (`ralph-malph` on PyPI), file-system backend,
basic auth, on 127.0.0.1.

Ralph pins its own fastapi, uvicorn and python-jose, so it lives in its own venv,
made on first use under `.cache/ralph-venv` (gitignored) and reused after. Where it
cannot be installed (no network to PyPI) the LRS tests skip, saying why; with
COACH_TEST_LRS=required (set by .ci/run) they fail instead.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / "ralph-venv"
PYTHON = VENV / "bin" / "python"
# ralph.api.auth.oidc imports requests, which the `lrs` extra does not install
PACKAGES = ("ralph-malph[lrs]==5.1.0", "requests")
LAUNCHER = Path(__file__).with_name("ralph_lrs.py")
USER, PASSWORD = "coach", "lrs-test-password"
START_TIMEOUT = 60.0  # seconds for Ralph to answer its heartbeat (it imports a lot)


def install() -> str | None:
    """Make Ralph's venv unless it is there; None when ready, else why it could not be."""
    stamp = VENV / ".installed"
    if stamp.is_file() and stamp.read_text() == " ".join(PACKAGES):
        return None
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True,
                       capture_output=True, text=True, timeout=300)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", *PACKAGES], check=True,
                       capture_output=True, text=True, timeout=1200)
    except subprocess.CalledProcessError as err:
        said = (err.stderr or err.stdout or "").strip().splitlines()
        return f"{err.cmd[2]} failed: {said[-1] if said else f'exit {err.returncode}'}"
    except (subprocess.TimeoutExpired, OSError) as err:
        return str(err)
    stamp.write_text(" ".join(PACKAGES))
    return None


def ready() -> None:
    """Install Ralph, or skip (fail where COACH_TEST_LRS=required) saying why not."""
    why = install()
    if why is None:
        return
    message = f"the Ralph LRS could not be installed ({', '.join(PACKAGES)}): {why}"
    if os.environ.get("COACH_TEST_LRS") == "required":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lrs:
    """One Ralph server; stop and start it again on the same port and data."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.data = folder / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/xAPI/"

    def start(self) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.folder),
               "RALPH_RUNSERVER_BACKEND": "fs", "RALPH_AUTH_FILE": str(self.folder / "auth.json"),
               "RALPH_APP_DIR": str(self.folder),
               "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.data),
               "LRS_TEST_USER": USER, "LRS_TEST_PASSWORD": PASSWORD}
        log = (self.folder / "ralph.log").open("ab")
        self.process = subprocess.Popen(  # cwd: Ralph reads a .env from where it starts
            [str(PYTHON), str(LAUNCHER), "serve", str(self.port)], cwd=self.folder, env=env,
            stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Ralph stopped: {(self.folder / 'ralph.log').read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/__heartbeat__", timeout=1).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)  # waiting for another process to come up, not timing anything
        self.stop()
        raise RuntimeError(f"Ralph did not answer in {START_TIMEOUT} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def clear(self) -> None:
        """Forget every statement (the backend reads its file on each query)."""
        for path in self.data.iterdir():
            path.unlink()

    def statements(self) -> list[dict[str, Any]]:
        """Every statement stored, fetched back with GET /xAPI/statements (all pages)."""
        found: list[dict[str, Any]] = []
        url: str | None = f"{self.endpoint}statements?limit=100"
        with httpx.Client(auth=(USER, PASSWORD),
                          headers={"X-Experience-API-Version": "1.0.3"}) as client:
            while url:
                page = client.get(url).raise_for_status().json()
                found += page["statements"]
                more = page.get("more")
                url = f"http://127.0.0.1:{self.port}{more}" if more and page["statements"] else None
        return found

    def post(self, statements: list[dict[str, Any]]) -> int:
        """Store statements directly (as another system would); the status code."""
        answer = httpx.post(f"{self.endpoint}statements", json=statements, auth=(USER, PASSWORD),
                            headers={"X-Experience-API-Version": "1.0.3"})
        return answer.status_code

    def validate(self, statements: list[dict[str, Any]]) -> list[str]:
        """Problems Ralph's strict xAPI statement model finds (none = valid)."""
        done = subprocess.run([str(PYTHON), str(LAUNCHER), "validate"], input=json.dumps(statements),
                              capture_output=True, text=True, check=True, timeout=120)
        return list(json.loads(done.stdout))
