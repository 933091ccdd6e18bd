"""A fake Telegram Bot API server for end-to-end tests with python-telegram-bot.

    async with FakeBotApi(TOKEN) as api:
        bot = telegram.Bot(TOKEN, base_url=api.url, base_file_url=api.file_url)
        await api.send_text(42, "/start")
        await api.wait_for_call("sendMessage")
        assert api.sent_texts(42) == [...]

PTB posts urlencoded forms (multipart when uploading); every value is a string, and
non-string values (reply_markup, chat_id, allowed_updates) are JSON-encoded. Those are
decoded here, so `Call.params` holds ints, dicts and lists as Telegram would see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import mimetypes
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
Files = dict[str, tuple[str, bytes]]
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
    "timeout": (0, ""),  # processed, then answered only after a delay (the client gives up)
}
# Parameters that stay strings even when they look like JSON ("123", "true").
STRING_PARAMS = frozenset({
    "text", "caption", "callback_query_id", "url", "secret_token", "parse_mode", "action",
    "ip_address", "language_code", "inline_message_id", "file_id", "title", "description",
    "short_description", "name", "query", "emoji", "document", "photo", "sticker", "thumbnail",
})
HTML_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code",
                       "pre", "span", "tg-spoiler", "tg-emoji", "blockquote"})
TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>")
COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")


@dataclass
class Call:
    """One request the fake received. `time` is time.monotonic() on arrival."""

    method: str
    params: JSON
    files: Files
    time: float
    fault: str | None = None  # injected fault kind, if any
    response: JSON | None = None  # the JSON body answered

    @property
    def ok(self) -> bool:
        """Telegram carried it out (also true for a "timeout" fault: processed, answer lost)."""
        return bool(self.response and self.response.get("ok"))


@dataclass
class _Fault:
    kind: str
    retry_after: int
    delay: float | None
    description: str | None


@dataclass
class _Queued:
    update: JSON
    forced: bool = False  # a re-sent update_id: delivered once even if below the offset


@dataclass
class _ApiError(Exception):
    code: int
    description: str
    parameters: JSON = field(default_factory=dict)

    def response(self) -> web.Response:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.code)


def _decode(key: str, value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        value = value.decode()
    if not isinstance(value, str) or key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _check_text(text: str, parse_mode: str | None, limit: int = 4096) -> None:
    """Reject what Telegram rejects: bad HTML, empty or over-long text (UTF-16 units)."""
    plain = text
    if (parse_mode or "").upper() == "HTML":
        stack: list[str] = []
        pos = 0
        for m in TAG.finditer(text):
            closing, name = m.group(1), m.group(2).lower()
            if "<" in text[pos:m.start()] or name not in HTML_TAGS:
                raise _ApiError(400, f'Bad Request: can\'t parse entities: Unsupported start '
                                     f'tag "{name}" at byte offset {m.start()}')
            if closing and (not stack or stack.pop() != name):
                raise _ApiError(400, f'Bad Request: can\'t parse entities: Unmatched end tag '
                                     f'at byte offset {m.start()}, expected "</{name}>"')
            if not closing:
                stack.append(name)
            pos = m.end()
        if "<" in text[pos:] or stack:
            raise _ApiError(400, "Bad Request: can't parse entities: Can't find end tag")
        plain = html.unescape(TAG.sub("", text))
    if not plain.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    if not (parse_mode or "").upper().startswith("MARKDOWN") and len(
            plain.encode("utf-16-le")) // 2 > limit:
        raise _ApiError(400, "Bad Request: message is too long")


class FakeBotApi:
    """An in-process Telegram Bot API on 127.0.0.1 with a random free port."""

    def __init__(self, token: str = "123456:TEST-TOKEN", *, timeout_delay: float = 30.0) -> None:
        self.token = token
        self.timeout_delay = timeout_delay
        self.port = 0
        self.webhook: JSON = {}  # last setWebhook params (url, secret_token, ...)
        self.allowed_updates: list[str] | None = None
        self.my_commands: dict[tuple[str, str], list[JSON]] = {}  # (scope json, lang) -> list
        self._calls: list[Call] = []
        self._queue: list[_Queued] = []
        self._last_update_id = 1000
        self._msg_ids: defaultdict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1))
        self._messages: dict[tuple[int, int], JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._callback_ids: set[str] = set()
        self._faults: defaultdict[str, deque[_Fault]] = defaultdict(deque)
        self._changed = asyncio.Event()
        self._closed = asyncio.Event()
        self._poll_generation = 0
        self._runner: web.AppRunner | None = None
        handlers: dict[str, Callable[[JSON, Files], Awaitable[Any]]] = {
            "getMe": self._get_me, "getUpdates": self._get_updates,
            "sendMessage": self._send_message, "editMessageText": self._edit_text,
            "editMessageReplyMarkup": self._edit_markup, "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback, "sendDocument": self._send_document,
            "sendPhoto": self._send_photo, "sendChatAction": self._true,
            "setMyCommands": self._set_commands, "getMyCommands": self._get_commands,
            "deleteMyCommands": self._delete_commands, "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook, "getWebhookInfo": self._webhook_info,
            "getFile": self._get_file,
        }
        self._methods = {name.lower(): (name, fn) for name, fn in handlers.items()}

    # ---- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._closed.clear()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._closed.set()  # wakes long polls and "timeout" faults
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- test side: incoming updates ---------------------------------------------------------
    async def send_text(self, user_id: int, text: str, chat_id: int | None = None,
                        chat_type: str = "private", first_name: str = "Tester",
                        language_code: str = "zh-hans",
                        entities: list[JSON] | None = None) -> int:
        user = self._user(user_id, first_name, language_code)
        chat = self._user_chat(user, chat_id, chat_type)
        msg: JSON = {"text": text}
        if entities is None and (m := COMMAND.match(text)):
            entities = [{"type": "bot_command", "offset": 0, "length": len(m.group())}]
        if entities:
            msg["entities"] = entities
        return self._enqueue({"message": self._new_message(chat["id"], user, msg)})

    async def send_callback(self, user_id: int, data: str, message_id: int,
                            chat_id: int | None = None) -> str:
        chat_id = user_id if chat_id is None else chat_id
        msg = self._messages.get((chat_id, message_id))
        if msg is None:
            known = sorted(k[1] for k in self._messages if k[0] == chat_id)
            raise KeyError(f"no message {message_id} in chat {chat_id}; known ids: {known}")
        query_id = str(4_000_000_000 + next(self._callback_seq))
        self._callback_ids.add(query_id)
        self._enqueue({"callback_query": {
            "id": query_id, "from": self._user(user_id), "message": dict(msg),
            "chat_instance": str(-abs(chat_id) * 31), "data": data}})
        return query_id

    async def send_sticker(self, user_id: int, chat_id: int | None = None) -> int:
        user = self._user(user_id)
        chat = self._user_chat(user, chat_id, "private")
        file = self._store_file("stickers/sticker.webp", b"RIFF\0\0\0\0WEBP")
        sticker = {**file, "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "type": "regular", "emoji": "👍"}
        return self._enqueue({"message": self._new_message(chat["id"], user,
                                                           {"sticker": sticker})})

    async def send_photo(self, user_id: int, caption: str | None = None,
                         chat_id: int | None = None) -> int:
        user = self._user(user_id)
        chat = self._user_chat(user, chat_id, "private")
        msg: JSON = {"photo": self._photo_sizes("photos/photo.jpg", b"\xff\xd8\xff\xe0JFIF")}
        if caption is not None:
            msg["caption"] = caption
        return self._enqueue({"message": self._new_message(chat["id"], user, msg)})

    async def send_update(self, raw: JSON) -> int:
        """Queue any raw update. Keeps a given update_id: an old one is delivered once more."""
        update = {k: v for k, v in raw.items() if k != "update_id"}
        if "update_id" not in raw:
            return self._enqueue(update)
        update_id = int(raw["update_id"])
        forced = update_id <= self._last_update_id
        self._last_update_id = max(self._last_update_id, update_id)
        self._queue.append(_Queued({"update_id": update_id, **update}, forced))
        self._notify()
        return update_id

    # ---- test side: inspection and faults ---------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self._calls if method is None or c.method == method]

    def sent_texts(self, chat_id: int) -> list[str]:
        """Texts of sendMessage calls Telegram carried out for `chat_id`, in order."""
        return [c.params.get("text", "") for c in self.calls("sendMessage")
                if c.ok and c.params.get("chat_id") == chat_id]

    def message(self, chat_id: int, message_id: int) -> JSON:
        """The current state of a message (after edits)."""
        return self._messages[(chat_id, message_id)]

    async def wait_for(self, predicate: Callable[[list[Call]], bool],
                       timeout: float = 10) -> list[Call]:
        deadline = time.monotonic() + timeout
        while not predicate(calls := list(self._calls)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s; calls:\n{self.dump()}")
            await asyncio.sleep(0.01)
        return calls

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 10) -> list[Call]:
        """Wait until `method` was called `count` times (faulted calls count too)."""
        await self.wait_for(lambda cs: sum(c.method == method for c in cs) >= count, timeout)
        return self.calls(method)

    def fail_next(self, method: str, kind: str, times: int = 1, retry_after: int = 1,
                  delay: float | None = None, description: str | None = None) -> None:
        """Make the next `times` calls of `method` fail; kinds: see FAULTS."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(FAULTS)}")
        fault = _Fault(kind, retry_after, delay, description)
        self._faults[method.lower()].extend(fault for _ in range(times))

    def dump(self) -> str:
        t0 = self._calls[0].time if self._calls else 0.0
        polls = sum(c.method == "getUpdates" and c.fault is None for c in self._calls)
        lines = [f"{c.time - t0:8.3f}s {c.method} {json.dumps(c.params, ensure_ascii=False)[:300]}"
                 + (f" files={sorted(c.files)}" if c.files else "")
                 + (f" fault={c.fault}" if c.fault else "")
                 + ("" if c.ok else f" -> {(c.response or {}).get('description')}")
                 for c in self._calls if c.method != "getUpdates" or c.fault]
        return "\n".join([*lines, f"(+{polls} getUpdates polls)"])

    # ---- HTTP --------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        canonical, handler = self._methods.get(name.lower(), (name, None))
        params, files = await self._read_params(request)
        call = Call(canonical, params, files, time.monotonic())
        self._calls.append(call)
        fault = None
        try:
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            if handler is None:
                raise _ApiError(404, "Not Found")
            if self._faults[canonical.lower()]:
                fault = self._faults[canonical.lower()].popleft()
            if fault and fault.kind != "timeout":
                call.fault = fault.kind
                code, text = FAULTS[fault.kind]
                extra = {"retry_after": fault.retry_after} if code == 429 else {}
                raise _ApiError(code, fault.description or text.format(n=fault.retry_after),
                                extra)
            call.response = {"ok": True, "result": await handler(params, files)}
        except _ApiError as err:
            call.response = {"ok": False, "error_code": err.code, "description": err.description}
            return err.response()
        if fault:  # "timeout": done, but the answer comes after the client gave up
            call.fault = fault.kind
            await self._sleep(self.timeout_delay if fault.delay is None else fault.delay)
        return web.json_response(call.response)

    async def _read_params(self, request: web.Request) -> tuple[JSON, Files]:
        raw: JSON = dict(request.query)
        files: Files = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                raw.update(body if isinstance(body, dict) else {})
            else:
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        files[key] = (value.filename, value.file.read())
                    else:
                        raw[key] = value
        return {k: _decode(k, v) for k, v in raw.items()}, files

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            raise web.HTTPUnauthorized()
        for path, data in self._files.values():
            if path == request.match_info["path"]:
                return web.Response(body=data)
        raise web.HTTPNotFound()

    # ---- Bot API methods ---------------------------------------------------------------------
    async def _true(self, params: JSON, files: Files) -> bool:
        self._chat_id(params)
        return True

    async def _get_me(self, params: JSON, files: Files) -> JSON:
        return {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False,
                "has_main_web_app": False}

    async def _get_updates(self, params: JSON, files: Files) -> list[JSON]:
        if self.webhook.get("url"):
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                 "active; use deleteWebhook to delete the webhook first")
        offset, limit = params.get("offset"), int(params.get("limit") or 100)
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"])
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll now ends with 409
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            if generation != self._poll_generation:
                raise _ApiError(409, CONFLICT)
            self._confirm(offset)
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

    async def _send_message(self, params: JSON, files: Files) -> JSON:
        chat_id = self._chat_id(params)
        text = str(params.get("text") or "")
        _check_text(text, params.get("parse_mode"))
        msg: JSON = {"text": text, **self._markup(params)}
        if params.get("entities"):
            msg["entities"] = params["entities"]
        return self._new_message(chat_id, BOT_USER, msg)

    async def _edit_text(self, params: JSON, files: Files) -> JSON | bool:
        text = str(params.get("text") or "")
        _check_text(text, params.get("parse_mode"))
        return self._edit(params, text)

    async def _edit_markup(self, params: JSON, files: Files) -> JSON | bool:
        return self._edit(params, None)

    async def _delete_message(self, params: JSON, files: Files) -> bool:
        key = (self._chat_id(params), int(params.get("message_id") or 0))
        if self._messages.pop(key, None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _answer_callback(self, params: JSON, files: Files) -> bool:
        if str(params.get("callback_query_id")) not in self._callback_ids:
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired "
                                 "or query ID is invalid")
        return True

    async def _send_document(self, params: JSON, files: Files) -> JSON:
        name, data = self._upload(params, files, "document")
        file = self._store_file(f"documents/file_{len(self._files)}_{name}", data)
        doc = {**file, "file_name": name, "mime_type": _mime(name)}
        return self._new_message(self._chat_id(params), BOT_USER,
                                 {"document": doc, **self._caption(params)})

    async def _send_photo(self, params: JSON, files: Files) -> JSON:
        name, data = self._upload(params, files, "photo")
        photo = self._photo_sizes(f"photos/file_{len(self._files)}_{name}", data)
        return self._new_message(self._chat_id(params), BOT_USER,
                                 {"photo": photo, **self._caption(params)})

    async def _set_commands(self, params: JSON, files: Files) -> bool:
        self.my_commands[_scope_key(params)] = list(params.get("commands") or [])
        return True

    async def _get_commands(self, params: JSON, files: Files) -> list[JSON]:
        return self.my_commands.get(_scope_key(params), [])

    async def _delete_commands(self, params: JSON, files: Files) -> bool:
        self.my_commands.pop(_scope_key(params), None)
        return True

    async def _set_webhook(self, params: JSON, files: Files) -> bool:
        if not str(params.get("url") or "").startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = dict(params)
        return True

    async def _delete_webhook(self, params: JSON, files: Files) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _webhook_info(self, params: JSON, files: Files) -> JSON:
        info = {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._queue)}
        for key in ("max_connections", "allowed_updates", "ip_address"):
            if key in self.webhook:
                info[key] = self.webhook[key]
        return info

    async def _get_file(self, params: JSON, files: Files) -> JSON:
        file_id = str(params.get("file_id"))
        if file_id not in self._files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        path, data = self._files[file_id]
        return {"file_id": file_id, "file_unique_id": f"AgAD{file_id[-6:]}",
                "file_size": len(data), "file_path": path}

    # ---- helpers -----------------------------------------------------------------------------
    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _enqueue(self, update: JSON) -> int:
        self._last_update_id += 1
        self._queue.append(_Queued({"update_id": self._last_update_id, **update}))
        self._notify()
        return self._last_update_id

    def _confirm(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:  # Telegram: only the last -offset updates are kept
            self._queue = sorted(self._queue, key=lambda q: q.update["update_id"])[offset:]
        else:
            self._queue = [q for q in self._queue if q.forced or q.update["update_id"] >= offset]

    def _user(self, user_id: int, first_name: str | None = None,
              language_code: str | None = None) -> JSON:
        user = self._users.setdefault(user_id, {"id": user_id, "is_bot": False,
                                                "first_name": "Tester",
                                                "language_code": "zh-hans"})
        if first_name:
            user["first_name"] = first_name
        if language_code:
            user["language_code"] = language_code
        return dict(user)

    def _user_chat(self, user: JSON, chat_id: int | None, chat_type: str) -> JSON:
        if chat_id is not None and chat_id < 0 and chat_type == "private":
            chat_type = "group"
        if chat_type == "private":
            chat = {"id": user["id"], "first_name": user["first_name"], "type": "private"}
        else:
            cid = -abs(user["id"]) if chat_id is None else chat_id
            chat = {"id": cid, "title": f"Test group {abs(cid)}", "type": chat_type}
        self._chats[chat["id"]] = chat
        return chat

    def _chat_id(self, params: JSON) -> int:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _ApiError(400, "Bad Request: chat_id is empty")
        try:
            return int(chat_id)
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: chat not found") from None

    def _chat(self, chat_id: int) -> JSON:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "first_name": "Tester", "type": "private"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "title": f"Test group {abs(chat_id)}", "type": kind}

    def _new_message(self, chat_id: int, sender: JSON, content: JSON) -> JSON:
        msg = {"message_id": next(self._msg_ids[chat_id]), "from": dict(sender),
               "chat": self._chat(chat_id), "date": int(time.time()), **content}
        self._messages[(chat_id, msg["message_id"])] = msg
        return dict(msg)

    def _find_message(self, params: JSON) -> JSON:
        key = (self._chat_id(params), int(params.get("message_id") or 0))
        if key not in self._messages:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return self._messages[key]

    def _edit(self, params: JSON, text: str | None) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        msg = self._find_message(params)
        new = {"text": msg.get("text") if text is None else text, **self._markup(params)}
        if all(msg.get(k) == new.get(k) for k in ("text", "reply_markup")):
            raise _ApiError(400, "Bad Request: message is not modified: specified new message "
                                 "content and reply markup are exactly the same as a current "
                                 "content and reply markup of the message")
        msg.pop("reply_markup", None)  # editing without reply_markup removes the keyboard
        msg.update({**new, "edit_date": int(time.time())})
        return dict(msg)

    @staticmethod
    def _markup(params: JSON) -> JSON:
        markup = params.get("reply_markup")
        ok = isinstance(markup, dict) and "inline_keyboard" in markup  # only these are echoed
        return {"reply_markup": markup} if ok else {}

    @staticmethod
    def _caption(params: JSON) -> JSON:
        return {"caption": params["caption"]} if params.get("caption") else {}

    def _upload(self, params: JSON, files: Files, key: str) -> tuple[str, bytes]:
        ref = params.get(key)
        if isinstance(ref, str) and ref.startswith("attach://") and ref[9:] in files:
            return files[ref[9:]]
        if key in files:
            return files[key]
        if isinstance(ref, str) and ref in self._files:
            path, data = self._files[ref]
            return path.rsplit("/", 1)[-1], data
        if isinstance(ref, str) and ref:  # an URL or unknown file_id: pretend it was fetched
            return ref.rsplit("/", 1)[-1], b""
        raise _ApiError(400, f"Bad Request: there is no {key} in the request")

    def _store_file(self, path: str, data: bytes) -> JSON:
        n = next(self._file_seq)
        file_id = f"BQACAgUAAxkBAAI{n:06d}"
        self._files[file_id] = (path, data)
        return {"file_id": file_id, "file_unique_id": f"AgAD{n:06d}", "file_size": len(data)}

    def _photo_sizes(self, path: str, data: bytes) -> list[JSON]:
        small, large = self._store_file(path, data), self._store_file(path, data)
        return [{**small, "width": 90, "height": 67}, {**large, "width": 800, "height": 600}]


def _kind(update: JSON) -> str:
    return next((k for k in update if k != "update_id"), "")


def _scope_key(params: JSON) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


def _mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
