"""Time nlpcourse.attention against torch: scaled dot-product attention and multi-head attention,
forward and forward+backward, at (batch 32, length 256, d_model 512, 8 heads) and a longer length.

    .venv/bin/python benchmarks/attention_vs_torch.py [--threads 2] [--repeats 7] [--quick]

Prints one line per case with the median times and the ratio ours / torch (target <= 1.5), then
the peak memory of one forward+backward of each implementation (the rise of the peak
resident set size over the inputs, read from /proc after resetting the peak: Linux only). Our functions
always materialise the (B, H, T, T) attention weights (the notebook draws them); torch's
fused kernel does not, which is most of the difference in time and in memory. Timings on a
shared machine vary: ours and torch's runs alternate so both see the same load.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from nlpcourse import attention

SIZES = [dict(batch=32, length=256, d_model=512, heads=8), dict(batch=32, length=512, d_model=512, heads=8)]


def make_case(op: str, impl: str, size: dict, seed: int = 0):
    """Return (inputs, forward function) for one operation and implementation."""
    torch.manual_seed(seed)
    b, t, d, h = size["batch"], size["length"], size["d_model"], size["heads"]
    if op == "sdpa":
        q, k, v = (torch.randn(b, h, t, d // h, requires_grad=True) for _ in range(3))
        if impl == "ours":
            return [q, k, v], lambda: attention.scaled_dot_product_attention(q, k, v)[0]
        return [q, k, v], lambda: F.scaled_dot_product_attention(q, k, v)
    x = torch.randn(b, t, d, requires_grad=True)
    theirs = torch.nn.MultiheadAttention(d, h, batch_first=True)
    if impl == "ours":
        ours = attention.MultiHeadAttention(d, h)
        ours.load_state_dict(theirs.state_dict())
        return [x], lambda: ours(x)[0]
    if impl == "torch":  # need_weights=False: torch's fast fused path
        return [x], lambda: theirs(x, x, x, need_weights=False)[0]
    return [x], lambda: theirs(x, x, x, need_weights=True, average_attn_weights=False)[0]  # "torch+weights"


_UPSTREAM: dict[tuple[int, ...], torch.Tensor] = {}


def run(fn, backward: bool) -> None:
    out = fn()
    if backward:
        # a dense upstream gradient, like a real loss gives; out.sum().backward() would pass a
        # stride-0 expanded gradient, which sends bmm's backward down a slow path (10x here)
        if out.shape not in _UPSTREAM:
            _UPSTREAM[out.shape] = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
        out.backward(_UPSTREAM[out.shape])


def time_pair(op: str, size: dict, impls: list[str], repeats: int) -> dict[tuple[str, bool], float]:
    cases = {impl: make_case(op, impl, size) for impl in impls}
    times: dict[tuple[str, bool], list[float]] = {}
    for backward in (False, True):
        for impl, (inputs, fn) in cases.items():  # warm-up
            with torch.set_grad_enabled(backward):
                run(fn, backward)
        for _ in range(repeats):
            for impl, (inputs, fn) in cases.items():  # alternate so both share the machine's load
                for t in inputs:
                    t.grad = None
                with torch.set_grad_enabled(backward):
                    start = time.perf_counter()
                    run(fn, backward)
                    times.setdefault((impl, backward), []).append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def peak_memory(op: str, impl: str, size: dict) -> float:
    """MiB by which one forward+backward raises the resident set above the inputs (Linux)."""
    inputs, fn = make_case(op, impl, size)
    run(fn, backward=True)  # warm-up: one-time allocations are not the operation's memory
    for t in inputs:
        t.grad = None
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak resident set size (VmHWM) to the current one
    before = _status_kib("VmRSS")
    run(fn, backward=True)
    return (_status_kib("VmHWM") - before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that the script runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [dict(batch=2, length=64, d_model=64, heads=4)] if args.quick else SIZES
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeats} runs (float32, CPU)")
    print(f"{'case':58s} {'ours ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for size in sizes:
        label = f"B={size['batch']} T={size['length']} d={size['d_model']} H={size['heads']}"
        for op, impls in (("sdpa", ["ours", "torch"]), ("mha", ["ours", "torch", "torch+weights"])):
            medians = time_pair(op, size, impls, args.repeats)
            for backward in (False, True):
                pass_name = "forward+backward" if backward else "forward"
                for ref in impls[1:]:
                    ours_t, ref_t = medians[("ours", backward)], medians[(ref, backward)]
                    name = f"{label} {op:4s} {pass_name:16s} vs {ref}"
                    print(f"{name:58s} {1e3 * ours_t:9.1f} {1e3 * ref_t:9.1f} {ours_t / ref_t:6.2f}x", flush=True)
    print("\npeak memory of one forward+backward (MiB of resident set above the inputs)")
    for size in sizes:
        label = f"B={size['batch']} T={size['length']}"
        for op, impls in (("sdpa", ["ours", "torch"]), ("mha", ["ours", "torch", "torch+weights"])):
            values = {impl: peak_memory(op, impl, size) for impl in impls}
            print(f"{label} {op:4s} " + "  ".join(f"{impl} {mib:7.1f}" for impl, mib in values.items()), flush=True)


if __name__ == "__main__":
    main()
