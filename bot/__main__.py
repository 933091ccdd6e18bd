"""Command line: `python -m bot [run|chat|ask|kb|report|people|xapi|backup|migrate|copy-db]`; one-line
start-up errors."""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot import __version__, suggestions_cli
from bot.app import StartupError
from bot.authoring import card_problems, drill_stats, verdict
from bot.config import ConfigError, Settings, hide_password, load_settings, parse_db
from bot.knowledge import Problem, check
from bot.models import BASE_LANGS, Card, Lang, Reply
from bot.text import has_cjk, valid
from bot.views import SECTION_VIEWS, View, full, glance, section

_TAG = re.compile(r"<[^>]+>")  # the markup to_html adds; text's own < > & are escaped


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
    ask.add_argument("--db", type=Path, help="also match the accepted suggestions in this "
                     "database (read only; default: the cards alone)")
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
    kb_show.add_argument("--lang", choices=[lang.value for lang in Lang], default="zh",
                         help="zh (simplified), zh-Hant (traditional, Hong Kong), zh-TW "
                         "(traditional, Taiwan) or en")
    kb_show.add_argument("--full", action="store_true", help="everything at once (/card ID full)")
    kb_show.add_argument("--section", choices=[v.value for v in SECTION_VIEWS],
                         help="the message a section button shows instead of the glance")
    kb_show.add_argument("--json", action="store_true", help="one JSON list of the messages as "
                         'sent: {"text", "html", "buttons": [[{"text", "data"}]]}')
    kb_show.add_argument("--kb", type=Path, help="card folder (default COACH_KNOWLEDGE)")
    suggestions_cli.add_parser(kb_sub)
    report = sub.add_parser("report", help="a team summary at the server (administrators)",
                            description="Print or save a supervisor summary for one team; "
                            "without --team, list the teams in the database.")
    report.add_argument("--db", type=_database, help="database file or postgresql:// URL "
                        "(default COACH_DB, else data/coach.db; the console chat's demo is "
                        "data/demo.db); never created")
    report.add_argument("--team", help="team name (omit to list the teams)")
    report.add_argument("--period", choices=["7d", "30d", "90d"], default="30d")
    report.add_argument("--format", choices=["text", "csv", "png"], default="text")
    table = report.add_mutually_exclusive_group()
    table.add_argument("--items", action="store_true", help="per drill question: answers, %% right, "
                       "most chosen wrong option, flags (text or csv; without --team: everyone)")
    table.add_argument("--people", action="store_true",
                       help="csv: completion per person over the period (default: their topics)")
    report.add_argument("--lang", choices=["zh", "en"], default="zh")
    report.add_argument("--out", type=Path, help="file to write (default: stdout; png needs it)")
    people = sub.add_parser("people", help="import staff numbers, names and teams (administrators)",
                            description="People in COACH_DB.")
    people_sub = people.add_subparsers(dest="people_command", metavar="PEOPLE_COMMAND",
                                       required=True)
    imp = people_sub.add_parser(
        "import", help="set staff numbers, names and teams from a CSV file",
        description="Each row: Telegram id, staff number, name, team (UTF-8; a header row is "
        "allowed; an empty cell leaves that field as it is). New ids are enrolled as staff, "
        "unknown teams are created. Any failing row: nothing is changed.")
    imp.add_argument("file", type=Path, help="the CSV file")
    imp.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    xapi = sub.add_parser("xapi", help="the xAPI outbox: status, resend parked, send now",
                          description="Statements for the LRS (COACH_XAPI_ENDPOINT).")
    xapi.add_argument("xapi_command", choices=["status", "resend", "send"],
                      help="status: queued/sent/parked; resend: queue parked statements again; "
                      "send: send what is due now (the bot does this by itself while it runs)")
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


def _kb_check(cards: list[Card], problems: list[Problem], settings: Settings) -> int:
    """Loading problems, then the authoring rules (bot/authoring.py), then the drill figures,
    then whether the embedding model loads (a warning: matching then uses words only)."""
    problems = problems + [Problem(c.source, c.id, field, message)
                           for c in cards for field, message in card_problems(c)]
    for problem in problems:
        print(problem)
    failed = len(problems)
    for lang in BASE_LANGS:
        level, line = verdict(drill_stats(cards, lang))
        print(f"{level}: {line}" if level != "ok" else line)
        failed += level == "problem"
    print(_embedding_status(settings))
    print(f"{len(cards)} cards, {failed} problem(s)", file=sys.stderr)
    return 1 if failed else 0


def _embedding_status(settings: Settings) -> str:
    from bot.app import embedder
    from bot.weights import FITTED

    model = embedder(settings, write_cache=False)
    if model is None:
        return "embeddings: off (COACH_EMBEDDINGS=off): matching uses words only"
    ok = model.embed(["ok"]) is not None
    model.close()
    if not ok:
        return f"warning: embeddings {model.name} unavailable ({model.problem}): matching uses words only"
    if model.name not in FITTED:
        return (f"warning: embeddings {model.name} loads but has no ranker weights "
                "(bench/fit_ranker.py): matching uses words only")
    return f"embeddings: {model.name} {model.version} loads"


def _kb(args: argparse.Namespace, settings: Settings) -> int:
    if args.kb_command == "suggestions":
        return asyncio.run(suggestions_cli.run(args, settings))
    path = getattr(args, "path", None) or getattr(args, "kb", None) or settings.knowledge
    cards, problems = check(path)
    if args.kb_command == "check":
        return _kb_check(cards, problems, settings)
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
    by_id = {c.id: c for c in cards}
    card = by_id.get(args.id)
    if card is None:
        raise StartupError(f"no card {args.id!r}; see `python -m bot kb list`")
    lang = Lang(args.lang)
    if args.full:
        reply = full(card, lang, by_id)
    elif args.section:
        reply = section(card, View(args.section), lang, by_id)
    else:
        reply = glance(card, lang)  # as /card ID shows it (an answer adds 👍/👎)
    messages = as_sent(reply)
    if args.json:
        print(json.dumps(messages, ensure_ascii=False))
        return 0
    for message in messages:
        print(message["text"])
        for row in message["buttons"]:
            print("  ".join(f"[{b['text']}]" for b in row))
        print()
    return 0


def as_sent(reply: Reply) -> list[dict[str, Any]]:
    """The messages the Telegram adapter sends for `reply`: its HTML split as sent, the text
    a person reads, and the buttons (on the last part)."""
    from bot.adapters.telegram import split_text, to_html

    chunks = split_text(to_html(reply))
    if reply.edit:
        chunks = chunks[:1]  # an edit replaces one message
    rows = [[{"text": b.label, "data": b.payload} for b in row] for row in reply.buttons]
    return [{"text": html.unescape(_TAG.sub("", chunk)), "html": chunk,
             "buttons": rows if n == len(chunks) - 1 else []} for n, chunk in enumerate(chunks)]


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    """The evaluation contract: one JSON object per question. Writes nothing: the
    database (with --db) is opened read-only, the embedding cache only read."""
    from bot.app import load_library
    from bot.store import accepted_questions

    extra: dict[str, list[str]] = {}
    if args.db is not None:
        if str(args.db).startswith(("postgresql:", "postgres:")):
            raise StartupError("--db: ask reads a SQLite file only; PostgreSQL is not supported "
                               "here (copy the suggestions' database with pg_dump first)")
        if not args.db.is_file():
            raise StartupError(f"--db: no database at {args.db}")
        extra = accepted_questions(args.db)
    library = load_library(replace(settings, knowledge=args.kb or settings.knowledge),
                           write_cache=False)
    index = library.index.with_questions(extra) if extra else library.index
    top = max(1, args.top)

    def answer(question: str) -> str:
        question = valid(question)  # undecodable input bytes arrive as lone surrogates
        result = index.search(question, limit=top)
        lang = Lang.ZH if has_cjk(question) else Lang.EN
        matches = [{"id": m.card.id, "score": m.score, "title": m.card.title.get(lang)}
                   for m in result.matches]
        return json.dumps({"query": question, "confident": result.confident,
                           "smalltalk": bool(result.smalltalk), "matches": matches},
                          ensure_ascii=False)

    if args.question is not None:
        print(answer(args.question))
        return 0
    for line in sys.stdin:
        print(answer(line.rstrip("\r\n")), flush=True)
    return 0


async def _report(args: argparse.Namespace, settings: Settings) -> int:
    """`report --team NAME`: the same summary /summary gives, recorded in the audit trail."""
    from bot.app import build, utc_now
    from bot.chart import chart_png, find_cjk_font
    from bot.reports import render_text

    db: Path | str = args.db or settings.db
    if isinstance(db, Path) and not db.is_file():  # opening it would create an empty database
        raise StartupError(f"no database at {db} (nothing created); the console chat's demo "
                           "data is in data/demo.db; choose one with --db FILE")
    if args.format == "png" and args.out is None:
        raise StartupError("report --format png needs --out FILE")
    if (args.items and args.format == "png") or (args.people and args.format != "csv"):
        raise StartupError("report: --items is text or csv, --people is csv")
    assistant = await build(replace(settings, db=db))
    staff = assistant.staff
    try:
        team = None if args.team is None else await assistant.store.team(args.team)
        teams = ", ".join(await assistant.store.teams()) or "(none)"
        if args.team is not None and team is None:
            raise StartupError(f"no team {args.team!r} in {db}; teams: {teams}")
        now, days, lang = utc_now(), int(args.period.rstrip("d")), Lang(args.lang)
        if args.items:
            text, data = await staff.items_report(None if team is None else [team], days, now,
                                                  lang)
            data = data if args.format == "csv" else (text + "\n").encode("utf-8")
        elif team is None:
            print(f"teams in {db}: {teams}")
            return 0
        elif args.people:
            data = await staff.people_csv([team], days, now, lang)
        elif args.format == "csv":
            data = await staff.export_csv([team], now, lang)
        else:
            summary = await staff.summary(team, days, now)
            if args.format == "png":
                data, _ = chart_png(summary, lang, find_cjk_font(settings.chart_font))
            else:
                data = (render_text(summary, lang, settings.timezone) + "\n").encode("utf-8")
        table = " items" if args.items else " people" if args.people else ""
        await assistant.store.audit(0, "report.cli",
                                    f"team={team or '*'} format={args.format}{table}", now)
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


async def _people(args: argparse.Namespace, settings: Settings) -> int:
    """`people import FILE [--dry-run]`: every change and every failing row, one a line."""
    from bot.app import open_store, utc_now
    from bot.roster import Roster

    try:
        text = args.file.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise StartupError(f"{args.file}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise StartupError(f"{args.file}: not UTF-8 text (in Excel: save as \"CSV UTF-8\")") from None
    store = await open_store(settings)
    try:
        roster = Roster(settings, store)
        plan = await roster.plan_import(text)
        for line in plan.lines():
            print(line)
        where = hide_password(settings.db) if isinstance(settings.db, str) else settings.db
        summary = f"{where}: {plan.counts()}"
        if plan.failed:
            print(f"{summary}; nothing changed: fix the failing rows and run again", file=sys.stderr)
            return 1
        if args.dry_run:
            print(f"{summary}; dry run, nothing changed", file=sys.stderr)
            return 0
        await roster.apply_import(plan, utc_now())
        print(f"{summary}; done", file=sys.stderr)
        return 0
    finally:
        await store.close()


async def _xapi(args: argparse.Namespace, settings: Settings) -> int:
    """`xapi status|resend|send`."""
    from bot.app import open_store, utc_now

    if args.xapi_command == "send" and not settings.xapi:
        raise StartupError("COACH_XAPI_ENDPOINT: not set, so there is no LRS to send to")
    store = await open_store(settings)
    try:
        if args.xapi_command == "resend":
            print(f"{await store.requeue_parked(utc_now())} parked statement(s) queued again")
        elif args.xapi_command == "send":
            from bot.adapters.xapi_sender import XapiSender

            sender = XapiSender(settings, store)
            try:
                done = await sender.drain()
            finally:
                await sender.stop()
            print(f"sent {done.sent}, parked {done.parked}, failed {done.failed}")
        status = await store.outbox_status()
        where = settings.xapi_endpoint + "statements" if settings.xapi else "not configured"
        oldest = f" (oldest {status.oldest_queued.isoformat()})" if status.oldest_queued else ""
        print(f"xAPI: {where}\nqueued {status.queued}{oldest}, sent {status.sent}, "
              f"parked {status.parked}")
        for statement_id, why in status.parked_errors:
            print(f"parked {statement_id}: {why}")
        return 1 if args.xapi_command == "send" and done.failed else 0
    finally:
        await store.close()


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
    if command == "people":
        return asyncio.run(_people(args, settings))
    if command == "xapi":
        return asyncio.run(_xapi(args, settings))
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
