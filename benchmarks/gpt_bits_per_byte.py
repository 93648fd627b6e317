"""Chapter 09c's language models in bits per byte, so that different tokenizers compare fairly.

A loss in nats per token depends on what a token is: a BPE token of ``09c_bpe_merges.json`` holds
about 2.6 bytes of English, a byte holds one. Bits per byte divides every model's total
cross-entropy over the same held-out text by the number of UTF-8 bytes it predicted:

    bits per byte = (total nats over the predicted units) / ln 2 / (UTF-8 bytes of those units)

The held-out text is the one chapter 09c scores on: the first 32,769 BPE tokens of the held-out
English documents (``data.english_lm_split()[1]`` joined by blank lines). The token models predict
tokens 1..32,768 from what comes before; the byte models predict every byte of the same span after
its first byte. Rows:

* the notebook's live GPT (its parameters cell is read from ``notebooks/09c_gpt.ipynb``, so the
  run is the notebook's at seed 0; ``--seed`` for another);
* the language-model checkpoint ``data/checkpoints/09c_gpt_lm.pt``;
* the add-one BPE unigram and bigram (counts on the training documents' tokens);
* byte-level models: add-one byte unigram, bigram and trigram (counts on the training documents'
  UTF-8 bytes, 256 symbols).

    .venv/bin/python benchmarks/gpt_bits_per_byte.py            # about a minute on one thread
    .venv/bin/python benchmarks/gpt_bits_per_byte.py --no-live  # skip the live run
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch

from nlpcourse import data, gpt, tokenize
from nlpcourse.reproducibility import seed_everything

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "09c_gpt.ipynb"
CHECKPOINT = ROOT / "data" / "checkpoints" / "09c_gpt_lm.pt"
#: Held-out tokens scored (as in the notebook: 512 windows of 64, 256 of 128).
TOKENS = 32768


def notebook_parameters() -> dict:
    """The values of the notebook's ``parameters`` cell (seed, live_steps, live_d_model, ...)."""
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(cell.source, {}, values)  # noqa: S102 - our own notebook's parameter assignments
    return values


def live_run(tokenizer, train_ids: torch.Tensor, valid_ids: torch.Tensor, p: dict) -> gpt.GPT:
    """The notebook's live run (cells "The model, with shapes" and "Training"), same calls and
    seeds."""
    seed_everything(p["seed"], 1)
    config = gpt.GPTConfig(vocab_size=tokenizer.vocab_size, context=64, d_model=p["live_d_model"],
                           n_heads=4,
                           n_layers=p["live_layers"], d_ff=4 * p["live_d_model"])
    torch.manual_seed(p["seed"])
    model = gpt.GPT(config)
    gpt.train_gpt(model, train_ids, valid_ids, steps=p["live_steps"], batch_size=p["batch_size"],
                  lr=3e-3,
                  warmup_steps=20, eval_every=p["eval_every"], eval_windows=32, seed=p["seed"])
    return model


def byte_ngram_nats(train: bytes, text: bytes, n: int) -> tuple[float, int]:
    """Total nats of an add-one byte n-gram over bytes 1..M-1 of ``text`` (byte k is predicted from
    bytes max(0, k-n+1)..k-1: the first n-2 bytes use the shorter context they have) and M-1."""
    tr = np.frombuffer(train, dtype=np.uint8).astype(np.int64)
    te = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
    total = 0.0
    for order in range(1, n + 1):
        idx = np.zeros(len(tr) - order + 1, dtype=np.int64)
        for j in range(order):
            idx = idx * 256 + tr[j: len(tr) - order + 1 + j]
        counts = np.bincount(idx, minlength=256 ** order).reshape(-1, 256).astype(np.float64)
        rows = counts.sum(1)
        if order == n:
            positions = np.arange(max(order - 1, 1), len(te))
        elif order >= 2:
            positions = np.array([order - 1])  # byte order-1 has exactly order-1 bytes before it
        else:
            continue  # order 1 predicts nothing here unless n == 1
        ctx = np.zeros(len(positions), dtype=np.int64)
        for j in range(order - 1):
            ctx = ctx * 256 + te[positions - order + 1 + j]
        total -= float(np.log((counts[ctx, te[positions]] + 1) / (rows[ctx] + 256)).sum())
    return total, len(te) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-live", action="store_true", help="skip the notebook's live run")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the live run (default: the notebook's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tokenizer = tokenize.gpt_bpe_tokenizer()
    train_docs, valid_docs = data.english_lm_split()
    train_ids = torch.tensor(tokenizer.encode("\n\n".join(train_docs)))
    valid_ids = torch.tensor(tokenizer.encode("\n\n".join(valid_docs)))
    span = valid_ids[: TOKENS + 1]
    token_bytes = [tokenizer.token_bytes(int(i)) for i in span]
    text = b"".join(token_bytes)
    predicted_bytes = len(text) - len(token_bytes[0])  # the bytes of tokens 1..TOKENS
    print(f"held-out span: {TOKENS + 1:,} BPE tokens = {len(text):,} UTF-8 bytes "
          f"({len(text) / (TOKENS + 1):.3f} bytes per token); the token models predict the last "
          f"{predicted_bytes:,}")

    rows = []  # (name, nats per unit, unit, total nats, bytes predicted)

    def add_tokens(name: str, nats_per_token: float) -> None:
        rows.append((name, nats_per_token, "token", nats_per_token * TOKENS, predicted_bytes))

    if not args.no_live:
        p = notebook_parameters()
        if args.seed is not None:
            p["seed"] = args.seed
        start = time.process_time()
        live = live_run(tokenizer, train_ids, valid_ids, p)
        add_tokens(f"GPT live ({p['live_layers']}x{p['live_d_model']}, {p['live_steps']} steps, "
                   f"seed {p['seed']})",
                   gpt.evaluate_loss(live, span, max_windows=TOKENS // live.config.context))
        print(f"(live run: {time.process_time() - start:.0f} CPU-s)")
    lm, meta = gpt.load_checkpoint(CHECKPOINT)
    c = lm.config
    assert TOKENS % c.context == 0 and meta["valid_windows"] == TOKENS // c.context
    add_tokens(f"GPT checkpoint ({c.n_layers}x{c.d_model}, context {c.context}, "
               f"{meta['settings']['steps']} steps)",
               gpt.evaluate_loss(lm, span, max_windows=meta["valid_windows"]))
    unigram = (torch.bincount(train_ids, minlength=tokenizer.vocab_size).double() + 1)
    unigram /= unigram.sum()
    add_tokens("BPE unigram, add-one", float(-unigram[span[1:]].log().mean()))
    add_tokens("BPE bigram, add-one",
               gpt.BigramModel(tokenizer.vocab_size).fit(train_ids).loss(span))
    train_bytes = "\n\n".join(train_docs).encode("utf-8")
    for n, name in [(1, "unigram"), (2, "bigram"), (3, "trigram")]:
        nats, count = byte_ngram_nats(train_bytes, text, n)
        rows.append((f"byte {name}, add-one", nats / count, "byte", nats, count))

    print(f"{'model':>44} {'nats/unit':>10} {'unit':>6} {'bits per byte':>14}")
    for name, per_unit, unit, nats, count in rows:
        print(f"{name:>44} {per_unit:>10.4f} {unit:>6} {nats / math.log(2) / count:>14.4f}")


if __name__ == "__main__":
    main()
