"""Train chapter 03's word vectors longer than the notebook can and save them (COURSE.md's checkpoint policy).

    python scripts/make_checkpoint_03.py      # writes data/checkpoints/03_sgns.npz and 03_glove.npz

Our skip-gram with negative sampling (the benchmark's settings, 20 epochs) and our GloVe
(more epochs), both on the course corpus (Lee + Wikipedia excerpt), fixed seeds, one thread
(so the files are the same on every run). The vectors are stored as float16; the scores printed
at the end (WordSim-353, SimLex-999, analogies: none of them seen in training) are computed from
the stored float16 vectors, as tests/test_evaluate.py recomputes them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nlpcourse import data, evaluate, glove, text
from nlpcourse import word2vec as w2v

OUT = data.DATA_DIR / "checkpoints"
SGNS = dict(sg=True, output="negative", dim=100, window=5, min_count=5, negative=5, sample=1e-3,
            epochs=20,
            threads=1, seed=0)
#: The paper's f(x) cut-off is x_max = 100 for corpora of billions of tokens; the reference code's
#: own small-corpus demo (text8) uses 10, which suits half a million tokens.
GLOVE = dict(dim=100, window=10, min_count=5, x_max=10.0, alpha=0.75, learning_rate=0.05, epochs=50,
             threads=1,
             seed=0)


def scores(wv: evaluate.WordVectors) -> dict[str, float]:
    row = evaluate.evaluation_table({"m": wv})[0]
    return {k: round(float(row[k]), 6)
            for k in ("wordsim353", "simlex999", "analogy", "analogy_coverage")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sentences = w2v.split_long_sentences([text.tokenize(d) for d in data.english_documents()])
    for name, train, settings in (("sgns", w2v.train_word2vec, SGNS),
                                  ("glove", glove.train_glove, GLOVE)):
        cpu = time.process_time()
        model = train(sentences, **settings)
        cpu = time.process_time() - cpu
        path = args.out / f"03_{name}.npz"
        meta = dict(command="python scripts/make_checkpoint_03.py", settings=settings,
                    cpu_seconds=round(cpu, 1),
                    epoch_losses=[round(float(x), 6) for x in model.epoch_losses])
        evaluate.save_word_vectors(model.wv, path, **meta)
        stored, _meta = evaluate.load_word_vectors(path)  # score what the file holds (float16)
        evaluate.save_word_vectors(stored, path, **meta, scores=scores(stored))
        print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB, {cpu:.0f} CPU-s, last epoch loss "
              f"{model.epoch_losses[-1]:.4f}, scores {scores(stored)}", flush=True)


if __name__ == "__main__":
    main()
