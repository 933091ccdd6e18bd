"""A fake Telegram Bot API server for end-to-end tests with python-telegram-bot.

    async with FakeBotApi(TOKEN) as api:
        bot = telegram.Bot(TOKEN, base_url=api.url, base_file_url=api.file_url)
        await api.send_text(42, "/start")
        await api.wait_for_call("sendMessage")
        assert api.sent_texts(42) == [...]

PTB posts urlencoded forms (multipart when uploading) whose values are all strings; non-string
values (chat_id, reply_markup, allowed_updates) are JSON-encoded. They are decoded here, so
`Call.params` holds ints, dicts and lists as Telegram would see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import itertools
import json
import mimetypes
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
Files = dict[str, tuple[str, bytes]]  # multipart part name -> (filename, content)
BOT_USER: JSON = {"id": 777, "is_bot": True, "first_name": "Coach", "username": "CoachTestBot"}
CONFLICT = ("Conflict: terminated by other getUpdates request; "
            "make sure that only one bot instance is running")
FAULTS: dict[str, tuple[int, str]] = {
    "400": (400, "Bad Request: chat not found"),
    "401": (401, "Unauthorized"),
    "403": (403, "Forbidden: bot was blocked by the user"),
    "409": (409, CONFLICT),
    "429": (429, "Too Many Requests: retry after {n}"),
    "500": (500, "Internal Server Error"),
    "502": (502, "Bad Gateway"),
    "timeout": (0, ""),  # carried out, but answered only after a delay (the client gave up)
}
# Parameters kept as strings even when they look like JSON ("123", "true").
STRING_PARAMS = frozenset({"text", "caption", "callback_query_id", "url", "secret_token",
                           "parse_mode", "action", "language_code", "inline_message_id",
                           "document", "photo", "ip_address"})
HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code",
                       "pre", "span", "tg-spoiler", "tg-emoji", "blockquote"})
TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>")
COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")


@dataclass
class Call:
    """One request the fake received; `time` is time.monotonic() on arrival."""

    method: str
    params: JSON
    files: Files
    time: float
    fault: str | None = None  # the injected fault kind, if any
    response: JSON | None = None  # the JSON body answered

    @property
    def ok(self) -> bool:
        """Telegram carried it out (true for a "timeout" fault too: done, answer lost)."""
        return bool(self.response and self.response.get("ok"))


@dataclass
class _Fault:
    kind: str
    retry_after: int
    delay: float | None
    description: str | None


@dataclass
class _Hold:
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    carry_out: bool = True


@dataclass
class _Queued:
    update: JSON
    forced: bool = False  # a re-sent update_id: delivered once more even if below the offset


@dataclass
class _ApiError(Exception):
    code: int
    description: str
    parameters: JSON = field(default_factory=dict)


def _decode(key: str, value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        value = value.decode()
    if not isinstance(value, str) or key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _check_text(text: str, parse_mode: str | None) -> None:
    """Reject what Telegram rejects: malformed HTML, empty or over-long text (UTF-16 units)."""
    mode, plain = (parse_mode or "").upper(), text
    if mode == "HTML":
        stack: list[str] = []
        pos = 0
        for m in TAG.finditer(text):
            closing, name = m.group(1), m.group(2).lower()
            if "<" in text[pos:m.start()] or name not in HTML_TAGS:
                raise _ApiError(400, "Bad Request: can't parse entities: Unsupported start tag "
                                     f'"{name}" at byte offset {m.start()}')
            if closing and (not stack or stack.pop() != name):
                raise _ApiError(400, "Bad Request: can't parse entities: Unmatched end tag "
                                     f'"{name}" at byte offset {m.start()}')
            if not closing:
                stack.append(name)
            pos = m.end()
        if "<" in text[pos:] or stack:
            raise _ApiError(400, "Bad Request: can't parse entities: Can't find end of the entity")
        plain = html.unescape(TAG.sub("", text))
    if not plain.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    if not mode.startswith("MARKDOWN") and len(plain.encode("utf-16-le")) // 2 > 4096:
        raise _ApiError(400, "Bad Request: message is too long")


class FakeBotApi:
    """An in-process Telegram Bot API on 127.0.0.1, on a random free port."""

    def __init__(self, token: str = "123456:TEST-TOKEN", *, timeout_delay: float = 30.0,
                 latency: float = 0.0) -> None:
        self.token = token
        self.timeout_delay = timeout_delay  # how long a "timeout" fault holds its answer
        self.latency = latency  # seconds added to every answer: a network round trip
        self._in_flight: Counter[str] = Counter()
        self.peak_in_flight: Counter[str] = Counter()  # most calls of a method open at once
        self.port = 0
        self.webhook: JSON = {}  # the last setWebhook params (url, secret_token, ...)
        self.commands: dict[str, list[JSON]] = {}  # setMyCommands by language_code ("" = all)
        self.allowed_updates: list[str] | None = None
        # Webhook mode: each new update is handed to this (which POSTs it to a webhook, as
        # Telegram does) instead of waiting for getUpdates.
        self.deliver: Callable[[JSON], Awaitable[None]] | None = None
        # sendMessage calls carried out, by chat: {"params": ..., "message": ...} (the
        # simulated people of tests and benches wait on these, see `next_message`)
        self.inbox: defaultdict[int, list[JSON]] = defaultdict(list)
        self._arrived: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self._calls: list[Call] = []
        self._queue: list[_Queued] = []
        self._last_update_id = 1000
        self._msg_ids: defaultdict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1))
        self._messages: dict[tuple[int, int], JSON] = {}  # (chat_id, message_id) -> message
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._seq = itertools.count(1)  # file and callback query ids
        self._callback_ids: set[str] = set()
        self._faults: defaultdict[str, deque[_Fault]] = defaultdict(deque)
        self._holds: dict[str, _Hold] = {}
        self.held: Counter[str] = Counter()  # calls waiting at a hold now, by method
        self._changed = asyncio.Event()
        self._closed = asyncio.Event()
        self._poll_generation = 0
        self._runner: web.AppRunner | None = None
        handlers: dict[str, Callable[[JSON, Files], Any]] = {
            "getMe": self._get_me, "getUpdates": self._get_updates,
            "sendMessage": self._send_message, "editMessageText": self._edit_text,
            "editMessageReplyMarkup": lambda p, f: self._edit(p, None),
            "answerCallbackQuery": self._answer_callback, "sendDocument": self._send_document,
            "sendPhoto": self._send_photo, "sendChatAction": self._chat_action,
            "setMyCommands": self._set_commands, "getMyCommands": self._get_commands,
            "deleteMyCommands": self._delete_commands, "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook, "getWebhookInfo": self._webhook_info,
        }
        self._methods = {name.lower(): (name, fn) for name, fn in handlers.items()}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._closed.clear()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for method in list(self._holds):
            self.release(method, carry_out=False)
        self._closed.set()  # ends long polls and pending "timeout" faults at once
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- test side: updates from users ----------------------------------------------------
    async def send_text(self, user_id: int, text: str, chat_id: int | None = None,
                        chat_type: str = "private", first_name: str = "Tester",
                        language_code: str = "zh-hans",
                        entities: list[JSON] | None = None) -> int:
        user = self._user(user_id, first_name, language_code)
        msg: JSON = {"text": text}
        if entities is None and (m := COMMAND.match(text)):
            entities = [{"type": "bot_command", "offset": 0, "length": len(m.group())}]
        if entities:
            msg["entities"] = entities
        return await self._enqueue({"message": self._user_message(user, chat_id, chat_type, msg)})

    async def send_callback(self, user_id: int, data: str, message_id: int,
                            chat_id: int | None = None) -> str:
        """Press a button on a message the bot sent; returns the callback_query id."""
        chat_id = user_id if chat_id is None else chat_id
        if (msg := self._messages.get((chat_id, message_id))) is None:
            known = sorted(mid for cid, mid in self._messages if cid == chat_id)
            raise KeyError(f"no message {message_id} in chat {chat_id}; known ids: {known}")
        query_id = str(4_000_000_000 + next(self._seq))
        self._callback_ids.add(query_id)
        await self._enqueue({"callback_query": {
            "id": query_id, "from": self._user(user_id), "message": dict(msg),
            "chat_instance": str(abs(chat_id) * 31), "data": data}})
        return query_id

    async def send_sticker(self, user_id: int, chat_id: int | None = None) -> int:
        sticker = {**self._file(b"RIFF-WEBP"), "width": 512, "height": 512, "emoji": "👍",
                   "is_animated": False, "is_video": False, "type": "regular"}
        msg = self._user_message(self._user(user_id), chat_id, "private", {"sticker": sticker})
        return await self._enqueue({"message": msg})

    async def send_photo(self, user_id: int, caption: str | None = None,
                         chat_id: int | None = None) -> int:
        content: JSON = {"photo": self._photo(b"\xff\xd8\xff\xe0JFIF")}
        if caption is not None:
            content["caption"] = caption
        msg = self._user_message(self._user(user_id), chat_id, "private", content)
        return await self._enqueue({"message": msg})

    async def send_update(self, raw: JSON) -> int:
        """Queue any raw update. A given old update_id is delivered once more (a duplicate)."""
        if "update_id" not in raw:
            return await self._enqueue(raw)
        update_id = int(raw["update_id"])
        if self.deliver is not None:
            self._last_update_id = max(self._last_update_id, update_id)
            await self.deliver({**raw, "update_id": update_id})
            return update_id
        self._queue.append(_Queued({**raw, "update_id": update_id},
                                   forced=update_id <= self._last_update_id))
        self._last_update_id = max(self._last_update_id, update_id)
        self._notify()
        return update_id

    # ---- test side: inspection and faults -------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self._calls if method is None or c.method == method]

    def sent_texts(self, chat_id: int) -> list[str]:
        """Texts of the sendMessage calls Telegram carried out for `chat_id`, in order."""
        return [c.params.get("text", "") for c in self.calls("sendMessage")
                if c.ok and c.params.get("chat_id") == chat_id]

    async def next_message(self, chat_id: int, seen: int, timeout: float = 60) -> JSON:
        """The chat's sendMessage number `seen` (from 0), waiting for it if need be."""
        while len(self.inbox[chat_id]) <= seen:
            self._arrived[chat_id].clear()
            await asyncio.wait_for(self._arrived[chat_id].wait(), timeout)
        return self.inbox[chat_id][seen]

    def message(self, chat_id: int, message_id: int) -> JSON:
        """A message as it stands now (after edits)."""
        return self._messages[(chat_id, message_id)]

    async def wait_for(self, predicate: Callable[[list[Call]], bool],
                       timeout: float = 30) -> list[Call]:
        deadline = time.monotonic() + timeout
        while not predicate(calls := list(self._calls)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s; calls:\n{self.dump()}")
            await asyncio.sleep(0.01)
        return calls

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 30) -> list[Call]:
        """Wait until `method` was called `count` times (failed calls count too)."""
        await self.wait_for(lambda cs: sum(c.method == method for c in cs) >= count, timeout)
        return self.calls(method)

    def fail_next(self, method: str, kind: str, times: int = 1, retry_after: int = 1,
                  delay: float | None = None, description: str | None = None) -> None:
        """Make the next `times` calls of `method` fail with `kind`, one of FAULTS."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(FAULTS)}")
        self._faults[method.lower()].extend(
            _Fault(kind, retry_after, delay, description) for _ in range(times))

    def hold(self, method: str) -> None:
        """Keep calls of `method` waiting, not carried out, until `release`: a request that
        left the bot but was never done (the bot may be killed meanwhile)."""
        self._holds.setdefault(method.lower(), _Hold())

    def release(self, method: str, carry_out: bool = True) -> None:
        """Let held calls of `method` go on, or fail them (500) without carrying them out."""
        hold = self._holds.pop(method.lower(), None)
        if hold is not None:
            hold.carry_out = carry_out
            hold.gate.set()

    def dump(self) -> str:
        """The calls, one a line; plain getUpdates polls are only counted."""
        t0 = self._calls[0].time if self._calls else 0.0
        quiet = [c.method == "getUpdates" and c.ok and not c.fault for c in self._calls]
        return "\n".join([
            *(f"{c.time - t0:8.3f}s {c.method} {json.dumps(c.params, ensure_ascii=False)[:300]}"
              + (f" files={sorted(c.files)}" if c.files else "")
              + (f" fault={c.fault}" if c.fault else "")
              + ("" if c.ok else f" -> {(c.response or {}).get('description')}")
              for c, q in zip(self._calls, quiet, strict=True) if not q),
            f"(+{sum(quiet)} getUpdates polls)"])

    # ---- HTTP -----------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        canonical, handler = self._methods.get(request.match_info["method"].lower(),
                                               (request.match_info["method"], None))
        self._in_flight[canonical] += 1
        self.peak_in_flight[canonical] = max(self.peak_in_flight[canonical],
                                             self._in_flight[canonical])
        try:
            return await self._answer(request, canonical, handler)
        finally:
            self._in_flight[canonical] -= 1

    async def _answer(self, request: web.Request, canonical: str,
                      handler: Callable[[JSON, Files], Any] | None) -> web.Response:
        call = Call(canonical, *await self._read_params(request), time.monotonic())
        if self.latency:
            await asyncio.sleep(self.latency)
        self._calls.append(call)
        if (hold := self._holds.get(canonical.lower())) is not None:
            self.held[canonical] += 1
            await hold.gate.wait()
            self.held[canonical] -= 1
            if not hold.carry_out:
                call.fault = "dropped"
                call.response = {"ok": False, "error_code": 500,
                                 "description": "Internal Server Error"}
                return web.json_response(call.response, status=500)
        fault = None
        try:
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            if handler is None:
                raise _ApiError(404, "Not Found")
            if self._faults[canonical.lower()]:
                fault = self._faults[canonical.lower()].popleft()
                call.fault = fault.kind
            if fault and fault.kind != "timeout":
                code, text = FAULTS[fault.kind]
                raise _ApiError(code, fault.description or text.format(n=fault.retry_after),
                                {"retry_after": fault.retry_after} if code == 429 else {})
            result = handler(call.params, call.files)
            result = await result if inspect.isawaitable(result) else result
            call.response = {"ok": True, "result": result}
        except _ApiError as err:
            call.response = {"ok": False, "error_code": err.code, "description": err.description}
            if err.parameters:
                call.response["parameters"] = err.parameters
            return web.json_response(call.response, status=err.code)
        if fault:  # "timeout": done, but the answer comes after the client has given up
            with contextlib.suppress(TimeoutError):
                delay = self.timeout_delay if fault.delay is None else fault.delay
                await asyncio.wait_for(self._closed.wait(), delay)
        return web.json_response(call.response)

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[JSON, Files]:
        raw: JSON = dict(request.query)
        files: Files = {}
        if request.can_read_body and request.content_type == "application/json":
            body = await request.json()
            raw.update(body if isinstance(body, dict) else {})
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    raw[key] = value
        return {k: _decode(k, v) for k, v in raw.items()}, files

    # ---- Bot API methods ------------------------------------------------------------------
    def _get_me(self, params: JSON, files: Files) -> JSON:
        return {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _get_updates(self, params: JSON, files: Files) -> list[JSON]:
        if self.webhook.get("url"):
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                 "active; use deleteWebhook to delete the webhook first")
        offset, limit = params.get("offset"), int(params.get("limit") or 100)
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"])
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting now ends with 409, as on Telegram
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            if generation != self._poll_generation:
                raise _ApiError(409, CONFLICT)
            if offset is not None:  # confirms (drops) every update below the offset
                self._queue = [q for q in self._queue
                               if q.forced or q.update["update_id"] >= int(offset)]
            wanted = self.allowed_updates
            ready = sorted((q for q in self._queue if not wanted or _kind(q.update) in wanted),
                           key=lambda q: q.update["update_id"])[:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closed.is_set():
                break
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
        for q in ready:
            q.forced = False
        return [q.update for q in ready]

    def _send_message(self, params: JSON, files: Files) -> JSON:
        text = str(params.get("text") or "")
        _check_text(text, params.get("parse_mode"))
        content = {"text": text, **_inline_markup(params)}
        if params.get("entities"):
            content["entities"] = params["entities"]
        message = self._bot_message(params, content)
        chat = self._chat_id(params)
        self.inbox[chat].append({"params": params, "message": message})
        self._arrived[chat].set()
        return message

    def _edit_text(self, params: JSON, files: Files) -> JSON | bool:
        _check_text(str(params.get("text") or ""), params.get("parse_mode"))
        return self._edit(params, str(params["text"]))

    def _edit(self, params: JSON, text: str | None) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        msg = self._messages.get((self._chat_id(params), int(params.get("message_id") or 0)))
        if msg is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        new = {"text": msg.get("text") if text is None else text, **_inline_markup(params)}
        if all(msg.get(k) == new.get(k) for k in ("text", "reply_markup")):
            raise _ApiError(400, "Bad Request: message is not modified: specified new message "
                                 "content and reply markup are exactly the same as a current "
                                 "content and reply markup of the message")
        msg.pop("reply_markup", None)  # an edit without reply_markup removes the keyboard
        msg.update(new, edit_date=int(time.time()))
        return dict(msg)

    def _chat_action(self, params: JSON, files: Files) -> bool:
        self._chat_id(params)
        return True

    def _answer_callback(self, params: JSON, files: Files) -> bool:
        if str(params.get("callback_query_id")) not in self._callback_ids:
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired "
                                 "or query ID is invalid")
        return True

    def _send_document(self, params: JSON, files: Files) -> JSON:
        name, data = _upload(params, files, "document")
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        doc = {**self._file(data), "file_name": name, "mime_type": mime}
        return self._bot_message(params, {"document": doc, **_caption(params)})

    def _send_photo(self, params: JSON, files: Files) -> JSON:
        photo = self._photo(_upload(params, files, "photo")[1])
        return self._bot_message(params, {"photo": photo, **_caption(params)})

    def _set_commands(self, params: JSON, files: Files) -> bool:
        self.commands[str(params.get("language_code") or "")] = list(params["commands"])
        return True

    def _get_commands(self, params: JSON, files: Files) -> list[JSON]:
        return self.commands.get(str(params.get("language_code") or ""), [])

    def _delete_commands(self, params: JSON, files: Files) -> bool:
        self.commands.pop(str(params.get("language_code") or ""), None)
        return True

    def _set_webhook(self, params: JSON, files: Files) -> bool:
        if not str(params.get("url") or "").startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = dict(params)
        return True

    def _delete_webhook(self, params: JSON, files: Files) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _webhook_info(self, params: JSON, files: Files) -> JSON:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._queue)}

    # ---- helpers --------------------------------------------------------------------------
    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _enqueue(self, update: JSON) -> int:
        self._last_update_id += 1
        update_id = self._last_update_id
        if self.deliver is not None:
            await self.deliver({"update_id": update_id, **update})
            return update_id
        self._queue.append(_Queued({"update_id": update_id, **update}))
        self._notify()
        return update_id

    def _user(self, user_id: int, first_name: str | None = None,
              language_code: str | None = None) -> JSON:
        user = self._users.setdefault(user_id, {"id": user_id, "is_bot": False,
                                                "first_name": "Tester", "language_code": "zh-hans"})
        if first_name:
            user["first_name"] = first_name
        if language_code:
            user["language_code"] = language_code
        return dict(user)

    def _user_message(self, user: JSON, chat_id: int | None, chat_type: str,
                      content: JSON) -> JSON:
        if chat_type == "private" and chat_id is not None and chat_id < 0:
            chat_type = "group"
        if chat_type == "private":
            chat = {"id": user["id"], "first_name": user["first_name"], "type": "private"}
        else:
            cid = -abs(user["id"]) if chat_id is None else chat_id
            chat = {"id": cid, "title": f"Test group {abs(cid)}", "type": chat_type}
        self._chats[chat["id"]] = chat
        return self._new_message(chat["id"], user, content)

    def _bot_message(self, params: JSON, content: JSON) -> JSON:
        return self._new_message(self._chat_id(params), BOT_USER, content)

    def _new_message(self, chat_id: int, sender: JSON, content: JSON) -> JSON:
        chat = self._chats.get(chat_id) or (
            {"id": chat_id, "first_name": "Tester", "type": "private"} if chat_id > 0
            else {"id": chat_id, "title": f"Test group {-chat_id}", "type": "group"})
        msg = {"message_id": next(self._msg_ids[chat_id]), "from": dict(sender),
               "chat": dict(chat), "date": int(time.time()), **content}
        self._messages[(chat_id, msg["message_id"])] = msg
        return dict(msg)

    @staticmethod
    def _chat_id(params: JSON) -> int:
        try:
            return int(params["chat_id"])
        except KeyError:
            raise _ApiError(400, "Bad Request: chat_id is empty") from None
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: chat not found") from None

    def _file(self, data: bytes) -> JSON:
        n = next(self._seq)
        return {"file_id": f"BQACAgUAAxkBAAI{n:06d}", "file_unique_id": f"AgAD{n:06d}",
                "file_size": len(data)}

    def _photo(self, data: bytes) -> list[JSON]:
        return [{**self._file(data), "width": 90, "height": 67},
                {**self._file(data), "width": 800, "height": 600}]


def _kind(update: JSON) -> str:
    return next((k for k in update if k != "update_id"), "")


def _inline_markup(params: JSON) -> JSON:
    """Telegram echoes reply_markup in the Message only for inline keyboards."""
    markup = params.get("reply_markup")
    inline = isinstance(markup, dict) and "inline_keyboard" in markup
    return {"reply_markup": markup} if inline else {}


def _caption(params: JSON) -> JSON:
    return {"caption": params["caption"]} if params.get("caption") else {}


def _upload(params: JSON, files: Files, key: str) -> tuple[str, bytes]:
    """The (filename, bytes) sent for `key`: an upload, an attach:// part, or a file_id/URL."""
    ref = params.get(key)
    if isinstance(ref, str) and ref.startswith("attach://") and ref[9:] in files:
        return files[ref[9:]]
    if key in files:
        return files[key]
    if isinstance(ref, str) and ref:
        return ref.rsplit("/", 1)[-1], b""
    raise _ApiError(400, f"Bad Request: there is no {key} in the request")
