"""The bulk (numpy) tokeniser gives exactly the terms of the string path, text by text."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from bot.answers import Library
from bot.bulk_terms import term_ids
from bot.search import Index, _fields
from bot.terms import SHORTHAND, prepare, tokens

# Pieces that exercise every rule: traditional characters, dialect, fillers, shorthand,
# apostrophes ("'s " and "don't"), slashes, full width, combining marks, characters beyond
# the BMP, expanding punctuation, Hangul, invisible characters and spaces of all kinds.
PIECES = ["客人", "說", "利息", "少咗", "怎么办", "怎么处理", "么", "的", "了吗", "帳戶", "账户",
          "佢哋", "冇", "啦", "后生仔", "手续费", "cust", "acct", "u", "r u", "a/c", "w/o", "&",
          "'s ", "'s", "don't", "it's", "u're", "x'2", "abt.", "otp", "2day", "ＡＴＭ", "Ｆｅｅ",
          "e\u0301", "é", "𠀀", "…", "①", "한국", "\u200b", "\u3000", "\n", "\t", " ", "  ",
          "charged", "transfers", "verification", "x" * 40, "ß", "İ", "ﬁ", "乾隆", "著名", "¦",
          "\ue000", "後", "臺灣", "，", "。", "!", "'", "/", "cx", "w/d", "rm", "stmt"]
PROPS = settings(max_examples=300, deadline=None)


def string_path(texts: list[str], drop_filler: bool) -> list[Counter[str]]:
    return [Counter(tokens(prepare(t), drop_filler)) for t in texts]


def bulk_path(texts: list[str], drop_filler: bool) -> list[Counter[str]]:
    vocab: dict[str, int] = {}
    seg, ids = term_ids(texts, vocab, drop_filler)
    names = list(vocab)
    got: list[Counter[str]] = [Counter() for _ in texts]
    for s, i in zip(seg.tolist(), ids.tolist(), strict=True):
        got[s][names[i]] += 1
    return got


@pytest.mark.parametrize("drop_filler", [False, True])
def test_every_card_line_gets_the_same_terms(real_library: Library, drop_filler: bool) -> None:
    texts = [t for c in real_library.kb.cards.values() for ts in _fields(c).values() for t in ts]
    assert len(texts) > 2000
    assert bulk_path(texts, drop_filler) == string_path(texts, drop_filler)


@PROPS
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=8).map("".join), max_size=12),
       st.booleans())
@example(["customer's card", "customer's", "customer's ", "the bank's  fee"], False)
@example(["rock'n'roll", "don't2", "u'll", "我的客人說", "x'2", "2'x"], True)
@example(["'s abt."], False)
@example(["客户\ud800说", "\udfff fee"], True)  # lone surrogates: the string path cleans them
def test_random_text_gets_the_same_terms(texts: list[str], drop_filler: bool) -> None:
    assert bulk_path(texts, drop_filler) == string_path(texts, drop_filler)


@PROPS
@given(st.lists(st.text(max_size=30), max_size=6), st.booleans())
def test_any_unicode_gets_the_same_terms(texts: list[str], drop_filler: bool) -> None:
    assert bulk_path(texts, drop_filler) == string_path(texts, drop_filler)


def test_a_small_chunk_size_changes_nothing(real_library: Library,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches split anywhere: words, pairs and the word table carry across them."""
    texts = [t for c in list(real_library.kb.cards.values())[:6] for ts in _fields(c).values() for t in ts]
    whole = bulk_path(texts, False)
    monkeypatch.setattr("bot.bulk_terms.CHUNK", 64)
    assert bulk_path(texts, False) == whole


def test_typo_fix_is_the_closest_then_most_used_word(real_library: Library) -> None:
    """Vocabulary ids follow how the index was built; which word a typo becomes must not:
    the closest index word, then the one more cards use, then the first in spelling."""
    index = Index(list(real_library.kb.cards.values()))
    df = {w: int(index.doc_ptr[index.vocab[w] + 1] - index.doc_ptr[index.vocab[w]])
          for w in index.words}
    typos = sorted(t for t in {w[:i] + w[i + 1:] for w in index.words for i in range(1, len(w))}
                   if len(t) >= 4 and t not in index.vocab and tokens(prepare(t)) == [t]
                   and not t.endswith("in"))  # those are read as "-ing" first
    ties = 0
    for typo in typos[::7]:
        scored = [(fuzz.ratio(typo, w), w) for w in index.spellings]
        best = max((s for s, _ in scored), default=0)
        close = [w for s, w in scored if s == best]
        if best < 80 or any(w not in index.vocab for w in close):
            continue  # nothing close, or a synonym (folded: tested in test_search)
        ties += len(close) > 1
        best = min(close, key=lambda w: (-df[w], w))
        # a word that is also a synonym folds as if typed right ("upse" -> upset -> angry)
        assert index.query_terms(typo) == (tokens(prepare(best)) if best in SHORTHAND
                                           else [best]), typo
    assert ties >= 5  # ties do occur, so the rule for them is exercised
