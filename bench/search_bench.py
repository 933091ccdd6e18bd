"""Benchmark the question matcher (bot.search.Index) against two baselines.

Run from the repo root: .venv/bin/python bench/search_bench.py [--sizes 50,2000] [--model use-m3|off]
    [--kb PATH] [--cache DIR]
Prints quality per question set and language, ours' misses, start-up and the model's memory,
latency / build time / memory at synthetic scale (query latency includes embedding the
question), and text costs. Calibration: bench/fit_ranker.py.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from bot.embeddings import Embedder  # noqa: E402
from bot.knowledge import check  # noqa: E402
from bot.models import Card, Lines, Text  # noqa: E402
from bot.search import Index  # noqa: E402
from bot.terms import prepare, tokens  # noqa: E402
from bot.text import normalise  # noqa: E402

SETS = ("dev-questions", "hard-questions", "out-of-scope")
MODEL = {"name": "use-m3", "cache": str(ROOT / "data" / "bench-cache"), "kb": str(ROOT / "knowledge")}


def ours(cards: list[Card], background: bool = False) -> Index:
    """Our index with the model (and its cache) chosen on the command line; `background`:
    as the bot starts (the model loads in a thread of its own)."""
    if MODEL["name"] == "off":
        return Index(cards)
    return Index(cards, embedder=Embedder(MODEL["name"], 1, Path(MODEL["cache"]),
                                          background=background))
LANGS = ("zh-Hans", "zh-Hant", "en", "mixed")
NUM_ZH = "一二三四五六七八九十"
NUM_EN = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


@dataclass(frozen=True)
class Q:
    q: str
    expect: str | None
    lang: str
    style: str


def load_set(name: str) -> list[Q]:
    raw = yaml.safe_load((ROOT / "bench" / f"{name}.yaml").read_text(encoding="utf-8"))
    return [Q(str(d["q"]), d.get("expect"), str(d.get("lang", "?")), str(d.get("style", "?")))
            for d in raw["questions"]]


def doc_text(card: Card) -> str:
    parts = [card.title.zh, card.title.en, *card.questions.zh, *card.questions.en,
             card.summary.zh, card.summary.en]
    for lines in (card.steps, card.say, card.escalate, card.never):
        parts += [*lines.zh, *lines.en]
    return "\n".join(parts)


class Fuzzy:
    """Baseline (a): rapidfuzz WRatio over each card's whole text."""

    def __init__(self, cards: list[Card]) -> None:
        self.ids = [c.id for c in cards]
        self.docs = [doc_text(c) for c in cards]

    def search(self, query: str, limit: int = 3) -> list[str]:
        hits = process.extract(query, self.docs, scorer=fuzz.WRatio, limit=limit)
        return [self.ids[i] for _, _, i in hits]


class BM25:
    """Baseline (b): plain BM25 (k1=1.2, b=0.75) over bot.terms tokens of the whole text."""

    def __init__(self, cards: list[Card], k1: float = 1.2, b: float = 0.75) -> None:
        self.ids = [c.id for c in cards]
        tfs = [Counter(tokens(prepare(doc_text(c)))) for c in cards]
        lengths = np.array([sum(tf.values()) for tf in tfs] or [1], dtype=np.float64)
        avg = float(lengths.mean()) or 1.0
        post: dict[str, tuple[list[int], list[float]]] = {}
        for i, tf in enumerate(tfs):
            norm = k1 * (1 - b + b * lengths[i] / avg)
            for tok, f in tf.items():
                ids, ws = post.setdefault(tok, ([], []))
                ids.append(i)
                ws.append(f * (k1 + 1) / (f + norm))
        n = len(tfs)
        self.post = {t: (np.array(ids, dtype=np.int32),
                         np.array(ws) * math.log(1 + (n - len(ids) + 0.5) / (len(ids) + 0.5)))
                     for t, (ids, ws) in post.items()}

    def search(self, query: str, limit: int = 3) -> list[str]:
        scores = np.zeros(len(self.ids))
        for tok, qtf in Counter(tokens(prepare(query))).items():
            if tok in self.post:
                ids, ws = self.post[tok]
                scores[ids] += ws * qtf
        top = np.argsort(-scores)[:limit]
        return [self.ids[i] for i in top if scores[i] > 0]


@dataclass(frozen=True)
class Row:
    q: Q
    ours: list[tuple[str, float]]
    confident: bool
    fuzzy: list[str]
    bm25: list[str]

    @property
    def top(self) -> float:
        return self.ours[0][1] if self.ours else 0.0

    @property
    def lead(self) -> float:
        return self.top - (self.ours[1][1] if len(self.ours) > 1 else 0.0)

    @property
    def right(self) -> bool:
        return bool(self.ours) and self.ours[0][0] == self.q.expect


def table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [headers, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, r in enumerate(cells):
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print()


def pct(hits: int | float, n: int) -> str:
    return f"{100 * hits / n:.1f}" if n else "-"


COLUMNS: dict[str, Any] = {
    "ours@1": lambda r: r.right, "ours@3": lambda r: r.q.expect in [m for m, _ in r.ours],
    "conf": lambda r: r.confident, "ok": lambda r: r.confident and r.right,
    "rf@1": lambda r: r.q.expect in r.fuzzy[:1], "rf@3": lambda r: r.q.expect in r.fuzzy,
    "bm25@1": lambda r: r.q.expect in r.bm25[:1], "bm25@3": lambda r: r.q.expect in r.bm25,
}


def quality(sets: dict[str, list[Row]]) -> None:
    print("== 1. Quality (top-1 / top-3 %; conf = confident %, ok = confident-and-correct %,"
          " unconf = out-of-scope correctly unconfident %)\n")
    rows: list[list[Any]] = []
    for name, data in sets.items():
        for lang in (*LANGS, "all"):
            rs = [r for r in data if lang in ("all", r.q.lang)]
            if name.endswith("out-of-scope"):
                rows.append([name, lang, len(rs), *["-"] * len(COLUMNS),
                             pct(sum(not r.confident for r in rs), len(rs))])
            elif rs:
                rows.append([name, lang, len(rs),
                             *[pct(sum(bool(f(r)) for r in rs), len(rs)) for f in COLUMNS.values()],
                             "-"])
    table(["set", "lang", "n", *COLUMNS, "unconf"], rows)


def misses(sets: dict[str, list[Row]]) -> None:
    print("== 2. Ours' top-1 misses on dev and hard sets\n")
    for name in SETS[:2]:
        bad = [r for r in sets[name] if not r.right]
        print(f"-- {name}: {len(bad)} miss(es)")
        for r in bad:
            got = ", ".join(f"{i} {s:.3f}" for i, s in r.ours) or "(nothing)"
            flag = "CONFIDENT" if r.confident else "unconfident"
            print(f"  [{r.q.lang}/{r.q.style}] {r.q.q}\n    expect {r.q.expect}; got {got}; {flag}")
        print()


def synth(real: list[Card], n: int, seed: int = 7) -> list[Card]:
    """n cards: the real ones, then perturbed copies with ids like <id>.v123."""
    rng = random.Random(seed)
    pool_zh = [q for c in real for q in c.questions.zh]
    pool_en = [q for c in real for q in c.questions.en]
    out = list(real[:n])
    k = 0
    while len(out) < n:
        k += 1
        base = rng.choice(real)

        def vary(lines: tuple[str, ...], pool: list[str], zh: bool) -> tuple[str, ...]:
            kept = [x for x in lines if rng.random() > 0.3] or list(lines[:1])
            kept += rng.sample(pool, min(len(pool), rng.randint(0, 2)))
            rng.shuffle(kept)
            if kept:
                word = rng.choice(NUM_ZH) if zh else rng.choice(NUM_EN)
                i = rng.randrange(len(kept))
                kept[i] = f"{kept[i]}{'' if zh else ' '}{word}"
            return tuple(kept)

        q, s = base.questions, base.steps
        out.append(replace(
            base, id=f"{base.id}.v{k}",
            title=Text(f"{base.title.zh}{rng.choice(NUM_ZH)}",
                       f"{base.title.en} {rng.choice(NUM_EN)}"),
            questions=Lines(vary(q.zh, pool_zh, True), vary(q.en, pool_en, False)),
            steps=Lines(vary(s.zh, [], True), vary(s.en, [], False)),
        ))
    return out


def distinct(cards: list[Card], originals: int, seed: int = 11) -> list[Card]:
    """The cards with every line of the copies (after the first `originals`) made
    different: two characters of the real cards' Chinese, or a made-up word from a pool
    of 40,000, put at the end of each line. The copies otherwise repeat the real cards'
    lines; this is a harder test for the build than a real card base would be."""
    rng = random.Random(seed)
    chars = sorted({ch for c in cards[:originals] for ch in c.title.zh + c.summary.zh
                    if "\u4e00" <= ch <= "\u9fff"})
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 8)))
             for _ in range(40000)]

    def zh(line: str) -> str:
        return line + rng.choice(chars) + rng.choice(chars)

    def en(line: str) -> str:
        return f"{line} {rng.choice(words)}"

    def lines(ls: Lines) -> Lines:
        return Lines(tuple(map(zh, ls.zh)), tuple(map(en, ls.en)))

    def text(t: Text) -> Text:
        return Text(zh(t.zh), en(t.en))

    return cards[:originals] + [replace(
        c, title=text(c.title), summary=text(c.summary), questions=lines(c.questions),
        steps=lines(c.steps), say=lines(c.say), escalate=lines(c.escalate),
        never=lines(c.never)) for c in cards[originals:]]


def lat(fn: Any, queries: list[str]) -> tuple[float, float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        fn(q, 3)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)]


def scale(real: list[Card], sizes: list[int], queries: list[str]) -> None:
    print("== 4. Build time (embedding cache warm) and per-query latency including the "
          "question's embedding, over the dev, hard and out-of-scope questions (synthetic "
          "card sets)\n")
    rows = []
    for n in sizes:
        cards = synth(real, n)
        for name, cls in (("ours", ours), ("rapidfuzz", Fuzzy), ("bm25", BM25)):
            t = time.perf_counter()
            idx = cls(cards)
            built = time.perf_counter() - t
            if name == "ours":  # a second build: the embedding cache warm, as at every start
                t = time.perf_counter()
                idx = cls(cards)
                built = time.perf_counter() - t
            qs = queries[:30] if name == "rapidfuzz" and n >= 10000 else queries
            idx.search("warm up", 3)
            med, p99 = lat(idx.search, qs)
            rows.append([name, n, f"{built:.3f}", len(qs), f"{med:.2f}", f"{p99:.2f}"])
    table(["matcher", "cards", "build s", "queries", "median ms", "p99 ms"], rows)
    big = max(sizes)
    runs = [subprocess.run([sys.executable, __file__, "--mem-child", str(big), *child_args()],
                           capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
            for _ in range(3)]
    builds = sorted(float(r[0]) for r in runs)
    print(f"Ours at {big} cards, each build in a fresh process (as at start-up, after the "
          f"real cards: lookup tables loaded), 3 runs: "
          f"{' / '.join(f'{b:.2f}' for b in builds)} s, median {builds[1]:.2f} s")
    for r in runs:
        print(f"  VmRSS before build {r[1]} MB, after {r[2]} MB (+{float(r[2]) - float(r[1]):.1f}"
              f" MB); highest {r[3]} MB")
    print()


def child_args() -> list[str]:
    return ["--model", MODEL["name"], "--cache", MODEL["cache"], "--kb", MODEL["kb"]]


def startup(real: list[Card]) -> None:
    """Start-up of the real cards in fresh processes: cold (empty cache), then warm."""
    print(f"== 3. Start-up with the real cards ({len(real)}), model {MODEL['name']}, fresh "
          "processes, as the bot starts (the model loads in a thread of its own): seconds to "
          "build the index (cache read, classifier fitted), until the model is ready, the "
          "first question after that; VmRSS\n")
    import tempfile

    with tempfile.TemporaryDirectory() as cold:
        rows = []
        for label, cache in (("cold (empty cache)", cold), ("warm", cold), ("warm", cold),
                             ("warm", cold)):
            out = subprocess.run([sys.executable, __file__, "--start-child", *child_args(),
                                  "--cache", cache], capture_output=True, text=True,
                                 check=True, cwd=ROOT).stdout.split()
            rows.append([label, *out])
    table(["run", "build s", "model ready s", "first query ms", "RSS before MB",
           "RSS after MB", "RSS words-only MB"], rows)


def start_child() -> None:
    """Prints: build time, seconds until the model is ready, the first question after that
    (ms), RSS before the build, after it (model loaded), and of the same build without it."""
    cards = [c for c in check(Path(MODEL["kb"]))[0] if c.id]
    before = rss_mb()
    t = time.perf_counter()
    index = ours(cards, background=True)
    built = time.perf_counter() - t
    if index.embedder is not None:
        index.embedder.load()
    ready = time.perf_counter() - t
    after = rss_mb()
    t = time.perf_counter()
    index.search("客户说手续费多扣了")
    first = (time.perf_counter() - t) * 1000
    words = subprocess.run([sys.executable, __file__, "--start-child", "--model", "off",
                            "--kb", MODEL["kb"]], capture_output=True, text=True, check=True,
                           cwd=ROOT).stdout.split()[4] if MODEL["name"] != "off" else f"{after:.1f}"
    print(f"{built:.2f} {ready:.2f} {first:.1f} {before:.1f} {after:.1f} {words}")


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS), or at its highest (VmHWM: unlike ru_maxrss, not
    inherited from the parent across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def mem_child(n: int, varied: bool) -> None:
    """Build time and memory of ours at n cards, in this fresh process: printed as
    "seconds rss-before rss-after peak terms" (MB)."""
    real = [c for c in check(Path(MODEL["kb"]))[0] if c.id]
    cards = distinct(synth(real, n), len(real)) if varied else synth(real, n)
    ours(real)  # as the bot starts: the real cards first
    before = rss_mb()
    t = time.perf_counter()
    index = ours(cards)
    built = time.perf_counter() - t
    after = rss_mb()
    print(f"{built:.3f} {before:.1f} {after:.1f} {rss_mb('VmHWM'):.1f} {len(index.lexical.vocab)}")
    assert len(index.cards) == n


def text_costs(queries: list[str]) -> None:
    print("== 5. Text normalisation costs\n")
    code = ("import time; t0 = time.perf_counter(); import opencc; t1 = time.perf_counter(); "
            "opencc.OpenCC('t2s'); opencc.OpenCC('s2t'); t2 = time.perf_counter(); "
            "print(f'{(t1 - t0) * 1000:.1f} {(t2 - t1) * 1000:.1f}')")
    imp, conv = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True).stdout.split()
    print(f"  import opencc: {imp} ms; load t2s + s2t converters: {conv} ms (fresh subprocess)")
    for name, fn in (("bot.text.normalise", normalise), ("bot.terms.prepare", prepare)):
        reps = 20
        t = time.perf_counter()
        for _ in range(reps):
            for q in queries:
                fn(q)
        us = (time.perf_counter() - t) / (reps * len(queries)) * 1e6
        print(f"  {name}: {us:.1f} us per call (dev questions, {reps * len(queries)} calls)")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="50,2000")
    ap.add_argument("--quick", action="store_true", help="skip sizes of 10,000 and up")
    ap.add_argument("--model", default="use-m3", help="embedding model, or off (words only)")
    ap.add_argument("--kb", default=str(ROOT / "knowledge"), help="card folder")
    ap.add_argument("--cache", default=MODEL["cache"], help="embedding cache of the bench")
    ap.add_argument("--mem-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--start-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--distinct", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    MODEL.update(name=args.model, cache=args.cache, kb=args.kb)
    if args.mem_child:
        mem_child(args.mem_child, args.distinct)
        return
    if args.start_child:
        start_child()
        return
    real, problems = check(Path(args.kb))
    real = [c for c in real if c.id]
    print(f"{len(real)} cards loaded from {args.kb} ({len(problems)} problem(s) tolerated); "
          f"model {args.model}\n")
    index, fz, bm = ours(real), Fuzzy(real), BM25(real)
    if index.embedder is not None and index.semantic is None:
        print(f"model {MODEL['name']} unavailable ({index.embedder.problem}): words only")
    known = {c.id for c in real}
    sets: dict[str, list[Row]] = {}
    for name in SETS:
        qs = load_set(name)
        kept = [q for q in qs if q.expect is None or q.expect in known]
        missing = sorted({str(q.expect) for q in qs if q not in kept})
        print(f"{name}: {len(kept)} question(s) used, {len(qs) - len(kept)} skipped "
              f"(expected card missing: {', '.join(missing) or 'none'})")
        rows = []
        for q in kept:
            res = index.search(q.q, limit=3)
            rows.append(Row(q, [(m.card.id, m.score) for m in res.matches], res.confident,
                            fz.search(q.q), bm.search(q.q)))
        sets[name] = rows
    # the blind set (never used for tuning or fitting): in scope and out of scope apart
    blind = [Row(q, [(m.card.id, m.score) for m in r.matches], r.confident, fz.search(q.q),
                 bm.search(q.q))
             for q in load_set("blind-questions") for r in [index.search(q.q, limit=3)]]
    sets["blind"] = [r for r in blind if r.q.expect is not None]
    sets["blind-out-of-scope"] = [r for r in blind if r.q.expect is None]
    print()
    quality(sets)
    misses(sets)
    startup(real)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.quick:
        sizes = [s for s in sizes if s < 10000]
    dev = [q.q for q in load_set("dev-questions")]
    if sizes:  # latency over every dev, hard and out-of-scope question (358)
        scale(real, sizes, [q.q for name in SETS for q in load_set(name)])
    text_costs(dev)


if __name__ == "__main__":
    main()
