"""DESIGN.md's layering rule, checked on the ast of bot/."""

from __future__ import annotations

import ast
from fnmatch import fnmatch
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
# store/ is a package (it outgrew one module); each driver stays in its engine's module.
ONLY_IN = {"telegram": ("adapters/telegram.py", "adapters/telegram_run.py",
                        "adapters/telegram_inbox.py", "adapters/telegram_http.py",
                        "adapters/telegram_push.py"),
           "sqlite3": ("store/sqlite.py",), "psycopg": ("store/postgres.py",),
           "psycopg_pool": ("store/postgres.py",), "yaml": ("knowledge.py",)}

# DESIGN.md's layer table, layer 0 first; each row left to right. A module imports only
# modules in lower layers, or to its right in its own row. An entry is a path under bot/
# without ".py" (a pattern; a package such as store is one entry). Not in DESIGN.md's
# table, placed by what they import: the `bot` and `bot.adapters` package files (they
# import nothing).
LAYERS: list[list[str]] = [
    ["models", "config", "text", "privacy", "__init__"],
    ["authoring", "cardfile", "knowledge", "search", "ranker", "lexical", "semantic", "embeddings", "weights",
     "smalltalk", "terms", "drills", "schedule", "chart", "items",
     "reports", "views", "i18n", "xapi"],
    ["store"],
    ["assistant", "roster", "staff", "supervision", "learning", "answers", "training"],
    ["app", "demo", "logs"],
    ["adapters/telegram*", "adapters/console", "adapters/xapi_sender", "adapters/__init__"],
    ["__main__", "suggestions_cli"],
]


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def place(module: str) -> tuple[int, int] | None:
    """(layer, position in its row) of a module path such as "store/base"."""
    for layer, row in enumerate(LAYERS):
        for position, entry in enumerate(row):
            if fnmatch(module, entry) or module.startswith(entry + "/"):
                return layer, position
    return None


def bot_imports(path: Path, root: Path) -> set[str]:
    """The modules of the package at `root` that `path` imports, as paths like "store/base"."""
    package = path.relative_to(root).parent.parts

    def module(parts: list[str]) -> str:
        rel = "/".join(parts)
        if not rel:
            return "__init__"
        return f"{rel}/__init__" if (root / rel).is_dir() else rel

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {module(a.name.split(".")[1:]) for a in node.names
                      if a.name.split(".")[0] == root.name}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the importing module's package
                base = list(package[:len(package) - node.level + 1])
            elif node.module and node.module.split(".")[0] == root.name:
                base = []
            else:
                continue
            dotted = node.module.split(".") if node.module else []
            parts = base + (dotted if node.level else dotted[1:])
            for alias in node.names:  # `from bot import store` imports a module too
                sub = [*parts, alias.name]
                is_module = (root.joinpath(*sub).with_suffix(".py").is_file()
                             or root.joinpath(*sub).is_dir())
                found.add(module(sub) if is_module else module(parts))
    return found


def layer_offences(root: Path) -> list[str]:
    """Imports that point up a layer or left in a row, and modules the table does not place."""
    offences = []
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).with_suffix("").as_posix()
        here = place(name)
        if here is None:
            offences.append(f"{name} is not in the layer table")
            continue
        for target in sorted(bot_imports(path, root)):
            there = place(target)
            if there is None or there == here:
                continue  # unplaced targets are reported as modules; a package imports itself
            if there[0] > here[0]:
                offences.append(f"{name} (layer {here[0]}) imports {target} (layer {there[0]})")
            elif there[0] == here[0] and there[1] < here[1]:
                offences.append(f"{name} imports {target}, left of it in layer {here[0]}")
    return offences


def test_imports_point_down_the_layers() -> None:
    assert layer_offences(BOT) == []


def test_the_layer_rule_catches_a_violation(tmp_path: Path) -> None:
    root = tmp_path / "bot"
    for name, text in {
        "__init__.py": "",
        "models.py": "from bot.store import Store\n",  # up: layer 0 -> 2
        "text.py": "import bot.models\n",  # left in layer 0
        "store/__init__.py": "from bot.store.base import x\nfrom .base import y\n",  # its own
        "store/base.py": "from bot import models, text\nfrom .. import privacy\n",  # down
        "privacy.py": "",
        "staff.py": "from bot.training import Training\n",  # right in layer 3: allowed
        "training.py": "from bot import staff\n",  # left in layer 3
        "answers.py": "from .adapters import console\n",  # up: layer 3 -> 5
        "adapters/__init__.py": "",
        "adapters/console.py": "",
        "adapters/telegram_render.py": "from bot.adapters.console import c\n",  # right
        "stray.py": "",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert layer_offences(root) == [
        "answers (layer 3) imports adapters/console (layer 5)",
        "models (layer 0) imports store/__init__ (layer 2)",
        "stray is not in the layer table",
        "text imports models, left of it in layer 0",
        "training imports staff, left of it in layer 3",
    ]


def test_libraries_stay_in_their_module() -> None:
    offenders = []
    for path in BOT.rglob("*.py"):
        rel = path.relative_to(BOT).as_posix()
        for lib, home in ONLY_IN.items():
            if lib in imported(path) and rel not in home:
                offenders.append(f"{rel} imports {lib}")
    assert offenders == []


def test_environment_read_only_in_config() -> None:
    offenders = [
        p.relative_to(BOT).as_posix() for p in BOT.rglob("*.py")
        if "os.environ" in p.read_text(encoding="utf-8") and p.name != "config.py"
    ]
    assert offenders == []


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from telegram import Bot\nimport sqlite3.dbapi2\n")
    assert {"telegram", "sqlite3"} <= imported(bad)
