"""The console chat: buttons numbered per message, /back, files saved where it says."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from bot.adapters.console import converse, remove_old_files
from bot.assistant import Assistant
from tests.conftest import ADMIN, Chat


async def chat(assistant: Assistant, lines: str, files: Path | None = None) -> str:
    out = io.StringIO()
    await converse(assistant, io.StringIO(lines), out, user_id=ADMIN, name="Admin", files=files)
    return out.getvalue()


def after(shown: str, line: str) -> str:
    """What the console printed for one input line."""
    return shown.split(f"> {line}\n", 1)[1].split("\n> ", 1)[0]


async def test_drill_options_are_always_one_to_n(admin: Chat, assistant: Assistant) -> None:
    shown = await chat(assistant, "/drill\n/1\n/1\n/1\n/1\n")
    answers = shown.split("> /1\n")[1:]
    for block in answers[:2]:  # the answered question (edited), then the next one's options
        assert block.startswith("(updated) == 小测") and "\n[📖 查看卡片]\n" in block
        assert "\n[/1] " in block and "\n[/3] " in block and "[/5]" not in block
    assert "\n[/1] 📖 查看卡片\n" in answers[2]  # the drill is over: the card button is left
    assert "\n现在先做：\n" in answers[3]  # /1 opened the card


async def test_sections_by_number_and_back(admin: Chat, assistant: Assistant) -> None:
    shown = await chat(assistant, "/card dispute.fee\n/back\n/1\n/back\n/back\n")
    assert "[/1] 步骤  [/2] 话术  [/3] 上报" in after(shown, "/card dispute.fee")
    assert after(shown, "/back").startswith("(no ◀ button on screen)")
    steps = after(shown, "/1")
    assert steps.startswith("(updated) == 手续费争议 ==\n步骤：\n1. ")
    assert "[/1] ◀ 返回" in steps
    back = shown.split("> /back\n")[2]
    assert back.startswith("(updated) == 手续费争议 ==\n现在先做：")


async def test_chart_and_export_are_saved_and_old_files_removed(
        admin: Chat, assistant: Assistant, tmp_path: Path) -> None:
    files = tmp_path / "console"
    files.mkdir()
    stale, fresh = files / "old.csv", files / "recent.csv"
    stale.write_text("name\n")
    fresh.write_text("name\n")
    now = time.time()
    os.utime(stale, (now - 8 * 86400, now - 8 * 86400))
    os.utime(fresh, (now - 6 * 86400, now - 6 * 86400))
    assert remove_old_files(files, now) == 1
    assert not stale.exists() and fresh.exists()

    await admin.say("/team add 柜面一组")
    shown = await chat(assistant, "/export\n/summary 柜面一组\n", files=files)
    export = next(files.glob("coach-all-*.csv"))
    assert f"[file saved: {export} (" in shown and export.read_bytes().startswith(b"\xef\xbb\xbf")
    chart = files / "柜面一组.png"
    assert f"[photo saved: {chart} (" in shown and chart.read_bytes().startswith(b"\x89PNG")
