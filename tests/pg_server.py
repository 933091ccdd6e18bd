"""A throwaway PostgreSQL server for the tests and the bench: the Debian package's binaries,
a temp dir, a free port on 127.0.0.1, stopped and deleted at the end.

initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user (which
the package creates) in a temp dir that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

USER, PASSWORD = "coach", "throwaway-secret"  # trusted: the password is not checked
GUARDED = "guarded"  # a user whose password is checked (scram-sha-256)


def find_bin() -> Path | None:
    """The newest installed server's bin dir (not always on PATH), or None."""
    on_path = shutil.which("pg_ctl")
    if on_path and Path(on_path).with_name("initdb").exists():
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayPostgres:
    """`start()`, then `url(db)` / `create_database()`; `stop()` deletes everything."""

    def __init__(self, bin_dir: Path, fsync: bool = False) -> None:
        self.bin = bin_dir
        self.fsync = fsync
        root = os.geteuid() == 0  # then the server's user must reach the dir: under /tmp
        self.dir = Path(tempfile.mkdtemp(prefix="coach-pg-", dir="/tmp" if root else None))
        self.port = free_port()
        self.as_user: list[str] = []
        self.created = 0
        self.admin: Any = None  # a psycopg connection, once started
        if root:
            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True,
                              cwd=self.dir, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-500:]}")

    def start(self) -> ThrowawayPostgres:
        data = self.dir / "data"
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD)
        if self.as_user:
            shutil.chown(pwfile, "postgres")
        # C locale: byte order, like SQLite's. Trust is fast (the tests connect a lot); the
        # GUARDED user's password is checked, for the tests of a wrong one.
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
                  "--auth=trust", "--locale=C", "--encoding=UTF8")
        hba = data / "pg_hba.conf"
        hba.write_text(f"host all {GUARDED} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
                   " -c max_connections=200")
        if not self.fsync:  # a throwaway: durability is not what the tests look at
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"),
                  "-o", options, "-w", "start")
        import psycopg

        self.admin = psycopg.connect(self.url(), autocommit=True)
        self.admin.execute(f"CREATE ROLE {GUARDED} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        return self

    def url(self, database: str = "postgres", user: str = USER, password: str = PASSWORD,
            schema: str = "") -> str:
        options = f"?options=-csearch_path%3D{schema}" if schema else ""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}{options}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        self.created += 1
        self.admin.execute(f"CREATE DATABASE t{self.created}")
        return self.url(f"t{self.created}")

    def create_schema(self) -> str:
        """The URL of a new empty schema in the `postgres` database: as good as a fresh
        database to the store (which works in the current schema), and much faster."""
        self.created += 1
        self.admin.execute(f"CREATE SCHEMA s{self.created}")
        return self.url(schema=f"s{self.created}")

    def empty(self, url: str) -> str:
        """Delete every row of the schema at `url` and restart its ids: a fresh database
        for the next test in a few ms (migrating a new one takes a few hundred)."""
        schema = url.rpartition("%3D")[2]
        names = self.admin.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
            " AND table_name != 'schema_migrations'", (schema,)).fetchall()
        ids = self.admin.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = %s AND is_identity = 'YES'", (schema,)).fetchall()
        with self.admin.transaction():
            for (table,) in names:
                self.admin.execute(f"DELETE FROM {schema}.{table}")
            for table, column in ids:
                self.admin.execute("SELECT setval(pg_get_serial_sequence(%s, %s), 1, false)",
                                   (f"{schema}.{table}", column))
        return url

    def stop(self) -> None:
        if self.admin is not None:
            self.admin.close()
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m",
                      "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def bench_server() -> ThrowawayPostgres:
    """A started throwaway server with fsync on, as a production server runs (benches);
    exits with one line when PostgreSQL is not installed."""
    bin_dir = find_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL's server binaries are not installed "
                         "(apt-get install postgresql)")
    return ThrowawayPostgres(bin_dir, fsync=True).start()
