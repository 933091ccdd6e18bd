"""Sending the xAPI outbox to the LRS (`<COACH_XAPI_ENDPOINT>statements`).

Statements go in batches of up to COACH_XAPI_BATCH, each exactly as it was frozen
when its answer was stored, so a resend carries the same id and body and the LRS
keeps one copy (xAPI: a statement id already stored with the same content is not
stored again). The LRS down, slow or answering 5xx: the batch goes back in the
queue and the sender backs off, 5 s doubling up to 15 minutes (BACKOFF_CAP), back
to nothing after a success. A refused batch (400, 409, 413, 422) is retried one
statement at a time; a statement refused on its own is parked (`xapi status`
lists it, `xapi resend` queues it again), never retried by itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

import httpx

from bot.app import utc_now
from bot.config import Settings
from bot.models import Now
from bot.store import Outgoing, Store

log = logging.getLogger(__name__)

BACKOFF_START = 5.0  # seconds after the first failure, doubling
BACKOFF_CAP = 900.0  # never longer than this between tries
IDLE = 2.0  # seconds between looks at an empty outbox
LEASE = timedelta(minutes=2)  # a claimed batch is another instance's again after this
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
REFUSED = frozenset({400, 409, 413, 422})  # the LRS will not take this content
VERSION_HEADER = {"X-Experience-API-Version": "1.0.3"}


class Outcome(Enum):
    SENT = "sent"
    REFUSED = "refused"  # the LRS answered that it will not store this content
    FAILED = "failed"  # down, slow, 5xx, bad credentials: try again later


@dataclass
class Round:
    """What one step did (the CLI's `xapi send` prints the sums)."""

    sent: int = 0
    parked: int = 0
    failed: int = 0


class XapiSender:
    """Drains the outbox while the bot runs; `step` is one round, for tests and the CLI."""

    def __init__(self, settings: Settings, store: Store, clock: Now = utc_now,
                 client: httpx.AsyncClient | None = None) -> None:
        self.url = settings.xapi_endpoint + "statements"
        self.batch = settings.xapi_batch
        self.store = store
        self.clock = clock
        self.client = client or httpx.AsyncClient(
            auth=(settings.xapi_user, settings.xapi_password), timeout=TIMEOUT,
            headers=VERSION_HEADER)
        self.failures = 0  # failed rounds in a row
        self.task: asyncio.Task[None] | None = None

    def backoff(self) -> float:
        return min(BACKOFF_CAP, BACKOFF_START * 2 ** max(0, self.failures - 1))

    async def post(self, rows: list[Outgoing]) -> tuple[Outcome, str]:
        body = "[" + ",".join(r.body for r in rows) + "]"  # the frozen bodies, verbatim
        try:
            answer = await self.client.post(self.url, content=body.encode("utf-8"),
                                            headers={"Content-Type": "application/json"})
        except httpx.HTTPError as err:
            return Outcome.FAILED, f"no answer from the LRS ({type(err).__name__})"
        if answer.status_code in (200, 204):
            return Outcome.SENT, ""
        why = f"LRS answered {answer.status_code}: {answer.text[:200]}"
        return (Outcome.REFUSED if answer.status_code in REFUSED else Outcome.FAILED), why

    async def step(self, done: Round | None = None) -> float:
        """Send one batch; the seconds to wait before the next round."""
        done = done if done is not None else Round()
        now = self.clock()
        rows = await self.store.claim_statements(now, self.batch, LEASE)
        if not rows:
            return IDLE
        outcome, why = await self.post(rows)
        sent: list[int] = []
        if outcome is Outcome.SENT:
            sent = [r.row for r in rows]
        elif outcome is Outcome.REFUSED and len(rows) > 1:
            log.info("xAPI: the LRS refused a batch of %d; sending one at a time", len(rows))
            for i, row in enumerate(rows):
                outcome, why = await self.post([row])
                if outcome is Outcome.SENT:
                    sent.append(row.row)
                elif outcome is Outcome.REFUSED:
                    await self.park(row, why, done)
                else:
                    rows = rows[i:]
                    break
        elif outcome is Outcome.REFUSED:
            await self.park(rows[0], why, done)
        if sent:
            await self.store.statements_sent(sent, self.clock())
            done.sent += len(sent)
        if outcome is not Outcome.FAILED:
            self.failures = 0
            return 0.0  # more may be waiting
        self.failures += 1
        wait = self.backoff()
        await self.store.statements_failed([r.row for r in rows],
                                           now + timedelta(seconds=wait), why)
        done.failed += len(rows)
        log.warning("xAPI: %s; %d statement(s) wait %.0f s", why, len(rows), wait)
        return wait

    async def park(self, row: Outgoing, why: str, done: Round) -> None:
        await self.store.park_statement(row.row, why)
        done.parked += 1
        log.warning("xAPI: statement %s parked (%s)", row.statement_id, why)

    async def drain(self) -> Round:
        """`xapi send`: send until the outbox has nothing due, or the LRS fails once."""
        done = Round()
        while await self.step(done) == 0.0:
            pass
        return done

    # --- running beside the bot --------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        while True:
            try:
                wait = await self.step()
            except Exception:  # e.g. a database error: keep the loop, try again later
                log.exception("xAPI sender round failed")
                self.failures += 1
                wait = self.backoff()
            if wait:
                await asyncio.sleep(wait)

    async def stop(self) -> None:
        """Stop sending (a batch cut off mid-way comes back after LEASE) and close."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.client.aclose()
