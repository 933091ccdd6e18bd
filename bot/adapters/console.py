"""The terminal chat over the same `Assistant`: one message per line, buttons numbered.

Each message numbers its own buttons from /1; /N presses a button of the last message
that has any (so a drill's options are always /1 ... /4), and /back its "◀" button.
Files a reply carries (a chart, a CSV export) are saved under `files` and their path
printed; they hold people's names, so files older than a week go at start.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path
from typing import TextIO

from bot.app import DEMO_USER, build, demo_settings
from bot.assistant import Assistant
from bot.config import Settings
from bot.demo import seed
from bot.models import Button, Inbound, Reply, ReplyKind

KEEP_FILES_DAYS = 7
_UNSAFE = re.compile(r"[^\w.\-]+")


def render(replies: list[Reply], out: TextIO, files: Path | None = None) -> list[Button]:
    """Print replies; return the buttons of the last message that has any, as numbered."""
    last = max((n for n, r in enumerate(replies) if r.buttons), default=-1)
    for n, reply in enumerate(replies):
        prefix = "(updated) " if reply.edit else ""
        if reply.edit and not reply.text and not reply.buttons:
            continue  # only removes buttons from a message already shown
        if reply.kind is not ReplyKind.TEXT:
            out.write(f"{prefix}{_file(reply, files)}\n")
        if reply.title:
            out.write(f"{prefix}== {reply.title} ==\n")
            prefix = ""
        if reply.text:
            out.write(f"{prefix}{reply.text}\n")
            prefix = ""
        count = 0
        for row in reply.buttons:
            labels = []
            for button in row:
                count += 1
                labels.append(f"[/{count}] {button.label}" if n == last else f"[{button.label}]")
            out.write(prefix + "  ".join(labels) + "\n")
            prefix = ""
        out.write("\n")
    out.flush()
    return [b for row in replies[last].buttons for b in row] if last >= 0 else []


def _file(reply: Reply, files: Path | None) -> str:
    """Save the reply's file; the line that says where."""
    if files is None:
        return f"[{reply.kind.value}: {reply.filename}, {len(reply.data)} bytes, not saved]"
    files.mkdir(parents=True, exist_ok=True)
    path = files / (_UNSAFE.sub("_", Path(reply.filename).name).lstrip(".") or "file")
    path.write_bytes(reply.data)
    return f"[{reply.kind.value} saved: {path} ({len(reply.data)} bytes)]"


def remove_old_files(files: Path, now: float, days: int = KEEP_FILES_DAYS) -> int:
    """Delete files in `files` last written more than `days` ago; how many went."""
    if not files.is_dir():
        return 0
    old = [p for p in files.iterdir() if p.is_file() and p.stat().st_mtime < now - days * 86400]
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)


async def converse(assistant: Assistant, lines: TextIO, out: TextIO, user_id: int = DEMO_USER,
                   name: str = "Demo", interactive: bool = False,
                   files: Path | None = None) -> None:
    """Feed lines to the assistant until end of input; `/N` presses the N-th button shown,
    `/back` the "◀" one."""
    buttons: list[Button] = []
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            out.write("> ")
            out.flush()
        line = await loop.run_in_executor(None, lines.readline)
        if not line:
            break
        text = line.rstrip("\n")
        if not interactive:
            out.write(f"> {text}\n")
        key = text.strip()
        if key.startswith("/") and key[1:].isdigit():
            n = int(key[1:])
            if not 1 <= n <= len(buttons):
                out.write(f"(no button {n} on screen)\n\n")
                continue
            inbound = Inbound(user_id=user_id, name=name, callback=buttons[n - 1].payload)
        elif key.lower() == "/back":
            back = next((b for b in buttons if b.label.startswith("◀")), None)
            if back is None:
                out.write("(no ◀ button on screen)\n\n")
                continue
            inbound = Inbound(user_id=user_id, name=name, callback=back.payload)
        else:
            inbound = Inbound(user_id=user_id, name=name, text=text)
        shown = render(await assistant.handle(inbound), out, files)
        # pushes (/nudge) are shown, not sent: the console takes them from the outbox
        for push in await assistant.store.drain_pushes(assistant.now()):
            out.write(f"(sent to {push.user_id}) {push.reply.text}\n\n")
        if shown:
            buttons = shown


async def chat(settings: Settings) -> int:
    """`python -m bot chat`: the demo user (every role) talks to the assistant."""
    settings = demo_settings(settings)
    # beside the database file; for a PostgreSQL COACH_DB, under data/
    files = (settings.db.parent if isinstance(settings.db, Path) else Path("data")) / "console"
    remove_old_files(files, time.time())
    assistant = await build(settings)
    try:
        await assistant.enrol_demo(DEMO_USER, "Demo")
        if "COACH_DB" not in settings.explicit:
            await seed(assistant, DEMO_USER, assistant.now())
        interactive = sys.stdin.isatty()
        if interactive:
            print(f"Counter Coach console - database {assistant.store.path}. "
                  "Ctrl-D to quit; /N presses button N, /back the ◀ one.")
        await converse(assistant, sys.stdin, sys.stdout, interactive=interactive, files=files)
    finally:
        await assistant.store.close()
    return 0
