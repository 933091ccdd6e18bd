"""Settings, read from the environment and `.env` in one place (environment wins)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(Exception):
    """A setting has a bad value; `str()` is the one line shown at start-up."""

    def __init__(self, key: str, expected: str, value: str) -> None:
        shown = "(hidden)" if key in HIDDEN else repr(hide_password(value))
        super().__init__(f"{key}: expected {expected}, got {shown}")
        self.key = key


# never echoed in an error line
HIDDEN = {"TELEGRAM_BOT_TOKEN", "COACH_XAPI_PASSWORD", "COACH_DB_PASSWORD"}
# xAPI reporting needs all of these, or none
XAPI_KEYS = ("COACH_XAPI_ENDPOINT", "COACH_XAPI_USER", "COACH_XAPI_PASSWORD", "COACH_XAPI_HOMEPAGE")


def _text(value: str) -> str:
    return value


def _endpoint(value: str) -> str:
    """The LRS's xAPI base URL, always ending in "/" (statements go to `<endpoint>statements`)."""
    value = _optional_url(value.strip())
    return value if not value or value.endswith("/") else value + "/"


def _optional_url(value: str) -> str:
    if value and not re.match(r"^https?://\S+$", value):
        raise ValueError("an http(s) URL")
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://\S+$", value):
        raise ValueError("an http(s) URL")
    return value


def _token(value: str) -> str:
    if value and not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", value):
        raise ValueError("a BotFather token like 123456:ABC-DEF... (or empty)")
    return value


def _ids(value: str) -> frozenset[int]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ValueError("comma-separated numeric Telegram user ids")
    return frozenset(int(p) for p in parts)


def _zone(value: str) -> tzinfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("an IANA time zone name such as Asia/Shanghai") from None


def _level(value: str) -> str:
    level = value.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not re.fullmatch(r"\d+", value.strip()) or not low <= int(value) <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return int(value)

    return parse


def _path(value: str) -> Path:
    if not value.strip():
        raise ValueError("a file or folder path")
    return Path(value)


_DB_FORMS = "a SQLite file path, sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE"


def parse_db(value: str) -> Path | str:
    """A SQLite file (a path, or sqlite:///relative, sqlite:////absolute) as a Path; a
    PostgreSQL URL as it is (a str; libpq reads it, with sslmode, passfile … parameters)."""
    value = value.strip()
    scheme = value.partition("://")[0].lower() if "://" in value else ""
    if scheme == "sqlite":
        rest = value[len("sqlite://"):]
        if not rest.startswith("/") or len(rest) < 2:
            raise ValueError(_DB_FORMS)
        return Path(rest[1:])
    if scheme in ("postgresql", "postgres"):
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError(_DB_FORMS) from None
        if not parts.path.strip("/") and "dbname=" not in parts.query:
            raise ValueError(_DB_FORMS + " (the database name is missing)")
        return value
    if scheme or not value:
        raise ValueError(_DB_FORMS)
    return Path(value)


def hide_password(value: str) -> str:
    """A database URL as it may be shown: its password replaced by ***."""
    if "://" not in value:
        return value
    try:
        password = urlsplit(value).password
    except ValueError:
        password = None
    if password:
        value = value.replace(f":{password}@", ":***@", 1)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", value)


def _optional_path(value: str) -> Path | None:
    return Path(value) if value.strip() else None


EMBEDDING_MODELS = ("use-m3", "e5-small")  # bot/embeddings.py knows how to load each


def _embeddings(value: str) -> str:
    name = value.strip().lower()
    if name not in (*EMBEDDING_MODELS, "off"):
        raise ValueError(f"one of {', '.join(EMBEDDING_MODELS)} or off")
    return name


# key -> (field name, default text, parser, comment for .env.example)
SPEC: dict[str, tuple[str, str, Callable[[str], Any], str]] = {
    "TELEGRAM_BOT_TOKEN": ("token", "", _token, "Bot token from @BotFather; empty = console chat"),
    "TELEGRAM_BASE_URL": (
        "base_url", "https://api.telegram.org/bot", _url,
        "Bot API URL; point at a self-hosted Bot API server if you run one"),
    "TELEGRAM_BASE_FILE_URL": (
        "base_file_url", "https://api.telegram.org/file/bot", _url,
        "Bot API file URL (self-hosted server: its /file/bot URL)"),
    "TELEGRAM_PROXY": ("proxy", "", _optional_url, "Proxy for reaching Telegram, e.g. http://proxy:8080"),
    "COACH_DB": (
        "db", "data/coach.db", parse_db,
        "SQLite file (or sqlite:///FILE), or postgresql://USER@HOST:5432/DB for several instances"),
    "COACH_DB_PASSWORD": (
        "db_password", "", _text, "PostgreSQL password, if not in COACH_DB or a libpq passfile"),
    "COACH_DB_POOL": (
        "db_pool", "10", _int_between(1, 200), "PostgreSQL connections per instance"),
    "COACH_KNOWLEDGE": ("knowledge", "knowledge/", _path, "Folder of knowledge cards (YAML)"),
    "COACH_ADMINS": ("admins", "", _ids, "Comma-separated Telegram user ids of administrators"),
    "COACH_TIMEZONE": ("timezone", "Asia/Shanghai", _zone, "IANA time zone for schedules and reports"),
    "COACH_LOG_LEVEL": ("log_level", "INFO", _level, "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    "COACH_DRILL_SIZE": ("drill_size", "3", _int_between(1, 10), "Questions per micro-drill"),
    "COACH_GRACE_DAYS": ("grace_days", "7", _int_between(0, 365), "Days a due topic may wait before it is overdue"),
    "COACH_RETENTION_DAYS": (
        "retention_days", "365", _int_between(30, 3650),
        "Answer and question logs older than this are purged"),
    "COACH_EMBEDDINGS": (
        "embeddings", "use-m3", _embeddings,
        "Sentence-embedding model for matching: use-m3, e5-small, or off (words only)"),
    "COACH_CACHE_DIR": ("cache_dir", "data/cache", _path, "Folder for cached embeddings of card lines"),
    "COACH_EMBED_THREADS": (
        "embed_threads", "1", _int_between(1, 8), "Worker threads that embed questions, off the event loop"),
    "COACH_CHART_FONT": ("chart_font", "", _optional_path, "CJK font file for charts; empty = find one"),
    "COACH_STRANGER_REPLIES": (
        "stranger_replies", "60", _int_between(0, 3600),
        "Replies per minute, in all, to people not enrolled (each gets one a day); 0 = none"),
    "COACH_CONCURRENT_UPDATES": (
        "concurrent_updates", "16", _int_between(1, 256),
        "Updates in progress at once (one person's always in order); 1 = one at a time"),
    "COACH_PUSH_RATE": (
        "push_rate", "25", _int_between(1, 1000),
        "Pushes (invitations, summaries, nudges) sent per second by all instances together"),
    "COACH_CLAIM_TIMEOUT": (
        "claim_timeout", "60", _int_between(30, 3600),
        "Seconds a push stays claimed by an instance; then another sends it (a dead one's)"),
    "COACH_WEBHOOK_URL": ("webhook_url", "", _optional_url, "Public HTTPS URL; set = webhook mode, empty = polling"),
    "COACH_WEBHOOK_LISTEN": ("webhook_listen", "0.0.0.0", _text, "Address the webhook server listens on"),
    "COACH_WEBHOOK_PORT": ("webhook_port", "8443", _int_between(1, 65535), "Port the webhook server listens on"),
    "COACH_WEBHOOK_SECRET": (
        "webhook_secret", "", _text, "Secret token Telegram sends with each webhook call"),
    "COACH_XAPI_ENDPOINT": (
        "xapi_endpoint", "", _endpoint,
        "LRS xAPI base URL, e.g. https://lrs.bank.example/xapi/; empty = no xAPI reporting"),
    "COACH_XAPI_USER": ("xapi_user", "", _text, "LRS basic-auth user (xAPI)"),
    "COACH_XAPI_PASSWORD": ("xapi_password", "", _text, "LRS basic-auth password (xAPI)"),
    "COACH_XAPI_HOMEPAGE": (
        "xapi_homepage", "", _optional_url,
        "Base of the statements' actor accounts and activity IRIs, e.g. https://coach.bank.example"),
    "COACH_XAPI_BATCH": ("xapi_batch", "50", _int_between(1, 500), "Statements per request to the LRS"),
}


@dataclass(frozen=True)
class Settings:
    """Every setting of the bot; build it with `load_settings`."""

    token: str = ""
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    proxy: str = ""
    db: Path | str = Path("data/coach.db")  # a str is a PostgreSQL URL
    db_password: str = ""
    db_pool: int = 10
    knowledge: Path = Path("knowledge/")
    admins: frozenset[int] = frozenset()
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    log_level: str = "INFO"
    drill_size: int = 3
    grace_days: int = 7
    retention_days: int = 365
    embeddings: str = "use-m3"
    cache_dir: Path = Path("data/cache")
    embed_threads: int = 1
    chart_font: Path | None = None
    stranger_replies: int = 60
    concurrent_updates: int = 16
    push_rate: int = 25
    claim_timeout: int = 60
    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str = ""
    xapi_endpoint: str = ""
    xapi_user: str = ""
    xapi_password: str = ""
    xapi_homepage: str = ""
    xapi_batch: int = 50
    explicit: frozenset[str] = frozenset()  # keys that were set, not defaulted

    # settings whose values the log filter redacts (add each new secret setting here)
    SECRETS = ("token", "webhook_secret", "db_password", "xapi_password")

    @property
    def xapi(self) -> bool:
        """xAPI reporting is on (load_settings checks the four settings come together)."""
        return bool(self.xapi_endpoint)

    def secret_values(self) -> list[str]:
        values = [str(getattr(self, name)) for name in self.SECRETS if getattr(self, name)]
        if isinstance(self.db, str):  # and the password inside a PostgreSQL URL
            password = urlsplit(self.db).password
            values += [password, unquote(password)] if password else []
        return values


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines; blank lines and `#` comments ignored, optional quotes stripped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip().removeprefix("export ").strip()] = value
    return values


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path = Path(".env")) -> Settings:
    """Merge `.env` and the environment (environment wins) and parse every key."""
    env = dict(os.environ if environ is None else environ)
    merged = {**read_env_file(env_file), **{k: v for k, v in env.items() if k in SPEC}}
    values: dict[str, Any] = {}
    for key, (name, default, parse, _) in SPEC.items():
        raw = merged.get(key, default)
        try:
            values[name] = parse(raw)
        except ValueError as err:
            raise ConfigError(key, str(err), raw) from None
    explicit = frozenset(k for k in SPEC if merged.get(k, "") != "")
    given = [k for k in XAPI_KEYS if k in explicit]
    if given and len(given) < len(XAPI_KEYS):
        missing = next(k for k in XAPI_KEYS if k not in explicit)
        verb = "is" if len(given) == 1 else "are"
        raise ConfigError(missing, f"a value when {', '.join(given)} {verb} set (xAPI reporting"
                          f" needs all of {', '.join(XAPI_KEYS)})", "")
    return Settings(**values, explicit=explicit)
