"""No lost update: PTB's update queue stores each update in the inbox before queuing it.

Long polling tells Telegram an update arrived only with the next getUpdates, which
PTB's updater sends after `put` has returned for the whole batch; the webhook
answers 200 after `put`. So an update is in the store before Telegram forgets it.
`process` then handles a claimed update once: its effects and replies are stored,
the replies sent, the row finished; after a crash `take_over` queues what was left.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot, Update
from telegram.error import NetworkError

from bot.models import Now, Reply
from bot.store.inbox import HANDLING, MAX_ATTEMPTS, Delivery, InboxStore, State

log = logging.getLogger(__name__)

# How long a claim holds: an instance that has not finished an update by then is taken
# for dead, and another handles it (the effects are not repeated; the reply may be).
CLAIM = timedelta(minutes=2)


class Inbox(asyncio.Queue[object]):
    """`ApplicationBuilder.update_queue`: an update goes into the store, then the queue."""

    def __init__(self, now: Now, claim: timedelta = CLAIM) -> None:
        super().__init__()
        self.now = now
        self.claim = claim
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.store: InboxStore | None = None  # opened in post_init, before any update comes
        self.mine: dict[int, Delivery] = {}  # claimed by this process, not finished yet
        self.running: set[int] = set()

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and not await self.receive(item):
            return  # stored before: a redelivery, already handled or being handled
        await super().put(item)

    async def receive(self, update: Update) -> bool:
        """Store the update; True when this process is to handle it now."""
        assert self.store is not None
        user = update.effective_user
        user_id = user.id if user is not None else 0
        body = json.dumps(update.to_dict(), ensure_ascii=False)
        now = self.now()
        try:
            mine = await self.store.receive(update.update_id, user_id, body, self.owner, now,
                                            now + self.claim)
        except Exception as err:
            # Not stored, so not acknowledged: PTB's polling loop retries after a
            # TelegramError without moving the offset; a webhook call gets a 500.
            raise NetworkError(f"the inbox could not store an update ({type(err).__name__})"
                               ) from err
        if mine:
            self.mine[update.update_id] = Delivery(update.update_id, user_id, body, None, 1)
        return mine

    async def take_over(self, bot: Bot, only_instance: bool) -> int:
        """Queue the stored updates no live instance is handling, oldest first. The only
        instance (long polling allows one) first drops every claim: they are a dead
        process's; with several instances a claim must run out first."""
        assert self.store is not None
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
            await self.store.finish(update_id, State.SENT, self.now())
        except Exception:
            try:
                await self.store.finish(update_id, State.FAILED, self.now())
            except Exception:  # the store is down: the claim runs out, it is tried again
                log.warning("inbox: could not mark an update as failed")
            raise
        finally:
            HANDLING.reset(token)
            self.running.discard(update_id)
            self.mine.pop(update_id, None)
