"""Pre-train chapter 09b's small BERT longer than the notebook can, and save it as a checkpoint.

    python scripts/make_checkpoint_09b.py            # writes data/checkpoints/09b_bert.pt

Fixed seed, one CPU thread, the Lee background stories for training and the 50 Lee test stories
(held out) for the scores it prints; the weights are stored as float16 and the scores are
computed from the stored weights, so ``tests/test_bert.py`` reproduces them from the file.
"""

import argparse
import time
from pathlib import Path

import torch

from nlpcourse import bert, data
from nlpcourse.reproducibility import seed_everything

OUT = Path(__file__).resolve().parents[1] / "data" / "checkpoints" / "09b_bert.pt"
#: The checkpoint's model and training settings (the notebook reads them back from the file).
SETTINGS = dict(d_model=128, n_heads=4, d_ff=256, n_layers=2, max_len=64, dropout=0.1,
                epochs=20, batch_size=64, lr=2e-3, warmup_steps=100, seed=0, min_count=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=SETTINGS["epochs"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    s = dict(SETTINGS, epochs=args.epochs)
    seed_everything(s["seed"], 1)
    train_docs = bert.corpus_sentences(data.lee_documents("background"))
    held_out = bert.corpus_sentences(data.lee_documents("test"))
    vocab = bert.bert_vocabulary([x for d in train_docs for x in d], min_count=s["min_count"])
    config = bert.BertConfig(len(vocab), d_model=s["d_model"], n_heads=s["n_heads"], d_ff=s["d_ff"],
                             n_layers=s["n_layers"], max_len=s["max_len"], dropout=s["dropout"])
    torch.manual_seed(s["seed"])
    model = bert.Bert(config)
    start = time.process_time()
    history = bert.train_bert(model, train_docs, vocab, epochs=s["epochs"], batch_size=s["batch_size"], lr=s["lr"],
                              warmup_steps=s["warmup_steps"], seed=s["seed"], progress=True)
    cpu_minutes = (time.process_time() - start) / 60
    print("train MLM loss per epoch:", [round(v, 3) for v in history["mlm"]])
    print("train NSP loss per epoch:", [round(v, 3) for v in history["nsp"]])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    bert.save_checkpoint(args.out, model, vocab, {"settings": s, "history": history})
    model, vocab, _ = bert.load_checkpoint(args.out)  # score the stored (float16) weights
    scores = bert.evaluate_bert(model, held_out, vocab, seed=0)
    meta = {"settings": s, "history": history, "held_out": {k: v for k, v in vars(scores).items() if k != "labels"}}
    bert.save_checkpoint(args.out, model, vocab, meta)
    print(f"{args.out.name}: {args.out.stat().st_size / 1e6:.2f} MB, training {cpu_minutes:.1f} CPU-minutes")
    print(f"held-out MLM loss {scores.mlm_loss:.6f} nats, MLM accuracy {scores.mlm_accuracy:.4f} "
          f"({scores.n_masked} masked words), NSP accuracy {scores.nsp_accuracy:.4f} ({scores.n_pairs} pairs), "
          f"NSP loss {scores.nsp_loss:.6f}")


if __name__ == "__main__":
    main()
