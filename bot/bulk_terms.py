"""The terms of many texts at once: equal to `tokens(prepare(text))`, in numpy.

Per-string NFKC, OpenCC and regexes cost ~5 ms a card: a minute at 10,000 cards.
Here each character goes through lookup tables built once (NFKC, case folding and
traditional -> simplified, one character at a time) and the terms come from array
operations, shorthand and stop words once per distinct English word. A text holding
anything the tables cannot do exactly (characters that expand, compose or change
under traditional -> simplified, dialect, slashes, ampersands) is scanned again
after `prepare()` as a string; the very few still left take the string path. So the
terms are identical: tests/test_bulk_terms.py checks every card line and random text.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np

from bot.terms import DIALECT, SHORTHAND, ZH_FILLER, prepare, tokens
from bot.text import INVISIBLE, to_simplified

OTHER, CJK, WORD, SLOW, APOSTROPHE = 0, 1, 2, 3, 4
CHUNK = 1 << 21  # characters per batch: keeps temporary arrays to tens of MB
LONGEST_WORD = 32  # a longer English run sends its text down the string path
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
    dialect_chars = {k for k in DIALECT if len(k) == 1}
    for c, f in folded.items():
        o = ord(f)
        if f not in same or f in dialect_chars or f in "/&" or o > 0xFFFF:
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


_DIALECT_PAIRS = np.array(sorted({ord(k[0]) << 16 | ord(k[1]) for k in DIALECT if len(k) > 1}),
                          dtype=np.uint32)
_FILLERS = [[ord(ch) for ch in f] for f in ZH_FILLER]
_HASH = np.random.default_rng(20261128).integers(0, 2**63, LONGEST_WORD * 0x80,
                                                 dtype=np.int64).astype(np.uint64)


def term_ids(texts: list[str], vocab: dict[str, int], drop_filler: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """(text index, term id) for every term of every text; new terms are added to vocab."""
    first = _Found(prepared=False)
    ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1)
    lo = 0
    while lo < len(texts):
        start = int(ends[lo - 1]) if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, start + CHUNK, side="right")))
        _scan(texts[lo:hi], np.arange(lo, hi, dtype=np.int32), drop_filler, first)
        lo = hi
    segs, ids = first.terms(len(texts), vocab, drop_filler)
    # What the tables could not do (traditional characters, dialect, slashes; ~1% of card
    # text) again, after prepare() as strings: only the cutting into terms is left.
    redo = first.left
    second = _Found(prepared=True)
    _scan([prepare(texts[i]) for i in redo.tolist()], redo, drop_filler, second)
    more_segs, more_ids = second.terms(len(texts), vocab, drop_filler)
    # and the very few left over take the string path
    rest = second.left.tolist()
    found = [tokens(prepare(texts[i]), drop_filler) for i in rest]
    terms = [t for ts in found for t in ts]
    for term in dict.fromkeys(terms):
        _id(vocab, term)
    last_segs = np.repeat(np.array(rest, dtype=np.int32), [len(ts) for ts in found])
    last_ids = np.array(list(map(vocab.__getitem__, terms)), dtype=np.int32)
    return (np.concatenate([segs, more_segs, last_segs]).astype(np.int32, copy=False),
            np.concatenate([ids, more_ids, last_ids]).astype(np.int32, copy=False))


class _Words:
    """Dense ids for English runs by their 64-bit hash: a numpy hash table with one probe
    per lookup (fast for millions of runs); the rare slot collisions live in a dict."""

    MIX = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self) -> None:
        self.hashes: list[int] = []
        self.spelling: list[str] = []
        self.spare: dict[int, int] = {}
        self._table(10)

    def _table(self, bits: int) -> None:
        self.bits = bits
        self.table = np.full(1 << bits, -1, dtype=np.int64)
        self.known = np.array(self.hashes, dtype=np.uint64)
        self.spare.clear()
        self._place(self.known, np.arange(len(self.known)))

    def _slot(self, h: np.ndarray) -> np.ndarray:
        return ((h * self.MIX) >> np.uint64(64 - self.bits)).astype(np.int64)

    def _place(self, h: np.ndarray, ids: np.ndarray) -> None:
        """The first of the new ids for each free slot goes in the table, the rest in spare."""
        slots = self._slot(h)
        free = self.table[slots] < 0
        taken, first = np.unique(slots[free], return_index=True)
        self.table[taken] = ids[free][first]
        lost = np.ones(len(h), dtype=bool)
        lost[np.flatnonzero(free)[first]] = False
        self.spare.update(zip(h[lost].tolist(), ids[lost].tolist(), strict=True))

    def ids(self, h: np.ndarray, chars: np.ndarray, starts: np.ndarray, lengths: np.ndarray
            ) -> np.ndarray:
        out = self.table[self._slot(h)]
        hit = out >= 0
        hit[hit] = self.known[out[hit]] == h[hit]
        miss = np.flatnonzero(~hit)
        if len(miss):
            new, where = _unique(h[miss])
            first = np.zeros(len(new), dtype=np.int64)
            first[where] = miss
            resolved = np.array([self.spare.get(v, -1) for v in new.tolist()], dtype=np.int64)
            fresh = np.flatnonzero(resolved < 0)
            resolved[fresh] = np.arange(len(self.hashes), len(self.hashes) + len(fresh))
            for at in first[fresh].tolist():
                a, n = int(starts[at]), int(lengths[at])
                self.spelling.append(chars[a:a + n].tobytes().decode("utf-16-le"))
            self.hashes += new[fresh].tolist()
            out[miss] = resolved[where]
            if len(self.hashes) * 16 > len(self.table):
                self._table(self.bits + 2)
            else:
                self.known = np.array(self.hashes, dtype=np.uint64)
                self._place(new[fresh], resolved[fresh])
        return out


class _Found:
    """Raw terms of all batches of one pass (characters, character pairs, word ids) before
    term ids, and which texts the pass could not do (`left`, after `terms`)."""

    def __init__(self, prepared: bool) -> None:
        self.prepared = prepared  # texts already went through prepare()
        self.slow: list[np.ndarray] = []
        self.uni: list[tuple[np.ndarray, np.ndarray]] = []
        self.pairs: list[tuple[np.ndarray, np.ndarray]] = []
        self.word_runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.words = _Words()
        self.left = np.zeros(0, np.int32)

    def terms(self, n_texts: int, vocab: dict[str, int], drop_filler: bool
              ) -> tuple[np.ndarray, np.ndarray]:
        def cat(parts: list[tuple[np.ndarray, np.ndarray]], dtype: type
                ) -> tuple[np.ndarray, np.ndarray]:
            """Both columns of a batch list in one array each; the list is emptied."""
            if not parts:
                return np.zeros(0, np.int32), np.zeros(0, dtype)
            first = np.concatenate([p[0] for p in parts])
            second = np.concatenate([p[1] for p in parts])
            parts.clear()
            return first, second

        slow = np.zeros(n_texts, dtype=bool)
        for s in self.slow:
            slow[s] = True
        self.slow.clear()
        # English: terms per distinct run; a shorthand can be several terms, a stop word none
        per_word = [_word_terms(w, vocab, drop_filler, self.prepared)
                    for w in self.words.spelling]
        odd = np.fromiter((w[1] for w in per_word), dtype=bool, count=len(per_word))
        w_seg, w_id = cat(self.word_runs, np.int32)
        slow[w_seg[odd[w_id]]] = True
        self.left = np.flatnonzero(slow).astype(np.int32)
        out_seg, out_ids = [], []

        u_seg, u_char = cat(self.uni, np.uint16)
        keep = ~slow[u_seg]
        present = np.flatnonzero(np.bincount(u_char, minlength=0x10000))
        lut = np.zeros(0x10000, dtype=np.int32)
        lut[present] = [_id(vocab, chr(c)) for c in present.tolist()]
        out_seg.append(u_seg[keep])
        out_ids.append(lut[u_char[keep]])

        b_seg, b_pair = cat(self.pairs, np.uint32)
        keep = ~slow[b_seg]
        out_seg.append(b_seg[keep])
        out_ids.append(_pair_ids(b_pair[keep], present, vocab))

        # most runs are one term; the few that are several (or none) are expanded apart
        count = np.fromiter((len(w[0]) for w in per_word), dtype=np.int64, count=len(per_word))
        flat = np.fromiter((t for w in per_word for t in w[0]), dtype=np.int32,
                           count=int(count.sum()))
        offset = np.cumsum(count) - count
        one = ~slow[w_seg] & (count[w_id] == 1)
        out_seg.append(w_seg[one])
        out_ids.append(flat[offset[w_id[one]]])
        other = np.flatnonzero(~slow[w_seg] & ~one)
        which = w_id[other]
        reps = count[which]
        within = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
        out_seg.append(np.repeat(w_seg[other], reps))
        out_ids.append(flat[np.repeat(offset[which], reps) + within])
        return np.concatenate(out_seg), np.concatenate(out_ids)


def _pair_ids(pairs: np.ndarray, chars: np.ndarray, vocab: dict[str, int]) -> np.ndarray:
    """Term ids of CJK character pairs (first << 16 | second), through a dense table of
    the characters present when it is small enough."""
    n = len(chars)
    if n * n > 1 << 25:
        codes, where = _unique(pairs)
    else:
        dense = np.zeros(0x10000, dtype=np.int64)
        dense[chars] = np.arange(n)
        key = dense[pairs >> 16] * n + dense[pairs & 0xFFFF]
        seen = np.zeros(n * n, dtype=bool)
        seen[key] = True
        rank = np.cumsum(seen) - 1
        where = rank[key]
        idx = np.flatnonzero(seen)
        codes = chars[idx // n].astype(np.uint32) << 16 | chars[idx % n].astype(np.uint32)
    ids = np.array([_id(vocab, chr(c >> 16) + chr(c & 0xFFFF)) for c in codes.tolist()],
                   dtype=np.int32)
    return ids[where]


def _scan(texts: list[str], ids: np.ndarray, drop_filler: bool, found: _Found) -> None:
    """Characters, character pairs and English runs of one batch of texts (text i has id
    ids[i]); texts the tables cannot do are noted in found.slow."""
    mapped, kind = _tables()
    units = np.frombuffer("\n".join(texts).encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    if int(lens.sum()) + len(texts) - 1 != len(units):  # characters beyond the BMP
        lens = np.array([len(t.encode("utf-16-le", "surrogatepass")) // 2 for t in texts], dtype=np.int64)
    seg = ids[np.repeat(np.arange(len(texts), dtype=np.int32), lens + 1)[:len(units)]]
    chars = mapped[units]
    cls = kind[units]
    if found.prepared:  # shorthand is done: a slash or an ampersand is punctuation now
        cls[(chars == ord("/")) | (chars == ord("&"))] = OTHER
    found.slow.append(seg[cls == SLOW])
    found.slow.append(seg[_apostrophes(chars, cls, seg, found.prepared)])
    if drop_filler:
        _drop_fillers(chars, cls)
    cjk = cls == CJK
    uni = np.flatnonzero(cjk)
    bi = np.flatnonzero(cjk[:-1] & cjk[1:])
    pairs = chars[bi].astype(np.uint32) << 16 | chars[bi + 1]
    if not found.prepared:
        found.slow.append(seg[bi[np.isin(pairs, _DIALECT_PAIRS)]])
    found.uni.append((seg[uni], chars[uni]))
    found.pairs.append((seg[bi], pairs))
    starts, lengths, hashes = _word_runs(chars, cls)
    found.slow.append(seg[starts[lengths > LONGEST_WORD]])
    found.word_runs.append((seg[starts],
                            found.words.ids(hashes, chars, starts, lengths).astype(np.int32)))


def _word_terms(word: str, vocab: dict[str, int], drop_filler: bool, prepared: bool
                ) -> tuple[list[int], bool]:
    """Term ids of one English run, and whether its text must be done another way: the
    pattern takes one apostrophe and letters after it, and a shorthand next to an
    apostrophe is folded by prepare() before the words are cut."""
    if "'" in word:
        head, _, tail = word.partition("'")
        if not tail.isalpha() or not prepared and (head in SHORTHAND or tail in SHORTHAND):
            return [], True
    return [_id(vocab, t) for t in tokens(word if prepared else SHORTHAND.get(word, word),
                                           drop_filler)], False


def _unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True), without its slow argsort."""
    found = np.unique(values)
    return found, np.searchsorted(found, values)


def _id(vocab: dict[str, int], term: str) -> int:
    return vocab.setdefault(term, len(vocab))


def _word_runs(chars: np.ndarray, cls: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, length and a 64-bit hash (tabulation: position x character) of each English run."""
    at = np.flatnonzero(cls == WORD)
    if not len(at):
        empty = np.zeros(0, np.int64)
        return empty, empty, empty.astype(np.uint64)
    first = np.ones(len(at), dtype=bool)
    first[1:] = at[1:] != at[:-1] + 1
    heads = np.flatnonzero(first)
    lengths = np.diff(np.append(heads, len(at)))
    step = np.ones(len(at), dtype=np.int64)  # position in the run: restart at each head
    step[heads[1:]] = 1 - lengths[:-1]
    pos = np.cumsum(step) - 1
    np.minimum(pos, LONGEST_WORD - 1, out=pos)
    parts = _HASH[pos * 0x80 + (chars[at] & 0x7F)]
    sums = np.cumsum(parts)  # uint64 wraps: sums of a run are exact modulo 2**64
    ends = heads + lengths - 1
    hashes = sums[ends] - np.where(heads > 0, sums[np.maximum(heads - 1, 0)], np.uint64(0))
    return at[heads], lengths, hashes


def _apostrophes(chars: np.ndarray, cls: np.ndarray, seg: np.ndarray, prepared: bool
                 ) -> np.ndarray:
    """Apostrophes as prepare() and the word pattern treat them, in place: "'s " goes
    (unless it ends the text, which clean() trimmed), "don't" stays one word. Returns
    where a digit follows one ("x'2": shorthand may make it a word), to be done otherwise."""
    at = np.flatnonzero(cls == APOSTROPHE)
    n = len(chars)
    if len(at) and not prepared:
        s_space = at[at + 2 < n]
        s_space = s_space[(chars[s_space + 1] == ord("s")) & (chars[s_space + 2] == ord(" "))]
        nxt = np.minimum(s_space + 3, n - 1)
        plain = (s_space + 3 < n) & (chars[nxt] != ord(" ")) & (seg[nxt] == seg[s_space])
        rare = s_space[(s_space + 3 < n) & (chars[nxt] == ord(" "))]  # several spaces
        gone = s_space[plain].tolist() + [p for p in rare.tolist() if _more_after(chars, seg, p + 2)]
        if gone:
            cls[gone] = OTHER
            cls[np.array(gone) + 1] = OTHER
            at = np.setdiff1d(at, gone, assume_unique=True)
    cls[at] = OTHER
    inner = at[(at > 0) & (at + 1 < n)]
    between = inner[(cls[inner - 1] == WORD) & (cls[inner + 1] == WORD)]
    letter = (chars[between + 1] >= ord("a")) & (chars[between + 1] <= ord("z"))
    cls[between[letter]] = WORD
    return between[~letter] if not prepared else between[:0]


def _more_after(chars: np.ndarray, seg: np.ndarray, space: int) -> bool:
    """Whether the text goes on after the space at `space` (clean() trims trailing ones)."""
    end = space
    while end < len(chars) and chars[end] == ord(" ") and seg[end] == seg[space]:
        end += 1
    return end < len(chars) and seg[end] == seg[space]


def _drop_fillers(chars: np.ndarray, cls: np.ndarray) -> None:
    """Blank filler words in place, as the filler regex does: at each place the longest
    filler that matches, scanning left to right without overlaps."""
    n = len(chars)
    length = np.zeros(n, dtype=np.int8)
    for filler in _FILLERS:  # longest first, so a longer match is never overwritten
        at = np.flatnonzero(chars[:n - len(filler) + 1] == filler[0]) if n >= len(filler) else \
            np.zeros(0, np.int64)
        for k, ch in enumerate(filler[1:], 1):
            at = at[chars[at + k] == ch]
        at = at[length[at] == 0]
        length[at] = len(filler)
    starts = np.flatnonzero(length)
    lens = length[starts].astype(np.int64)
    # A match is taken unless a taken match just before it still covers it; chains are
    # short (fillers are 1-4 characters), so this settles in a few rounds.
    taken = np.ones(len(starts), dtype=bool)
    while True:
        covered = np.zeros(len(starts), dtype=bool)
        for back in (1, 2, 3):
            prev = np.arange(len(starts)) - back
            ok = prev >= 0
            p = np.where(ok, prev, 0)
            covered |= ok & taken[p] & (starts[p] + lens[p] > starts)
        now = ~covered
        if np.array_equal(now, taken):
            break
        taken = now
    starts, lens = starts[taken], lens[taken]
    for k in range(4):
        hit = starts[lens > k] + k
        cls[hit] = OTHER
