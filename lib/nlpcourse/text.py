"""Text as vectors (chapter 01): tokens, a vocabulary, one-hot, bag-of-words, TF-IDF, cosine.

Sparse matrices are ``scipy.sparse.csr_matrix`` with one row per document and one column per
vocabulary entry.
"""

from __future__ import annotations

import collections
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from nlpcourse._checks import check_choice, check_float, check_instance, check_int

__all__ = [
    "TF_VARIANTS", "IDF_VARIANTS", "tokenize", "Vocabulary", "build_vocabulary", "one_hot",
    "bag_of_words", "document_frequency", "inverse_document_frequency", "term_frequency",
    "l2_normalize_rows", "tfidf", "cosine_similarity", "top_terms", "VocabularyCoverage",
    "unit_coverage", "words_and_characters", "keyword_in_context", "split_sentences",
    "check_token_pairs", "TIE_ORDERS",
]

_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+")

TF_VARIANTS = ("raw", "binary", "log", "frequency")
IDF_VARIANTS = ("standard", "smooth", "probabilistic", "none")
#: How ``build_vocabulary`` orders words of equal count.
TIE_ORDERS = ("alphabetical", "gensim")


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split text into word tokens: runs of letters (with one inner apostrophe) or of digits."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    if lowercase:
        text = text.lower()
    return _TOKEN.findall(text)


def _check_documents(name: str, documents: Sequence[Sequence[str]]) -> list[list[str]]:
    """Validate a corpus given as a sequence of token lists; return it as a list of lists."""
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Iterable):
        raise TypeError(f"{name} must be a sequence of token lists, got {type(documents).__name__}")
    documents = [doc for doc in documents]
    if not documents:
        raise ValueError(f"{name} is empty: give at least one document")
    checked = []
    for i, doc in enumerate(documents):
        if isinstance(doc, str):
            raise TypeError(f"{name}[{i}] must be a list of tokens, got a str (tokenize it first)")
        if not isinstance(doc, Iterable):
            raise TypeError(f"{name}[{i}] must be a list of tokens, got {type(doc).__name__} "
                            f"{doc!r:.40}")
        doc = list(doc)
        if not set(map(type, doc)) <= {str}:
            # C-speed scan; the token-by-token loop only when needed
            for token in doc:
                if not isinstance(token, str):
                    raise TypeError(f"{name}[{i}] must hold only str tokens, got "
                                    f"{type(token).__name__} {token!r}")
        checked.append(doc)
    return checked


@dataclass(frozen=True)
class Vocabulary:
    """An ordered word list with counts; ``index`` maps a word to its column.

    With ``unk_token`` set, unknown words map to that token's index; without it, an unknown
    word is an error.
    """

    tokens: tuple[str, ...]
    counts: tuple[int, ...]
    unk_token: str | None = None
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.tokens, str) or not all(isinstance(t, str) for t in self.tokens):
            raise TypeError("tokens must be a sequence of str")
        object.__setattr__(self, "tokens", tuple(self.tokens))
        object.__setattr__(self, "counts", tuple(self.counts))
        if len(self.counts) != len(self.tokens):
            raise ValueError(f"counts must hold one count per token: {len(self.tokens)} tokens, "
                             f"{len(self.counts)} counts")
        for i, count in enumerate(self.counts):
            check_int(f"counts[{i}]", count, minimum=0)
        index = {t: i for i, t in enumerate(self.tokens)}
        if len(index) != len(self.tokens):
            seen: set[str] = set()
            twice = next(t for t in self.tokens if t in seen or seen.add(t))
            raise ValueError(f"tokens must be distinct, got {twice!r} twice")
        if self.unk_token is not None and self.unk_token not in index:
            raise ValueError(f"unk_token {self.unk_token!r} must be one of the tokens")
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def index(self, token: str) -> int:
        """Column of ``token``; the unknown token's column if it is missing and one exists."""
        if not isinstance(token, str):
            raise TypeError(f"token must be a str, got {type(token).__name__} {token!r}")
        if token in self._index:
            return self._index[token]
        if self.unk_token is not None:
            return self._index[self.unk_token]
        raise ValueError(f"token {token!r} is not in the vocabulary and it has no unknown token")

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Indices of a token list."""
        if isinstance(tokens, str):
            raise TypeError("tokens must be a list of str, got a str (tokenize it first)")
        return [self.index(t) for t in tokens]

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Tokens of a list of indices."""
        out = []
        for i in ids:
            i = check_int("ids[...]", i, minimum=0, maximum=len(self) - 1)
            out.append(self.tokens[i])
        return out


def build_vocabulary(
    documents: Sequence[Sequence[str]],
    min_count: int = 1,
    max_size: int | None = None,
    unk_token: str | None = "<unk>",
    specials: Sequence[str] = (),
    ties: str = "alphabetical",
) -> Vocabulary:
    """Vocabulary of the words seen at least ``min_count`` times, most frequent first.

    Words with equal counts are ordered by ``ties``: ``"alphabetical"`` (the default, easy to
    read), or ``"gensim"``: the word first seen later comes first, the order gensim 4's
    ``sort_by_descending_frequency`` leaves (a lexsort on descending first-occurrence index);
    Word2Vec uses it so its Huffman tree and noise table are gensim's. ``specials`` (e.g. BERT's
    ``[PAD]``) and then ``unk_token`` come first, with count 0 (the unknown token counts the
    dropped words instead).
    """
    documents = _check_documents("documents", documents)
    min_count = check_int("min_count", min_count, minimum=1)
    ties = check_choice("ties", ties, TIE_ORDERS)
    if max_size is not None:
        max_size = check_int("max_size", max_size, minimum=1)
    counter = collections.Counter()
    for doc in documents:  # in first-seen order, at C speed
        counter.update(doc)
    reserved = list(specials) + ([unk_token] if unk_token is not None else [])
    for token in reserved:
        if not isinstance(token, str):
            raise TypeError(f"special tokens must be str, got {type(token).__name__} {token!r}")
    # first-seen order
    kept = [(w, c) for w, c in counter.items() if c >= min_count and w not in reserved]
    if ties == "alphabetical":
        kept.sort(key=lambda wc: (-wc[1], wc[0]))
    else:  # gensim: reverse first-seen order among equal counts (sort is stable)
        kept = sorted(kept[::-1], key=lambda wc: -wc[1])
    if max_size is not None:
        kept = kept[: max(0, max_size - len(reserved))]
    if not kept:
        raise ValueError(f"no word occurs at least min_count={min_count} times; lower min_count")
    dropped = sum(counter.values()) - sum(c for _w, c in kept)
    counts = [0] * len(specials) + ([dropped] if unk_token is not None else [])
    return Vocabulary(
        tokens=tuple(reserved + [w for w, _c in kept]),
        counts=tuple(counts + [c for _w, c in kept]),
        unk_token=unk_token,
    )


def one_hot(tokens: Sequence[str], vocab: Vocabulary) -> np.ndarray:
    """One row per token with a single 1 in the token's column: shape (len(tokens), len(vocab))."""
    check_instance("vocab", vocab, Vocabulary, "a nlpcourse.text.Vocabulary (build_vocabulary)")
    ids = vocab.encode(tokens)
    matrix = np.zeros((len(ids), len(vocab)))
    matrix[np.arange(len(ids)), ids] = 1.0
    return matrix


def bag_of_words(documents: Sequence[Sequence[str]], vocab: Vocabulary) -> sp.csr_matrix:
    """Word counts per document: a sparse (documents x vocabulary) matrix of ints."""
    documents = _check_documents("documents", documents)
    check_instance("vocab", vocab, Vocabulary, "a nlpcourse.text.Vocabulary (build_vocabulary)")
    rows, cols = [], []
    for r, doc in enumerate(documents):
        ids = vocab.encode(doc)
        rows.extend([r] * len(ids))
        cols.extend(ids)
    data = np.ones(len(rows), dtype=np.int64)
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(len(documents), len(vocab)))
    matrix.sum_duplicates()
    return matrix


def _check_counts(counts) -> sp.csr_matrix:
    if not (sp.issparse(counts) or isinstance(counts, np.ndarray)):
        raise TypeError("counts must be a scipy sparse matrix or numpy array, got "
                        f"{type(counts).__name__}")
    matrix = sp.csr_matrix(counts, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise ValueError("counts must be a non-empty 2-D (documents x words) matrix, got shape "
                         f"{matrix.shape}")
    if matrix.nnz and (matrix.data.min() < 0 or not np.all(np.isfinite(matrix.data))):
        raise ValueError("counts must be finite and non-negative")
    return matrix


def document_frequency(counts) -> np.ndarray:
    """For each word, the number of documents it occurs in."""
    matrix = _check_counts(counts)
    return np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.int64)


def inverse_document_frequency(counts, variant: str = "standard",
                               base: float = math.e) -> np.ndarray:
    """idf of every word, fitted on ``counts`` (documents x words).

    - ``standard``: log(N / df), the textbook form (gensim's ``TfidfModel`` with base 2)
    - ``smooth``: log((1 + N) / (1 + df)) + 1, as if one extra document held every word
    - ``probabilistic``: log((N - df) / df), clipped at 0 for words in more than half the documents
    - ``none``: all ones (plain term frequency)

    A word that occurs in no document gets idf 0 under ``standard`` and ``probabilistic``.
    """
    check_choice("variant", variant, IDF_VARIANTS)
    base = check_float("base", base, minimum=1.0, min_inclusive=False)
    df = document_frequency(counts).astype(np.float64)
    n = float(_check_counts(counts).shape[0])
    seen = df > 0
    idf = np.zeros_like(df)
    if variant == "standard":
        idf[seen] = np.log(n / df[seen])
    elif variant == "smooth":
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    elif variant == "probabilistic":
        idf[seen] = np.log(np.maximum((n - df[seen]) / df[seen], 1.0))
    else:
        return np.ones_like(df)
    return idf / math.log(base)


def term_frequency(counts, variant: str = "raw") -> sp.csr_matrix:
    """Weighted term counts: ``raw`` counts, ``binary`` 0/1, ``log`` 1 + log(count),
    ``frequency`` count / document length."""
    check_choice("variant", variant, TF_VARIANTS)
    matrix = _check_counts(counts).copy()
    if variant == "binary":
        matrix.data[:] = 1.0
    elif variant == "log":
        matrix.data = 1.0 + np.log(matrix.data, where=matrix.data > 0,
                                   out=np.zeros_like(matrix.data))
    elif variant == "frequency":
        lengths = np.asarray(matrix.sum(axis=1)).ravel()
        lengths[lengths == 0] = 1.0
        matrix = sp.csr_matrix(sp.diags(1.0 / lengths) @ matrix)
    matrix.eliminate_zeros()
    return matrix


def l2_normalize_rows(matrix) -> sp.csr_matrix:
    """Scale each row to unit Euclidean length; an all-zero row stays zero."""
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)


def tfidf(
    counts,
    tf: str = "raw",
    idf: str | np.ndarray = "standard",
    normalize: bool = True,
    base: float = math.e,
) -> sp.csr_matrix:
    """TF-IDF weights: ``term_frequency(counts, tf) * idf``, rows L2-normalised if asked.

    ``idf`` is a variant name (fitted on ``counts`` itself) or an idf vector fitted on
    another corpus (see ``inverse_document_frequency``), so a test set is weighted with
    the training set's idf.
    """
    check_choice("tf", tf, TF_VARIANTS)
    matrix = term_frequency(counts, tf)
    if isinstance(idf, str):
        weights = inverse_document_frequency(counts, idf, base=base)
    else:
        weights = np.asarray(idf, dtype=np.float64)
        if weights.shape != (matrix.shape[1],):
            raise ValueError(f"idf must be a vector of length {matrix.shape[1]} (one per word), "
                             f"got shape {weights.shape}")
        if not np.all(np.isfinite(weights)) or weights.min() < 0:
            raise ValueError("idf must be finite and non-negative")
    weighted = sp.csr_matrix(matrix @ sp.diags(weights))
    weighted.eliminate_zeros()
    return l2_normalize_rows(weighted) if normalize else weighted


def cosine_similarity(a, b=None) -> np.ndarray:
    """Cosine similarity between the rows of ``a`` and the rows of ``b`` (``a`` itself if None).

    Accepts dense arrays or sparse matrices, returns a dense array. A zero row has no
    direction: its similarity with anything is defined as 0.
    """
    def rows(name, m):
        if sp.issparse(m):
            m = sp.csr_matrix(m, dtype=np.float64)
        else:
            m = np.asarray(m, dtype=np.float64)
            if m.ndim == 1:
                m = m[None, :]
            if m.ndim != 2:
                raise ValueError(f"{name} must be a vector or a 2-D matrix, got shape {m.shape}")
            if m.size == 0:
                raise ValueError(f"{name} must hold at least one row of numbers, got shape "
                                 f"{m.shape}")
            if not np.all(np.isfinite(m)):
                raise ValueError(f"{name} must not contain NaN or inf")
        return l2_normalize_rows(m)

    left = rows("a", a)
    right = left if b is None else rows("b", b)
    if left.shape[1] != right.shape[1]:
        raise ValueError(f"a and b must have the same number of columns, got {left.shape[1]} and "
                         f"{right.shape[1]}")
    sim = (left @ right.T).toarray()
    return np.clip(sim, -1.0, 1.0)


def top_terms(weights_row, vocab: Vocabulary, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` words with the largest weight in one document's row, largest first."""
    k = check_int("k", k, minimum=1)
    row = np.asarray(weights_row.toarray() if sp.issparse(weights_row) else weights_row,
                     dtype=float).ravel()
    if row.shape[0] != len(vocab):
        raise ValueError(f"weights_row must have one entry per vocabulary word ({len(vocab)}), got "
                         f"{row.shape[0]}")
    order = np.lexsort((np.arange(row.size), -row))  # by weight, ties by column
    return [(vocab.tokens[i], float(row[i])) for i in order[:k] if row[i] > 0]


@dataclass(frozen=True)
class VocabularyCoverage:
    """How many distinct units a vocabulary needs, and how much text its most frequent units
    cover."""

    distinct: int
    total: int
    coverage_at: dict[int, float]


def unit_coverage(counts: dict[str, int] | collections.Counter,
                  sizes: Sequence[int]) -> VocabularyCoverage:
    """Share of all (frequency-weighted) occurrences covered by the ``sizes`` most frequent
    units."""
    if not counts:
        raise ValueError("counts is empty: give at least one unit with a count")
    freqs = np.sort(np.fromiter(counts.values(), dtype=np.float64))[::-1]
    if freqs.min() < 0:
        raise ValueError("counts must be non-negative")
    cumulative = np.cumsum(freqs)
    total = cumulative[-1]
    cover = {}
    for size in sizes:
        size = check_int("sizes[...]", size, minimum=1)
        cover[size] = float(cumulative[min(size, freqs.size) - 1] / total)
    return VocabularyCoverage(distinct=int(freqs.size), total=int(total), coverage_at=cover)


def words_and_characters(entries: Iterable[tuple[str, int]]) -> tuple[collections.Counter,
                                                                      collections.Counter]:
    """From (word, frequency) pairs, the word counts and the character counts they imply.

    Each character of a word inherits the word's frequency, so characters are counted as
    they would occur in running text.
    """
    words: collections.Counter = collections.Counter()
    for word, freq in entries:
        if not isinstance(word, str):
            raise TypeError(f"entries must hold (str, int) pairs, got word {word!r}")
        if isinstance(freq, bool) or not isinstance(freq, int) or freq < 0:
            check_int("frequency", freq, minimum=0)  # raises with the standard message
        words[word] += freq
    if not words:
        raise ValueError("entries is empty: give at least one (word, frequency) pair")
    chars: dict[str, int] = collections.defaultdict(int)
    for word, freq in words.items():
        for ch in word:
            chars[ch] += freq
    chars = collections.Counter(chars)
    return words, chars


def keyword_in_context(documents: Sequence[Sequence[str]], word: str, width: int = 4,
                       limit: int = 10) -> list[tuple[str, str, str]]:
    """Occurrences of ``word`` with ``width`` tokens of context on each side (a concordance).

    Returns up to ``limit`` (left context, word, right context) triples in corpus order.
    """
    documents = _check_documents("documents", documents)
    if not isinstance(word, str):
        raise TypeError(f"word must be a str, got {type(word).__name__}")
    width = check_int("width", width, minimum=1)
    limit = check_int("limit", limit, minimum=1)
    hits = []
    for doc in documents:
        for i, token in enumerate(doc):
            if token == word:
                hits.append((" ".join(doc[max(0, i - width):i]), token,
                             " ".join(doc[i + 1:i + 1 + width])))
                if len(hits) == limit:
                    return hits
    return hits


# --------------------------------------------------------------------------- chapter 09a: sentences

#: Titles and single initials whose full stop does not end a sentence ("Mr. Howard", "J. Smith").
_NO_SENTENCE_END = "".join(rf"(?<!\b{t}\.)"
                           for t in ("Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sen", "Gen", "Lt", "Col",
                                     "No")) + r"(?<!\b[A-Z]\.)"
_SENTENCE_END = re.compile(_NO_SENTENCE_END + r"(?<=[.!?])[\"']?\s+(?=[\"'(]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences at '.', '!' or '?' followed by space and a capital or
    digit.

    A rule, not a parser: titles such as "Mr." and single initials do not end a sentence.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def check_token_pairs(pairs: Sequence[tuple[Sequence[str], Sequence[str]]]
                      ) -> list[tuple[list[str], list[str]]]:
    """(source tokens, target tokens) pairs as lists, or a TypeError/ValueError naming the pair:
    each side a non-empty list of str tokens (a plain string would be split into characters)."""
    if isinstance(pairs, (str, bytes)) or not hasattr(pairs, "__iter__"):
        raise TypeError("pairs must be a sequence of (source tokens, target tokens), got "
                        f"{type(pairs).__name__}")
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs is empty: give at least one (source, target) pair")
    out = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"pairs[{i}] must be a (source tokens, target tokens) pair, got "
                            f"{pair!r}")
        src, tgt = pair
        for side, tokens in (("source", src), ("target", tgt)):
            if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
                raise TypeError(f"pairs[{i}] {side} must be a list of str tokens, got {tokens!r}")
            if len(tokens) == 0:
                raise ValueError(f"pairs[{i}] {side} is empty: every sequence needs at least one "
                                 "token")
        out.append((list(src), list(tgt)))
    return out
