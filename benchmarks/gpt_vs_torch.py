"""Our GPT (chapter 08's blocks) against a torch-native twin, trained side by side in one process.

The twin is ``nn.TransformerEncoder`` of ``nn.TransformerEncoderLayer(norm_first=True,
activation="gelu")`` with the same embeddings, final LayerNorm and tied output layer, started
from the same weights. Both see the same batches (BPE tokens of the English corpus) with the same
optimizer. Training is interleaved in rounds (ours, theirs, ours, theirs, ...) so that a busy
machine slows both alike. Prints tokens per second and their ratio (target: ours >= 0.9x torch),
the validation loss of each at the same step, the run-to-run noise (two seeds of each), the
process's peak memory, and which attention path ours used.

    .venv/bin/python benchmarks/gpt_vs_torch.py                  # default: 4 rounds of 10 steps
    .venv/bin/python benchmarks/gpt_vs_torch.py --rounds 8 --fused
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from nlpcourse import data, gpt, tokenize

ROOT = Path(__file__).resolve().parents[1]
MERGES = ROOT / "data" / "checkpoints" / "09c_bpe_merges.json"


class TorchGPT(nn.Module):
    """The torch-native twin: same embeddings and head, torch's own pre-LN GELU encoder layers."""

    def __init__(self, config: gpt.GPTConfig):
        super().__init__()
        c = self.config = config
        self.token_embedding = nn.Embedding(c.vocab_size, c.d_model)
        self.position_embedding = nn.Embedding(c.context, c.d_model)
        layer = nn.TransformerEncoderLayer(c.d_model, c.n_heads, c.d_ff, dropout=c.dropout,
                                           activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.head.weight = self.token_embedding.weight
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(c.context),
                             persistent=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        x = self.token_embedding(ids) + self.position_embedding(torch.arange(t))  # (B, T, d)
        x = self.encoder(x, mask=self.mask[:t, :t], is_causal=True)  # (B, T, d)
        return self.head(self.final_norm(x))  # (B, T, V)


def twin_of(ours: gpt.GPT) -> TorchGPT:
    """A TorchGPT holding exactly our model's weights."""
    theirs = TorchGPT(ours.config)
    state = {}
    for name, value in ours.state_dict().items():
        if name.startswith("blocks."):
            name = "encoder.layers." + name[len("blocks."):].replace("feed_forward.", "")
        state[name] = value.clone()
    theirs.load_state_dict(state)
    return theirs


def token_streams(vocab_size: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    train, valid = data.english_lm_split()
    if MERGES.exists():
        tokenizer, source = tokenize.BytePairTokenizer.load(MERGES), MERGES.name
    else:  # before the merges checkpoint exists: learn the same number of merges here
        tokenizer = tokenize.BytePairTokenizer.learn(train, vocab_size=vocab_size)
        source = f"merges learned here ({vocab_size - 256})"
    encode = lambda docs: torch.tensor(tokenizer.encode("\n\n".join(docs)),
                                       dtype=torch.long)  # noqa: E731
    return encode(train), encode(valid), f"BPE, vocabulary {tokenizer.vocab_size}, {source}"


def run(seed: int, args, train_ids, valid_ids, vocab_size: int) -> dict:
    config = gpt.GPTConfig(vocab_size=vocab_size, context=args.context, d_model=args.d_model,
                           n_heads=args.n_heads,
                           n_layers=args.n_layers, d_ff=4 * args.d_model, dropout=0.0,
                           fused=args.fused)
    torch.manual_seed(seed)
    models = {"ours": gpt.GPT(config)}
    models["torch"] = twin_of(models["ours"])
    with torch.no_grad():  # the same function at the start: same logits within float32 rounding
        probe = train_ids[: 2 * args.context].view(2, args.context)
        torch.testing.assert_close(models["ours"](probe), models["torch"](probe), rtol=1e-4,
                                   atol=1e-5)
    optimizers = {name: torch.optim.AdamW(m.parameters(), lr=args.lr, weight_decay=0.01,
                                          betas=(0.9, 0.95))
                  for name, m in models.items()}
    seconds = {name: [] for name in models}
    batches = torch.Generator().manual_seed(seed)
    for _round in range(args.rounds):
        chunk = [gpt.random_windows(train_ids, args.batch_size, args.context, batches)
                 for _ in range(args.steps)]
        for name in (("ours", "torch") if _round % 2 == 0 else ("torch", "ours")):
            # alternate who goes first
            model, optimizer = models[name], optimizers[name]
            model.train()
            start = time.perf_counter()
            for x, y in chunk:
                loss = nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            seconds[name].append(time.perf_counter() - start)
    tokens = args.steps * args.batch_size * args.context
    result = {"path": models["ours"].attention_path}
    for name, model in models.items():
        model.eval()
        rates = [tokens / s for s in seconds[name]]
        result[name] = {"tokens_per_s": statistics.median(rates), "rates": rates,
                        "valid": _valid_loss(model, valid_ids, args)}
    return result


@torch.no_grad()
def _valid_loss(model: nn.Module, valid_ids: torch.Tensor, args) -> float:
    n = min((valid_ids.numel() - 1) // args.context, args.eval_windows)
    x = valid_ids[: n * args.context].view(n, args.context)
    y = valid_ids[1: n * args.context + 1].view(n, args.context)
    total = 0.0
    for start in range(0, n, 64):
        logits = model(x[start: start + 64])
        total += float(nn.functional.cross_entropy(logits.flatten(0, 1),
                                                   y[start: start + 64].flatten(),
                                                   reduction="sum"))
    return total / (n * args.context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10, help="training steps per model per round")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--d-model", type=int, default=96)
    parser.add_argument("--n-heads", type=int, default=4)
    parser.add_argument("--n-layers", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--eval-windows", type=int, default=256)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fused", action="store_true",
                        help="ours through torch's SDPA (nlpcourse.attention)")
    parser.add_argument("--vocab-size", type=int, default=1024,
                        help="only if the merges checkpoint is missing")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train_ids, valid_ids, what = token_streams(args.vocab_size)
    vocab_size = int(max(train_ids.max(), valid_ids.max())) + 1
    if MERGES.exists():
        vocab_size = tokenize.BytePairTokenizer.load(MERGES).vocab_size
    print(f"data: {what}; {train_ids.numel():,} training and {valid_ids.numel():,} validation "
          "tokens")
    print(f"model: d_model {args.d_model}, {args.n_heads} heads, {args.n_layers} layers, context "
          f"{args.context}, batch {args.batch_size}; {args.rounds} rounds x {args.steps} steps per "
          f"model, {args.threads} thread(s)")
    results = [run(seed, args, train_ids, valid_ids, vocab_size) for seed in args.seeds]
    print(f"our attention path: {results[0]['path']} (nlpcourse.attention."
          f"{'fused_attention, torch SDPA' if args.fused else 'scaled_dot_product_attention'})")
    print(f"{'seed':>4} {'ours tok/s':>11} {'torch tok/s':>12} {'ratio':>6} {'ours valid':>11} "
          f"{'torch valid':>12}")
    ratios = []
    for seed, r in zip(args.seeds, results):
        ratio = r["ours"]["tokens_per_s"] / r["torch"]["tokens_per_s"]
        ratios.append(ratio)
        print(f"{seed:>4} {r['ours']['tokens_per_s']:>11.0f} {r['torch']['tokens_per_s']:>12.0f} "
              f"{ratio:>6.2f} {r['ours']['valid']:>11.4f} {r['torch']['valid']:>12.4f}")
    per_round = [o / t for r in results for o, t in zip(r["ours"]["rates"], r["torch"]["rates"])]
    print(f"ratio ours/torch tokens per second: median {statistics.median(ratios):.2f} over seeds, "
          f"per round {min(per_round):.2f}..{max(per_round):.2f} (target >= 0.9)")
    gap = [abs(r["ours"]["valid"] - r["torch"]["valid"]) for r in results]
    noise_ours = abs(results[0]["ours"]["valid"]
                     - results[-1]["ours"]["valid"]) if len(results) > 1 else math.nan
    noise_torch = abs(results[0]["torch"]["valid"]
                      - results[-1]["torch"]["valid"]) if len(results) > 1 else math.nan
    step = args.rounds * args.steps
    print(f"validation loss at step {step}: |ours - torch| same seed max {max(gap):.4f}; "
          f"run-to-run noise (seed {args.seeds[0]} vs {args.seeds[-1]}): ours {noise_ours:.4f}, "
          f"torch {noise_torch:.4f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (whole process, both models and the data): {peak:.0f} MB")


if __name__ == "__main__":
    main()
