"""Telegram <-> the assistant: an `Update` becomes an `Inbound`, each `Reply` Bot API calls.

Thin by design: every decision is the assistant's. Sends and edits go through one
retry layer (`Retry`); running the bot (Application, polling, webhook, pushes,
errors) is `telegram_run`'s.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar

import httpx
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBDeprecationWarning

from bot.i18n import t
from bot.models import Inbound, Lang, Reply, ReplyKind

T = TypeVar("T")
log = logging.getLogger(__name__)
# The command menu Telegram shows, by the person's app language (English for the rest).
COMMANDS = {
    "en": [("drill", "2-3 minute drill"), ("due", "what I must refresh"),
           ("progress", "my progress"), ("topics", "browse cards"), ("help", "help"),
           ("remind", "daily reminder time"), ("lang", "language zh / en")],
    "zh": [("drill", "2–3 分钟小测"), ("due", "我该复训的内容"), ("progress", "我的进度"),
           ("topics", "浏览卡片"), ("help", "帮助"), ("remind", "每日提醒时间"),
           ("lang", "切换语言")],
}


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


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label[:64], callback_data=b.payload)
                                  for b in row] for row in reply.buttons])


def to_inbound(update: Update, bot_name: str) -> Inbound | None:
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
    mention = f"@{bot_name}".lower()
    head = text.split(maxsplit=1)[0].lower() if text else ""
    if head.startswith("/") and "@" in head and not head.endswith(mention):
        return None  # a command for another bot (`/start@OtherBot CODE`), in any chat
    if not private:
        if not text or not (text.startswith("/") or mention in text.lower()):
            return None
        text = re.sub(re.escape(mention), "", text, flags=re.IGNORECASE).strip()
    return Inbound(user.id, name, text=text, lang_hint=hint, private=private)


def error_text(update: object) -> tuple[int, str] | None:
    """Where to say that handling `update` failed, and i18n's words for it."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return None
    user = update.effective_user
    zh = user is not None and (user.language_code or "").startswith("zh")
    return update.effective_chat.id, t("error", Lang.ZH if zh else Lang.EN)


def retry_after(err: RetryAfter) -> float:
    """Seconds Telegram asks us to wait. PTB 22 warns on reading the attribute as long as
    it may still be an int (it becomes a timedelta in v23); either way the value is right."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = err.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def nothing_sent(err: TimedOut) -> bool:
    """A time-out while connecting or waiting for a free connection: the request never left."""
    return isinstance(err.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)


@dataclass(frozen=True)
class Retry:
    """The one retry layer of every Bot API call the bot makes (PTB retries nothing itself).

    A call is tried at most `attempts` times, and the waits between tries add up to at
    most `budget` seconds: a 429 waits Telegram's `retry_after`; 5xx and connection
    errors back off (`backoff`). When the next wait would pass the budget (a 429 asking
    for more than 30 s, say), it gives up at once and the error reaches the error
    handler, which tells the person. Defaults: 4 tries, 30 s of waiting, so a call is
    over within 30 s plus 4 times the client's time-outs.

    A time-out is retried only for idempotent calls (edits, button answers), or when
    nothing was sent: a timed-out send may already have been delivered, and sending it
    again would show it twice. A bad request (400, 403, a wrong token) is never retried.
    """

    attempts: int = 4
    budget: float = 30.0
    backoff: tuple[float, ...] = (0.5, 1.0, 2.0)

    async def __call__(self, call: Callable[[], Awaitable[T]], idempotent: bool) -> T:
        waited = 0.0
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except TelegramError as err:
                wait = self.wait(err, attempt, idempotent)
                if wait is None or attempt == self.attempts or waited + wait > self.budget:
                    raise
            waited += wait
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def wait(self, err: TelegramError, attempt: int, idempotent: bool) -> float | None:
        """Seconds to wait before the next try, or None when trying again cannot help."""
        if isinstance(err, RetryAfter):
            return retry_after(err)
        if isinstance(err, BadRequest):  # the request itself is wrong
            return None
        if isinstance(err, TimedOut) and not (idempotent or nothing_sent(err)):
            return None
        if isinstance(err, NetworkError):  # 5xx, a refused or dropped connection, a time-out
            return self.backoff[min(attempt, len(self.backoff)) - 1]
        return None  # 403 Forbidden, a wrong token, a migrated chat


class Replies:
    """Renders the assistant's replies as Bot API calls, each through `retry`."""

    def __init__(self, bot: Bot, retry: Retry) -> None:
        self.bot = bot
        self.retry = retry

    async def render(self, update: Update, replies: list[Reply]) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        pressed = update.callback_query.message if update.callback_query else None
        # Edits change the pressed message, sends add new ones: the two can overlap,
        # while new messages keep their order.
        edited = asyncio.gather(*(self.edit(pressed, r) for r in replies
                                  if r.edit and isinstance(pressed, Message)))
        try:
            for reply in replies:
                if not reply.edit:
                    await self.send(chat.id, reply)
        finally:
            await edited

    async def edit(self, message: Message, reply: Reply) -> None:
        chat, mid, markup = message.chat_id, message.message_id, keyboard(reply)
        call: Callable[[], Awaitable[object]]
        if reply.text:
            call = partial(self.bot.edit_message_text, split_text(to_html(reply))[0], chat, mid,
                           parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            call = partial(self.bot.edit_message_reply_markup, chat, mid, reply_markup=markup)
        try:
            await self.retry(call, idempotent=True)
        except BadRequest as err:
            if "not modified" not in err.message:
                raise  # a double tap asks for what the message already shows: done

    async def send(self, chat_id: int, reply: Reply) -> None:
        if reply.kind in (ReplyKind.FILE, ReplyKind.PHOTO):
            method = self.bot.send_document if reply.kind is ReplyKind.FILE else self.bot.send_photo
            upload = InputFile(reply.data, filename=reply.filename)
            await self.retry(partial(method, chat_id, upload, caption=reply.text[:1024] or None),
                             idempotent=False)
            return
        chunks = split_text(to_html(reply))
        for n, chunk in enumerate(chunks):
            markup = keyboard(reply) if n == len(chunks) - 1 else None
            await self.retry(partial(self.bot.send_message, chat_id, chunk,
                                     parse_mode=ParseMode.HTML, reply_markup=markup),
                             idempotent=False)

    async def answer(self, update: Update) -> None:
        """Answer a button press (stops the button's spinner). Telegram refuses an answer
        after about 15 s (a press handled after a restart): the spinner has stopped by
        itself, the press is handled as usual, and that is no error."""
        if update.callback_query is None:
            return
        try:
            await self.retry(update.callback_query.answer, idempotent=True)
        except BadRequest as err:
            if not expired_query(err):
                raise
            log.info("a button press was answered too late for Telegram: %s", err.message)


def expired_query(err: BadRequest) -> bool:
    """Telegram's 400 for an answer to a callback query it no longer knows."""
    text = err.message.lower()
    return "query is too old" in text or "query id is invalid" in text
