"""Sending the shared push outbox: a sender in every instance, one rate for all of them.

Each round a sender claims up to a second's worth of due rows (`claim_outbox`: send
slots 1/COACH_PUSH_RATE s apart, taken from one pacing row every instance shares; one
row per chat, a second after that chat's last push), starts each send at its slot and
records the outcome in one write: sent; blocked (403, and the person is made inactive);
due again after Telegram's `retry_after` (429: the row carries the wait, nobody sleeps
on it) or after RETRY_LATER (connection refused, 5xx: it did not arrive); failed (400,
or a time-out after the request went out: it may have arrived, and a push is sent twice
only when its instance dies mid-send). A Bot API call is tried once here: the outbox is
the retry. A row is not started once half its claim (COACH_CLAIM_TIMEOUT) has passed
since its slot, so its claim cannot run out mid-send on a live instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.adapters.telegram import retry_after
from bot.models import Now, Reply
from bot.store import Claimed, Store

log = logging.getLogger(__name__)

IDLE = 1.0  # seconds between looks at an outbox with nothing due
RETRY_LATER = timedelta(seconds=30)  # after a failure that did not deliver (network, 5xx)
STOP_WAIT = 10.0  # seconds a stopping sender waits for the sends it started


class PushSender:
    """Drains the outbox beside the bot; `step` is one round (tests call it by hand)."""

    def __init__(self, store: Store, send: Callable[[int, Reply], Awaitable[None]], owner: str,
                 rate: int, hold: timedelta, now: Now) -> None:
        self.store = store
        self.send = send
        self.owner = owner  # claimed_by of this instance's rows (the inbox's owner too)
        self.rate = rate
        self.hold = hold
        self.now = now
        self.held: list[Claimed] = []  # claimed, slot not reached yet
        self.sending: set[asyncio.Task[None]] = set()
        self.task: asyncio.Task[None] | None = None

    async def step(self) -> float:
        """Start the sends whose slot has come, claiming more when none are held; the
        seconds until the next slot."""
        if not self.held:
            self.held = await self.store.claim_outbox(self.owner, self.now(), self.rate,
                                                      self.rate, self.hold)
            if not self.held:
                return IDLE
        now = self.now()
        while self.held and self.held[0].send_at <= now:
            task = asyncio.create_task(self.deliver(self.held.pop(0)))
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)
        return (self.held[0].send_at - now).total_seconds() if self.held else 0.0

    async def settle(self) -> None:
        """Wait for the sends started so far (tests, and stopping)."""
        await asyncio.gather(*self.sending, return_exceptions=True)

    async def deliver(self, row: Claimed) -> None:
        if self.now() > row.send_at + self.hold / 2:
            log.warning("push: too late to start a claimed send; another instance will")
            return
        try:
            outcome = await self.attempt(row)
        except Exception:  # the database: the row comes back when its claim runs out
            log.exception("push: could not record a send")
            return
        if outcome:
            log.info("push: %s", outcome)

    async def attempt(self, row: Claimed) -> str:
        """Send one row and record what happened; a note for the log, or ""."""
        store, user = self.store, row.push.user_id
        try:
            await self.send(user, row.push.reply)
        except RetryAfter as err:
            wait = retry_after(err)
            await store.push_later(row.row, self.now() + timedelta(seconds=wait), "429",
                                   failure=False)
            return f"Telegram asked to wait {wait:.0f} s (429); the push waits in the outbox"
        except Forbidden:  # blocked the bot, or deleted the account
            await store.push_blocked(row.row, user)
            return "a person blocked the bot; marked inactive"
        except (BadRequest, TimedOut) as err:  # refused; or may have arrived: not again
            await store.push_failed(row.row, f"{type(err).__name__}: {err.message}")
            return f"a push failed for good ({type(err).__name__})"
        except NetworkError as err:  # not delivered: again later, from any instance
            await store.push_later(row.row, self.now() + RETRY_LATER,
                                   f"{type(err).__name__}: {err.message}", failure=True)
            return f"a push will be tried again ({type(err).__name__})"
        except TelegramError as err:  # a migrated chat, a wrong token
            await store.push_failed(row.row, f"{type(err).__name__}: {err.message}")
            return f"a push failed for good ({type(err).__name__})"
        await store.push_sent(row.row, self.now())
        return ""

    # --- running beside the bot --------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        while True:
            try:
                wait = await self.step()
            except Exception:  # e.g. the database is away: keep the loop, look again
                log.exception("push sender round failed")
                wait = IDLE
            await asyncio.sleep(wait)

    async def stop(self) -> None:
        """Stop claiming, let started sends finish, give back the rows not started."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.settle(), STOP_WAIT)
        if self.held:
            rows, self.held = [c.row for c in self.held], []
            try:
                await self.store.release_pushes(rows)
            except Exception:  # they come back when their claim runs out
                log.warning("push: could not give back %d claimed rows", len(rows))
