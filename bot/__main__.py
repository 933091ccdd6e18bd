"""Command line: `python -m bot [run|chat|ask|kb|report|backup|migrate|copy-db]`; one-line
start-up errors."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bot import __version__
from bot.app import StartupError
from bot.authoring import card_problems, drill_stats, verdict
from bot.config import ConfigError, Settings, hide_password, load_settings, parse_db
from bot.knowledge import Problem, check
from bot.models import Card, Lang
from bot.text import has_cjk, valid
from bot.views import card_text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="counter-coach",
        description="Counter Coach: answers, micro-drills and retraining records for bank staff. "
        "With no command: the Telegram bot if TELEGRAM_BOT_TOKEN is set, else the console chat.",
    )
    parser.add_argument("--version", action="version", version=f"counter-coach {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)",
                   description="Run the Telegram bot: long polling, or a webhook when "
                   "COACH_WEBHOOK_URL is set.")
    sub.add_parser("chat", help="chat with the bot in the terminal (demo data unless COACH_DB)",
                   description="Terminal chat over the same assistant. One message per line; "
                   "type /1, /2 ... to press a numbered button. Uses data/demo.db unless "
                   "COACH_DB is set.")
    ask = sub.add_parser("ask", help="match questions to cards, print JSON",
                         description="Print the best cards for QUESTION as one JSON object; "
                         "without QUESTION, read one question per line from stdin.")
    ask.add_argument("question", nargs="?", help="the question; omit to read stdin")
    ask.add_argument("--json", action="store_true", help="JSON output (the only format)")
    ask.add_argument("--top", type=int, default=3, help="how many matches (default 3)")
    ask.add_argument("--kb", type=Path, help="card folder (default COACH_KNOWLEDGE)")
    kb = sub.add_parser("kb", help="check, list or show knowledge cards",
                        description="Knowledge-base tools.")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    kb_check = kb_sub.add_parser("check", help="validate every card file, list every problem")
    kb_check.add_argument("path", nargs="?", type=Path, help="file or folder (default COACH_KNOWLEDGE)")
    kb_list = kb_sub.add_parser("list", help="list the cards")
    kb_list.add_argument("--json", action="store_true", help="one JSON array")
    kb_list.add_argument("--kb", type=Path, help="card folder (default COACH_KNOWLEDGE)")
    kb_show = kb_sub.add_parser("show", help="show one card as the bot sends it")
    kb_show.add_argument("id", help="card id, e.g. dispute.fee")
    kb_show.add_argument("--lang", choices=["zh", "en"], default="zh")
    kb_show.add_argument("--kb", type=Path, help="card folder (default COACH_KNOWLEDGE)")
    report = sub.add_parser("report", help="a team summary at the server (administrators)",
                            description="Print or save a supervisor summary for one team.")
    report.add_argument("--team", required=True, help="team name")
    report.add_argument("--period", choices=["7d", "30d", "90d"], default="30d")
    report.add_argument("--format", choices=["text", "csv", "png"], default="text")
    report.add_argument("--lang", choices=["zh", "en"], default="zh")
    report.add_argument("--out", type=Path, help="file to write (default: stdout; png needs it)")
    backup = sub.add_parser("backup", help="consistent copy of the database, safe while running",
                            description="Copy COACH_DB to FILE with SQLite's online backup "
                            "(PostgreSQL: use pg_dump).")
    backup.add_argument("file", type=Path, help="where to write the copy")
    sub.add_parser("migrate", help="bring COACH_DB's schema up to this version",
                   description="Apply pending migrations to COACH_DB (PostgreSQL needs this "
                   "before the bot starts; SQLite is migrated on open).")
    copy = sub.add_parser("copy-db", help="copy a SQLite database into an empty PostgreSQL one",
                          description="Copy every table, then compare row counts. Stop the bot "
                          "first. The target must be empty; a password may come from "
                          "COACH_DB_PASSWORD or a libpq passfile.")
    copy.add_argument("--from", dest="source", required=True, type=_database,
                      help="sqlite:///data/coach.db (or a file path)")
    copy.add_argument("--to", dest="target", required=True, type=_database,
                      help="postgresql://USER@HOST:5432/DATABASE")
    return parser


def _database(value: str) -> Path | str:
    try:
        return parse_db(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected {err}") from None


def _kb_check(cards: list[Card], problems: list[Problem]) -> int:
    """Loading problems, then the authoring rules (bot/authoring.py), then the drill figures."""
    problems = problems + [Problem(c.source, c.id, field, message)
                           for c in cards for field, message in card_problems(c)]
    for problem in problems:
        print(problem)
    failed = len(problems)
    for lang in Lang:
        level, line = verdict(drill_stats(cards, lang))
        print(f"{level}: {line}" if level != "ok" else line)
        failed += level == "problem"
    print(f"{len(cards)} cards, {failed} problem(s)", file=sys.stderr)
    return 1 if failed else 0


def _kb(args: argparse.Namespace, settings: Settings) -> int:
    path = getattr(args, "path", None) or getattr(args, "kb", None) or settings.knowledge
    cards, problems = check(path)
    if args.kb_command == "check":
        return _kb_check(cards, problems)
    if problems:
        print(f"warning: {len(problems)} problem(s) in the cards; run `kb check`", file=sys.stderr)
    if args.kb_command == "list":
        rows = [{"id": c.id, "type": c.type, "version": c.version,
                 "title": {"zh": c.title.zh, "en": c.title.en}, "languages": ["zh", "en"],
                 "questions": len(c.questions.zh) + len(c.questions.en),
                 "drills": len(c.drills)} for c in cards]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
        else:
            for row in rows:
                print(f"{row['id']:<40} {row['type']:<7} v{row['version']}")
        return 0
    card = next((c for c in cards if c.id == args.id), None)
    if card is None:
        raise StartupError(f"no card {args.id!r}; see `python -m bot kb list`")
    title, body = card_text(card, Lang(args.lang))
    print(f"{title}\n\n{body}")
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    """The evaluation contract: one JSON object per question; never touches the database."""
    from bot.app import load_library

    library = load_library(replace(settings, knowledge=args.kb or settings.knowledge))
    top = max(1, args.top)

    def answer(question: str) -> str:
        question = valid(question)  # undecodable input bytes arrive as lone surrogates
        result = library.index.search(question, limit=top)
        lang = Lang.ZH if has_cjk(question) else Lang.EN
        matches = [{"id": m.card.id, "score": m.score, "title": m.card.title.get(lang)}
                   for m in result.matches]
        return json.dumps({"query": question, "confident": result.confident,
                           "matches": matches}, ensure_ascii=False)

    if args.question is not None:
        print(answer(args.question))
        return 0
    for line in sys.stdin:
        print(answer(line.rstrip("\r\n")), flush=True)
    return 0


async def _report(args: argparse.Namespace, settings: Settings) -> int:
    """`report --team NAME`: the same summary /summary gives, recorded in the audit trail."""
    from bot.app import build, utc_now
    from bot.reports import chart_png, find_cjk_font, render_text

    if args.format == "png" and args.out is None:
        raise StartupError("report --format png needs --out FILE")
    assistant = await build(settings)
    try:
        team = await assistant.store.team(args.team)
        if team is None:
            raise StartupError(f"no team {args.team!r}; teams: "
                               f"{', '.join(await assistant.store.teams()) or '-'}")
        now = utc_now()
        days = int(args.period.rstrip("d"))
        lang = Lang(args.lang)
        if args.format == "csv":
            data = await assistant.staff.export_csv([team], now)
        else:
            summary = await assistant.staff.summary(team, days, now)
            if args.format == "png":
                data, _ = chart_png(summary, lang, find_cjk_font(settings.chart_font))
            else:
                data = (render_text(summary, lang, settings.timezone) + "\n").encode("utf-8")
        await assistant.store.audit(0, "report.cli", f"team={team} format={args.format}", now)
    finally:
        await assistant.store.close()
    if args.out is not None:
        args.out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


async def _migrate(settings: Settings) -> int:
    from bot.app import open_store

    store = await open_store(settings, migrate=True)
    version = await store.schema_version()
    await store.close()
    print(f"{store.path}: schema at version {version}", file=sys.stderr)
    return 0


async def _copy_db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import open_store
    from bot.store import StoreError
    from bot.store.copy import copy_database

    if isinstance(args.source, Path) and not args.source.is_file():
        raise StartupError(f"copy-db: --from: no database at {args.source}")
    source = await open_store(replace(settings, db=args.source))
    try:
        target = await open_store(replace(settings, db=args.target), migrate=True)
        try:
            copied = await copy_database(source, target, lambda table, rows: print(
                f"{table}: {rows} rows", file=sys.stderr))
        except StoreError as err:
            raise StartupError(str(err)) from None
        finally:
            await target.close()
    finally:
        await source.close()
    shown = hide_password(args.target) if isinstance(args.target, str) else args.target
    print(f"copied {sum(copied.values())} rows in {len(copied)} tables to {shown}; "
          "row counts match", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `counter-coach` and `python -m bot`."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        return _dispatch(args, settings)
    except (ConfigError, StartupError) as err:
        print(f"counter-coach: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command
    if command is None:
        if settings.token:
            command = "run"
        else:
            print("No TELEGRAM_BOT_TOKEN set: opening the console chat on demo data.",
                  file=sys.stderr)
            command = "chat"
    if command == "kb":
        return _kb(args, settings)
    if command == "ask":
        return _ask(args, settings)
    if command == "report":
        return asyncio.run(_report(args, settings))
    if command == "backup":
        from bot.store.sqlite import backup

        if isinstance(settings.db, str):
            raise StartupError("backup: COACH_DB is PostgreSQL; back it up with pg_dump "
                               "(see deploy/README.md)")
        if not settings.db.exists():
            raise StartupError(f"COACH_DB: no database at {settings.db}")
        pages = backup(settings.db, args.file)
        print(f"backed up {settings.db} to {args.file} ({pages} pages)", file=sys.stderr)
        return 0
    if command == "migrate":
        return asyncio.run(_migrate(settings))
    if command == "copy-db":
        return asyncio.run(_copy_db(args, settings))
    if command == "chat":
        from bot.adapters.console import chat

        return asyncio.run(chat(settings))
    if command == "run":
        if not settings.token:
            raise StartupError("TELEGRAM_BOT_TOKEN: expected a bot token from @BotFather; "
                               "set it in the environment or .env")
        from bot.adapters.telegram_run import run

        return run(settings)
    raise StartupError(f"unknown command {command}")


if __name__ == "__main__":
    sys.exit(main())
