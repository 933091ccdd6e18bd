"""The roster, for administrators: staff numbers (`/staffno`, `people import FILE.csv`)
and the paged `/people` list.

A staff number is the bank's employee number: ours, not customer data, so it is
stored and shown as given (never masked). It names the person in xAPI statements
made after it is set, and in the CSV export.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.config import Settings
from bot.i18n import t
from bot.models import Button, Lang, Person, Reply, Who
from bot.staff import TEAM_RE
from bot.store import RosterChange, Store
from bot.text import clean

STAFF_NO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
PAGE = 20  # people on a page of /people
MAX_NAME = 64


@dataclass
class ImportPlan:
    """What `people import` would do: changes, new teams, and the rows that fail (why)."""

    changes: list[tuple[int, RosterChange, str]] = field(default_factory=list)  # line, change, shown
    teams: list[str] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    unchanged: int = 0

    def lines(self) -> list[str]:
        """Each change, then each failing row, by line; the new teams."""
        shown = [f"line {line}: {text}" for line, _, text in self.changes]
        shown += [f"line {line}: FAILED: {why}" for line, why in sorted(self.failed)]
        return shown + ([f"new teams: {', '.join(self.teams)}"] if self.teams else [])

    def counts(self) -> str:
        new = sum(c.new for _, c, _ in self.changes)
        return (f"{new} new, {len(self.changes) - new} changed, {self.unchanged} unchanged,"
                f" {len(self.failed)} failed")


class Roster:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    # --- /staffno ------------------------------------------------------------------------

    async def staffno(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        """`/staffno USER_ID E12345` sets, `/staffno USER_ID -` clears a staff number."""
        parts = args.split()
        if len(parts) != 2 or not parts[0].isdigit():
            return [Reply(t("staffno_usage", actor.lang))]
        number = None if parts[1] == "-" else parts[1]
        if number is not None and not STAFF_NO_RE.match(number):
            return [Reply(t("staffno_bad", actor.lang, value=parts[1][:40]))]
        person = await self.store.person(int(parts[0]))
        if person is None:
            return [Reply(t("no_such_person", actor.lang, id=parts[0][:20]))]
        holder = await self.store.set_staff_no(person.user_id, number, actor.person.user_id, now)
        if holder is not None:
            return [Reply(t("staffno_taken", actor.lang, value=number, id=holder))]
        return [Reply(t("staffno_set", actor.lang, id=person.user_id, name=person.name,
                        value=number or "-"))]

    # --- /people [TEAM] ------------------------------------------------------------------

    async def people(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        team = None
        if args.strip():
            team = await self.store.team(args.split()[0])
            if team is None:
                return [Reply(t("no_such_team", actor.lang, team=args.split()[0][:40]))]
        return [await self.page(actor.lang, team, 0)]

    async def people_button(self, actor: Who, rest: str, now: datetime) -> list[Reply]:
        """A page button: `PAGE:TEAMKEY` (the key: `-` for everyone, else a short hash, as a
        team name may not fit in Telegram's 64-byte button data)."""
        page, _, key = rest.partition(":")
        if not actor.admin or not page.isdigit():
            return [Reply(t("stale_button", actor.lang))]
        team = None
        if key != "-":
            team = next((n for n in await self.store.teams() if team_key(n) == key), None)
            if team is None:
                return [Reply(t("stale_button", actor.lang))]
        reply = await self.page(actor.lang, team, int(page))
        return [Reply(reply.text, buttons=reply.buttons, edit=True)]

    async def page(self, lang: Lang, team: str | None, page: int) -> Reply:
        people, total = await self.store.people_page(team, page * PAGE, PAGE)
        if not people:
            return Reply(t("sum_nobody", lang))
        first = page * PAGE + 1
        head = t("people_head", lang, first=first, last=first + len(people) - 1, total=total)
        if team is not None:
            head += t("people_team", lang, team=team)
        key = team_key(team) if team is not None else "-"
        buttons = []
        if page > 0:
            buttons.append(Button(t("page_prev", lang), f"people:{page - 1}:{key}"))
        if first + len(people) - 1 < total:
            buttons.append(Button(t("page_next", lang), f"people:{page + 1}:{key}"))
        text = "\n".join([head, *(person_line(p) for p in people)])
        return Reply(text, buttons=(tuple(buttons),) if buttons else ())

    # --- people import ---------------------------------------------------------------------

    async def plan_import(self, text: str) -> ImportPlan:
        """Check every row of the CSV (Telegram id, staff number, name, team) against the
        database; nothing is written."""
        people = {p.user_id: p for p in await self.store.people()}
        teams = {n.lower(): n for n in await self.store.teams()}
        return plan(read_rows(text), people, teams)

    async def apply_import(self, result: ImportPlan, now: datetime) -> None:
        await self.store.apply_roster([c for _, c, _ in result.changes], result.teams, 0, now)


def team_key(team: str) -> str:
    return hashlib.sha1(team.lower().encode("utf-8")).hexdigest()[:10]


def person_line(p: Person) -> str:
    roles = ",".join(sorted(r.value for r in p.roles))
    sup = f" ⭑{','.join(sorted(p.supervises))}" if p.supervises else ""
    number = f" #{p.staff_no}" if p.staff_no else ""
    return f"{p.user_id} {p.name} [{p.team or '-'}] {roles}{sup}{number}"


def read_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank row; a first row that is not a Telegram id is a
    header. Commas, semicolons or tabs (what Excel writes in some locales)."""
    try:
        dialect: type[csv.Dialect] = csv.Sniffer().sniff(text[:4096], ",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[tuple[int, list[str]]] = []
    for number, cells in enumerate(csv.reader(io.StringIO(text), dialect), 1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if not rows and number == 1 and not cells[0].isdigit():
            continue  # a header
        rows.append((number, cells))
    return rows


def plan(rows: list[tuple[int, list[str]]], people: dict[int, Person],
         teams: dict[str, str]) -> ImportPlan:
    """What each row would change, or why it fails (pure)."""
    result = ImportPlan()
    seen_ids: dict[int, int] = {}
    seen_numbers: dict[str, int] = {}
    # staff numbers as they will be: the file's own, else the database's
    holders = {p.staff_no: p.user_id for p in people.values() if p.staff_no}
    parsed = []
    for line, cells in rows:
        uid, number, name, team = (cells + ["", "", "", ""])[:4]
        why = _row_problem(uid, number, name, team, len(cells))
        if why is None and int(uid) in seen_ids:
            why = f"Telegram id {uid} is on line {seen_ids[int(uid)]} too"
        if why is None and number and number in seen_numbers:
            why = f"staff number {number} is on line {seen_numbers[number]} too"
        if why is not None:
            result.failed.append((line, why))
            continue
        seen_ids[int(uid)] = line
        if number:
            seen_numbers[number] = line
        parsed.append((line, int(uid), number, clean(name), team))
    moving = {uid for _, uid, number, _, _ in parsed if number}
    for line, user, number, name, team in parsed:
        holder = holders.get(number) if number else None
        if holder is not None and holder != user and holder not in moving:
            result.failed.append((line, f"staff number {number} belongs to {holder}"))
            continue
        known = teams.get(team.lower()) if team else None
        if team and known is None:
            known = team
            teams[team.lower()] = team
            result.teams.append(team)
        before = people.get(user)
        change = RosterChange(
            user, before is None,
            name if name and (before is None or name != before.name) else None,
            known if known and (before is None or known != before.team) else None,
            number if number and (before is None or number != before.staff_no) else None)
        if before is None and change.name is None:
            change = RosterChange(user, True, number or str(user), change.team, change.staff_no)
        if not change.new and change.name is None and change.team is None \
                and change.staff_no is None:
            result.unchanged += 1
            continue
        result.changes.append((line, change, _shown(change, before)))
    return result


def _row_problem(uid: str, number: str, name: str, team: str, columns: int) -> str | None:
    if columns < 2:
        return "expected: Telegram id, staff number, name, team"
    if not uid.isdigit() or not 0 < int(uid) < 10**15:
        return f"Telegram id {uid[:20]!r} is not a Telegram user id (a whole number)"
    if number and not STAFF_NO_RE.match(number):
        return (f"staff number {number[:40]!r}: expected letters and digits (and . _ -),"
                " up to 32")
    if len(name) > MAX_NAME:
        return f"name longer than {MAX_NAME} characters"
    if team and not TEAM_RE.match(team):
        return f"team {team[:40]!r}: letters, digits, - _ . only, up to 40"
    return None


def _shown(c: RosterChange, before: Person | None) -> str:
    """A change as `people import` prints it."""
    if before is None:
        fields = [f"name {c.name}", f"team {c.team or '-'}", f"staff number {c.staff_no or '-'}"]
        return f"{c.user_id} new: {', '.join(fields)}"
    parts = []
    if c.name is not None:
        parts.append(f"name {before.name} -> {c.name}")
    if c.team is not None:
        parts.append(f"team {before.team or '-'} -> {c.team}")
    if c.staff_no is not None:
        parts.append(f"staff number {before.staff_no or '-'} -> {c.staff_no}")
    return f"{c.user_id} {'; '.join(parts)}"
