"""nlpcourse.tokenize: byte-level BPE against hand-worked merges, a from-scratch reference learner,
and round-trip property tests (hypothesis)."""

import collections
import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nlpcourse import data, text, tokenize
from nlpcourse.tokenize import (
    DEFAULT_PATTERN,
    BytePairTokenizer,
    chunk_counts,
    learn_merges,
    split_chunks,
    tokens_per_word,
    unit_table,
)

SENNRICH = ["low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3]


def reference_merges(counts: dict[str, int], n_merges: int) -> list[tuple[int, int]]:
    """Textbook BPE: recount every pair from scratch before each merge (slow, obviously right)."""
    words = {w: list(w.encode("utf-8")) for w in counts}
    merges = []
    for k in range(n_merges):
        pairs = collections.Counter()
        for w, ids in words.items():
            for p in zip(ids, ids[1:]):
                pairs[p] += counts[w]
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        for w, ids in words.items():
            out, j = [], 0
            while j < len(ids):
                if j + 1 < len(ids) and (ids[j], ids[j + 1]) == best:
                    out.append(256 + k)
                    j += 2
                else:
                    out.append(ids[j])
                    j += 1
            words[w] = out
    return merges


def apply_merges_in_order(tokenizer: BytePairTokenizer, chunk: str) -> list[int]:
    """Encode one chunk the way training segmented it: each merge, in order, over the whole chunk."""
    ids = list(chunk.encode("utf-8"))
    for k, pair in enumerate(tokenizer.merges):
        out, j = [], 0
        while j < len(ids):
            if j + 1 < len(ids) and (ids[j], ids[j + 1]) == pair:
                out.append(256 + k)
                j += 2
            else:
                out.append(ids[j])
                j += 1
        ids = out
    return ids


@pytest.fixture(scope="module")
def lee_tokenizer():
    """300 merges from the Lee stories plus a little Chinese and emoji (so multi-byte merges exist)."""
    extra = ["你好 " * 200, "🙂 café naïve 中文 " * 3]
    return BytePairTokenizer.learn(data.lee_documents() + extra, 300)


def test_sennrich_toy_gives_the_hand_worked_merges():
    # counts: low 5, lower 2, newest 6, widest 3. (e,s) and (s,t) both occur 9 times: the tie goes
    # to the smaller pair (101, 115); then (es, t) 9, (l, o) 7 ties (o, w) 7 -> (l, o), (lo, w) 7;
    # then (n, e), (e, w), (w, est) all 6 -> (e, w) = (101, 119) is the smallest.
    tok = BytePairTokenizer.learn(SENNRICH, 5, pretokenize=r"\S+")
    assert tok.merges == ((101, 115), (256, 116), (108, 111), (258, 119), (101, 119))
    assert [tok.token_str(256 + k) for k in range(5)] == ["es", "est", "lo", "low", "ew"]
    assert tok.tokens("lowest newer") == ["low", "est", " ", "n", "ew", "e", "r"]
    assert tok.vocab_size == 261
    assert tok.token_bytes(259) == b"low"


def test_default_pattern_keeps_the_space_with_the_following_word():
    assert split_chunks("Hello world,  it's 2024!\n") == ["Hello", " world", ",", " ", " it", "'s", " 2024", "!", "\n"]
    assert split_chunks("你好 世界") == ["你好", " 世界"]
    counts = chunk_counts(["the cat the", "cat"])
    assert counts == {"the": 1, " cat": 1, " the": 1, "cat": 1}


@settings(max_examples=100, deadline=None)
@given(st.text(), st.sampled_from([DEFAULT_PATTERN, r"[a-z]+", r"\S+", r"x*", r"(a)b|\s"]))
def test_chunks_always_cover_the_text(s, pattern):
    assert "".join(split_chunks(s, pattern)) == s


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(alphabet="aabc", min_size=1, max_size=9), st.integers(1, 6), max_size=8),
       st.integers(0, 15))
def test_incremental_learning_equals_the_textbook_recount(counts, n_merges):
    assert learn_merges(counts, n_merges) == reference_merges(counts, n_merges)


def test_incremental_learning_equals_the_textbook_recount_on_real_text():
    counts = chunk_counts(data.lee_documents()[:5])
    assert learn_merges(counts, 30) == reference_merges(counts, 30)
    tok = BytePairTokenizer.learn(data.lee_documents()[:5], 30)
    assert BytePairTokenizer.learn_from_counts(counts, 30) == tok


def test_merges_are_deterministic_and_ignore_document_order():
    docs = data.lee_documents()[:80]
    first = BytePairTokenizer.learn(docs, 150)
    shuffled = list(docs)
    random.Random(3).shuffle(shuffled)
    assert BytePairTokenizer.learn(docs, 150).merges == first.merges
    assert BytePairTokenizer.learn(shuffled, 150).merges == first.merges
    assert BytePairTokenizer.learn(docs, vocab_size=256 + 150) == first
    assert BytePairTokenizer.learn(docs, 40).merges == first.merges[:40]


def test_learning_stops_when_no_pair_is_left():
    tok = BytePairTokenizer.learn(["ab ab"], 10, pretokenize=r"\S+")
    assert tok.merges == ((97, 98),)
    assert BytePairTokenizer.learn(["ab"], 0).vocab_size == 256


@settings(max_examples=300, deadline=None)
@given(st.text())
@example("你好，世界！中文的字是三個字節。")
@example("🙂👍🏽 family: 👨‍👩‍👧 flags: 🇹🇼🇬🇧")
@example("café naïve Ünïcode \t\n\r\x00 \u200b")
@example("")
def test_decode_inverts_encode_for_any_text(lee_tokenizer, s):
    ids = lee_tokenizer.encode(s)
    assert all(0 <= i < lee_tokenizer.vocab_size for i in ids)
    assert lee_tokenizer.decode(ids) == s
    assert BytePairTokenizer().decode(BytePairTokenizer().encode(s)) == s


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("the cat sat on a mat你好🙂,."), max_size=40))
def test_encoding_a_chunk_equals_applying_the_merges_in_order(lee_tokenizer, s):
    expected = [i for chunk in split_chunks(s) for i in apply_merges_in_order(lee_tokenizer, chunk)]
    assert lee_tokenizer.encode(s) == expected


def test_learned_merges_shorten_text_and_multi_byte_characters_merge(lee_tokenizer):
    s = "The government said on Tuesday"
    assert len(lee_tokenizer.encode(s)) < len(s.encode("utf-8")) / 2
    assert len(BytePairTokenizer().encode("你好")) == 6  # three UTF-8 bytes per character
    assert lee_tokenizer.tokens(" 你好") == [" 你好"]  # seen 200 times in the extra text: merged
    # a single token may hold part of a character: decoding it alone shows U+FFFD, never raises
    partial = [i for i in range(256, lee_tokenizer.vocab_size) if lee_tokenizer.token_bytes(i) == "你".encode()[:2]]
    assert all(lee_tokenizer.decode([i]) == "\ufffd" for i in partial)
    assert lee_tokenizer.decode([0xE4]) == "\ufffd"


def test_decode_accepts_tensors():
    torch = pytest.importorskip("torch")
    tok = BytePairTokenizer()
    assert tok.decode(torch.tensor([104, 105])) == "hi"


def test_json_round_trip(lee_tokenizer, tmp_path):
    again = BytePairTokenizer.from_json(lee_tokenizer.to_json())
    assert again == lee_tokenizer and again.pattern == DEFAULT_PATTERN
    path = tmp_path / "merges.json"
    lee_tokenizer.save(path)
    assert BytePairTokenizer.load(path).encode("the cat") == lee_tokenizer.encode("the cat")
    assert BytePairTokenizer.from_json(BytePairTokenizer().to_json()).vocab_size == 256


def test_tokens_per_word_counts_by_hand():
    rate = tokens_per_word(BytePairTokenizer(), ["ab cd", "你好 e"])
    assert (rate.words, rate.characters, rate.bytes, rate.tokens) == (4, 9, 13, 13)  # 5 + (6 + 2) bytes
    assert rate.tokens_per_word == 13 / 4 and rate.characters_per_word == 9 / 4 and rate.bytes_per_token == 1.0
    tok = BytePairTokenizer.learn(["ab ab ab cd"], 1, pretokenize=r"\S+")
    assert tokens_per_word(tok, ["ab cd"]).tokens == 4  # "ab" one token, " " one, "c" and "d"


def test_unit_table_counts_words_characters_and_bytes_by_hand():
    entries = [("你好", 3), ("好", 1)]
    learned = BytePairTokenizer.learn_from_counts(dict(entries), 10)
    rows = unit_table(entries, {"bytes": BytePairTokenizer(), "bpe": learned}, sizes=(1, 2))
    by_name = {r.unit: r for r in rows}
    assert [r.unit for r in rows] == ["words", "characters", "bytes", "bpe"]
    assert (by_name["words"].distinct, by_name["words"].units_per_word) == (2, 1.0)
    assert by_name["words"].coverage_at == {1: 0.75, 2: 1.0}
    # 你 x3, 好 x4: two characters, 7 occurrences in 4 words
    assert (by_name["characters"].distinct, by_name["characters"].units_per_word) == (2, 7 / 4)
    cover = text.unit_coverage(text.words_and_characters(entries)[1], (1, 2)).coverage_at
    assert by_name["characters"].coverage_at == cover == {1: 4 / 7, 2: 1.0}
    # 你 = e4 bd a0, 好 = e5 a5 bd: five distinct bytes (bd is shared), 3*6 + 1*3 = 21 in 4 words
    assert (by_name["bytes"].distinct, by_name["bytes"].units_per_word) == (5, 21 / 4)
    assert by_name["bpe"].units_per_word == 1.0  # enough merges: every dictionary word is one token


def test_bad_input_is_named():
    docs = ["some text"]
    with pytest.raises(ValueError, match="n_merges must be >= 0"):
        BytePairTokenizer.learn(docs, -1)
    with pytest.raises(TypeError, match="n_merges must be an integer"):
        BytePairTokenizer.learn(docs, 2.5)
    with pytest.raises(ValueError, match=r"vocab_size must be >= 256 \(one id for each byte\), got 255"):
        BytePairTokenizer.learn(docs, vocab_size=255)
    with pytest.raises(ValueError, match="exactly one of n_merges and vocab_size"):
        BytePairTokenizer.learn(docs, 3, vocab_size=300)
    with pytest.raises(ValueError, match="exactly one of n_merges and vocab_size"):
        BytePairTokenizer.learn(docs)
    with pytest.raises(TypeError, match="texts must be a sequence of str"):
        BytePairTokenizer.learn("one long string", 3)
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str, got int"):
        BytePairTokenizer.learn(["ok", 3], 3)
    with pytest.raises(ValueError, match="pretokenize is not a valid regular expression"):
        BytePairTokenizer.learn(docs, 3, pretokenize="(")
    with pytest.raises(TypeError, match=r"counts must be a mapping"):
        BytePairTokenizer.learn_from_counts([("a", 1)], 3)
    with pytest.raises(ValueError, match=r"counts\['ab'\] must be >= 0"):
        BytePairTokenizer.learn_from_counts({"ab": -2}, 3)
    tok = BytePairTokenizer.learn(docs, 3)
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        tok.encode(b"bytes")
    with pytest.raises(TypeError, match="text must be a str, got NoneType"):
        tok.encode(None)
    with pytest.raises(ValueError, match="text must be valid Unicode text, but it holds a lone surrogate"):
        tok.encode("ok \ud800")
    with pytest.raises(ValueError, match=r"ids\[1\] must be <= 258, got 259"):
        tok.decode([104, 259])
    with pytest.raises(ValueError, match=r"ids\[0\] must be >= 0, got -1"):
        tok.decode([-1])
    with pytest.raises(TypeError, match=r"ids\[0\] must be an integer, got str"):
        tok.decode(["a"])
    with pytest.raises(TypeError, match="ids must be a sequence of int token ids, got str"):
        tok.decode("hi")
    with pytest.raises(ValueError, match=r"token_id must be <= 258"):
        tok.token_bytes(259)
    with pytest.raises(ValueError, match=r"merges\[1\]\[0\] must be <= 256"):
        BytePairTokenizer(merges=((1, 2), (300, 1)))
    with pytest.raises(ValueError, match="text is not a tokenizer file"):
        BytePairTokenizer.from_json('{"merges": []}')
    with pytest.raises(ValueError, match='without a "merges" list'):
        BytePairTokenizer.from_json('{"format": "nlpcourse-bpe", "pattern": "x"}')
    with pytest.raises(ValueError, match="text is not valid JSON"):
        BytePairTokenizer.from_json("not json")
    with pytest.raises(TypeError, match="tokenizer must be a BytePairTokenizer"):
        tokens_per_word("gpt2", docs)
    with pytest.raises(ValueError, match="texts hold no words"):
        tokens_per_word(tok, ["  ", ""])
    with pytest.raises(TypeError, match=r"tokenizers\['x'\] must be a BytePairTokenizer"):
        unit_table([("a", 1)], {"x": None})


def test_chapter_checkpoint_matches_relearned_merges():
    # learning is greedy, so the first k merges of any longer run are exactly a k-merge run:
    # relearning a 300-merge prefix from the same texts checks the file in about a second
    stored = tokenize.gpt_bpe_tokenizer()
    assert len(stored.merges) == tokenize.GPT_BPE_N_MERGES and stored.vocab_size == 256 + tokenize.GPT_BPE_N_MERGES
    assert stored.pattern == DEFAULT_PATTERN
    relearned = BytePairTokenizer.learn(tokenize.gpt_bpe_texts(), 300)
    assert relearned.merges == stored.merges[:300]
    # the prompt-task words became single tokens, and held-out text round-trips
    assert stored.tokens("in: red cat => out:") == ["in", ":", " red", " cat", " =>", " out", ":"]
    held_out = data.english_lm_split()[1][0]
    assert stored.decode(stored.encode(held_out)) == held_out
