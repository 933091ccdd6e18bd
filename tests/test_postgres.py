"""What only the PostgreSQL engine does: migrating by command, refusing an unmigrated schema,
connections lost and regained, start-up errors without the password, copy-db, /healthz."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import open_store
from bot.config import load_settings
from bot.models import Push, Reply, Role
from bot.store import SchemaError, Store, StoreUnavailable, Tx
from bot.store.migrations import MIGRATIONS
from tests.cards import REAL_KB
from tests.fake_bot_api import FakeBotApi
from tests.pg_server import GUARDED, PASSWORD, ThrowawayPostgres, free_port
from tests.test_telegram import ADMIN, TOKEN, BotProcess, reply_after, texts_to

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.fixture
def fresh(postgres: ThrowawayPostgres) -> str:
    """A schema with nothing in it."""
    return postgres.create_schema()


@pytest.fixture
async def store(fresh: str) -> AsyncIterator[Store]:
    opened = await Store.open(fresh, pool=2, migrate=True)
    yield opened
    await opened.close()


def kill(postgres: ThrowawayPostgres, pid: int | None = None) -> int:
    """Terminate the bot's server processes (or one), as a restart or a network cut does."""
    where = f"pid = {pid}" if pid else "application_name = 'counter-coach'"
    found = postgres.admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                   f" WHERE {where}").fetchall()
    return len(found)


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", **env})


# --- the schema ------------------------------------------------------------------------------


async def test_an_unmigrated_database_is_refused_until_migrate(fresh: str) -> None:
    with pytest.raises(SchemaError) as err:
        await Store.open(fresh)
    assert str(err.value) == (f"COACH_DB: the database schema is at version 0, this code "
                              f"needs {len(MIGRATIONS)}: run `python -m bot migrate` first")
    done = cli("migrate", COACH_DB=fresh)
    assert done.returncode == 0, done.stderr
    assert f"schema at version {len(MIGRATIONS)}" in done.stderr
    assert PASSWORD not in done.stderr
    store = await Store.open(fresh)
    assert await store.check_schema() == len(MIGRATIONS)
    await store.close()


async def test_instances_starting_together_migrate_once(fresh: str) -> None:
    stores = await asyncio.gather(*(Store.open(fresh, pool=1, migrate=True) for _ in range(3)))
    rows = await stores[0].rows("SELECT number FROM schema_migrations ORDER BY number")
    assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    for store in stores:
        await store.close()


async def test_ids_pass_two_to_the_31(store: Store) -> None:
    """Telegram user ids do not fit PostgreSQL's INTEGER; the schema uses BIGINT."""
    big = 7_123_456_789
    person = await store.upsert_person(big, "Big", {Role.STAFF}, NOW)
    push = Push(big, Reply("drill?"), "invite:2026-11-30")
    assert person.user_id == big
    assert await store.queue_pushes([push], "invite", "2026-11-30", NOW) == [push]
    assert await store.drain_pushes(NOW) == [push]


# --- connections lost while running ---------------------------------------------------------


async def test_idle_connections_killed_are_replaced_unseen(store: Store,
                                                          postgres: ThrowawayPostgres) -> None:
    """A database restart or failover closes every pooled connection: the next use case
    retries on a new one."""
    await store.add_team("A", NOW)
    assert kill(postgres) >= 1
    assert await store.add_team("B", NOW)
    assert await store.teams() == ["A", "B"]


async def test_a_use_case_cut_off_midway_runs_again_whole(store: Store,
                                                          postgres: ThrowawayPostgres) -> None:
    """The server rolled back the half that ran; the retry runs it all, once."""
    tries = []

    def enrol(tx: Tx) -> str:
        tx.run("INSERT INTO people (user_id, name, roles, created_at) VALUES (7, 'A', '', 't')")
        tries.append(1)
        if len(tries) == 1:  # the connection is cut after the first statement
            pid = tx.row("SELECT pg_backend_pid()")
            assert pid is not None
            kill(postgres, pid[0])
        tx.run("INSERT INTO audit (at, actor, action) VALUES ('t', 7, 'enrol')")
        return "done"

    assert await store.transaction(enrol) == "done"
    assert len(tries) == 2
    assert (await store.rows("SELECT COUNT(*) FROM people"))[0][0] == 1
    assert (await store.rows("SELECT COUNT(*) FROM audit"))[0][0] == 1


async def test_a_connection_that_keeps_dying_fails_cleanly(store: Store,
                                                           postgres: ThrowawayPostgres) -> None:
    """Every try cut off: StoreUnavailable (the person is told something went wrong),
    nothing written, and the store works again afterwards."""

    def doomed(tx: Tx) -> None:
        tx.run("INSERT INTO audit (at, actor, action) VALUES ('t', 1, 'half')")
        pid = tx.row("SELECT pg_backend_pid()")
        assert pid is not None
        kill(postgres, pid[0])
        tx.run("INSERT INTO audit (at, actor, action) VALUES ('t', 1, 'other half')")

    with pytest.raises(StoreUnavailable) as err:
        await store.transaction(doomed)
    assert str(err.value).startswith("COACH_DB: the connection to postgresql://coach:***@")
    assert PASSWORD not in str(err.value)
    assert (await store.rows("SELECT COUNT(*) FROM audit"))[0][0] == 0
    await store.audit(1, "later", "", NOW)
    assert (await store.rows("SELECT COUNT(*) FROM audit"))[0][0] == 1


async def test_a_read_waits_for_no_lock_and_sees_only_committed_rows(
        store: Store) -> None:
    """READ COMMITTED: a use case in progress on one connection is invisible to others."""
    inside, leave = threading.Event(), threading.Event()

    def slow(tx: Tx) -> None:
        tx.run("INSERT INTO teams VALUES ('Slow', 't')")
        inside.set()
        leave.wait(10)

    task = asyncio.create_task(store.transaction(slow))
    assert await asyncio.to_thread(inside.wait, 10)
    assert await store.teams() == []  # answered while the other is still open
    leave.set()
    await task
    assert await store.teams() == ["Slow"]


# --- start-up errors, one line each, never the password --------------------------------------


@pytest.mark.parametrize("case", ["bad url", "refused", "wrong password", "backup"])
def test_start_up_errors_name_coach_db_and_hide_the_password(
        postgres: ThrowawayPostgres, case: str) -> None:
    secret = "Wr0ng-Pa55word"
    url = {"bad url": f"postgresql://coach:{secret}@127.0.0.1:notaport/x",
           "refused": f"postgresql://coach:{secret}@127.0.0.1:{free_port()}/postgres",
           "wrong password": postgres.url(user=GUARDED, password=secret),
           "backup": postgres.url(password=secret)}[case]
    done = cli("backup" if case == "backup" else "migrate", "/tmp/x.db", COACH_DB=url) \
        if case == "backup" else cli("migrate", COACH_DB=url)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and secret not in done.stderr, done.stderr
    expected = {"bad url": "counter-coach: COACH_DB: expected a SQLite file path",
                "refused": "counter-coach: COACH_DB: cannot connect to postgresql://coach:***@",
                "wrong password": "counter-coach: COACH_DB: cannot connect to ",
                "backup": "counter-coach: backup: COACH_DB is PostgreSQL; back it up with"
                          " pg_dump"}[case]
    assert lines[0].startswith(expected), lines[0]
    if case == "wrong password":
        assert "password authentication failed" in lines[0]


def test_the_password_may_come_from_its_setting_or_a_passfile(
        postgres: ThrowawayPostgres, tmp_path: Path) -> None:
    url = postgres.url(user=GUARDED, password="").replace(":@", "@")
    assert cli("migrate", COACH_DB=url).returncode == 2
    done = cli("migrate", COACH_DB=url, COACH_DB_PASSWORD=PASSWORD)
    assert done.returncode == 0, done.stderr
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{postgres.port}:*:{GUARDED}:{PASSWORD}\n")
    passfile.chmod(0o600)  # libpq ignores a passfile others can read
    done = cli("migrate", COACH_DB=f"{url}?passfile={passfile}")
    assert done.returncode == 0, done.stderr


def test_tls_settings_reach_libpq(postgres: ThrowawayPostgres) -> None:
    """sslmode in the URL: this throwaway server has no TLS, so requiring it is refused."""
    done = cli("migrate", COACH_DB=postgres.url() + "?sslmode=require")
    assert done.returncode == 2
    assert "server does not support SSL" in done.stderr, done.stderr


async def test_coach_db_pool_sizes_the_pool(postgres: ThrowawayPostgres, fresh: str,
                                            tmp_path: Path) -> None:
    settings = load_settings({"COACH_DB": fresh, "COACH_DB_POOL": "3"},
                             env_file=tmp_path / "none")
    store = await open_store(replace(settings, db=fresh), migrate=True)
    try:
        found = postgres.admin.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'counter-coach'"
        ).fetchone()
        assert found == (3,)
    finally:
        await store.close()


# --- copy-db ----------------------------------------------------------------------------------


async def test_copy_db_moves_everything_and_refuses_a_full_target(
        tmp_path: Path, fresh: str) -> None:
    source = tmp_path / "coach.db"
    old = await Store.open(source)
    await old.add_team("柜面一组", NOW)
    for uid in (11, 12, 13):
        await old.upsert_person(uid, f"P{uid}", {Role.STAFF}, NOW)
        await old.set_team(uid, "柜面一组")
    drill = await old.start_drill(11, NOW, [("i1", ["a", "b"])])
    await old.audit(11, "report", "team=柜面一组", NOW)
    await old.log_question(12, NOW, "问题", "none", None, 0.0, [])
    await old.close()

    done = cli("copy-db", "--from", f"sqlite:///{source}", "--to", fresh)
    assert done.returncode == 0, done.stderr
    assert "row counts match" in done.stderr and PASSWORD not in done.stderr
    copied = await Store.open(fresh)
    assert [p.user_id for p in await copied.people("柜面一组")] == [11, 12, 13]
    assert (await copied.drill(drill.id)) == drill
    again = await copied.start_drill(12, NOW, [("i1", ["a", "b"])])  # ids go on after copied
    assert again.id == drill.id + 1
    await copied.close()

    refused = cli("copy-db", "--from", str(source), "--to", fresh)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "counter-coach: copy-db: the target already holds data: people (3 rows), "
        "questions (1 rows), drills (2 rows); it copies only into an empty database"]


# --- an instance on PostgreSQL: /healthz asks the database ------------------------------------


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN, timeout_delay=2.0) as server:
        yield server


def _http(port: int, path: str, body: dict[str, Any] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


async def _until(check: Any, timeout: float = 40) -> None:
    for _ in range(int(timeout / 0.2)):
        try:
            if await asyncio.to_thread(check):
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("condition not met in time")


async def test_an_instance_rides_out_a_database_outage(
        api: FakeBotApi, tmp_path: Path, postgres: ThrowawayPostgres) -> None:
    """Webhook mode on PostgreSQL: /healthz is 503 while the database refuses, an update
    then is not acknowledged (500: the inbox could not store it, Telegram redelivers), and
    both recover when it is back: the redelivered update is answered."""
    url = postgres.url(user=GUARDED, schema=postgres.create_schema().rpartition("%3D")[2])
    assert cli("migrate", COACH_DB=url).returncode == 0
    port = free_port()
    bot = BotProcess(api, tmp_path, COACH_DB=url, COACH_KNOWLEDGE=str(REAL_KB),
                     COACH_WEBHOOK_URL="https://coach.bank.example/hook",
                     COACH_WEBHOOK_LISTEN="127.0.0.1", COACH_WEBHOOK_PORT=str(port))
    await bot.start()
    update_id = 0

    def message(text: str) -> dict[str, Any]:
        nonlocal update_id
        update_id += 1
        return {"update_id": update_id, "message": {
            "message_id": update_id, "date": 0, "chat": {"id": ADMIN, "type": "private"},
            "from": {"id": ADMIN, "is_bot": False, "first_name": "Admin"}, "text": text}}

    try:
        await _until(lambda: _http(port, "/healthz") == 200)
        assert await asyncio.to_thread(_http, port, "/hook", message("/start")) == 200
        await reply_after(api, ADMIN, 0)

        postgres.admin.execute(f"ALTER ROLE {GUARDED} NOLOGIN")
        kill(postgres)
        await _until(lambda: _http(port, "/healthz") == 503)
        # the inbox cannot store the update, so it is not acknowledged: Telegram sends it again
        lost = message("/help")
        assert await asyncio.to_thread(_http, port, "/hook", lost) == 500

        postgres.admin.execute(f"ALTER ROLE {GUARDED} LOGIN")
        await _until(lambda: _http(port, "/healthz") == 200)
        n = len(texts_to(api, ADMIN))
        assert await asyncio.to_thread(_http, port, "/hook", lost) == 200  # the redelivery
        assert "/drill" in (await reply_after(api, ADMIN, n))[0]
    finally:
        postgres.admin.execute(f"ALTER ROLE {GUARDED} LOGIN")
        code = await bot.stop()
    assert code == 0, bot.stderr[-3000:]
    assert PASSWORD not in bot.stderr


async def test_run_refuses_an_unmigrated_database(api: FakeBotApi, tmp_path: Path,
                                                 fresh: str) -> None:
    bot = BotProcess(api, tmp_path, COACH_DB=fresh)
    await bot.start()
    assert await bot.wait_exit() == 2
    assert bot.stderr.strip().splitlines()[-1] == (
        f"counter-coach: COACH_DB: the database schema is at version 0, this code needs "
        f"{len(MIGRATIONS)}: run `python -m bot migrate` first")
    assert "Traceback" not in bot.stderr and PASSWORD not in bot.stderr
