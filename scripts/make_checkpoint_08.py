"""Train chapter 08's Transformer with the chapter's full recipe and save it as a checkpoint.

    python scripts/make_checkpoint_08.py        # writes data/checkpoints/08_transformer.pt

The task is chapter 07's (English number words -> digits, ``data.spelled_numbers(3000, seed=0)``,
80/20 split with seed 0); the model and recipe are section 6's: pre-LN, width 64, 4 heads, 2 + 2
layers, dropout 0.1, label smoothing 0.1, AdamW (weight decay 0.05), warm-up then cosine decay,
18 epochs. The notebook trains the same recipe live for a few epochs only (its 60 s budget).

Fixed seed, one CPU thread. Weights are stored as float16 and every score in the checkpoint's meta
is computed from the stored weights, so ``tests/test_transformer.py`` reproduces it from the file.
"""

import time
from pathlib import Path

import torch

from nlpcourse import data, seq2seq, transformer
from nlpcourse.reproducibility import seed_everything

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "checkpoints" / "08_transformer.pt"
#: The data, model and recipe (the notebook's parameters cell holds the same values).
DATA = dict(n_pairs=3000, test_fraction=0.2, seed=0)
MODEL = dict(d_model=64, n_heads=4, d_ff=128, n_encoder_layers=2, n_decoder_layers=2, dropout=0.1, max_len=16,
             norm_first=True)
TRAIN = dict(epochs=18, batch_size=64, lr=5e-3, warmup_steps=100, label_smoothing=0.1, weight_decay=0.05,
             schedule="cosine", seed=0)


def split() -> tuple[list, list]:
    """The checkpoint's training and held-out pairs."""
    pairs = data.spelled_numbers(DATA["n_pairs"], seed=DATA["seed"])
    return seq2seq.split_pairs(pairs, test_fraction=DATA["test_fraction"], seed=DATA["seed"])


def main() -> None:
    seed_everything(TRAIN["seed"], 1)
    train_pairs, test_pairs = split()
    train_data = transformer.encode_pairs(train_pairs)
    test_data = transformer.encode_pairs(test_pairs, train_data.src_vocab, train_data.tgt_vocab)
    config = transformer.TransformerConfig(src_vocab=len(train_data.src_vocab), tgt_vocab=len(train_data.tgt_vocab),
                                           **MODEL)
    torch.manual_seed(TRAIN["seed"])
    model = transformer.Transformer(config)
    start = time.process_time()
    losses = transformer.train_transformer(model, train_data, **TRAIN)
    cpu_seconds = time.process_time() - start
    OUT.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(data=DATA, train=TRAIN, train_losses=losses, cpu_seconds=round(cpu_seconds, 1),
                src_tokens=list(train_data.src_vocab.tokens), tgt_tokens=list(train_data.tgt_vocab.tokens))
    transformer.save_checkpoint(model, OUT, **meta)
    model, _ = transformer.load_checkpoint(OUT)  # score the stored (float16) weights
    meta["test_loss"] = transformer.translation_loss(model, test_data)
    meta["test_exact_match"] = transformer.exact_match_accuracy(model, test_data)
    meta["train_exact_match"] = transformer.exact_match_accuracy(model, train_data)
    size = transformer.save_checkpoint(model, OUT, **meta)
    print(f"{OUT.name}: {size / 1e3:.1f} kB, {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{TRAIN['epochs']} epochs in {cpu_seconds:.1f} CPU-seconds")
    print("training loss per epoch (label smoothing 0.1):", [round(v, 4) for v in losses])
    print(f"stored weights: held-out loss {meta['test_loss']:.6f} nats per target token, held-out exact match "
          f"{meta['test_exact_match']:.4f} ({len(test_pairs)} pairs), training exact match {meta['train_exact_match']:.4f}")


if __name__ == "__main__":
    main()
