"""Train chapter 09a's biLM longer than the notebook can and save it (COURSE.md's checkpoint policy).

    python scripts/make_checkpoint_09a.py            # writes data/checkpoints/09a_elmo.pt (+ .json)

Fixed seed, one thread, a fixed learning-rate schedule (no choice made on the held-out text).
The held-out cross-entropy printed at the end is computed from the stored float16 weights,
as tests/test_elmo.py recomputes it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from nlpcourse import elmo
from nlpcourse.reproducibility import seed_everything

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "checkpoints" / "09a_elmo.pt"
SETTINGS = dict(seed=0, held_out=30, min_count=3, dim=128, layers=2, dropout=0.25, batch_size=16,
                bptt=35,
                lr=1e-2, constant_epochs=8, epochs=14, decay=0.5)


def held_out_losses(model, vocab, split) -> dict[str, float]:
    train = elmo.lm_stream(split.train, vocab)
    held = elmo.lm_stream(split.held_out, vocab)
    return {d: elmo.lm_cross_entropy(model, held, d) for d in elmo.DIRECTIONS} | {
        f"unigram_{d}": elmo.unigram_cross_entropy(train, held, len(vocab), d)
        for d in elmo.DIRECTIONS} | {
        f"bigram_{d}": elmo.bigram_cross_entropy(train, held, len(vocab), d)
        for d in elmo.DIRECTIONS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"])
    args = parser.parse_args()
    s = dict(SETTINGS, epochs=args.epochs)
    seed_everything(s["seed"], threads=1)
    split = elmo.lee_sentences(held_out=s["held_out"], seed=s["seed"])
    vocab = elmo.lm_vocabulary(split.train, s["min_count"])
    train = elmo.lm_stream(split.train, vocab)
    held = elmo.lm_stream(split.held_out, vocab)
    model = elmo.BiLM(elmo.BiLMConfig(len(vocab), dim=s["dim"], layers=s["layers"],
                                      dropout=s["dropout"]))
    start, curve = time.process_time(), []
    for epoch in range(s["epochs"]):
        lr = s["lr"] * s["decay"] ** max(0, epoch + 1 - s["constant_epochs"])
        history = elmo.train_bilm(model, train, epochs=1, batch_size=s["batch_size"],
                                  bptt=s["bptt"], lr=lr)
        ppl = [elmo.perplexity(elmo.lm_cross_entropy(model, held, d)) for d in elmo.DIRECTIONS]
        curve.append(ppl)
        print(f"epoch {epoch + 1}: lr {lr:.4g}, train ce "
              f"{history.forward[0]:.3f}/{history.backward[0]:.3f}, held-out ppl "
              f"{ppl[0]:.1f}/{ppl[1]:.1f}, {time.process_time() - start:.0f} CPU-s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    elmo.save_bilm(model, vocab, args.out, settings=s)
    loaded, loaded_vocab, _info = elmo.load_bilm(args.out)
    losses = held_out_losses(loaded, loaded_vocab, split)
    summary = {"command": "python scripts/make_checkpoint_09a.py", "settings": s,
               "bytes": args.out.stat().st_size,
               "cpu_seconds": round(time.process_time() - start, 1),
               "held_out_tokens": int(held.numel()), "vocab_size": len(vocab),
               "held_out_cross_entropy": {k: round(v, 6) for k, v in losses.items()},
               "held_out_perplexity": {k: round(torch.tensor(v).exp().item(), 2)
                                       for k, v in losses.items()},
               "held_out_perplexity_by_epoch": [[round(a, 2), round(b, 2)] for a, b in curve]}
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({k: summary[k] for k in ("bytes", "cpu_seconds", "held_out_perplexity")},
                     indent=1))


if __name__ == "__main__":
    main()
