"""nlpcourse.activation_training: the networks chapter 04 trains to test its claims."""

import numpy as np
import pytest
import torch
from torch import nn

from nlpcourse import activation_training as T

torch.set_num_threads(1)


def toy_data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long()
    return X, y


def test_mlp_shapes_and_activations():
    model = T.mlp([4, 8, 8, 3], "tanh", seed=0)
    kinds = [type(m) for m in model]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert model(torch.zeros(5, 4)).shape == (5, 3)


def test_same_seed_same_weights_whatever_the_activation():
    a, b = T.mlp([4, 8, 3], "sigmoid", seed=3), T.mlp([4, 8, 3], "ReLU", seed=3)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    c = T.mlp([4, 8, 3], "sigmoid", seed=4)
    assert not torch.equal(a[0].weight, c[0].weight)


@pytest.mark.parametrize("init, variance", [("lecun", 1.0), ("he", 2.0)])
def test_normal_inits_have_the_stated_variance_and_zero_bias(init, variance):
    model = T.mlp([400, 300, 10], "SELU", seed=0, init=init)
    w = model[0].weight.detach().numpy()
    assert w.var() == pytest.approx(variance / 400, rel=0.02)
    assert torch.all(model[0].bias == 0)


def test_torch_init_has_torchs_bound():
    w = T.mlp([100, 50, 2], seed=0)[0].weight
    assert w.abs().max() <= 0.1 and w.abs().max() > 0.09  # U(-1/sqrt(100), 1/sqrt(100))


def test_module_instances_are_copied_per_layer():
    model = T.mlp([2, 3, 3, 1], nn.PReLU(), seed=0)
    assert model[1] is not model[3] and isinstance(model[3], nn.PReLU)


def test_loss_curve_records_and_matches_a_hand_loop():
    X, y = toy_data()
    model = T.mlp([4, 8, 2], "ReLU", seed=0)
    reference = T.mlp([4, 8, 2], "ReLU", seed=0)
    steps, losses = T.loss_curve(model, X, y, steps=7, lr=0.5, batch_size=16, seed=1, every=3)
    assert steps.tolist() == [0, 3, 6, 7] and losses.shape == (4,)
    # the same updates by hand: shuffle with the same generator, batches of 16, new order after 4
    g = torch.Generator().manual_seed(1)
    opt = torch.optim.SGD(reference.parameters(), lr=0.5)
    order, pos = torch.randperm(64, generator=g), 0
    for _ in range(7):
        if pos + 16 > 64:
            order, pos = torch.randperm(64, generator=g), 0
        idx = order[pos:pos + 16]
        pos += 16
        loss = nn.functional.cross_entropy(reference(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        want = float(nn.functional.cross_entropy(reference(X), y))
    assert losses[-1] == pytest.approx(want, rel=1e-5, abs=1e-6)
    assert losses[-1] < losses[0]


def test_kink_relu_equals_relu_and_sets_the_derivative_at_zero():
    x = torch.tensor([-2.0, -0.0, 0.0, 1e-30, 3.0], requires_grad=True)
    for value in (0.0, 0.5, 1.0):
        unit = T.KinkReLU(value)
        y = unit(x)
        assert torch.equal(y, torch.relu(x.detach()))
        (g,) = torch.autograd.grad(y.sum(), x)
        assert g.tolist() == [0.0, value, value, 1.0, 1.0]
        assert unit.seen == 5 and unit.zeros == 2
    (g,) = torch.autograd.grad(torch.relu(x).sum(), x)
    assert g.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # torch's own choice at 0 is 0


def test_exact_zero_fraction_counts_activation_inputs():
    model = T.mlp([2, 3, 1], "ReLU", seed=0)
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.copy_(torch.tensor([0.0, 1.0, 0.0]))
    zeros, total = T.exact_zero_fraction(model, torch.ones(4, 2))
    assert (zeros, total) == (8, 12)


def test_one_hidden_layer_fit_improves_with_units():
    x = torch.linspace(-3, 3, 100, dtype=torch.float64)
    y = torch.sin(2 * x)
    _, few = T.one_hidden_layer_fit(x, y, 1, steps=300, lr=0.05)
    model, many = T.one_hidden_layer_fit(x, y, 16, steps=300, lr=0.05)
    assert many < few / 2 and model[0].weight.dtype == torch.float64
    _, none = T.one_hidden_layer_fit(x, y, 3, steps=0)
    assert none > 0


@pytest.mark.parametrize("call, error, match", [
    (lambda: T.mlp([4], "ReLU"), ValueError, "sizes must list at least"),
    (lambda: T.mlp("48", "ReLU"), TypeError, "sizes must be a sequence"),
    (lambda: T.mlp([4, 0, 2], "ReLU"), ValueError, r"sizes\[1\]"),
    (lambda: T.mlp([4, 2], "relu"), ValueError, "activation must be one of"),
    (lambda: T.mlp([4, 2], init="xavier"), ValueError, "init must be one of"),
    (lambda: T.loss_curve(T.mlp([4, 2]), torch.zeros(3, 4), torch.zeros(2).long(), steps=1), ValueError,
     "same number of rows"),
    (lambda: T.loss_curve(T.mlp([4, 2]), torch.zeros(3, 4), torch.zeros(3), steps=1), TypeError, "y must hold integer"),
    (lambda: T.loss_curve(T.mlp([4, 2]), np.zeros((3, 4)), torch.zeros(3).long(), steps=1), TypeError, "X must be"),
    (lambda: T.loss_curve(T.mlp([4, 2]), torch.zeros(3, 4), torch.zeros(3).long(), steps=1, lr=0), ValueError, "lr"),
    (lambda: T.KinkReLU(2.0), ValueError, "grad_at_zero"),
    (lambda: T.exact_zero_fraction(nn.Linear(2, 2), torch.zeros(1, 2)), TypeError, "model must be"),
    (lambda: T.one_hidden_layer_fit(torch.zeros(3), torch.zeros(4), 2), ValueError, "same length"),
    (lambda: T.one_hidden_layer_fit(torch.zeros(3), torch.zeros(3), 0), ValueError, "units"),
])
def test_bad_input_is_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()
