"""Word vectors and their scoring (chapter 03): nearest neighbours, analogies, WordSim-353,
SimLex-999 and the Google analogy questions.

The scoring follows gensim's ``KeyedVectors.evaluate_word_pairs`` and
``evaluate_word_analogies`` (case-insensitive, questions with a word outside the vocabulary
skipped and counted), so the numbers for the same vectors agree with gensim's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import stats

from nlpcourse._checks import check_array, check_int
from nlpcourse.data import gensim_file
from nlpcourse.text import Vocabulary

__all__ = [
    "WordVectors", "PairScores", "AnalogyScores", "read_word_pairs", "evaluate_word_pairs",
    "read_analogies", "evaluate_analogies", "evaluation_table", "save_word_vectors",
    "load_word_vectors",
]


@dataclass
class WordVectors:
    """One vector per vocabulary word, with cosine queries.

    ``vectors`` has shape (len(vocab), dim); row i belongs to ``vocab.tokens[i]``.
    """

    vectors: np.ndarray
    vocab: Vocabulary
    _unit: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.vocab, Vocabulary):
            raise TypeError("vocab must be a nlpcourse.text.Vocabulary, got "
                            f"{type(self.vocab).__name__}")
        dtype = (self.vectors.dtype
                 if getattr(self.vectors, "dtype", None) in (np.float32, np.float64)
                 else np.float64)
        self.vectors = check_array("vectors", self.vectors, ndim=2, dtype=dtype)
        if self.vectors.shape[0] != len(self.vocab):
            raise ValueError(f"vectors must have one row per vocabulary word ({len(self.vocab)}), "
                             f"got {self.vectors.shape[0]}")
        norms = np.linalg.norm(self.vectors.astype(np.float64), axis=1, keepdims=True)
        norms[norms == 0] = 1.0  # a zero vector has no direction: its cosines are 0
        self._unit = (self.vectors / norms).astype(self.vectors.dtype)

    @property
    def dim(self) -> int:
        """Length of each vector."""
        return self.vectors.shape[1]

    def __contains__(self, word: object) -> bool:
        return word in self.vocab

    def index(self, word: str) -> int:
        """Row of ``word``; a ValueError that names the word if it is not in the vocabulary."""
        if not isinstance(word, str):
            raise TypeError(f"word must be a str, got {type(word).__name__} {word!r}")
        if word not in self.vocab or word == self.vocab.unk_token:
            raise ValueError(f"word {word!r} is not in the vocabulary ({len(self.vocab)} words)")
        return self.vocab.index(word)

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index(word)]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        return float(self._unit[self.index(a)].astype(np.float64)
                     @ self._unit[self.index(b)].astype(np.float64))

    def _nearest(self, query: np.ndarray, exclude: set[int], topn: int) -> list[tuple[str, float]]:
        scores = self._unit.astype(np.float64) @ query
        scores[list(exclude)] = -np.inf
        if self.vocab.unk_token is not None and self.vocab.unk_token in self.vocab:
            scores[self.vocab.index(self.vocab.unk_token)] = -np.inf
        topn = min(topn, int(np.isfinite(scores).sum()))
        best = (np.argpartition(-scores, topn - 1)[:topn] if topn < scores.size
                else np.arange(scores.size))
        best = best[np.lexsort((best, -scores[best]))][:topn]  # by score, ties by row
        return [(self.vocab.tokens[i], float(scores[i])) for i in best]

    def most_similar(self, word: str | Sequence[str], topn: int = 10,
                     negative: Sequence[str] = ()) -> list[tuple[str, float]]:
        """The ``topn`` words closest (cosine) to ``word``, or to sum(positive) - sum(negative)
        of unit vectors when lists are given; the query words themselves are left out."""
        topn = check_int("topn", topn, minimum=1)
        positive = [word] if isinstance(word, str) else list(word)
        if isinstance(negative, str):
            negative = [negative]
        if not positive and not negative:
            raise ValueError("most_similar needs at least one word")
        rows_pos = [self.index(w) for w in positive]
        rows_neg = [self.index(w) for w in negative]
        query = (self._unit[rows_pos].astype(np.float64).sum(0)
                 - self._unit[rows_neg].astype(np.float64).sum(0))
        norm = np.linalg.norm(query)
        query = query / norm if norm > 0 else query
        return self._nearest(query, set(rows_pos) | set(rows_neg), topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
        """a is to b as c is to ?: the words nearest b - a + c (3CosAdd), leaving a, b, c out."""
        for name, word in (("a", a), ("b", b), ("c", c)):
            if not isinstance(word, str):
                raise TypeError(f"{name} must be a str, got {type(word).__name__} {word!r}")
            if word not in self.vocab:
                raise ValueError(f"analogy word {name}={word!r} is not in the vocabulary")
        return self.most_similar([b, c], topn=topn, negative=[a])


# --------------------------------------------------------------------------- evaluation sets


@dataclass(frozen=True)
class PairScores:
    """Correlation of model cosines with human similarity ratings."""

    spearman: float
    pearson: float
    pairs_used: int
    pairs_total: int

    @property
    def coverage(self) -> float:
        """Share of the set's pairs whose two words are both in the vocabulary."""
        return self.pairs_used / self.pairs_total if self.pairs_total else 0.0


@dataclass(frozen=True)
class AnalogyScores:
    """Accuracy on analogy questions that lie fully inside the vocabulary."""

    accuracy: float
    correct: int
    answered: int
    total: int
    sections: dict[str, tuple[int, int]]  # section -> (correct, answered)

    @property
    def coverage(self) -> float:
        """Share of the questions whose four words are all in the vocabulary."""
        return self.answered / self.total if self.total else 0.0


def _check_wv(wv) -> WordVectors:
    if not isinstance(wv, WordVectors):
        raise TypeError(f"wv must be nlpcourse.evaluate.WordVectors, got {type(wv).__name__}")
    return wv


def read_word_pairs(path: str | Path) -> list[tuple[str, str, float]]:
    """(word, word, human score) triples from a tab-separated file; '#' lines are comments."""
    triples = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            continue  # gensim skips malformed lines too
        try:
            triples.append((parts[0].lower(), parts[1].lower(), float(parts[2])))
        except ValueError:
            continue
    return triples


def evaluate_word_pairs(wv: WordVectors, path: str | Path) -> PairScores:
    """Spearman and Pearson correlation between cosine similarity and human scores.

    Pairs with a word outside the vocabulary are skipped and counted (``coverage``).
    """
    wv = _check_wv(wv)
    triples = read_word_pairs(path)
    gold, model = [], []
    for a, b, score in triples:
        if a in wv and b in wv:
            gold.append(score)
            model.append(wv.similarity(a, b))
    if len(gold) < 3:
        raise ValueError(f"only {len(gold)} pair(s) of {path} lie in the vocabulary; need at least "
                         "3")
    return PairScores(
        spearman=float(stats.spearmanr(gold, model).statistic),
        pearson=float(stats.pearsonr(gold, model).statistic),
        pairs_used=len(gold),
        pairs_total=len(triples),
    )


def read_analogies(path: str | Path) -> list[tuple[str, tuple[str, str, str, str]]]:
    """(section, (a, b, c, d)) from the Google analogy file, lower-cased."""
    questions, section = [], None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith(": "):
            section = line[2:].strip()
            continue
        words = line.lower().split()
        if len(words) != 4 or section is None:
            continue
        questions.append((section, tuple(words)))
    return questions


def evaluate_analogies(wv: WordVectors, path: str | Path) -> AnalogyScores:
    """Accuracy of 3CosAdd (b - a + c, the question words left out) on in-vocabulary questions."""
    wv = _check_wv(wv)
    questions = read_analogies(path)
    inside = [(s, q) for s, q in questions if all(w in wv for w in q)]
    sections: dict[str, list[int]] = {}
    correct = 0
    if inside:
        unit = wv._unit.astype(np.float64)
        rows = np.array([[wv.index(w) for w in q] for _s, q in inside])  # (Q, 4)
        for start in range(0, len(rows), 512):  # batches keep the score matrix small
            batch = rows[start:start + 512]
            query = unit[batch[:, 1]] - unit[batch[:, 0]] + unit[batch[:, 2]]
            query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-300)
            scores = query @ unit.T  # (B, V)
            for j in range(3):
                scores[np.arange(len(batch)), batch[:, j]] = -np.inf
            predicted = scores.argmax(axis=1)
            for (section, _q), guess, expected in zip(inside[start:start + 512], predicted,
                                                      batch[:, 3]):
                hit = int(guess == expected)
                correct += hit
                tally = sections.setdefault(section, [0, 0])
                tally[0] += hit
                tally[1] += 1
    return AnalogyScores(
        accuracy=correct / len(inside) if inside else 0.0,
        correct=correct,
        answered=len(inside),
        total=len(questions),
        sections={s: (c, n) for s, (c, n) in sections.items()},
    )


def evaluation_table(models: dict[str, WordVectors],
                     files: dict[str, Path] | None = None) -> list[dict]:
    """One row per model: WordSim-353 and SimLex-999 Spearman rho, analogy accuracy and coverage."""
    files = files or {name: gensim_file(name) for name in ("wordsim353", "simlex999", "analogies")}
    rows = []
    for name, wv in models.items():
        ws = evaluate_word_pairs(wv, files["wordsim353"])
        sl = evaluate_word_pairs(wv, files["simlex999"])
        an = evaluate_analogies(wv, files["analogies"])
        rows.append({"model": name, "wordsim353": ws.spearman, "simlex999": sl.spearman,
                     "analogy": an.accuracy, "analogy_coverage": an.coverage,
                     "wordsim_coverage": ws.coverage, "simlex_coverage": sl.coverage})
    return rows


# --------------------------------------------------------------------------- checkpoints


def save_word_vectors(wv: WordVectors, path: str | Path, dtype=np.float16, **meta) -> Path:
    """Write vectors (as ``dtype``; float16 halves the file), the vocabulary with its counts, and
    ``meta`` (settings, scores: anything ``json`` can write) to a compressed ``.npz``."""
    import json

    wv = _check_wv(wv)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, vectors=wv.vectors.astype(dtype), tokens=np.array(wv.vocab.tokens),
                        counts=np.asarray(wv.vocab.counts, dtype=np.int64),
                        meta=np.array(json.dumps(meta)))
    return path


def load_word_vectors(path: str | Path) -> tuple[WordVectors, dict]:
    """Read ``save_word_vectors``' file: (WordVectors in float32, the stored ``meta`` dict)."""
    import json

    path = Path(path)
    if not path.exists():
        raise ValueError(f"path {str(path)!r} does not exist; write it with the script named in "
                         "data/README.md")
    with np.load(path, allow_pickle=False) as f:
        vocab = Vocabulary(tuple(str(t) for t in f["tokens"]), tuple(int(c) for c in f["counts"]),
                           unk_token=None)
        return WordVectors(f["vectors"].astype(np.float32), vocab), json.loads(str(f["meta"]))
