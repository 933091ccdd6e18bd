"""Score a question set through the `ask` contract, by language and by style.

Run from the repo root (any version of the code: it only uses `python -m bot ask`):
    .venv/bin/python bench/blind_report.py [--set blind2-questions] [--kb PATH]
        [--half a|b] [--misses]

In scope = `expect` names a card that exists. Reported per language and per style:
top-1, top-3, confident and right, confident and wrong (shares of the in-scope
questions); for `out_of_scope` and `no_card` questions the share answered
confidently; for `other_person` the confident answers with any card but the
expected one (how-to cards for one's own data); for `smalltalk` the share flagged.
`--half a` / `--half b` keeps one half of the set, split by a hash of the question
(blind set 2 is tuned on half a only; half b is the untouched check); `--misses`
lists the in-scope questions whose top 1 is wrong, with the top 3, and those without
a card answered confidently.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def ask(questions: list[str], kb: Path) -> list[dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "--top", "3",
                           "--kb", str(kb)], input="\n".join(questions) + "\n", cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return [json.loads(line) for line in proc.stdout.splitlines()]


def half(question: str) -> str:
    """"a" or "b": a stable split of a set by a hash of the question."""
    return "ab"[hashlib.sha1(question.encode("utf-8")).digest()[0] % 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="blind2-questions")
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--half", choices=("a", "b"), help="one half of the set (by hash)")
    parser.add_argument("--misses", action="store_true", help="list wrong top-1 answers")
    args = parser.parse_args()
    rows = yaml.safe_load((ROOT / "bench" / f"{args.set}.yaml").read_text("utf-8"))["questions"]
    if args.half:
        rows = [r for r in rows if half(str(r["q"])) == args.half]
    listed = subprocess.run([sys.executable, "-m", "bot", "kb", "list", "--json", "--kb",
                             str(args.kb)], cwd=ROOT, capture_output=True, text=True, check=True)
    have = {c["id"] for c in json.loads(listed.stdout)}
    out = ask([str(r["q"]).replace("\n", " ") for r in rows], args.kb)
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    missing = 0
    misses: list[str] = []
    for row, got in zip(rows, out, strict=True):
        ids = [m["id"] for m in got["matches"]]
        conf = bool(got["confident"])
        style, expect = str(row.get("style", "?")), row.get("expect")
        for key in (f"lang {row.get('lang', '?')}", f"style {style}", "all"):
            g = groups[key]
            if style == "smalltalk":
                g["smalltalk flagged"].append(float(bool(got.get("smalltalk"))))
                g["smalltalk confident"].append(float(conf))
            elif expect is None:
                g[f"{style} confident"].append(float(conf))
            elif expect not in have:
                continue
            else:
                g["n"].append(1)
                g["top-1"].append(float(ids[:1] == [expect]))
                g["top-3"].append(float(expect in ids[:3]))
                g["conf right"].append(float(conf and ids[:1] == [expect]))
                g["conf wrong"].append(float(conf and ids[:1] != [expect]))
                if style == "other_person":
                    g["other_person conf how-to"].append(float(conf and ids[:1] != [expect]))
        if expect is not None and expect not in have:
            missing += 1
        elif (ids[:1] != [expect] if expect else conf) and style != "smalltalk":
            three = ", ".join(f"{m['id']} {m['score']:.2f}" for m in got["matches"])
            misses.append(f"{'C' if conf else ' '} {'3' if expect in ids else ' '} "
                          f"{expect or style:<34} {row['q']!r}\n      -> {three}")
    if args.misses:
        print(f"misses (C: confident, 3: in the top 3; no card or out of scope: confident), {len(misses)}:")
        print("\n".join(sorted(misses, key=lambda m: m[4:40])))
    name = args.set + (f" half {args.half}" if args.half else "")
    print(f"{name}: {len(rows)} questions, {missing} skipped (expected card not in {args.kb})")
    for key in sorted(groups, key=lambda k: (k != "all", k)):
        g = groups[key]
        n = len(g.pop("n", []))
        parts = ([f"n={n}"] if n else []) + [f"{name} {sum(v) / len(v):.1%} ({int(sum(v))}/{len(v)})"
                                            for name, v in g.items() if v]
        print(f"  {key:<20} " + "  ".join(parts))


if __name__ == "__main__":
    main()
