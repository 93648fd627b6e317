"""Train chapter 09c's two small GPTs longer than the notebook can, and save them as checkpoints.

    python scripts/make_checkpoint_09c.py            # both: data/checkpoints/09c_gpt_lm.pt,
                                                     # 09c_gpt_icl.pt
    python scripts/make_checkpoint_09c.py --part lm  # only the language model

* ``lm``: a GPT on the English corpus (``data.english_lm_split``: every 20th document held out),
  tokenised with the chapter's BPE merges (``data/checkpoints/09c_bpe_merges.json``).
* ``icl``: a GPT of 3 blocks of width 96 (context 160) on English text mixed with prompt-format
  tasks (``prompts.prompt_training_text``), scored on unseen task items with 0, 1 and 4 examples.

Fixed seed, one CPU thread. Weights are stored as float16 and every number saved in the
checkpoint's meta is computed from the stored weights, so ``tests/test_gpt.py`` reproduces it.
"""

import argparse
import hashlib
import time
from pathlib import Path

import torch

from nlpcourse import data, gpt, prompts, tokenize
from nlpcourse.reproducibility import seed_everything
from nlpcourse.tokenize import BytePairTokenizer

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "data" / "checkpoints"
MERGES = CHECKPOINTS / "09c_bpe_merges.json"
#: Model and training settings (the notebook reads them back from the files). MODEL/TRAIN are the
#: in-context model's base; LM_MODEL/LM_TRAIN the language model's.
MODEL = dict(context=64, d_model=96, n_heads=4, n_layers=3, d_ff=384, dropout=0.0)
TRAIN = dict(steps=1200, batch_size=32, lr=3e-3, weight_decay=0.01, warmup_steps=50, eval_every=100,
             eval_windows=64, seed=0)
#: The language model: 4 blocks of width 96, context 128, 3000 steps of 16 windows (2048 tokens a
#: step, about 6.1M tokens, five passes over the training text). The earlier 3 x 96 model trained
#: 1200 steps ended 0.18 nats per token below the bigram: undertrained, not too small.
LM_MODEL = dict(context=128, d_model=96, n_heads=4, n_layers=4, d_ff=384, dropout=0.0)
LM_TRAIN = dict(steps=3000, batch_size=16, lr=3e-3, weight_decay=0.01, warmup_steps=150,
                eval_every=250,
                eval_windows=32, seed=0)
#: Held-out tokens behind the stated validation loss (the first ones of the held-out documents).
VALID_TOKENS = 32768
#: The in-context model reads longer prompts (four solved examples of Q:/A: reach 144 tokens).
ICL_MODEL = dict(MODEL, context=160)
ICL_TRAIN = dict(TRAIN, batch_size=12, steps=4000, eval_every=500)
#: Prompt episodes mixed into the English text (about 80 % of the training tokens). With 40000 (60
#: %) and 1200 steps the model learned the answers' form but not to copy: copy and reverse stayed at
#: 0.
ICL_EPISODES = 120000
#: In-context accuracy: unseen items per task and number of examples in the prompt.
ICL_ITEMS, ICL_SHOTS, ICL_SEED = 50, (0, 1, 4), 0


def icl_documents(seed: int = 0) -> list[str]:
    """English training documents and prompt episodes, shuffled together at the document level."""
    import numpy as np

    documents = data.english_lm_split()[0] + prompts.prompt_training_text(ICL_EPISODES, seed=seed)
    order = np.random.default_rng(seed).permutation(len(documents))
    return [documents[i] for i in order]


def icl_accuracy(model: gpt.GPT, tokenizer: BytePairTokenizer) -> dict:
    """Per task and number of examples: the per-item results of greedy completion on unseen
    items."""
    return {task: {k: gpt.score_prompts(model, tokenizer,
                                        prompts.prompt_eval_set(task, ICL_ITEMS, k, seed=ICL_SEED))
                   for k in ICL_SHOTS} for task in prompts.PROMPT_TASKS}


def merges_sha256(path: Path = MERGES) -> str:
    """Fingerprint of the merges file the token ids depend on."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def english_streams(tokenizer: BytePairTokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """Training and held-out token streams of the English corpus (documents joined by a blank
    line)."""
    train, valid = data.english_lm_split()
    encode = lambda docs: torch.tensor(tokenizer.encode("\n\n".join(docs)),
                                       dtype=torch.long)  # noqa: E731
    return encode(train), encode(valid)


def train_and_save(name: str, tokenizer: BytePairTokenizer, train_ids: torch.Tensor,
                   valid_ids: torch.Tensor,
                   steps: int, extra_meta=None, model_settings: dict = MODEL,
                   train_settings: dict = TRAIN) -> tuple[gpt.GPT, dict]:
    seed_everything(train_settings["seed"], 1)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=tokenizer.vocab_size, **model_settings))
    settings = dict(train_settings, steps=steps)
    start = time.process_time()
    log = gpt.train_gpt(model, train_ids, valid_ids, progress=True,
                        **{k: v for k, v in settings.items() if k != "eval_windows"},
                        eval_windows=settings["eval_windows"])
    cpu_minutes = (time.process_time() - start) / 60
    out = CHECKPOINTS / f"09c_gpt_{name}.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(settings=settings,
                log=dict(steps=log.steps, train_loss=log.train_loss, valid_loss=log.valid_loss),
                merges_sha256=merges_sha256(), valid_windows=VALID_TOKENS // model.config.context,
                cpu_minutes=round(cpu_minutes, 2))
    gpt.save_checkpoint(model, out, **meta)
    model, _ = gpt.load_checkpoint(out)  # score the stored (float16) weights
    meta["valid_loss"] = gpt.evaluate_loss(model, valid_ids, max_windows=meta["valid_windows"])
    meta.update(extra_meta(model) if extra_meta else {})
    size = gpt.save_checkpoint(model, out, **meta)
    print(f"{out.name}: {size / 1e6:.2f} MB, {sum(p.numel() for p in model.parameters()):,} "
          f"parameters, {steps} steps in {cpu_minutes:.1f} CPU-minutes")
    print(f"  training/validation loss by step: " + ", ".join(
        f"{s}: {t:.3f}/{v:.3f}" for s, t, v in zip(log.steps, log.train_loss, log.valid_loss)))
    print(f"  held-out loss of the stored weights: {meta['valid_loss']:.6f} nats per token "
          f"({meta['valid_windows']} windows of {model.config.context} tokens)")
    return model, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["lm", "icl", "all"], default="all")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"training steps (default: {LM_TRAIN['steps']} for lm, "
                             f"{ICL_TRAIN['steps']} for icl)")
    args = parser.parse_args()
    tokenizer = BytePairTokenizer.load(MERGES)
    train_ids, valid_ids = english_streams(tokenizer)
    print(f"English: {train_ids.numel():,} training and {valid_ids.numel():,} held-out tokens "
          f"(vocabulary {tokenizer.vocab_size})")
    if args.part in ("lm", "all"):
        bigram = gpt.BigramModel(tokenizer.vocab_size).fit(train_ids)
        bigram_loss = bigram.loss(valid_ids[: VALID_TOKENS + 1])
        print(f"bigram (add-one) held-out loss: {bigram_loss:.4f}")
        train_and_save("lm", tokenizer, train_ids, valid_ids, args.steps or LM_TRAIN["steps"],
                       extra_meta=lambda _m: {"bigram_valid_loss": bigram_loss},
                       model_settings=LM_MODEL, train_settings=LM_TRAIN)
    if args.part in ("icl", "all"):
        mixed = torch.tensor(tokenizer.encode("\n".join(icl_documents())), dtype=torch.long)
        print(f"in-context training text: {mixed.numel():,} tokens ({ICL_EPISODES} prompt episodes "
              "mixed in)")

        def accuracy_meta(model: gpt.GPT) -> dict:
            results = icl_accuracy(model, tokenizer)
            print(f"  accuracy on {ICL_ITEMS} unseen items per task with "
                  + "/".join(map(str, ICL_SHOTS)) + " examples:")
            for task, by_k in results.items():
                print(f"    {task:>14}: "
                      + "  ".join(f"{sum(r) / len(r):.2f}" for r in by_k.values()))
            return {"icl_results": results, "icl_items": ICL_ITEMS, "icl_shots": list(ICL_SHOTS),
                    "icl_seed": ICL_SEED}

        train_and_save("icl", tokenizer, mixed, valid_ids, args.steps or ICL_TRAIN["steps"],
                       extra_meta=accuracy_meta,
                       model_settings=ICL_MODEL, train_settings=ICL_TRAIN)


if __name__ == "__main__":
    main()
