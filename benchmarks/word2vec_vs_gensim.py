"""Word2Vec: ours (numba kernel, Hogwild threads) against gensim 4.4 on the same corpus.

    python benchmarks/word2vec_vs_gensim.py [--epochs 20] [--threads 2] [--seeds 1 2 3]
        [--glove-epochs 25] [--quick] [--runs sgns cbow sg-hs]

Each run trains in its own fresh process (so peak memory is that run's alone) on the course's
English corpus (Lee + Wikipedia excerpt, ~550k tokens, tokenised by nlpcourse.text.tokenize,
the same token lists for both). Settings: dim 100, window 5, min count 5, sample 1e-3,
negative 5. Prints wall time, CPU time, words/s (in-vocabulary tokens x epochs / wall
seconds), WordSim-353 and SimLex-999 Spearman rho, analogy accuracy and peak memory per
run, then the ours/gensim ratios. The numba kernels are compiled (or loaded from numba's
cache) before the clock starts; gensim's Cython is compiled at install time.

The machine may be shared, so ours and gensim's run in alternating rounds (gensim, ours, one
round per seed): a load change hits both alike. The summary gives, per model, the mean over
seeds and the seed-to-seed standard deviation of the scores; the ratio line divides the summed
wall (and CPU) times of ours by gensim's over the same rounds.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time

RUNS = [  # (row name, architecture, output layer)
    ("skip-gram, negative 5", True, "negative"),
    ("CBOW, negative 5", False, "negative"),
    ("skip-gram, hierarchical softmax", True, "hierarchical"),
]
RUN_KEYS = {"sgns": 0, "cbow": 1, "sg-hs": 2}  # --runs picks rows by these short names


def _corpus():
    from nlpcourse import data, text
    from nlpcourse.word2vec import split_long_sentences

    return split_long_sentences([text.tokenize(d) for d in data.english_documents()])


def _scores(wv) -> dict:
    from nlpcourse import evaluate

    row = evaluate.evaluation_table({"m": wv})[0]
    return {k: row[k] for k in ("wordsim353", "simlex999", "analogy", "analogy_coverage")}


def _run(kind: str, sg: bool, output: str, epochs: int, threads: int, seed: int, queue) -> None:
    from nlpcourse import evaluate, text
    from nlpcourse import word2vec as w2v

    sentences = _corpus()
    if kind == "ours":
        w2v.warm_up()
    elif kind == "glove":
        from nlpcourse import glove

        glove.train_glove([["a", "b", "a", "c"]] * 3, min_count=1, dim=2, epochs=1)  # compile
    n_words = w2v.encode_corpus(sentences, w2v.word2vec_vocabulary(sentences, 5)).n_words
    wall, cpu = time.perf_counter(), time.process_time()
    if kind == "ours":
        model = w2v.train_word2vec(sentences, sg=sg, output=output, dim=100, window=5, min_count=5,
                                   sample=1e-3,
                                   negative=5, epochs=epochs, threads=threads, seed=seed,
                                   compute_loss=False)
        wv = model.wv
    elif kind == "gensim":
        from gensim.models import Word2Vec

        model = Word2Vec(sentences, sg=int(sg), hs=int(output == "hierarchical"),
                         negative=5 if output == "negative" else 0, vector_size=100, window=5,
                         min_count=5,
                         sample=1e-3, epochs=epochs, workers=threads, seed=seed)
        keys = model.wv.index_to_key
        vocab = text.Vocabulary(tuple(keys),
                                tuple(int(model.wv.get_vecattr(k, "count")) for k in keys),
                                unk_token=None)
        wv = evaluate.WordVectors(model.wv.vectors, vocab)
    else:
        from nlpcourse import glove

        model = glove.train_glove(sentences, dim=100, window=10, min_count=5, x_max=10.0,
                                  epochs=epochs,
                                  threads=threads, seed=seed)
        wv = model.wv
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(dict(wall=wall, cpu=cpu, words_per_s=n_words * epochs / wall, peak_mb=peak_mb,
                   **_scores(wv)))


def measure(kind: str, sg: bool, output: str, epochs: int, threads: int, seed: int = 1) -> dict:
    """Train one model in a fresh process and return its timings and scores."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(kind, sg, output, epochs, threads, seed, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _mean_sd(values):
    import statistics

    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _difference(ours, theirs):
    """Difference of the means (ours - theirs) and its standard error (Welch: runs are not paired,
    two Hogwild threads make every run different even with the same seed)."""
    (m1, s1), (m2, s2) = _mean_sd(ours), _mean_sd(theirs)
    return m1 - m2, (s1**2 / len(ours) + s2**2 / len(theirs)) ** 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--glove-epochs", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="skip-gram/negative only, no GloVe")
    parser.add_argument("--runs", nargs="+", choices=list(RUN_KEYS),
                        help="only these rows (no GloVe)")
    args = parser.parse_args()
    runs = [RUNS[RUN_KEYS[k]] for k in args.runs] if args.runs else RUNS[:1] if args.quick else RUNS
    header = (f"{'model':<44}{'seed':>5}{'wall s':>8}{'cpu s':>8}{'words/s':>10}{'WS353':>7}"
              f"{'SL999':>7}{'analogy':>8}{'cover':>7}{'peak MB':>9}")
    print(f"epochs {args.epochs}, threads/workers {args.threads}, dim 100, window 5, min count 5, "
          f"sample 1e-3, seeds {args.seeds}")
    print(header)
    print("-" * len(header))

    def show(name, seed, r):
        print(f"{name:<44}{seed:>5}{r['wall']:8.1f}{r['cpu']:8.1f}{r['words_per_s']:10.0f}"
              f"{r['wordsim353']:7.3f}{r['simlex999']:7.3f}{r['analogy']:8.3f}"
              f"{r['analogy_coverage']:7.2f}{r['peak_mb']:9.0f}", flush=True)

    summary = []
    for name, sg, output in runs:
        results = {"gensim": [], "ours": []}
        for seed in args.seeds:  # alternate: a change of load hits both
            for kind in ("gensim", "ours"):
                r = measure(kind, sg, output, args.epochs, args.threads, seed)
                results[kind].append(r)
                show(f"{kind:<6} {name}", seed, r)
        summary.append((name, results))
    if not (args.quick or args.runs):
        show(f"ours   GloVe ({args.glove_epochs} epochs)", args.seeds[0],
             measure("glove", True, "", args.glove_epochs, args.threads, args.seeds[0]))
    print()
    print(f"{'mean over seeds (sd)':<44}{'wall s':>8}{'cpu s':>8}{'WordSim-353':>16}"
          f"{'SimLex-999':>16}{'analogy':>16}")
    for name, results in summary:
        for kind in ("gensim", "ours"):
            rs = results[kind]
            cells = [_mean_sd([r[k] for r in rs]) for k in ("wordsim353", "simlex999", "analogy")]
            print(f"{kind + ' ' + name:<44}{sum(r['wall'] for r in rs) / len(rs):8.1f}"
                  f"{sum(r['cpu'] for r in rs) / len(rs):8.1f}"
                  + "".join(f"{m:9.3f} ({sd:.3f})" for m, sd in cells))
    print()
    for name, results in summary:
        ours, theirs = results["ours"], results["gensim"]
        wall = sum(r["wall"] for r in ours) / sum(r["wall"] for r in theirs)
        cpu = sum(r["cpu"] for r in ours) / sum(r["cpu"] for r in theirs)
        rounds = ", ".join(f"{o['wall'] / t['wall']:.2f}" for o, t in zip(ours, theirs))
        ws, ws_se = _difference([r["wordsim353"] for r in ours], [r["wordsim353"] for r in theirs])
        sl, sl_se = _difference([r["simlex999"] for r in ours], [r["simlex999"] for r in theirs])
        print(f"ratio ours/gensim, {name}: wall {wall:.2f} (rounds {rounds}), cpu {cpu:.2f}, "
              f"WordSim-353 {ws:+.3f}, SimLex-999 {sl:+.3f} (differences of the means)")
        if len(ours) > 1:
            print("  standard error of those differences (seed-to-seed spread / sqrt(seeds)): "
                  f"WordSim-353 {ws_se:.3f}, SimLex-999 {sl_se:.3f}")


if __name__ == "__main__":
    main()
