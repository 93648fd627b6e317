"""Convolution and pooling from scratch (chapter 12): im2col, then one matrix product.

A 2-D convolution slides a small kernel over the image and takes a dot product at every
position. ``im2col`` lays every kernel-sized patch out as a row, so the whole convolution is
one batched matrix product with the kernel: the same weights at every position (weight
sharing). Built from tensor indexing, so torch's autograd gives the gradients.
"""

from __future__ import annotations

import torch

from nlpcourse._checks import check_int
from nlpcourse._tensor_checks import check_tensor

__all__ = [
    "conv_output_size", "im2col", "conv2d", "max_pool2d", "parameter_count",
]


def _pair(name: str, value, minimum: int) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return (check_int(f"{name}[0]", value[0], minimum=minimum),
                check_int(f"{name}[1]", value[1], minimum=minimum))
    value = check_int(name, value, minimum=minimum)
    return value, value


def _check_input(x, *, floating: bool = True) -> torch.Tensor:
    return check_tensor("x", x, shape=("N", "C", "H", "W"), floating=floating)


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Output length along one axis: floor((size + 2 padding - dilation (kernel - 1) - 1) / stride)
    + 1."""
    size = check_int("size", size, minimum=1)
    kernel = check_int("kernel", kernel, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    dilation = check_int("dilation", dilation, minimum=1)
    span = dilation * (kernel - 1) + 1
    if size + 2 * padding < span:
        raise ValueError(
            f"kernel spans {span} pixels (kernel {kernel}, dilation {dilation}) but the padded "
            f"input is only {size + 2 * padding} (size {size} + 2 x padding {padding})"
        )
    return (size + 2 * padding - span) // stride + 1


def _patches(x, kernel, stride, padding, dilation, fill: float) -> torch.Tensor:
    """All kernel-sized windows of x: shape (N, C, H_out, W_out, kH, kW)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    h_out = conv_output_size(h, kh, sh, ph, dh)
    w_out = conv_output_size(w, kw, sw, pw, dw)
    padded = x.new_full((n, c, h + 2 * ph, w + 2 * pw), fill)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    rows = (torch.arange(h_out) * sh)[:, None] + (torch.arange(kh) * dh)[None, :]  # (H_out, kH)
    cols = (torch.arange(w_out) * sw)[:, None] + (torch.arange(kw) * dw)[None, :]  # (W_out, kW)
    # (N, C, H_out, W_out, kH, kW)
    return padded[:, :, rows[:, None, :, None], cols[None, :, None, :]]


def im2col(x: torch.Tensor, kernel_size, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """Every kernel-sized patch of ``x`` as a row: shape (N, H_out * W_out, C * kH * kW)."""
    x = _check_input(x, floating=False)  # patches of an integer image are fine
    kernel = _pair("kernel_size", kernel_size, 1)
    patches = _patches(x, kernel, _pair("stride", stride, 1), _pair("padding", padding, 0),
                       _pair("dilation", dilation, 1), 0.0)
    n, c, h_out, w_out, kh, kw = patches.shape
    return patches.permute(0, 2, 3, 1, 4, 5).reshape(n, h_out * w_out, c * kh * kw)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride=1,
           padding=0,
           dilation=1, groups: int = 1) -> torch.Tensor:
    """2-D convolution (cross-correlation, as in torch) by im2col and a matrix product.

    ``x``: (N, C_in, H, W); ``weight``: (C_out, C_in / groups, kH, kW); ``bias``: (C_out,).
    With ``groups`` g, the channels split into g groups that are convolved separately.
    """
    x = _check_input(x)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        got = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError("weight must be a tensor of shape (C_out, C_in/groups, kH, kW), got "
                         f"{got}")
    if weight.dtype != x.dtype:
        raise TypeError(f"weight and x must share one dtype, got weight {weight.dtype} and x "
                        f"{x.dtype}")
    if bias is not None:
        check_tensor("bias", bias)
        if bias.dtype != x.dtype:
            raise TypeError(f"bias and x must share one dtype, got bias {bias.dtype} and x "
                            f"{x.dtype}")
    groups = check_int("groups", groups, minimum=1)
    n, c_in, _h, _w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    if c_in % groups or c_out % groups:
        raise ValueError(f"channels must be divisible by groups={groups}: got C_in={c_in}, "
                         f"C_out={c_out}")
    if c_per_group != c_in // groups:
        raise ValueError(f"weight expects {c_per_group * groups} input channels ({c_per_group} per "
                         f"group x {groups} groups) but x has {c_in}")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {tuple(bias.shape)}")
    patches = _patches(x, (kh, kw), _pair("stride", stride, 1), _pair("padding", padding, 0),
                       _pair("dilation", dilation, 1), 0.0)
    h_out, w_out = patches.shape[2], patches.shape[3]
    # (N, G, C_in/G, H_out, W_out, kH, kW) -> (N, G, H_out*W_out, C_in/G * kH * kW)
    cols = patches.reshape(n, groups, c_per_group, h_out, w_out, kh, kw)
    cols = cols.permute(0, 1, 3, 4, 2, 5, 6).reshape(n, groups, h_out * w_out,
                                                     c_per_group * kh * kw)
    kernels = weight.reshape(groups, c_out // groups, c_per_group * kh * kw)  # (G, C_out/G, K)
    out = torch.einsum("ngpk,gok->ngop", cols, kernels)  # (N, G, C_out/G, H_out*W_out)
    out = out.reshape(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out


def max_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0, dilation=1) -> torch.Tensor:
    """Max pooling: the largest value in every window (padding counts as minus infinity)."""
    x = _check_input(x)
    kernel = _pair("kernel_size", kernel_size, 1)
    stride = kernel if stride is None else _pair("stride", stride, 1)
    padding = _pair("padding", padding, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"padding must be at most half the kernel size {kernel}, got {padding}")
    patches = _patches(x, kernel, stride, padding, _pair("dilation", dilation, 1), float("-inf"))
    return patches.amax(dim=(-2, -1))


def parameter_count(layer: str, **sizes: int) -> int:
    """Weights + biases of a ``"conv"`` (c_in, c_out, k) or ``"dense"`` (n_in, n_out) layer."""
    names = {"conv": ("c_in", "c_out", "k"), "dense": ("n_in", "n_out")}
    if layer not in names:
        raise ValueError(f"layer must be 'conv' or 'dense', got {layer!r}")
    if set(sizes) != set(names[layer]):
        raise TypeError(f"a {layer!r} layer takes the sizes {', '.join(names[layer])}, got "
                        f"{', '.join(sizes) or 'none'}")
    sizes = {name: check_int(name, value, minimum=1) for name, value in sizes.items()}
    if layer == "conv":
        return sizes["c_out"] * sizes["c_in"] * sizes["k"] ** 2 + sizes["c_out"]
    return sizes["n_in"] * sizes["n_out"] + sizes["n_out"]
