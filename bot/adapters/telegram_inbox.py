"""No lost update: every update is in the inbox before Telegram is told it arrived.

Long polling tells Telegram only with the next getUpdates: `InboxBot.get_updates`
stores each batch, in one trip, before PTB's updater sees it. The webhook answers
200 after PTB's update queue (`Inbox.put`) has stored the update. `process` then
handles a claimed update once: its effects and replies are stored, the replies
sent, the row finished; after a crash `take_over` queues what was left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import NetworkError
from telegram.ext import ExtBot

from bot.models import Now, Reply
from bot.store.inbox import HANDLING, MAX_ATTEMPTS, Delivery, InboxStore, State

log = logging.getLogger(__name__)

# How long a claim holds: an instance that has not finished an update by then is taken
# for dead, and another handles it (the effects are not repeated; the reply may be).
CLAIM = timedelta(minutes=2)


class Inbox(asyncio.Queue[object]):
    """`ApplicationBuilder.update_queue`: an update is in the store before the queue."""

    def __init__(self, now: Now, claim: timedelta = CLAIM) -> None:
        super().__init__()
        self.now = now
        self.claim = claim
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.store: InboxStore | None = None  # opened in post_init, before any update comes
        self.arrived: dict[int, bool] = {}  # stored, not queued yet: is it this process's?
        self.mine: dict[int, Delivery] = {}  # claimed by this process, not finished yet
        self.running: set[int] = set()
        self.bot: Bot | None = None  # rebuilds stored updates; set by take_over at start-up
        # Handled, but the store was down when the row was to be finished: finished at the
        # next update that reaches the store (the sender's next one waits behind it).
        self.unnoted: dict[int, State] = {}

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            if item.update_id not in self.arrived:  # not from getUpdates: the webhook
                await self.receive([item])
            if not self.arrived.pop(item.update_id):
                return  # stored before (a redelivery), or waiting for its sender's turn
        await super().put(item)

    async def receive(self, updates: Sequence[Update]) -> None:
        """Store updates, in one trip, and note which this process is to handle now."""
        assert self.store is not None
        rows = []
        for update in updates:
            user = update.effective_user
            rows.append((update.update_id, user.id if user is not None else 0,
                         json.dumps(update.to_dict(), ensure_ascii=False)))
        for update_id, state in list(self.unnoted.items()):
            with contextlib.suppress(Exception):  # still down: the receive below says so
                await self.finish(update_id, state)
        now = self.now()
        try:
            mine = await self.store.receive(rows, self.owner, now, now + self.claim)
        except Exception as err:
            # Not stored, so not acknowledged: PTB's polling loop retries after a
            # TelegramError without moving the offset; a webhook call gets a 500.
            raise NetworkError(f"the inbox could not store updates ({type(err).__name__})"
                               ) from err
        for update_id, user_id, body in rows:
            self.arrived[update_id] = update_id in mine
            if update_id in mine:
                self.mine[update_id] = Delivery(update_id, user_id, body, None, 1)

    async def take_over(self, bot: Bot, only_instance: bool) -> int:
        """Queue the stored updates no live instance is handling, oldest first. The only
        instance (long polling allows one) first drops every claim: they are a dead
        process's; with several instances a claim must run out first."""
        assert self.store is not None
        self.bot = bot
        if only_instance:
            await self.store.release_claims()
        now = self.now()
        claimed, failed = await self.store.claim_unfinished(self.owner, now, now + self.claim)
        if failed:
            log.warning("%d updates could not be handled in %d tries; given up", failed,
                        MAX_ATTEMPTS)
        for delivery in claimed:
            queued = delivery.update_id in self.mine  # our own, still waiting: claim renewed
            self.mine[delivery.update_id] = delivery
            if not queued:
                super().put_nowait(Update.de_json(json.loads(delivery.body), bot))
        if claimed:
            log.info("inbox: %d stored updates taken over", len(claimed))
        return len(claimed)

    def ours(self, update_id: int) -> bool:
        """True when this process holds the update's claim and nobody is handling it."""
        return update_id in self.mine and update_id not in self.running

    async def process(self, update_id: int, handle: Callable[[], Awaitable[list[Reply]]],
                      send: Callable[[list[Reply]], Awaitable[None]]) -> None:
        """Handle a claimed update once: the replies stored for it, else `handle()`'s
        (stored before they are sent); then `send` them and finish the row. A failure
        finishes it too (the error handler tells the person): nothing waits behind it."""
        assert self.store is not None
        delivery = self.mine[update_id]
        self.running.add(update_id)
        token = HANDLING.set(update_id)
        try:
            replies = delivery.replies
            if replies is None:
                replies = await handle()
                if replies:
                    await self.store.handled(update_id, replies)
            await send(replies)
            await self.finish(update_id, State.SENT)
        except Exception:
            if update_id not in self.unnoted:  # (else it was sent; noting that failed)
                try:
                    await self.finish(update_id, State.FAILED)
                except Exception:
                    log.warning("inbox: could not mark an update as failed")
            raise
        finally:
            HANDLING.reset(token)
            self.running.discard(update_id)
            self.mine.pop(update_id, None)

    async def finish(self, update_id: int, state: State) -> None:
        """Finish the row; queue the sender's next update if it waited for this one."""
        assert self.store is not None
        now = self.now()
        try:
            after = await self.store.finish(update_id, state, now, self.owner, now + self.claim)
        except Exception:
            self.unnoted[update_id] = state
            raise
        self.unnoted.pop(update_id, None)
        if after is not None:
            self.mine[after.update_id] = after
            super().put_nowait(Update.de_json(json.loads(after.body), self.bot))


class InboxBot(ExtBot[None]):
    """The application's bot, storing each batch from getUpdates in the inbox before
    returning it: Telegram hears that a batch arrived with the next getUpdates only."""

    def __init__(self, inbox: Inbox, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox = inbox

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates = await super().get_updates(*args, **kwargs)
        if updates:
            await self._inbox.receive(updates)
        return updates
