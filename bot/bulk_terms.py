"""The terms of many texts at once, as postings: equal to `tokens(prepare(text))`.

Per-string NFKC, OpenCC and regexes cost ~5 ms a card: a minute at 10,000 cards.
Here each character goes through lookup tables built once (NFKC, case folding and
traditional -> simplified, one character at a time) in C (bot/_scan.c), which also folds
dialect, two halves of the texts at once; shorthand, stop words and stems are worked out
once per distinct English word. A text holding anything the tables cannot do exactly
(characters that expand, compose or change under traditional -> simplified, slashes,
ampersands) is scanned again after `prepare()`; the very few still left take the string
path. So the terms are identical: tests/test_bulk_terms.py checks every card line and
random text.
"""

from __future__ import annotations

import ctypes
import importlib.util
import queue
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import numpy as np

from bot.terms import (
    DIALECT,
    EN_STOP,
    SHORTHAND,
    STEMS,
    ZH_FILLER,
    prepare,
    prepare_many,
    stem,
    tokens,
)
from bot.text import INVISIBLE, to_simplified

OTHER, CJK, WORD, SLOW, APOSTROPHE = 0, 1, 2, 3, 4  # character classes, as in _scan.c
RAW_WORD = 3  # a raw id of an English run (1 and 2: a character, a pair; _scan.c)
PREPARED = 1  # scan() flag: the texts went through prepare() already
PARALLEL = 1 << 22  # characters from which two threads scan (two halves of the texts)
BATCHES = 4  # per half: after each, its texts the tables cannot do are prepared meanwhile
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


@cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """For every BMP code unit: the character it becomes, and its class."""
    composes = {int(part, 16) for c in range(0x10000)
                if (d := unicodedata.decomposition(chr(c))) and not d.startswith("<")
                and len(parts := d.split()) == 2 for part in parts[1:]}
    mapped = np.arange(0x10000, dtype=np.uint16)
    kind = np.full(0x10000, SLOW, dtype=np.uint8)
    folded: dict[int, str] = {}
    for c in range(0x10000):
        if 0xD800 <= c <= 0xDFFF or 0x1100 <= c <= 0x11FF or 0x3130 <= c <= 0x318F \
                or 0xA960 <= c <= 0xD7FF or 0xFFA0 <= c <= 0xFFDC:
            continue  # surrogates (characters beyond the BMP) and Hangul, which composes
        n = unicodedata.normalize("NFKC", chr(c))
        if len(n) > 1 and all(_inert(ch) for ch in n):
            kind[c] = OTHER  # "…" becomes "...": punctuation either way
        if len(n) != 1 or unicodedata.combining(n) or ord(n) in composes:
            continue
        f = " " if INVISIBLE.match(n) or n.isspace() else n.casefold()
        if len(f) == 1:
            folded[c] = f
    # one OpenCC call for all; a character it changes is traditional: string path
    keys = sorted(set(folded.values()))
    converted = to_simplified("\n".join(keys)).split("\n")
    if len(converted) != len(keys):
        converted = [to_simplified(k) for k in keys]
    same = {k for k, v in zip(keys, converted, strict=True) if k == v}
    for c, f in folded.items():
        o = ord(f)
        if f not in same or f in "/&" or o > 0xFFFF:
            continue
        mapped[c] = o
        if f == "'":
            kind[c] = APOSTROPHE
        elif _is_cjk(o):
            kind[c] = CJK
        elif f.isascii() and f.isalnum():
            kind[c] = WORD
        else:
            kind[c] = OTHER
    return mapped, kind


def _is_cjk(o: int) -> bool:
    return any(lo <= o <= hi for lo, hi in _CJK_RANGES)


def _inert(ch: str) -> bool:
    """Punctuation no rule looks at: not a word or CJK character, space, ' / or &."""
    return not (ch.isalnum() or ch.isspace() or ch in "'/&" or _is_cjk(ord(ch))
                or unicodedata.combining(ch))


def _book(entries: list[tuple[str, str]]) -> np.ndarray:
    """Words and what replaces them, for _scan.c: [n, then per entry: key length,
    replacement length, key, replacement]; the first that matches wins."""
    out = [len(entries)]
    for key, to in entries:
        assert key and all(ord(ch) < 0x10000 for ch in key + to), key
        out += [len(key), len(to), *map(ord, key), *map(ord, to)]
    return np.array(out, dtype=np.int32)


_FILLERS = _book([(f, "") for f in ZH_FILLER])  # longest first, as the filler pattern
_DIALECT = _book([(k, DIALECT[k]) for k in sorted(DIALECT, key=len, reverse=True)])


@dataclass
class Postings:
    """A CSR matrix: row t (a term id) is documents docs[ptr[t]:ptr[t + 1]], ascending,
    with weights (summed field weights; for phrases 1)."""

    ptr: np.ndarray
    docs: np.ndarray
    weights: np.ndarray


Sources = tuple[np.ndarray, np.ndarray, np.ndarray]  # term, raw id, entries of its list


@dataclass
class _Scanned:
    """A scanner, and for which terms its raw ids' lists of documents and phrases count."""

    scanner: int
    n_raw: int
    doc_sources: Sources
    phrase_sources: Sources


def index_terms(texts: list[str], doc: np.ndarray, weight: np.ndarray, phrase: np.ndarray,
                vocab: dict[str, int]) -> tuple[Postings, Postings]:
    """Postings by term of texts: text i counts for document doc[i] (ascending) with weight
    weight[i] (1-255), and is phrase phrase[i] (ascending; -1 for none), whose terms drop
    fillers and stop words (tokens(..., drop_filler=True)). New terms are added to vocab;
    both matrices have a row for every term of it."""
    doc = np.ascontiguousarray(doc, dtype=np.int32)
    weight = np.ascontiguousarray(weight, dtype=np.uint8)
    phrase = np.ascontiguousarray(phrase, dtype=np.int32)
    known = _Known(vocab)
    # What the tables cannot do (traditional characters, slashes; a few % of card text)
    # goes again after prepare(): only the cutting into terms is left. prepare() runs
    # while the scan goes on, for each batch scanned.
    prepared: dict[int, str] = {}

    def prepare_these(ids: list[int]) -> None:
        prepared.update(zip(ids, prepare_many([texts[i] for i in ids]), strict=True))

    with _scanners() as done:
        everything = np.arange(len(texts))
        redo = everything[_scan(done, texts, everything, doc, weight, phrase, 0, known,
                                prepare_these)]
        prepare_these([i for i in redo.tolist() if i not in prepared])  # odd words' texts
        again = [prepared[i] for i in redo.tolist()]
        rest = redo[_scan(done, again, redo, doc, weight, phrase, PREPARED, known)]
        # and the very few left over take the string path
        done.append(_string_path([texts[i] for i in rest.tolist()], doc[rest], weight[rest],
                                 phrase[rest], vocab))
        cards = _rows(done, False, len(vocab), workers=2)
        with ThreadPoolExecutor(1) as pool:  # settling the cards' rows, meanwhile phrases
            settled = pool.submit(_settle, cards)
            phrases = _settle(_rows(done, True, len(vocab), workers=1))
            return settled.result(), phrases


@contextmanager
def _scanners() -> Iterator[list[_Scanned]]:
    done: list[_Scanned] = []
    try:
        yield done
    finally:
        for s in done:
            _library().scanner_free(s.scanner)


def _new_scanner() -> int:
    mapped, kind = _tables()
    return int(_library().scanner_new(_c(mapped), _c(kind), _c(_FILLERS), _c(_DIALECT)))


def _scan(done: list[_Scanned], texts: list[str], ids: np.ndarray, doc: np.ndarray,
          weight: np.ndarray, phrase: np.ndarray, flags: int, known: _Known,
          meanwhile: Callable[[list[int]], None] | None = None) -> np.ndarray:
    """Scan texts (texts[k] is text ids[k]) in C, in two halves at once when there is much
    of it (ctypes lets go of the GIL), each in BATCHES; meanwhile(ids of the texts a batch
    could not do) runs here as each batch is done. Appends the scanners to done; returns
    which texts they could not do."""
    lib, n = _library(), len(texts)
    data = np.zeros(n, dtype=np.uint64)
    kinds = np.zeros(n, dtype=np.uint8)
    lens = np.zeros(n, dtype=np.int64)
    if _library_py().texts_view(texts, _c(data), _c(kinds), _c(lens)) < 0:
        raise TypeError("texts must be str")
    d, w, p = doc[ids], weight[ids], phrase[ids]
    ends = np.cumsum(lens)
    cut = int(np.searchsorted(ends, ends[-1] // 2)) if n and ends[-1] > PARALLEL else 0
    cut = int(np.searchsorted(d, d[cut])) if cut else 0  # half the characters, at a document
    halves = [(0, cut), (cut, n)] if cut else [(0, n)]
    slow = np.zeros(n, dtype=np.uint8)
    scanners = [_new_scanner() for _ in halves]
    done += [_Scanned(s, 0, _EMPTY, _EMPTY) for s in scanners]

    finished: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()

    def run(k: int) -> None:
        lo, hi = halves[k]
        step = max(1, -(-(hi - lo) // BATCHES))
        try:
            for a in range(lo, hi, step):
                b = min(hi, a + step)
                lib.scan(scanners[k], _c(data[a:]), _c(kinds[a:]), _c(lens[a:]), b - a,
                         _c(d[a:]), _c(w[a:]), _c(p[a:]), flags, _c(slow[a:]))
                finished.put((a, b))
            lib.scanner_done(scanners[k])
        finally:
            finished.put(None)

    with ThreadPoolExecutor(len(halves)) as pool:
        running = [pool.submit(run, k) for k in range(len(halves))]
        for _ in halves:
            while (batch := finished.get()) is not None:
                if meanwhile:
                    a, b = batch
                    meanwhile(ids[a + np.flatnonzero(slow[a:b])].tolist())
        for future in running:
            future.result()
    for k, scanner in enumerate(scanners):  # in order: vocabulary ids do not vary
        scanned, odd = _map(scanner, known, bool(flags & PREPARED))
        if odd.any():  # a word only the string path cuts right: its texts go again
            blocked = np.flatnonzero(odd).astype(np.int32)
            lib.scanner_block(scanner, _c(blocked), len(blocked))
            run(k)
            scanned, _ = _map(scanner, known, bool(flags & PREPARED))
        done[len(done) - len(scanners) + k] = scanned
    return slow.astype(bool)


class _Known:
    """Term ids so far: the vocabulary, and what each character, pair and English word
    (as cut before or after prepare()) stands for, worked out once per index."""

    def __init__(self, vocab: dict[str, int]) -> None:
        self.vocab = vocab
        self.words: dict[tuple[str, bool], tuple[list[int], list[int], bool]] = {}

    def codes(self, codes: np.ndarray) -> np.ndarray:
        """Term ids of characters (code < 2**16) and pairs (first << 16 | second); the
        strings are made by numpy, all at once."""
        two = np.zeros((len(codes), 2), dtype=np.uint32)  # UTF-32, a 0 ends a character
        pair = codes >= 0x10000
        two[:, 0] = np.where(pair, codes >> 16, codes)
        two[:, 1] = np.where(pair, codes & 0xFFFF, 0)
        vocab = self.vocab
        return np.array([vocab.setdefault(t, len(vocab)) for t in two.view("<U2").ravel().tolist()],
                        dtype=np.int32)

    def word(self, word: str, prepared: bool) -> tuple[list[int], list[int], bool]:
        """Its terms, its terms in a phrase, and whether its text must go another way."""
        if (word, prepared) not in self.words:
            self.words[word, prepared] = _word_terms(word, self.vocab, prepared)
        return self.words[word, prepared]


def _map(scanner: int, known: _Known, prepared: bool) -> tuple[_Scanned, np.ndarray]:
    """The terms of each raw id of a scanner (for documents, and for phrases), and which
    raw ids are words only the string path cuts right."""
    kind, code, at, length, n_docs, n_phrases, pool = _export(scanner)
    cjk = np.flatnonzero(kind != RAW_WORD).astype(np.int32)
    single = known.codes(code[cjk].astype(np.int64))
    words = np.flatnonzero(kind == RAW_WORD).astype(np.int32)
    spelling = pool.tobytes()
    found = [known.word(spelling[a:a + n].decode("ascii"), prepared)
             for a, n in zip(at[words].tolist(), length[words].tolist(), strict=True)]
    odd = np.zeros(len(kind), dtype=bool)
    odd[words] = [f[2] for f in found]

    def sources(lists: list[list[int]], entries: np.ndarray) -> Sources:
        """(term, raw id, entries) for every term of every raw id with entries."""
        count = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        terms = np.concatenate([single, np.fromiter((t for ts in lists for t in ts),
                                                    dtype=np.int32, count=int(count.sum()))])
        raws = np.concatenate([cjk, np.repeat(words, count)])
        keep = entries[raws] > 0
        return terms[keep], raws[keep], entries[raws[keep]]

    return _Scanned(scanner, len(kind), sources([f[0] for f in found], n_docs),
                    sources([f[1] for f in found], n_phrases)), odd


def _string_path(texts: list[str], doc: np.ndarray, weight: np.ndarray, phrase: np.ndarray,
                 vocab: dict[str, int]) -> _Scanned:
    """A scanner holding the terms of texts cut as strings; its raw ids are term ids."""
    scanner = _new_scanner()
    for phrases in (False, True):
        found = [[_id(vocab, t) for t in tokens(prepare(text), drop_filler=phrases)]
                 if not phrases or ph >= 0 else []
                 for text, ph in zip(texts, phrase.tolist(), strict=True)]
        sizes = [len(ts) for ts in found]
        raw = np.array([t for ts in found for t in ts], dtype=np.int32)
        owner = np.repeat(phrase if phrases else doc, sizes).astype(np.int32)
        w = np.repeat(np.ones(len(texts)) if phrases else weight, sizes).astype(np.uint32)
        _library().scanner_put(scanner, len(raw), _c(raw), _c(owner), _c(w), phrases)
    _library().scanner_done(scanner)
    _, _, _, _, n_docs, n_phrases, _ = _export(scanner)
    ids = np.arange(len(n_docs), dtype=np.int32)  # raw ids are term ids
    return _Scanned(scanner, len(ids), (ids[n_docs > 0], ids[n_docs > 0], n_docs[n_docs > 0]),
                    (ids[n_phrases > 0], ids[n_phrases > 0], n_phrases[n_phrases > 0]))


def _rows(done: list[_Scanned], phrases: bool, n_rows: int, workers: int) -> Postings:
    """Every scanner's entries as rows by term, to be settled. A term's row has a place
    for each raw id standing for it (in scanner order: the halves' documents follow each
    other); the scanners spread their entries to those places (two at once when there
    are many and two workers are allowed)."""
    lib = _library()
    parts = [s.phrase_sources if phrases else s.doc_sources for s in done]
    term = np.concatenate([p[0] for p in parts])
    size = np.concatenate([p[2] for p in parts])
    order = np.argsort(term, kind="stable")
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.cumsum(size[order]) - size[order]
    ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(term, weights=size, minlength=n_rows).astype(np.int64), out=ptr[1:])
    docs = np.empty(int(ptr[-1]), dtype=np.int32)
    weights = np.empty(int(ptr[-1]), dtype=np.float32)
    ends = np.cumsum([len(p[0]) for p in parts])
    workers = workers if len(docs) > PARALLEL else 1

    def spread(k: int) -> None:
        for i in range(k, len(done), workers):
            raw = parts[i][1]
            count = np.bincount(raw, minlength=done[i].n_raw).astype(np.int32)
            at = np.cumsum(count, dtype=np.int64) - count
            places = place[ends[i] - len(raw):ends[i]][np.argsort(raw, kind="stable")]
            lib.spread(done[i].scanner, phrases, _c(at), _c(count), _c(places), _c(docs),
                       _c(weights))

    _each(spread, workers)
    return Postings(ptr, docs, weights)


def _settle(rows: Postings) -> Postings:
    """Rows sorted by document, repeats merged, moved together."""
    n = len(rows.ptr) - 1
    rows.ptr[n] = _library().settle_rows(_c(rows.ptr), 0, n, 0, _c(rows.docs), _c(rows.weights))
    return Postings(rows.ptr, rows.docs[:rows.ptr[n]], rows.weights[:rows.ptr[n]])


def bm25(p: Postings, n_docs: int, k1: float, b: float) -> None:
    """BM25 term weights in place of the summed field weights (tf): the length of a
    document is the sum of its weights."""
    lengths = np.zeros(n_docs, dtype=np.float64)
    _library().doc_lengths(_c(p.docs), _c(p.weights), len(p.docs), _c(lengths))
    avg = float(lengths.mean()) if n_docs else 1.0
    _library().bm25(_c(p.docs), _c(p.weights), len(p.docs), _c(lengths), avg or 1.0, k1, b)


def column_sums(p: Postings, row_weight: np.ndarray, n_docs: int) -> np.ndarray:
    """Per document, the sum of row_weight[t] over the rows t it is in."""
    weights = np.ascontiguousarray(row_weight, dtype=np.float64)  # kept: C reads it
    out = np.zeros(n_docs, dtype=np.float64)
    _library().column_sums(_c(p.ptr), len(p.ptr) - 1, _c(p.docs), _c(weights), _c(out))
    return out


def _export(scanner: int) -> tuple[np.ndarray, ...]:
    """Per raw id: kind, code, where its spelling starts, its length, in how many documents
    and phrases; and the spellings."""
    lib = _library()
    n = lib.scanner_size(scanner)
    out = (np.empty(n, dtype=np.uint8), np.empty(n, dtype=np.uint32), np.empty(n, dtype=np.int64),
           np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
           np.empty(lib.scanner_pool_size(scanner), dtype=np.uint8))
    lib.scanner_export(scanner, *map(_c, out))
    return out


def _each(work: Callable[[int], None], parts: int) -> None:
    """work(0) .. work(parts - 1), in threads when more than one (C calls let go of the GIL)."""
    if parts == 1:
        work(0)
        return
    with ThreadPoolExecutor(parts) as pool:
        list(pool.map(work, range(parts)))


_EMPTY = (np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int64))


def _word_terms(word: str, vocab: dict[str, int], prepared: bool
                ) -> tuple[list[int], list[int], bool]:
    """Term ids of one English run, those in a phrase (stop words out), and whether its
    text must be done another way: the pattern takes one apostrophe and letters after
    it, and a shorthand next to an apostrophe is folded by prepare() before the words
    are cut."""
    if "'" in word:
        head, _, tail = word.partition("'")
        if not tail.isalpha() or not prepared and (head in SHORTHAND or tail in SHORTHAND):
            return [], [], True
    elif prepared or word not in SHORTHAND:  # what tokens() makes of one plain word
        ids = [_id(vocab, STEMS.get(word) or STEMS.setdefault(word, stem(word)))]
        return ids, [] if word in EN_STOP else ids, False
    text = word if prepared else SHORTHAND.get(word, word)
    return ([_id(vocab, t) for t in tokens(text, False)],
            [_id(vocab, t) for t in tokens(text, True)], False)


def _id(vocab: dict[str, int], term: str) -> int:
    return vocab.setdefault(term, len(vocab))


def _c(a: np.ndarray) -> int:
    """The address of a contiguous array's data, for ctypes. The caller keeps the array
    (not a temporary) for as long as C uses it."""
    assert a.flags.c_contiguous
    return int(a.ctypes.data)


def _path() -> str:
    spec = importlib.util.find_spec("bot._scan")
    if spec is None or not spec.origin:
        raise ImportError("bot/_scan.c is not compiled: run `make` (pip install -e .)")
    return spec.origin


@cache
def _library_py() -> ctypes.PyDLL:
    """texts_view(), which reads str objects: called holding the GIL."""
    lib = ctypes.PyDLL(_path())
    lib.texts_view.restype = ctypes.c_int
    lib.texts_view.argtypes = [ctypes.py_object, ctypes.c_void_p, ctypes.c_void_p,
                               ctypes.c_void_p]
    return lib


@cache
def _library() -> ctypes.CDLL:
    """bot/_scan.c, compiled when the package is installed (pip install -e .); its calls
    let go of the GIL."""
    lib = ctypes.CDLL(_path())
    ptr, i32, i64, f64 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_double
    signatures = {
        "scanner_new": (ptr, [ptr, ptr, ptr, ptr]),
        "scanner_free": (None, [ptr]),
        "scan": (None, [ptr, ptr, ptr, ptr, i32, ptr, ptr, ptr, i32, ptr]),
        "scanner_done": (None, [ptr]),
        "scanner_block": (None, [ptr, ptr, i64]),
        "scanner_size": (i32, [ptr]),
        "scanner_pool_size": (i64, [ptr]),
        "scanner_export": (None, [ptr] * 8),
        "scanner_put": (None, [ptr, i64, ptr, ptr, ptr, i32]),
        "spread": (None, [ptr, i32, ptr, ptr, ptr, ptr, ptr]),
        "settle_rows": (i64, [ptr, i32, i32, i64, ptr, ptr]),
        "doc_lengths": (None, [ptr, ptr, i64, ptr]),
        "column_sums": (None, [ptr, i32, ptr, ptr, ptr]),
        "bm25": (None, [ptr, ptr, i64, ptr, f64, f64, f64]),
    }
    for name, (restype, argtypes) in signatures.items():
        getattr(lib, name).restype = restype
        getattr(lib, name).argtypes = argtypes
    return lib
