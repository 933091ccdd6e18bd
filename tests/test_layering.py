"""DESIGN.md's layering rule, checked on the ast of bot/."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
# store/ is a package (it outgrew one module); aiosqlite stays in its base module.
ONLY_IN = {"telegram": ("adapters/telegram.py", "adapters/telegram_run.py",
                        "adapters/telegram_http.py"),
           "aiosqlite": ("store/base.py",), "yaml": ("knowledge.py",)}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


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
    bad.write_text("from telegram import Bot\nimport aiosqlite.core\n")
    assert {"telegram", "aiosqlite"} <= imported(bad)
