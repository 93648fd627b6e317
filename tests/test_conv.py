"""nlpcourse.conv equals torch.nn.functional.conv2d / max_pool2d, forward and gradients."""

import pytest
import torch
import torch.nn.functional as F

from nlpcourse import conv

CASES = [
    dict(stride=1, padding=0, dilation=1, groups=1),
    dict(stride=2, padding=1, dilation=1, groups=1),
    dict(stride=1, padding=2, dilation=2, groups=1),
    dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
    dict(stride=1, padding=1, dilation=1, groups=6),  # depthwise
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv2d_equals_torch_forward_and_backward(case):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 6, 9, 11, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(12, 6 // case["groups"], 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(12, generator=g, dtype=torch.float64, requires_grad=True)
    ours = conv.conv2d(x, w, b, **case)
    ref = F.conv2d(x, w, b, **case)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)
    upstream = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad(ours, (x, w, b), upstream)
    ref_grads = torch.autograd.grad(ref, (x, w, b), upstream)
    for mine, theirs in zip(grads, ref_grads):
        torch.testing.assert_close(mine, theirs, rtol=1e-10, atol=1e-12)


def test_conv2d_float32_within_course_tolerance():
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(4, 3, 16, 16, generator=g), torch.randn(8, 3, 5, 5, generator=g)
    torch.testing.assert_close(conv.conv2d(x, w, padding=2), F.conv2d(x, w, padding=2), rtol=1e-5, atol=1e-5)


def test_im2col_equals_torch_unfold():
    x = torch.randn(2, 3, 7, 8, dtype=torch.float64)
    ours = conv.im2col(x, 3, stride=2, padding=1, dilation=1)
    ref = F.unfold(x, 3, dilation=1, padding=1, stride=2).transpose(1, 2)
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                    dict(kernel_size=(3, 2), stride=(2, 1), dilation=(1, 2))], ids=str)
def test_max_pool_equals_torch(kwargs):
    x = torch.randn(2, 3, 8, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(2), requires_grad=True)
    ours, ref = conv.max_pool2d(x, **kwargs), F.max_pool2d(x, **kwargs)
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)
    up = torch.ones_like(ref)
    torch.testing.assert_close(torch.autograd.grad(ours, x, up)[0], torch.autograd.grad(ref, x, up)[0])


def test_output_size_and_parameter_counts():
    assert conv.conv_output_size(28, 5, stride=1, padding=2) == 28
    assert conv.conv_output_size(8, 3, stride=2) == 3
    assert conv.parameter_count("conv", c_in=1, c_out=8, k=3) == 80
    assert conv.parameter_count("dense", n_in=64, n_out=10) == 650
    with pytest.raises(ValueError, match="layer must be"):
        conv.parameter_count("lstm")


def test_bad_shapes_are_named():
    x = torch.randn(1, 4, 5, 5)
    with pytest.raises(ValueError, match=r"kernel spans 7 pixels .* padded input is only 5"):
        conv.conv2d(x, torch.randn(2, 4, 7, 7))
    with pytest.raises(ValueError, match="divisible by groups=3"):
        conv.conv2d(x, torch.randn(3, 1, 3, 3), groups=3)
    with pytest.raises(ValueError, match="weight expects 6 input channels"):
        conv.conv2d(x, torch.randn(2, 3, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\), got \(4, 5, 5\)"):
        conv.conv2d(x[0], torch.randn(2, 4, 3, 3))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        conv.conv2d([[1.0]], torch.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv.conv2d(x, torch.randn(2, 4, 3, 3), stride=0)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        conv.conv2d(x, torch.randn(2, 4, 3, 3), torch.randn(3))
    with pytest.raises(ValueError, match="padding must be at most half"):
        conv.max_pool2d(x, 2, padding=2)
