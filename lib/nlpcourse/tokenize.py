"""Byte-level byte-pair encoding (chapter 09c): learn merges, encode, decode.

Ids 0..255 are the 256 bytes, so every string has an encoding and no unknown token is ever
needed; id ``256 + k`` is the token made by the k-th merge. Learning follows Sennrich et al.
(2016): the text is first split into word-like chunks by a regular expression (GPT-2's
scheme: a word keeps the space in front of it), each distinct chunk is counted once with its
frequency, and the most frequent adjacent pair inside chunks is merged, again and again. Ties
go to the smallest pair of ids, so the merges are reproducible and do not depend on the
order of the documents.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import json
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from nlpcourse._bpe_prompts_v1 import prompt_episodes
from nlpcourse._checks import check_int
from nlpcourse.data import DATA_DIR, english_lm_split
from nlpcourse.text import unit_coverage, words_and_characters

__all__ = [
    "DEFAULT_PATTERN", "N_BYTES", "split_chunks", "chunk_counts", "learn_merges",
    "BytePairTokenizer", "TokenRate", "tokens_per_word", "UnitRow", "unit_table",
    "GPT_BPE_MERGES", "GPT_BPE_N_MERGES", "GPT_BPE_PROMPT_DOCS", "gpt_bpe_texts",
    "gpt_bpe_tokenizer",
]

#: GPT-2's pre-tokenizer with Python's ``re`` (``[^\W\d_]`` is "a letter"): English
#: contractions, a word / number / punctuation run with at most one space in front, and
#: whitespace (a run keeps its last space for the word that follows).
DEFAULT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\w\s]|_)+|\s+(?!\S)|\s+"""

N_BYTES = 256
_NO_MERGE = 1 << 62  # larger than any id: no learned merge applies
_CACHE_LIMIT = 200_000
_FORMAT = "nlpcourse-bpe"


def _check_text(name: str, text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    return text


def _utf8(name: str, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"{name} must be valid Unicode text, but it holds a lone surrogate "
            f"{text[error.start]!r} at position {error.start} (no UTF-8 bytes exist for it)"
        ) from None


def _compile(pattern: object) -> re.Pattern:
    if not isinstance(pattern, str):
        raise TypeError("pretokenize must be a regular-expression str, got "
                        f"{type(pattern).__name__}")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(f"pretokenize is not a valid regular expression: {error}") from None


def split_chunks(text: str, pattern: str | re.Pattern = DEFAULT_PATTERN) -> list[str]:
    """Split ``text`` into the chunks BPE merges within; ``"".join(chunks) == text`` always.

    Text the pattern does not match (possible with a custom pattern) becomes a chunk of its own.
    """
    text = _check_text("text", text)
    regex = pattern if isinstance(pattern, re.Pattern) else _compile(pattern)
    if regex.groups == 0:  # fast path: the matches already cover the whole text
        chunks = [c for c in regex.findall(text) if c]
        if sum(map(len, chunks)) == len(text):
            return chunks
    chunks, end = [], 0
    for match in regex.finditer(text):
        start, stop = match.span()
        if start == stop:
            continue
        if start > end:
            chunks.append(text[end:start])
        chunks.append(text[start:stop])
        end = stop
    if end < len(text):
        chunks.append(text[end:])
    return chunks


def _check_texts(texts: object) -> list[str]:
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Iterable):
        raise TypeError("texts must be a sequence of str (e.g. a list of documents), got "
                        f"{type(texts).__name__}")
    texts = list(texts)
    for i, item in enumerate(texts):
        if not isinstance(item, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(item).__name__}")
    return texts


def chunk_counts(texts: Sequence[str], pattern: str = DEFAULT_PATTERN) -> collections.Counter:
    """How often each distinct chunk occurs in ``texts`` (the word-frequency table BPE learns
    from)."""
    texts = _check_texts(texts)
    regex = _compile(pattern)
    counts: collections.Counter = collections.Counter()
    for text in texts:
        counts.update(split_chunks(text, regex))
    return counts


def learn_merges(counts: Mapping[str, int], n_merges: int) -> list[tuple[int, int]]:
    """Up to ``n_merges`` merges learned from chunk frequencies; fewer if no pair is left.

    Each step merges the adjacent pair with the highest frequency-weighted count (ties: the
    smallest pair of ids). Pair counts are updated only in the chunks that hold the merged pair,
    and a heap with lazy deletion finds the best pair, so a merge costs time in proportion to
    the chunks it touches, not to the whole table.
    """
    n_merges = check_int("n_merges", n_merges, minimum=0)
    if not isinstance(counts, Mapping):
        raise TypeError("counts must be a mapping from chunk (str) to count (int), got "
                        f"{type(counts).__name__}")
    for chunk in counts:  # before sorting them: str and int keys would not compare
        if not isinstance(chunk, str):
            raise TypeError(f"counts must map str chunks to counts, got key {chunk!r}")
    words: list[list[int]] = []
    freqs: list[int] = []
    for chunk in sorted(counts):
        # sorted: the same table in any insertion order gives the same state
        freq = check_int(f"counts[{chunk!r}]", counts[chunk], minimum=0)
        if freq:
            words.append(list(_utf8("counts key", chunk)))
            freqs.append(freq)

    pair_counts: dict[tuple[int, int], int] = collections.defaultdict(int)
    where: dict[tuple[int, int], set[int]] = collections.defaultdict(set)
    for i, word in enumerate(words):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += freqs[i]
            where[pair].add(i)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[int, int]] = []
    while len(merges) < n_merges and heap:
        negative, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negative or negative == 0:
            continue  # a stale heap entry: the count changed after it was pushed
        new_id = N_BYTES + len(merges)
        merges.append(pair)
        first, second = pair
        changed: set[tuple[int, int]] = set()

        def add(p: tuple[int, int], delta: int, i: int) -> None:
            pair_counts[p] += delta
            changed.add(p)
            if delta > 0:
                where[p].add(i)

        for i in where.pop(pair):
            word, freq = words[i], freqs[i]
            merged: list[int] = []
            j, n = 0, len(word)
            while j < n:
                if j + 1 < n and word[j] == first and word[j + 1] == second:
                    # only the pairs next to this occurrence change: (left, first) becomes
                    # (left, new) and (second, right) becomes (new, right)
                    if merged:
                        left = merged[-1]
                        add((second if left == new_id else left, first), -freq, i)
                        add((left, new_id), freq, i)
                    if j + 2 < n and not (j + 3 < n and word[j + 2] == first
                                          and word[j + 3] == second):
                        # a following occurrence does it as its left
                        add((second, word[j + 2]), -freq, i)
                        add((new_id, word[j + 2]), freq, i)
                    add(pair, -freq, i)
                    merged.append(new_id)
                    j += 2
                else:
                    merged.append(word[j])
                    j += 1
            words[i] = merged
        for p in changed:
            count = pair_counts[p]
            if count > 0:
                heapq.heappush(heap, (-count, p))
            else:
                del pair_counts[p]
                where.pop(p, None)
    return merges


@dataclass(frozen=True)
class BytePairTokenizer:
    """A byte-level BPE tokenizer: the ordered merges and the pre-tokenizing pattern.

    ``BytePairTokenizer()`` (no merges) encodes text as its UTF-8 bytes.
    """

    merges: tuple[tuple[int, int], ...] = ()
    pattern: str = DEFAULT_PATTERN
    _ranks: dict = field(init=False, repr=False, compare=False)
    _vocab: list = field(init=False, repr=False, compare=False)
    _regex: re.Pattern = field(init=False, repr=False, compare=False)
    _cache: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.merges, (str, bytes)) or not isinstance(self.merges, Iterable):
            raise TypeError("merges must be a sequence of (int, int) pairs, got "
                            f"{type(self.merges).__name__}")
        merges = []
        vocab = [bytes([b]) for b in range(N_BYTES)]
        for k, pair in enumerate(self.merges):
            if isinstance(pair, (str, bytes)) or len(pair) != 2:
                raise ValueError(f"merges[{k}] must be a pair of ids, got {pair!r}")
            a, b = (check_int(f"merges[{k}][{j}]", x, minimum=0, maximum=N_BYTES + k - 1)
                    for j, x in enumerate(pair))
            merges.append((a, b))
            vocab.append(vocab[a] + vocab[b])
        object.__setattr__(self, "merges", tuple(merges))
        object.__setattr__(self, "_regex", _compile(self.pattern))
        object.__setattr__(self, "_ranks", {pair: N_BYTES + k for k, pair in enumerate(merges)})
        object.__setattr__(self, "_vocab", vocab)
        object.__setattr__(self, "_cache", {})

    # ------------------------------------------------------------------ learning

    @classmethod
    def learn(cls, texts: Sequence[str], n_merges: int | None = None, *,
              vocab_size: int | None = None,
              pretokenize: str = DEFAULT_PATTERN) -> "BytePairTokenizer":
        """Learn ``n_merges`` merges (or enough for ``vocab_size`` = 256 + merges) from ``texts``.

        ``pretokenize`` is the regular expression that splits text into chunks; merges never
        cross a chunk boundary. Learning stops early if no adjacent pair is left.
        """
        n_merges = cls._merges_wanted(n_merges, vocab_size)
        counts = chunk_counts(texts, pretokenize)
        return cls(merges=tuple(learn_merges(counts, n_merges)), pattern=pretokenize)

    @classmethod
    def learn_from_counts(cls, counts: Mapping[str, int], n_merges: int | None = None, *,
                          vocab_size: int | None = None,
                          pretokenize: str = DEFAULT_PATTERN) -> "BytePairTokenizer":
        """Learn merges from a ready word-frequency table (e.g. jieba's dictionary); each key is one
        chunk."""
        n_merges = cls._merges_wanted(n_merges, vocab_size)
        if not isinstance(counts, Mapping):
            raise TypeError("counts must be a mapping from str to int, got "
                            f"{type(counts).__name__}")
        return cls(merges=tuple(learn_merges(counts, n_merges)), pattern=pretokenize)

    @staticmethod
    def _merges_wanted(n_merges: int | None, vocab_size: int | None) -> int:
        if (n_merges is None) == (vocab_size is None):
            raise ValueError("give exactly one of n_merges and vocab_size "
                             f"(got n_merges={n_merges!r}, vocab_size={vocab_size!r})")
        if vocab_size is not None:
            vocab_size = check_int("vocab_size", vocab_size)
            if vocab_size < N_BYTES:
                raise ValueError(f"vocab_size must be >= {N_BYTES} (one id for each byte), got "
                                 f"{vocab_size}")
            return vocab_size - N_BYTES
        return check_int("n_merges", n_merges, minimum=0)

    # ------------------------------------------------------------------ vocabulary

    @property
    def vocab_size(self) -> int:
        """Number of ids: 256 bytes plus one per merge."""
        return len(self._vocab)

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes a token stands for."""
        token_id = check_int("token_id", token_id, minimum=0, maximum=self.vocab_size - 1)
        return self._vocab[token_id]

    def token_str(self, token_id: int) -> str:
        """A token's text, for display (a partial UTF-8 sequence shows as U+FFFD)."""
        return self.token_bytes(token_id).decode("utf-8", errors="replace")

    # ------------------------------------------------------------------ encoding

    def _encode_chunk(self, chunk: str) -> list[int]:
        ids = list(_utf8("text", chunk))
        get, merges = self._ranks.get, self.merges
        while len(ids) > 1:
            # the earliest-learned merge present; later merges cannot create an earlier one
            new_id = min(map(get, zip(ids, ids[1:]), itertools.repeat(_NO_MERGE)))
            if new_id == _NO_MERGE:
                break
            best = merges[new_id - N_BYTES]
            merged, j = [], 0
            while j < len(ids):
                if j + 1 < len(ids) and ids[j] == best[0] and ids[j + 1] == best[1]:
                    merged.append(new_id)
                    j += 2
                else:
                    merged.append(ids[j])
                    j += 1
            ids = merged
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; ``decode(encode(text)) == text`` for every valid Unicode str."""
        text = _check_text("text", text)
        cache = self._cache
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        out: list[int] = []
        for chunk in split_chunks(text, self._regex):
            ids = cache.get(chunk)
            if ids is None:
                ids = cache[chunk] = self._encode_chunk(chunk)
            out.extend(ids)
        return out

    def tokens(self, text: str) -> list[str]:
        """``text`` cut into its tokens' strings (for display; see ``token_str``)."""
        return [self.token_str(i) for i in self.encode(text)]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids (a list, or anything with ``tolist()`` such as a tensor).

        Bytes that are not valid UTF-8 (a partial character, e.g. one sampled token alone)
        decode to U+FFFD instead of raising.
        """
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            raise TypeError(f"ids must be a sequence of int token ids, got {type(ids).__name__}")
        vocab, size = self._vocab, len(self._vocab)
        parts = []
        for k, i in enumerate(ids):
            if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < size:
                # raises the standard message
                check_int(f"ids[{k}]", i, minimum=0, maximum=size - 1)
            parts.append(vocab[i])
        return b"".join(parts).decode("utf-8", errors="replace")

    # ------------------------------------------------------------------ files

    def to_json(self) -> str:
        """The tokenizer as JSON text (one merge per line, so diffs stay readable)."""
        merges = ",\n".join(f"  [{a}, {b}]" for a, b in self.merges)
        head = json.dumps({"format": _FORMAT, "version": 1, "pattern": self.pattern,
                           "vocab_size": self.vocab_size}, ensure_ascii=True)
        return head[:-1] + ', "merges": [\n' + merges + ("\n" if merges else "") + "]}\n"

    @classmethod
    def from_json(cls, text: str) -> "BytePairTokenizer":
        """Read a tokenizer written by ``to_json``."""
        text = _check_text("text", text)
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"text is not valid JSON: {error}") from None
        if not isinstance(obj, dict) or obj.get("format") != _FORMAT:
            raise ValueError(f"text is not a tokenizer file (expected \"format\": \"{_FORMAT}\")")
        if not isinstance(obj.get("merges"), list) or not isinstance(obj.get("pattern"), str):
            raise ValueError("text is a tokenizer file without a \"merges\" list or a \"pattern\" "
                             "string")
        tokenizer = cls(merges=tuple(tuple(p) if isinstance(p, list) else p for p in obj["merges"]),
                        pattern=obj["pattern"])
        if obj.get("vocab_size", tokenizer.vocab_size) != tokenizer.vocab_size:
            raise ValueError(f"the file says vocab_size {obj['vocab_size']} but holds "
                             f"{len(tokenizer.merges)} merges")
        return tokenizer

    def save(self, path: str | Path) -> None:
        """Write ``to_json()`` to ``path``."""
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "BytePairTokenizer":
        """Read a tokenizer saved with ``save``."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------- measurements


@dataclass(frozen=True)
class TokenRate:
    """How long text is in words (whitespace-separated), characters, UTF-8 bytes and tokens."""

    words: int
    characters: int
    bytes: int
    tokens: int

    @property
    def tokens_per_word(self) -> float:
        return self.tokens / self.words

    @property
    def characters_per_word(self) -> float:
        return self.characters / self.words

    @property
    def bytes_per_token(self) -> float:
        return self.bytes / self.tokens


def tokens_per_word(tokenizer: BytePairTokenizer, texts: Sequence[str]) -> TokenRate:
    """Count words (``str.split``), characters, bytes and ``tokenizer``'s tokens over ``texts``."""
    if not isinstance(tokenizer, BytePairTokenizer):
        raise TypeError(f"tokenizer must be a BytePairTokenizer, got {type(tokenizer).__name__}")
    texts = _check_texts(texts)
    words = sum(len(t.split()) for t in texts)
    if words == 0:
        raise ValueError("texts hold no words (only whitespace or nothing): tokens per word is "
                         "undefined")
    return TokenRate(words=words, characters=sum(len(t) for t in texts),
                     bytes=sum(len(_utf8("texts", t)) for t in texts),
                     tokens=sum(len(tokenizer.encode(t)) for t in texts))


@dataclass(frozen=True)
class UnitRow:
    """One way to cut words into units: vocabulary size, units per word, coverage of the top
    units."""

    unit: str
    distinct: int
    units_per_word: float
    coverage_at: dict[int, float]


def unit_table(entries: Iterable[tuple[str, int]], tokenizers: Mapping[str, BytePairTokenizer],
               sizes: Sequence[int] = (1000, 3000)) -> list[UnitRow]:
    """Words vs characters vs BPE tokens over a (word, frequency) list such as jieba's dictionary.

    Rows: ``words``, ``characters`` (counted by ``nlpcourse.text.words_and_characters``), then one
    row per tokenizer. ``distinct`` is how many different units occur, ``units_per_word`` the
    frequency-weighted mean length of a word in units, and ``coverage_at[k]`` the share of all
    unit occurrences covered by the k most frequent units (``nlpcourse.text.unit_coverage``).
    """
    if not isinstance(tokenizers, Mapping):
        raise TypeError("tokenizers must map a row name to a BytePairTokenizer, got "
                        f"{type(tokenizers).__name__}")
    words, chars = words_and_characters(entries)
    n_words = sum(words.values())
    if n_words == 0:
        raise ValueError("entries have total frequency 0: give at least one word with a positive "
                         "count")
    rows = []
    for name, counts in (("words", words), ("characters", chars)):
        cover = unit_coverage(counts, sizes)
        rows.append(UnitRow(name, cover.distinct, cover.total / n_words, cover.coverage_at))
    for name, tokenizer in tokenizers.items():
        if not isinstance(tokenizer, BytePairTokenizer):
            raise TypeError(f"tokenizers[{name!r}] must be a BytePairTokenizer, got "
                            f"{type(tokenizer).__name__}")
        kept = [(word, freq) for word, freq in words.items() if freq]
        encoded = [tokenizer._encode_chunk(word) for word, _freq in kept]  # each entry is one chunk
        weights = np.repeat(np.array([freq for _word, freq in kept], dtype=np.int64),
                            [len(ids) for ids in encoded])
        ids = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int64,
                          count=weights.size)
        totals = np.bincount(ids, weights=weights, minlength=tokenizer.vocab_size)
        cover = unit_coverage({int(i): int(round(totals[i])) for i in np.flatnonzero(totals)},
                              sizes)
        rows.append(UnitRow(name, cover.distinct, cover.total / n_words, cover.coverage_at))
    return rows


# -------------------------------------------------------------------------- chapter 09c's tokenizer

#: Chapter 09c's byte-pair merges (written by ``scripts/make_checkpoint_09c_bpe.py``).
GPT_BPE_MERGES = DATA_DIR / "checkpoints" / "09c_bpe_merges.json"
#: How many merges the chapter learns: past about 1000 the held-out tokens per word fall slowly
#: (2.53 at 1000, 2.17 at 2000) while the GPT's softmax and embedding table grow with every one.
GPT_BPE_N_MERGES = 1000
#: Prompt-task episodes mixed into the merge-learning text (so the task words get their tokens).
GPT_BPE_PROMPT_DOCS = 2000


def gpt_bpe_texts() -> list[str]:
    """The text chapter 09c's merges are learned from: the language model's training documents
    (``english_lm_split()[0]``, so held-out text never shapes the tokenizer) and
    ``GPT_BPE_PROMPT_DOCS`` prompt episodes of the first prompt-task family, frozen in
    ``nlpcourse._bpe_prompts_v1`` (both GPT checkpoints read these merges' token ids)."""
    return english_lm_split()[0] + prompt_episodes(GPT_BPE_PROMPT_DOCS, seed=0)


def gpt_bpe_tokenizer() -> BytePairTokenizer:
    """Chapter 09c's byte-pair tokenizer, read from ``GPT_BPE_MERGES``."""
    if not GPT_BPE_MERGES.exists():
        raise FileNotFoundError(f"{GPT_BPE_MERGES} is missing; make it with "
                                "`python scripts/make_checkpoint_09c_bpe.py`")
    return BytePairTokenizer.load(GPT_BPE_MERGES)
