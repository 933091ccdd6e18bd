"""The Telegram adapter: `Update` -> `Inbound`, `Reply` -> Bot API calls, jobs, errors.

Thin by design: every decision is the assistant's. Runs long polling, or a
webhook (with a health endpoint) when COACH_WEBHOOK_URL is set.
"""

from __future__ import annotations

import asyncio
import heapq
import html
import itertools
import logging
import re
import signal
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlparse

import aiohttp
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeDefault,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    TypeHandler,
)
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBUserWarning

from bot.app import build
from bot.assistant import Assistant
from bot.config import Settings
from bot.logs import setup_logging
from bot.models import Inbound, Push, Reply, ReplyKind

log = logging.getLogger(__name__)

COMMANDS = {
    "en": [("drill", "2-3 minute drill"), ("due", "what I must refresh"),
           ("progress", "my progress"), ("topics", "browse cards"), ("help", "help"),
           ("remind", "daily reminder time"), ("lang", "language zh / en")],
    "zh": [("drill", "2–3 分钟小测"), ("due", "我该复训的内容"), ("progress", "我的进度"),
           ("topics", "浏览卡片"), ("help", "帮助"), ("remind", "每日提醒时间"),
           ("lang", "切换语言")],
}
TICK_SECONDS = 60
SEND_RETRIES = 3
# Pause after each getUpdates. An idle bot sits in a long poll that returns at once when
# a message comes, so this delays only updates that come within 20 ms of the last batch;
# under load it batches them: 0.26 polls an update instead of 0.89, ~12% less CPU
# (bench/load_bench.py).
POLL_PAUSE = 0.02


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split on line boundaries into chunks of at most `limit` characters."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single over-long line: hard split
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


def to_html(reply: Reply) -> str:
    """Reply text as Telegram HTML; everything the assistant passes is escaped."""
    body = html.escape(reply.text, quote=False)
    return f"<b>{html.escape(reply.title, quote=False)}</b>\n{body}" if reply.title else body


def keyboard(reply: Reply) -> dict[str, Any] | None:
    """The Bot API's InlineKeyboardMarkup, as the JSON it becomes (no PTB objects to build
    and serialise again for every reply)."""
    if not reply.buttons:
        return None
    return {"inline_keyboard": [[{"text": b.label[:64], "callback_data": b.payload} for b in row]
                                for row in reply.buttons]}


# Replies go out through Bot.do_api_request, and Telegram's answer (the message sent)
# stays JSON: the bot never reads it, and parsing it into PTB objects was ~11% of the
# bot's CPU under load (bench/load_bench.py). PTB would rather we used the typed method.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.(sendMessage|editMessage)",
                        category=PTBUserWarning)


async def post(bot: Bot, method: str, params: dict[str, Any]) -> object:
    """One Bot API call, its answer left unparsed; None values are left out."""
    return await bot.do_api_request(
        method, api_kwargs={k: v for k, v in params.items() if v is not None})


async def with_retries(call: Callable[[], Awaitable[object]], idempotent: bool) -> object:
    """Retry 5xx / connection errors with back-off; 429 waits `retry_after`.

    A time-out is retried only for idempotent calls (edits, callback answers): a
    timed-out send may already have been delivered, and sending it again would
    duplicate the message. Drill answers are stored before any send, so a lost
    reply loses no record.
    """
    async with on_the_network():  # the call and the back-off both wait on Telegram
        return await _with_retries(call, idempotent)


async def _with_retries(call: Callable[[], Awaitable[object]], idempotent: bool) -> object:
    delay = 0.5
    for attempt in range(SEND_RETRIES + 1):
        try:
            return await call()
        except RetryAfter as err:
            if attempt == SEND_RETRIES:
                raise
            wait = err.retry_after
            await asyncio.sleep(wait.total_seconds() if hasattr(wait, "total_seconds") else wait)
        except TimedOut:
            if not idempotent or attempt == SEND_RETRIES:
                raise
            await asyncio.sleep(delay)
            delay *= 2
        except (BadRequest, Forbidden, InvalidToken):
            raise  # the request itself is wrong: sending it again cannot help
        except NetworkError:
            if attempt == SEND_RETRIES:
                raise
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


class PushQueue:
    """Paced sending of pushes, apart from interactive replies: <= rate/s, >= gap per chat."""

    def __init__(self, send: Callable[[Push], Awaitable[None]], rate: float = 20.0,
                 per_chat_gap: float = 1.0) -> None:
        self.send = send
        self.interval = 1.0 / rate
        self.gap = per_chat_gap
        self.queue: asyncio.Queue[Push] = asyncio.Queue()
        self.last: dict[int, float] = {}
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def run(self) -> None:
        while True:
            push = await self.queue.get()
            wait = self.last.get(push.user_id, 0.0) + self.gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.last[push.user_id] = time.monotonic()
            try:
                await self.send(push)
            except Exception:  # one failed push must not stop the others
                log.exception("push to a person failed")
            await asyncio.sleep(self.interval)


class Turns:
    """`count` turns to run the bot's code; a free turn goes to the oldest update waiting
    for one, so an update back from Telegram goes before updates that came after it."""

    def __init__(self, count: int) -> None:
        self.free = count
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []  # heap by age

    async def take(self, age: int) -> None:
        if self.free and not self._waiting:
            self.free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (age, granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.give()  # handed over just as the taker was cancelled: pass it on
            raise

    def give(self) -> None:
        while self._waiting:
            _, granted = heapq.heappop(self._waiting)
            if not granted.done():  # a cancelled taker's future is done: skip it
                granted.set_result(None)
                return
        self.free += 1


@dataclass
class Turn:
    """An update's turn to run (see PersonOrder); held by the update's own task."""

    turns: Turns
    age: int
    task: asyncio.Task[Any] | None
    held: bool = False


_TURN: ContextVar[Turn | None] = ContextVar("turn", default=None)


@asynccontextmanager
async def on_the_network() -> AsyncIterator[None]:
    """Around a wait for Telegram: meanwhile another update may run. Only the update's
    own task gives its turn away (tasks it starts share its context, not its turn)."""
    turn = _TURN.get()
    if turn is None or not turn.held or turn.task is not asyncio.current_task():
        yield
        return
    turn.turns.give()
    turn.held = False
    try:
        yield
    finally:
        await turn.turns.take(turn.age)  # if cancelled here, `held` stays False
        turn.held = True


class PersonOrder(BaseUpdateProcessor):
    """Up to `places` updates in progress, one person's one at a time and in the order
    they came, and at most `running` of them running the bot's code at any moment.

    In progress: a Bot API call waits ~100 ms on the network, so handling people one
    after another would cap the bot at a few updates a second. Running: an update
    waiting on Telegram (on_the_network) gives its turn away, and turns go to the
    oldest update waiting, so on a busy CPU an update is not spread thin over fifteen
    others' work (bench/load_bench.py: p99 handling time 143 ms with all 16 running)."""

    def __init__(self, places: int, running: int = 2) -> None:
        # PTB's own limit is taken before our per-person turn; so it is set out of the
        # way and ours is taken after it: a person who sends twenty messages at once then
        # holds one place, not twenty.
        super().__init__(1 << 16)
        self._places = asyncio.Semaphore(places)
        self._turns = Turns(min(places, running))
        self._ages = itertools.count()
        self._people: dict[int, tuple[asyncio.Lock, int]] = {}  # lock, updates holding it

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        key = user.id if user is not None else 0
        lock, holders = self._people.get(key, (asyncio.Lock(), 0))
        self._people[key] = (lock, holders + 1)
        turn = Turn(self._turns, next(self._ages), asyncio.current_task())
        try:
            async with lock, self._places:  # both let waiters in first come, first served
                token = _TURN.set(turn)
                await self._turns.take(turn.age)
                turn.held = True
                try:
                    await coroutine
                finally:
                    if turn.held:
                        turn.held = False
                        self._turns.give()
                    _TURN.reset(token)
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


UNSET = type(BaseRequest.DEFAULT_NONE)  # PTB's "time-out not given"


class AiohttpRequest(BaseRequest):
    """The Bot API's HTTP client: PTB's default (httpx) spends ~3.4 ms of CPU on a call,
    this ~0.6 ms (bench/load_bench.py), and the bot makes 1-3 calls an update.

    Same defaults and time-out meaning as PTB's `HTTPXRequest`: a time-out while
    connecting (or waiting for a free connection) means nothing was sent, so it is a
    plain `NetworkError` that may be retried; a time-out after sending is `TimedOut`."""

    def __init__(self, connections: int = 256, proxy: str = "", read_timeout: float = 5.0,
                 write_timeout: float = 5.0, connect_timeout: float = 5.0,
                 pool_timeout: float = 1.0, media_write_timeout: float = 20.0) -> None:
        self._connections = connections
        self._proxy = proxy or None
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data is not None and request_data.contains_files
        read = self._read if isinstance(read_timeout, UNSET) else read_timeout
        write = ((self._media_write if files else self._write)
                 if isinstance(write_timeout, UNSET) else write_timeout)
        connect = self._connect if isinstance(connect_timeout, UNSET) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, UNSET) else pool_timeout
        # aiohttp has no write time-out, so the whole call is bounded by the sum; its
        # `connect` includes waiting for a free connection, so it gets pool + connect
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            total=None if None in parts else sum(parts),
            connect=None if None in (connect, pool) else connect + pool, sock_read=read)
        try:
            data, headers = _body(request_data)
            async with self._session.request(method, url, data=data, headers=headers,
                                             timeout=timeout, proxy=self._proxy) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as err:
            raise NetworkError(f"aiohttp: not connected in time, nothing sent ({err})") from err
        except TimeoutError as err:  # also aiohttp.ServerTimeoutError
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err


JSON_BODY = {"Content-Type": "application/json"}


def _body(request_data: RequestData | None) -> tuple[Any, dict[str, str] | None]:
    """Parameters as JSON (one C call; url-encoding them cost more CPU than the rest of
    the request), or multipart when a file goes up."""
    if request_data is None:
        return None, None
    if not request_data.contains_files:
        return request_data.json_payload, JSON_BODY
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form, None


class TelegramBot:
    """Owns the Application, the assistant and the push queue for one process."""

    def __init__(self, settings: Settings, rate_limiter: bool = True) -> None:
        self.settings = settings
        self.rate_limiter = rate_limiter  # off only for the load benchmark's comparison
        self.assistant: Assistant | None = None
        self.pushes = PushQueue(self.send_push)
        self.conflict = False
        self.app: Application | None = None
        self.clients: tuple[AiohttpRequest, ...] = ()

    def application(self) -> Application:
        """The configured python-telegram-bot Application."""
        s = self.settings
        builder = (
            ApplicationBuilder().token(s.token).base_url(s.base_url)
            .base_file_url(s.base_file_url)
            .post_init(self.post_init).post_shutdown(self.post_shutdown)
            .concurrent_updates(PersonOrder(s.concurrent_updates))
        )
        calls, polls = AiohttpRequest(proxy=s.proxy), AiohttpRequest(connections=1, proxy=s.proxy)
        self.clients = (calls, polls)
        builder = builder.request(calls).get_updates_request(polls)
        app = (builder.rate_limiter(AIORateLimiter(max_retries=2)).build() if self.rate_limiter
               else builder.build())
        app.add_handler(TypeHandler(Update, self.on_update))
        app.add_error_handler(self.on_error)
        return app

    # --- lifecycle -----------------------------------------------------------------

    async def post_init(self, app: Application) -> None:
        """Open the store, load the knowledge base, register the command menu, start jobs."""
        self.assistant = await build(self.settings)
        for lang, commands in COMMANDS.items():
            await app.bot.set_my_commands(
                [BotCommand(c, d) for c, d in commands], scope=BotCommandScopeDefault(),
                language_code=None if lang == "en" else lang)
        self.pushes.start()
        if app.job_queue is not None:
            app.job_queue.run_repeating(self.on_tick, interval=TICK_SECONDS, first=1)
        log.info("bot started as @%s", app.bot.username)

    async def post_shutdown(self, app: Application) -> None:
        await self.pushes.stop()
        if self.assistant is not None:
            await self.assistant.store.close()

    # --- updates ---------------------------------------------------------------------

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Convert, ask the assistant, render."""
        assert self.assistant is not None
        if not await self.assistant.first_delivery(f"u{update.update_id}"):
            return
        # Answering the button press overlaps with the work below; it is always awaited.
        answered = (asyncio.ensure_future(with_retries(update.callback_query.answer,
                                                       idempotent=True))
                    if update.callback_query is not None else None)
        try:
            inbound = self.to_inbound(update, context.bot.username)
            if inbound is None:
                return
            replies = await self.assistant.handle(inbound)
            for push in self.assistant.take_pushes():  # e.g. /nudge: paced like every push
                self.pushes.queue.put_nowait(push)
            await self.render(update, replies)
        finally:
            if answered is not None:
                async with on_the_network():
                    await answered

    def to_inbound(self, update: Update, bot_name: str) -> Inbound | None:
        """None for what the bot ignores by design: edits, channels, bots, group chatter."""
        user = update.effective_user
        if user is None or user.is_bot:
            return None
        name, hint = user.full_name, user.language_code
        query = update.callback_query
        if query is not None:
            chat = query.message.chat if query.message else None
            if chat is None:
                return None
            return Inbound(user.id, name, callback=query.data or "", lang_hint=hint,
                           private=chat.type == ChatType.PRIVATE)
        message = update.message
        if message is None:  # edited messages, channel posts, member updates
            return None
        private = message.chat.type == ChatType.PRIVATE
        text = message.text
        if not private:
            mention = f"@{bot_name}".lower()
            if not text or not (text.startswith("/") or mention in text.lower()):
                return None
            head = text.split(maxsplit=1)[0].lower()
            if text.startswith("/") and "@" in head and not head.endswith(mention):
                return None  # a command for another bot in the group
            text = re.sub(re.escape(mention), "", text, flags=re.IGNORECASE).strip()
        return Inbound(user.id, name, text=text, lang_hint=hint, private=private)

    async def render(self, update: Update, replies: list[Reply]) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        pressed = update.callback_query.message if update.callback_query else None
        # Edits change the pressed message, sends add new ones: the two can overlap,
        # while new messages keep their order.
        edits = [self.edit(pressed, r) for r in replies if r.edit and isinstance(pressed, Message)]
        edited = asyncio.gather(*edits)
        try:
            for reply in replies:
                if not reply.edit:
                    await self.send(chat.id, reply)
        finally:
            async with on_the_network():
                await edited

    async def edit(self, message: Message, reply: Reply) -> None:
        assert self.app is not None
        where: dict[str, Any] = {"chat_id": message.chat_id,
                                 "message_id": message.message_id,
                                 "reply_markup": keyboard(reply)}
        if reply.text:
            where |= {"text": split_text(to_html(reply))[0], "parse_mode": ParseMode.HTML}
        method = "editMessageText" if reply.text else "editMessageReplyMarkup"
        try:
            await with_retries(partial(post, self.app.bot, method, where), idempotent=True)
        except BadRequest as err:
            if "not modified" not in err.message:
                raise  # a double tap asks for what the message already shows: done

    async def send(self, chat_id: int, reply: Reply) -> None:
        assert self.app is not None
        bot = self.app.bot
        if reply.kind is ReplyKind.FILE:
            await with_retries(lambda: bot.send_document(
                chat_id, InputFile(reply.data, filename=reply.filename),
                caption=reply.text[:1024] or None), idempotent=False)
            return
        if reply.kind is ReplyKind.PHOTO:
            await with_retries(lambda: bot.send_photo(
                chat_id, InputFile(reply.data, filename=reply.filename),
                caption=reply.text[:1024] or None), idempotent=False)
            return
        chunks = split_text(to_html(reply))
        for n, chunk in enumerate(chunks):
            markup = keyboard(reply) if n == len(chunks) - 1 else None
            params: dict[str, Any] = {"chat_id": chat_id, "text": chunk,
                                      "parse_mode": ParseMode.HTML, "reply_markup": markup}
            await with_retries(partial(post, bot, "sendMessage", params), idempotent=False)

    # --- pushes and errors ------------------------------------------------------------

    async def on_tick(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """JobQueue: ask the assistant what is due and queue it."""
        assert self.assistant is not None
        for push in await self.assistant.tick(datetime.now(UTC)):
            self.pushes.queue.put_nowait(push)

    async def send_push(self, push: Push) -> None:
        assert self.assistant is not None
        try:
            await self.send(push.user_id, push.reply)
        except Forbidden:  # blocked the bot, or deleted the account
            await self.assistant.store.set_active(push.user_id, False)
            log.info("a person blocked the bot; marked inactive")

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
        if isinstance(update, Update) and update.effective_chat is not None:
            lang = "zh" if (update.effective_user and (update.effective_user.language_code or "")
                            .startswith("zh")) else "en"
            text = "抱歉，出了点问题，请稍后再试。" if lang == "zh" else "Sorry, something went wrong - please try again."
            try:
                await context.bot.send_message(update.effective_chat.id, text)
            except Exception:
                log.warning("could not tell the person about the error")

    def run(self) -> int:
        """Run until SIGINT / SIGTERM; 0 on a clean stop, 1 on a conflict, 2 on a bad token."""
        self.app = self.application()
        try:
            if self.settings.webhook_url:
                return asyncio.run(self.run_webhook())
            try:
                self.app.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False,
                                     poll_interval=POLL_PAUSE)
            finally:
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
        """PTB shuts down only a bot whose start-up succeeded; a failed one (say, a
        rejected token) leaves the HTTP clients open."""
        await asyncio.gather(*(c.shutdown() for c in self.clients))

    async def run_webhook(self) -> int:
        """Webhook mode: our own small tornado server, so it can also answer /healthz."""
        import tornado.web

        app = self.application() if self.app is None else self.app
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
            def get(self) -> None:
                ok = bot.assistant is not None
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
    setup_logging(settings.log_level, [settings.token, settings.webhook_secret])
    return TelegramBot(settings).run()
