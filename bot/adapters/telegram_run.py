"""Running the Telegram bot: the Application and its lifecycle, updates in order, the
push sender, the error handler; long polling, or a webhook (with a health endpoint) when
COACH_WEBHOOK_URL is set. Converting and rendering is `telegram`'s; keeping every update
until it is answered, `telegram_inbox`'s.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlparse

from telegram import BotCommand, BotCommandScopeDefault, Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    TypeHandler,
)

from bot.adapters.telegram import COMMANDS, Replies, Retry, error_text, to_inbound
from bot.adapters.telegram_http import AiohttpRequest
from bot.adapters.telegram_inbox import Inbox, InboxBot
from bot.adapters.telegram_pace import Pace, PushQueue
from bot.adapters.telegram_push import PushSender
from bot.adapters.xapi_sender import XapiSender
from bot.app import build, utc_now
from bot.assistant import Assistant
from bot.config import Settings
from bot.logs import setup_logging
from bot.models import Now, Push, Reply

log = logging.getLogger(__name__)

TICK_SECONDS = 60
# Pause after each getUpdates. An idle bot sits in a long poll that returns at once when
# a message comes, so this delays only updates that come within 20 ms of the last batch;
# under load it batches them (fewer polls, less CPU: bench/load_bench.py).
POLL_PAUSE = 0.02


class PersonOrder(BaseUpdateProcessor):
    """Up to `places` updates in progress at once; one person's one at a time, in the
    order they came. A Bot API call waits ~100 ms on the network, so handling people
    one after another would cap the bot at a few updates a second."""

    def __init__(self, places: int) -> None:
        # PTB takes its own limit before our per-person lock; it is set out of the way and
        # ours is taken after the lock: a person who sends twenty messages at once then
        # holds one place, not twenty.
        super().__init__(1 << 16)
        self._places = asyncio.Semaphore(places)
        self._people: dict[int, tuple[asyncio.Lock, int]] = {}  # lock, updates holding it

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        key = user.id if user is not None else 0
        lock, holders = self._people.get(key, (asyncio.Lock(), 0))
        self._people[key] = (lock, holders + 1)
        try:
            async with lock, self._places:  # both let waiters in first come, first served
                await coroutine
        finally:
            lock, holders = self._people[key]
            if holders == 1:
                del self._people[key]
            else:
                self._people[key] = (lock, holders - 1)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class TelegramBot:
    """Owns the Application, the assistant and the push sender for one process."""

    def __init__(self, settings: Settings, retry: Retry | None = None, now: Now = utc_now,
                 pace: Pace | None = None) -> None:
        self.settings = settings
        self.retry = retry or Retry()
        self.now = now
        self.assistant: Assistant | None = None
        self.inbox = Inbox(now)
        self.pushes: PushSender | None = None  # drains the shared outbox; from post_init
        # Replies to strangers wait in their own slow lane: staff replies never queue behind
        # them, and a flood of strangers takes COACH_STRANGER_REPLIES a minute at most.
        per_minute = max(settings.stranger_replies, 1)
        self.strangers = PushQueue(self.send_stranger, rate=per_minute / 60, per_chat_gap=0,
                                   limit=per_minute, pace=pace)
        self.conflict = False
        self.app: Application | None = None
        self.replies: Replies | None = None
        self.xapi: XapiSender | None = None  # with COACH_XAPI_ENDPOINT
        self.clients: tuple[AiohttpRequest, ...] = ()

    def application(self) -> Application:
        """The configured python-telegram-bot Application."""
        s = self.settings
        # our Bot API client (telegram_http: a third of httpx's CPU a call, bench/README.md);
        # the bot is ours so that each getUpdates batch is stored before it is confirmed
        self.clients = (AiohttpRequest(proxy=s.proxy), AiohttpRequest(connections=1, proxy=s.proxy))
        bot = InboxBot(self.inbox, s.token, s.base_url, s.base_file_url,
                       request=self.clients[0], get_updates_request=self.clients[1])
        app = (ApplicationBuilder().bot(bot)
               .post_init(self.post_init).post_shutdown(self.post_shutdown)
               .concurrent_updates(PersonOrder(s.concurrent_updates)).update_queue(self.inbox)
               .build())
        app.add_handler(TypeHandler(Update, self.on_update))
        app.add_error_handler(self.on_error)
        self.app, self.replies = app, Replies(app.bot, self.retry)
        return app

    # --- lifecycle -----------------------------------------------------------------

    async def post_init(self, app: Application) -> None:
        """Open the store, load the knowledge base, register the command menu, start jobs."""
        self.assistant = await build(self.settings, self.now)
        self.inbox.store = self.assistant.store
        # Updates a crash left unanswered, before any new one; long polling allows only one
        # instance, so every claim found is a dead process's.
        await self.inbox.take_over(app.bot, only_instance=not self.settings.webhook_url)
        for lang, commands in COMMANDS.items():
            await app.bot.set_my_commands(
                [BotCommand(c, d) for c, d in commands], scope=BotCommandScopeDefault(),
                language_code=None if lang == "en" else lang)
        # pushes are tried once per claim: a failed one waits in the outbox, not here
        self.pushes = PushSender(self.assistant.store, Replies(app.bot, Retry(attempts=1)).send,
                                 self.inbox.owner, self.settings.push_rate,
                                 timedelta(seconds=self.settings.claim_timeout), self.now)
        self.pushes.start()
        if self.settings.xapi:
            self.xapi = XapiSender(self.settings, self.assistant.store)
            self.xapi.start()
        self.strangers.start()
        if app.job_queue is not None:
            app.job_queue.run_repeating(self.on_tick, interval=TICK_SECONDS, first=1)
        log.info("bot started as @%s (instance %s)", app.bot.username, self.inbox.owner)

    async def post_shutdown(self, app: Application) -> None:
        if self.pushes is not None:
            await self.pushes.stop()
        if self.xapi is not None:
            await self.xapi.stop()
        await self.strangers.stop()
        if self.assistant is not None:
            await self.assistant.store.close()

    # --- updates, pushes and errors ------------------------------------------------------

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An update from the inbox: convert, ask the assistant, render (once)."""
        if not self.inbox.ours(update.update_id):
            return  # being handled, finished, or another instance's
        assert self.replies is not None
        # Answering the button press overlaps with the work below; it is always awaited.
        answered = (asyncio.ensure_future(self.replies.answer(update))
                    if update.callback_query is not None else None)
        try:
            await self.inbox.process(update.update_id,
                                     partial(self.decide, update, context.bot.username),
                                     partial(self.deliver, update))
        finally:
            if answered is not None:
                await answered

    async def decide(self, update: Update, bot_name: str) -> list[Reply]:
        assert self.assistant is not None
        inbound = to_inbound(update, bot_name)
        if inbound is None:
            return []
        return await self.assistant.handle(inbound)  # pushes (/nudge) go to the outbox

    async def deliver(self, update: Update, replies: list[Reply]) -> None:
        assert self.replies is not None
        chat = update.effective_chat
        if chat is not None and replies and all(r.low_priority for r in replies):
            if not all([self.strangers.offer(Push(chat.id, r)) for r in replies]):
                log.info("stranger replies: queue full, one dropped")
            return
        await self.replies.render(update, replies)

    async def on_tick(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """JobQueue: the assistant's scheduled work (its pushes go to the outbox); take
        over updates an instance left (with several instances, once its claims run out)."""
        assert self.assistant is not None
        await self.assistant.tick(self.now())
        await self.inbox.take_over(context.bot, only_instance=False)

    async def send_stranger(self, push: Push) -> None:
        assert self.replies is not None
        await self.replies.send(push.user_id, push.reply)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log (redacted by the logging filter), tell the person once, keep running."""
        err = context.error
        if isinstance(err, Conflict):
            if not self.conflict:
                self.conflict = True
                print("counter-coach: another instance is polling with this bot token "
                      "(Telegram answered 409 Conflict); stopping this one.", file=sys.stderr)
                # The updater's final offset confirmation conflicts too; that is not news.
                logging.getLogger("telegram.ext.Updater").setLevel(logging.CRITICAL)
                context.application.stop_running()
            return
        if isinstance(err, NetworkError) and update is None:
            log.warning("polling: %s; retrying", type(err).__name__)
            return
        log.error("error while handling an update", exc_info=err)
        where = error_text(update)
        if where is not None:
            try:  # once: the call that failed has had its retries
                await context.bot.send_message(*where)
            except Exception:
                log.warning("could not tell the person about the error")

    # --- running -------------------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGINT / SIGTERM; 0 on a clean stop, 1 on a conflict, 2 on a bad token."""
        app = self.application()
        try:
            if self.settings.webhook_url:
                return asyncio.run(self.run_webhook(app))
            try:
                app.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False,
                                poll_interval=POLL_PAUSE)
            finally:  # PTB shuts down only a bot whose start-up succeeded
                asyncio.get_event_loop().run_until_complete(self.close_clients())
        except InvalidToken:
            print("counter-coach: TELEGRAM_BOT_TOKEN: Telegram rejected the token "
                  "(check it with @BotFather)", file=sys.stderr)
            return 2
        except BadRequest as err:
            print(f"counter-coach: Telegram refused the start-up request: {err.message}",
                  file=sys.stderr)
            return 2
        except NetworkError as err:
            print(f"counter-coach: cannot reach the Bot API at {self.settings.base_url} "
                  f"({type(err).__name__})", file=sys.stderr)
            return 2
        return 1 if self.conflict else 0

    async def close_clients(self) -> None:
        await asyncio.gather(*(c.shutdown() for c in self.clients))

    async def run_webhook(self, app: Application) -> int:
        """Webhook mode: our own small tornado server, so it can also answer /healthz."""
        import tornado.web

        path = urlparse(self.settings.webhook_url).path or "/"
        secret = self.settings.webhook_secret
        bot = self

        class Hook(tornado.web.RequestHandler):
            async def post(self) -> None:
                if secret and self.request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
                    self.set_status(403)
                    return
                try:
                    data = tornado.escape.json_decode(self.request.body)
                    update = Update.de_json(data, app.bot)
                except Exception:
                    self.set_status(400)
                    return
                await app.update_queue.put(update)
                self.set_status(200)

        class Health(tornado.web.RequestHandler):
            async def get(self) -> None:  # loaded, and the database answers
                ok = bot.assistant is not None and await bot.assistant.store.ping()
                self.set_status(200 if ok else 503)
                self.write({"ok": ok})

        web = tornado.web.Application([(path, Hook), (r"/healthz", Health)])
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            async with app:  # run_webhook would call these hooks; here we run it by hand
                await self.post_init(app)
                try:
                    await app.bot.set_webhook(self.settings.webhook_url,
                                              secret_token=secret or None,
                                              allowed_updates=Update.ALL_TYPES)
                    await app.start()
                    server = web.listen(self.settings.webhook_port,
                                        address=self.settings.webhook_listen)
                    log.info("webhook listening on %s:%s%s", self.settings.webhook_listen,
                             self.settings.webhook_port, path)
                    await stop.wait()
                    server.stop()
                    await app.stop()
                finally:
                    await self.post_shutdown(app)
        finally:
            await self.close_clients()
        return 0


def run(settings: Settings) -> int:
    """`python -m bot run`."""
    setup_logging(settings.log_level, settings.secret_values())
    if settings.log_level == "INFO":  # httpx notes every Bot API call at INFO
        logging.getLogger("httpx").setLevel(logging.WARNING)
    return TelegramBot(settings).run()
