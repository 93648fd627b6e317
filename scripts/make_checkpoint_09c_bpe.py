"""Learn chapter 09c's byte-pair merges and save them (the tokenizer the GPT uses).

    python scripts/make_checkpoint_09c_bpe.py          # writes data/checkpoints/09c_bpe_merges.json

Deterministic (no randomness in learning; ties go to the smallest pair of ids; the prompt
episodes use seed 0). Learns ``nlpcourse.tokenize.GPT_BPE_N_MERGES`` merges from
``nlpcourse.tokenize.gpt_bpe_texts()`` and prints tokens per word on the held-out English documents
(``english_lm_split()[1]``), which the tokenizer never saw. ``tests/test_tokenize.py`` relearns a
prefix of the merges and compares it with the file.
"""

import argparse
import time
from pathlib import Path

from nlpcourse import data, tokenize
from nlpcourse.tokenize import BytePairTokenizer, tokens_per_word


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-merges", type=int, default=tokenize.GPT_BPE_N_MERGES)
    parser.add_argument("--out", type=Path, default=tokenize.GPT_BPE_MERGES)
    args = parser.parse_args()
    start = time.process_time()
    texts = tokenize.gpt_bpe_texts()
    tokenizer = BytePairTokenizer.learn(texts, args.n_merges)
    cpu_seconds = time.process_time() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(args.out)
    stored = BytePairTokenizer.load(args.out)
    assert stored == tokenizer
    held_out = tokens_per_word(stored, data.english_lm_split()[1])
    print(f"{args.out.name}: {len(stored.merges)} merges, vocab_size {stored.vocab_size}, "
          f"{args.out.stat().st_size / 1e3:.1f} kB; learned from {len(texts)} documents in "
          f"{cpu_seconds:.1f} CPU-seconds")
    print(f"held-out English: {held_out.tokens_per_word:.3f} tokens per word, "
          f"{held_out.characters_per_word:.3f} characters per word, {held_out.bytes_per_token:.3f} "
          f"bytes per token ({held_out.words} words)")
    print("first merges:", [stored.token_str(256 + k) for k in range(20)])


if __name__ == "__main__":
    main()
