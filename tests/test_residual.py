"""Tests for nlpcourse.residual: shapes, identity at zero init, Jacobians and gradient norms
against autograd and a hand-written numpy back-propagation, spectra against numpy's SVD, and
every bad-input error."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from nlpcourse import data
from nlpcourse import residual as R

RTOL64, ATOL64 = 1e-10, 1e-12
RTOL32, ATOL32 = 1e-5, 1e-6


def small_batch(n=12, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, features)), rng.integers(0, classes, size=n)


def small_stack(block="plain", depth=3, skip="identity", activation="tanh", seed=1, **kw):
    return R.build_stack(depth, block, width=4, in_features=5, n_classes=3, skip=skip,
                         activation=activation, seed=seed, **kw).double()


# --------------------------------------------------------------------------- shapes and init

@pytest.mark.parametrize("block", R.BLOCKS)
def test_shapes_of_logits_and_hidden(block):
    model = R.build_stack(5, block, width=7, in_features=64, n_classes=10)
    x = torch.zeros(3, 64)
    assert model(x).shape == (3, 10)
    hidden = model.hidden(x)
    assert len(hidden) == 5 and all(h.shape == (3, 7) for h in hidden)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_zero_initialised_residual_branch_is_the_identity(activation):
    block = R.ResidualBlock(6, activation, "identity", zero_init=True).double()
    x = torch.randn(4, 6, dtype=torch.float64)
    assert torch.equal(block(x), x)
    stack = R.build_stack(4, "residual", width=6, in_features=5, activation=activation, zero_init=True).double()
    hidden = stack.hidden(torch.randn(3, 5, dtype=torch.float64))
    for h in hidden[1:]:
        assert torch.equal(h, hidden[0])


def test_zero_initialised_orthogonal_skip_is_the_rotation():
    block = R.ResidualBlock(6, "tanh", "orthogonal", seed=3, zero_init=True).double()
    x = torch.randn(4, 6, dtype=torch.float64)
    expected = x @ R.random_orthogonal(6, 3, torch.float64).T
    torch.testing.assert_close(block(x), expected, rtol=RTOL64, atol=ATOL64)
    # a rotation keeps every sample's length
    torch.testing.assert_close(block(x).norm(dim=1), x.norm(dim=1), rtol=RTOL64, atol=ATOL64)


def test_random_orthogonal_is_orthogonal_and_seeded():
    q = R.random_orthogonal(8, seed=5, dtype=torch.float64)
    torch.testing.assert_close(q.T @ q, torch.eye(8, dtype=torch.float64), rtol=RTOL64, atol=ATOL64)
    assert torch.equal(q, R.random_orthogonal(8, seed=5, dtype=torch.float64))
    assert not torch.allclose(q, R.random_orthogonal(8, seed=6, dtype=torch.float64))


def test_blocks_of_a_stack_get_different_orthogonal_skips():
    model = R.build_stack(3, "residual", width=4, skip="orthogonal")
    a, b = model.blocks[0].skip_matrix, model.blocks[1].skip_matrix
    assert not torch.allclose(a, b)
    assert all(not m.requires_grad for m in (a, b))  # fixed, not trained
    assert "skip_matrix" not in dict(model.named_parameters())


def test_same_seed_same_weights_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = R.build_stack(3, "highway", seed=4)
    after = torch.rand(1)
    b = R.build_stack(3, "highway", seed=4)
    c = R.build_stack(3, "highway", seed=5)
    assert torch.equal(before, after)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.blocks[0].transform.weight, c.blocks[0].transform.weight)


def test_highway_gate_limits():
    torch.manual_seed(0)
    x = torch.randn(5, 4, dtype=torch.float64)
    closed = R.HighwayBlock(4, gate_bias=-1000.0).double()  # T = 0: carry x through
    nn_zero = torch.nn.init.zeros_
    nn_zero(closed.gate.weight)
    assert torch.equal(closed(x), x)
    opened = R.HighwayBlock(4, gate_bias=1000.0).double()  # T = 1: transform only
    nn_zero(opened.gate.weight)
    torch.testing.assert_close(opened(x), torch.tanh(opened.transform(x)), rtol=RTOL64, atol=ATOL64)


def test_highway_starts_mostly_carrying():
    block = R.HighwayBlock(4)  # default gate bias -3 -> T = sigmoid(-3) at zero input
    t = block.gate_values(torch.zeros(1, 4))
    torch.testing.assert_close(t, torch.full((1, 4), 1 / (1 + np.exp(3.0)), dtype=torch.float32),
                               rtol=RTOL32, atol=ATOL32)


# --------------------------------------------------------------------------- Jacobians

@pytest.mark.parametrize("skip", R.SKIPS)
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_residual_jacobian_is_skip_plus_branch_derivative(skip, activation):
    torch.manual_seed(1)
    block = R.ResidualBlock(5, activation, skip, seed=2).double()
    x = torch.randn(5, dtype=torch.float64)
    W, b = block.linear.weight.detach(), block.linear.bias.detach()
    z = W @ x + b
    fprime = {"tanh": 1 - torch.tanh(z) ** 2, "relu": (z > 0).double(),
              "sigmoid": torch.sigmoid(z) * (1 - torch.sigmoid(z))}[activation]
    Q = torch.eye(5, dtype=torch.float64) if skip == "identity" else block.skip_matrix
    by_hand = Q + fprime[:, None] * W  # the notes' 1 + dF/dx
    by_autograd = torch.autograd.functional.jacobian(lambda v: block(v[None])[0], x)
    torch.testing.assert_close(by_autograd, by_hand, rtol=RTOL64, atol=ATOL64)


def test_plain_jacobian_has_no_identity_term():
    torch.manual_seed(1)
    block = R.PlainBlock(5).double()
    x = torch.randn(5, dtype=torch.float64)
    W, b = block.linear.weight.detach(), block.linear.bias.detach()
    by_hand = (1 - torch.tanh(W @ x + b) ** 2)[:, None] * W
    by_autograd = torch.autograd.functional.jacobian(lambda v: block(v[None])[0], x)
    torch.testing.assert_close(by_autograd, by_hand, rtol=RTOL64, atol=ATOL64)


def test_highway_jacobian_by_hand():
    torch.manual_seed(2)
    block = R.HighwayBlock(5, gate_bias=-1.0).double()
    x = torch.randn(5, dtype=torch.float64)
    WH, bH = block.transform.weight.detach(), block.transform.bias.detach()
    WT, bT = block.gate.weight.detach(), block.gate.bias.detach()
    h, t = torch.tanh(WH @ x + bH), torch.sigmoid(WT @ x + bT)
    # y = h t + x (1 - t): product rule on each path
    by_hand = (t * (1 - h ** 2))[:, None] * WH + ((h - x) * t * (1 - t))[:, None] * WT + torch.diag(1 - t)
    by_autograd = torch.autograd.functional.jacobian(lambda v: block(v[None])[0], x)
    torch.testing.assert_close(by_autograd, by_hand, rtol=RTOL64, atol=ATOL64)


# --------------------------------------------------------------------------- gradient norms

def numpy_backprop(model, X, y):
    """Weight and activation gradient norms of a plain or residual tanh stack, by hand."""
    to = lambda t: t.detach().numpy()
    E, e = to(model.embed.weight), to(model.embed.bias)
    h = np.tanh(X @ E.T + e)
    cache = []
    for block in model.blocks:
        W, b = to(block.linear.weight), to(block.linear.bias)
        Q = None
        if isinstance(block, R.ResidualBlock):
            Q = np.eye(len(W)) if block.skip_matrix is None else to(block.skip_matrix)
        a = np.tanh(h @ W.T + b)
        cache.append((h, W, Q, a))
        h = a + (h @ Q.T if Q is not None else 0.0)
    logits = h @ to(model.head.weight).T + to(model.head.bias)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    dh = p / len(y) @ to(model.head.weight)  # dL/dh of the last block's output
    weight_norms, activation_norms = [], []
    for h_in, W, Q, a in reversed(cache):
        activation_norms.append(np.linalg.norm(dh))
        dz = dh * (1 - a ** 2)
        weight_norms.append(np.linalg.norm(dz.T @ h_in))
        dh = dz @ W + (dh @ Q if Q is not None else 0.0)
    return np.array(weight_norms[::-1]), np.array(activation_norms[::-1])


@pytest.mark.parametrize("block,skip", [("plain", "identity"), ("residual", "identity"), ("residual", "orthogonal")])
def test_layer_gradient_norms_match_hand_backprop(block, skip):
    X, y = small_batch()
    model = small_stack(block, depth=4, skip=skip)
    weights, activations = numpy_backprop(model, X, y)
    np.testing.assert_allclose(R.layer_gradient_norms(model, X, y), weights, rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(R.layer_gradient_norms(model, X, y, of="activations"), activations,
                               rtol=RTOL64, atol=ATOL64)


def test_layer_gradient_norms_match_backward_and_leave_grads_alone():
    X, y = small_batch()
    model = small_stack("highway", depth=3)
    norms = R.layer_gradient_norms(model, X, y)
    assert all(p.grad is None for p in model.parameters())
    loss = torch.nn.functional.cross_entropy(model(torch.as_tensor(X)), torch.as_tensor(y))
    loss.backward()
    expected = [b.transform.weight.grad.norm().item() for b in model.blocks]
    np.testing.assert_allclose(norms, expected, rtol=RTOL64, atol=ATOL64)


def test_float32_model_matches_float64_within_course_tolerance():
    X, y = small_batch()
    model = small_stack("residual", depth=3)
    single = R.build_stack(3, "residual", width=4, in_features=5, n_classes=3, seed=1)
    np.testing.assert_allclose(R.layer_gradient_norms(single, X, y), R.layer_gradient_norms(model, X, y),
                               rtol=RTOL32, atol=ATOL32)


def test_plain_gradients_vanish_with_depth_and_residual_ones_do_not():
    X, y = data.digits_split()[:2]
    X, y = X[:128], y[:128]
    plain = R.gradient_ratio(R.layer_gradient_norms(R.build_stack(32, "plain"), X, y))
    residual = R.gradient_ratio(R.layer_gradient_norms(R.build_stack(32, "residual"), X, y))
    assert plain < 1e-4
    assert 0.1 < residual < 10


def test_gradient_ratio_by_hand_and_zero_last():
    assert R.gradient_ratio([2.0, 5.0, 4.0]) == 0.5
    with pytest.raises(ValueError, match=r"norms\[-1\] must be non-zero"):
        R.gradient_ratio([1.0, 0.0])
    with pytest.raises(ValueError, match="norms must have at least 1 row"):
        R.gradient_ratio([])


def test_gradient_norms_by_depth_equals_single_calls():
    X, y = small_batch(features=64, classes=10)
    table = R.gradient_norms_by_depth(X, y, [2, 3], width=4)
    assert list(table) == [2, 3] and list(table[3]) == ["plain", "residual"]
    np.testing.assert_array_equal(table[3]["residual"],
                                  R.layer_gradient_norms(R.build_stack(3, "residual", width=4), X, y))
    assert len(table[2]["plain"]) == 2


# --------------------------------------------------------------------------- training

def test_train_is_deterministic_and_learns():
    Xtr, ytr, Xv, yv = data.digits_split()
    Xtr, ytr = Xtr[:400], ytr[:400]
    runs = [R.train(R.build_stack(4, "residual"), Xtr, ytr, Xv, yv, epochs=3, lr=0.01) for _ in range(2)]
    assert runs[0] == runs[1]
    history = runs[0]
    assert len(history.val_accuracy) == 4  # entry 0 is before training
    assert history.train_loss[-1] < history.train_loss[0] - 0.5
    assert history.val_accuracy[-1] > 0.6


def test_train_with_zero_epochs_only_evaluates():
    Xtr, ytr, Xv, yv = data.digits_split()
    model = R.build_stack(2, "plain")
    before = [p.clone() for p in model.parameters()]
    history = R.train(model, Xtr[:50], ytr[:50], Xv, yv, epochs=0)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    loss, accuracy = R.evaluate(model, Xv, yv)
    assert history.val_loss == [loss] and history.val_accuracy == [accuracy]


def test_evaluate_against_torch_cross_entropy():
    X, y = small_batch()
    model = small_stack("plain")
    logits = model(torch.as_tensor(X))
    loss, accuracy = R.evaluate(model, X, y)
    np.testing.assert_allclose(loss, torch.nn.functional.cross_entropy(logits, torch.as_tensor(y)).item(),
                               rtol=RTOL64, atol=ATOL64)
    assert accuracy == np.mean(logits.argmax(1).numpy() == y)


# --------------------------------------------------------------------------- degeneration

def test_singular_values_match_numpy_and_torch():
    rng = np.random.default_rng(3)
    H = rng.normal(size=(20, 6))
    np.testing.assert_allclose(R.singular_values(H), np.linalg.svd(H, compute_uv=False), rtol=RTOL64, atol=ATOL64)
    centred = torch.linalg.svdvals(torch.as_tensor(H - H.mean(0))).numpy()
    np.testing.assert_allclose(R.singular_values(torch.as_tensor(H), center=True), centred,
                               rtol=RTOL64, atol=ATOL64)


def test_effective_rank_by_hand():
    assert R.effective_rank(np.ones(7)) == pytest.approx(7.0, rel=RTOL64)
    assert R.effective_rank([5.0, 0.0, 0.0]) == 1.0
    p = np.array([0.75, 0.25])
    assert R.effective_rank([3.0, 1.0]) == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=RTOL64)
    assert R.effective_rank(np.zeros(4)) == 0.0  # defined: a zero matrix has no directions
    assert R.effective_rank(R.singular_values(np.outer(np.arange(1, 6), np.ones(3)))) == pytest.approx(1.0, rel=1e-6)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1e6)), min_size=1, max_size=12), st.floats(1e-3, 1e3))
def test_effective_rank_is_bounded_and_scale_free(values, scale):
    values = np.array(values)
    rank = R.effective_rank(values)
    nonzero = int(np.sum(values > 0))
    if nonzero == 0:
        assert rank == 0.0
    else:
        assert 1.0 - 1e-9 <= rank <= nonzero + 1e-9
        assert R.effective_rank(values * scale) == pytest.approx(rank, rel=1e-9)


def test_plain_representations_collapse_and_residual_ones_do_not():
    X = data.digits_split()[2]
    plain = R.effective_ranks(R.build_stack(32, "plain"), X)
    residual = R.effective_ranks(R.build_stack(32, "residual"), X)
    assert plain[-1] < 1.1 < 10 < residual[-1]
    assert len(plain) == 32
    spectra = R.hidden_spectra(R.build_stack(2, "residual"), X)
    assert len(spectra) == 2 and spectra[0].shape == (64,)
    assert np.all(np.diff(spectra[0]) <= 0)


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs,error,match", [
    (dict(depth=0), ValueError, "depth must be >= 1, got 0"),
    (dict(depth=2.5), TypeError, "depth must be an integer, got float"),
    (dict(width=0), ValueError, "width must be >= 1, got 0"),
    (dict(in_features=0), ValueError, "in_features must be >= 1"),
    (dict(n_classes=1), ValueError, "n_classes must be >= 2, got 1"),
    (dict(block="dense"), ValueError, "block must be one of 'plain', 'residual', 'highway'; got 'dense'"),
    (dict(activation="gelu"), ValueError, "activation must be one of 'tanh', 'relu', 'sigmoid'; got 'gelu'"),
    (dict(skip="random"), ValueError, "skip must be one of 'identity', 'orthogonal'; got 'random'"),
    (dict(gate_bias=float("nan")), ValueError, "gate_bias must be finite"),
    (dict(seed=-1), ValueError, "seed must be >= 0"),
])
def test_bad_stack_configuration(kwargs, error, match):
    options = dict(depth=3, block="plain") | kwargs
    with pytest.raises(error, match=match):
        R.build_stack(**options)


def test_bad_block_arguments():
    with pytest.raises(ValueError, match="width must be >= 1, got 0"):
        R.PlainBlock(0)
    with pytest.raises(ValueError, match="activation must be one of"):
        R.ResidualBlock(3, "swish")
    with pytest.raises(ValueError, match="skip must be one of"):
        R.ResidualBlock(3, "tanh", "diagonal")
    with pytest.raises(TypeError, match="gate_bias must be a real number, got str"):
        R.HighwayBlock(3, gate_bias="low")
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        R.random_orthogonal(0)
    with pytest.raises(TypeError, match="config must be a StackConfig, got dict"):
        R.DeepStack({"depth": 3})


def test_bad_inputs_to_model_and_helpers():
    model = R.build_stack(2, "residual")
    X, y = np.zeros((5, 64)), np.zeros(5, dtype=int)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 64\), got \(5, 3\)"):
        model(torch.zeros(5, 3))
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got ndarray"):
        model(X)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 64\), got \(5, 3\)"):
        R.layer_gradient_norms(model, np.zeros((5, 3)), y)
    with pytest.raises(ValueError, match="X must have 2 dimension"):
        R.evaluate(model, np.zeros(64), y)
    with pytest.raises(ValueError, match="X and y must have the same length, got 5 and 4"):
        R.layer_gradient_norms(model, X, y[:4])
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 9\], got 0..10"):
        R.evaluate(model, X, np.array([0, 1, 2, 3, 10]))
    with pytest.raises(TypeError, match="y must hold integer class labels, got dtype float64"):
        R.evaluate(model, X, np.zeros(5))
    with pytest.raises(ValueError, match="X must not contain NaN or inf"):
        R.evaluate(model, np.full((5, 64), np.nan), y)
    with pytest.raises(TypeError, match="model must be a DeepStack, got Linear"):
        R.evaluate(torch.nn.Linear(64, 10), X, y)
    with pytest.raises(ValueError, match="of must be one of 'weights', 'activations'; got 'biases'"):
        R.layer_gradient_norms(model, X, y, of="biases")
    with pytest.raises(ValueError, match="depths must name at least one depth"):
        R.gradient_norms_by_depth(X, y, [])
    with pytest.raises(ValueError, match="depth must be >= 1, got 0"):
        R.gradient_norms_by_depth(X, y, [0])
    with pytest.raises(ValueError, match="H must have 2 dimension"):
        R.singular_values(np.zeros(3))
    with pytest.raises(ValueError, match="values must be singular values"):
        R.effective_rank([1.0, -1.0])


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(epochs=-1), ValueError, "epochs must be >= 0, got -1"),
    (dict(lr=0.0), ValueError, "lr must be > 0"),
    (dict(momentum=1.0), ValueError, "momentum must be < 1"),
    (dict(batch_size=0), ValueError, "batch_size must be >= 1, got 0"),
])
def test_bad_training_arguments(kwargs, error, match):
    model = R.build_stack(2, "plain")
    X, y = np.zeros((5, 64)), np.zeros(5, dtype=int)
    with pytest.raises(error, match=match):
        R.train(model, X, y, X, y, **kwargs)
    with pytest.raises(ValueError, match="X_val and y_val must have the same length, got 5 and 3"):
        R.train(model, X, y, X, y[:3])


# --------------------------------------------------------------------------- plots and the depth widget

def test_gradient_norms_plot_draws_the_norms():
    from nlpcourse import plots

    fig = plots.new_figure()
    ax = plots.gradient_norms(fig.add_subplot(), {"plain": [1e-6, 1e-3, 1.0], "residual": [0.5, 0.8, 1.0]})
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1e-6, 1e-3, 1.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["plain", "residual"]
    with pytest.raises(ValueError, match="values_by_model must name at least one model"):
        plots.gradient_norms(fig.add_subplot(), {})
    with pytest.raises(ValueError, match=r"values for 'plain' must be 1-D \(one per layer\), got shape \(2, 2\)"):
        plots.gradient_norms(fig.add_subplot(), {"plain": np.ones((2, 2))})


def test_singular_value_spectra_plot_normalises():
    from nlpcourse import plots

    fig = plots.new_figure()
    ax = plots.singular_value_spectra(fig.add_subplot(), {"a": [4.0, 2.0, 1.0]})
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 0.5, 0.25], rtol=RTOL64, atol=ATOL64)
    with pytest.raises(ValueError, match="spectra_by_model must name at least one model"):
        plots.singular_value_spectra(fig.add_subplot(), {})


def test_depth_widget_redraws_precomputed_norms():
    from nlpcourse import widgets

    X, y = small_batch(n=16, features=64, classes=10)
    table = R.gradient_norms_by_depth(X, y, [2, 4, 8], width=8)
    box = widgets.gradient_norm_depth(table)
    slider = box.controls["depth"]
    assert slider.value == 8 and list(slider.options) == [2, 4, 8]
    np.testing.assert_array_equal(box.view.figure.axes[0].lines[1].get_ydata(), table[8]["residual"])
    first_image, renders = box.view.image.value, box.view.renders
    slider.value = 2
    assert box.view.renders == renders + 1 and box.view.image.value != first_image
    ax = box.view.figure.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), table[2]["plain"])
    assert ax.get_xlim() == (0.5, 2.5)
    assert box.result.ratios["plain"] == R.gradient_ratio(table[2]["plain"])
    assert "2 layers" in ax.get_title()


def test_depth_widget_bad_input():
    from nlpcourse import widgets

    with pytest.raises(ValueError, match="norms_by_depth must hold at least one depth"):
        widgets.gradient_norm_depth({})
    table = {2: {"plain": [1.0, 2.0]}, 3: {"plain": [1.0, 2.0, 3.0]}}
    with pytest.raises(ValueError, match=r"depth must be one of \[2, 3\], got 5"):
        widgets.gradient_norm_depth(table, depth=5)
    with pytest.raises(ValueError, match=r"every depth must hold the same models \['plain'\]"):
        widgets.gradient_norm_depth({2: {"plain": [1.0, 2.0]}, 3: {"residual": [1.0, 2.0, 3.0]}})


def test_train_loss_is_the_epoch_mean_of_batch_losses():
    X, y = small_batch(n=10, features=64, classes=10, seed=4)
    model = R.build_stack(2, "residual", width=6)
    copy = R.build_stack(2, "residual", width=6)
    history = R.train(model, X, y, X, y, epochs=1, lr=0.1, momentum=0.0, batch_size=4, seed=3)
    # replay the same epoch by hand: same batches (same generator), plain SGD steps
    order = torch.randperm(10, generator=torch.Generator().manual_seed(3))
    X_t, y_t = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    losses = []
    for start in range(0, 10, 4):
        batch = order[start:start + 4]
        loss = torch.nn.functional.cross_entropy(copy(X_t[batch]), y_t[batch])
        copy.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in copy.parameters():
                p -= 0.1 * p.grad
        losses.append(loss.item() * len(batch))
    np.testing.assert_allclose(history.train_loss[1], sum(losses) / 10, rtol=RTOL32, atol=ATOL32)
    np.testing.assert_allclose(history.train_loss[0], R.evaluate(copy.__class__(copy.config), X, y)[0],
                               rtol=RTOL32, atol=ATOL32)
    for p, q in zip(model.parameters(), copy.parameters()):
        torch.testing.assert_close(p, q, rtol=RTOL32, atol=ATOL32)


# --------------------------------------------------------------------------- earlier remedies (issue 27)

def test_he_init_draws_weights_of_variance_two_over_fan_in_and_zero_bias():
    model = R.build_stack(4, "plain", width=256, in_features=64, seed=3, init="he")
    for linear, fan_in in [(model.embed, 64)] + [(b.linear, 256) for b in model.blocks]:
        w = linear.weight.detach().double()
        assert abs(w.var().item() * fan_in / 2 - 1) < 0.05
        assert torch.equal(linear.bias, torch.zeros_like(linear.bias))
    default = R.build_stack(4, "plain", width=256, in_features=64, seed=3)
    # torch's default U(-1/sqrt(n), 1/sqrt(n)) has variance 1 / (3 n)
    assert abs(default.blocks[0].linear.weight.double().var().item() * 256 * 3 - 1) < 0.05
    again = R.build_stack(4, "plain", width=256, in_features=64, seed=3, init="he")
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))


def test_batch_norm_block_equals_torch_batch_norm_then_tanh():
    block = R.PlainBlock(5, "tanh", batch_norm=True).double()
    x = torch.randn(8, 5, dtype=torch.float64)
    z = block.linear(x)
    expected = torch.tanh((z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + block.norm.eps))
    torch.testing.assert_close(block(x), expected, rtol=RTOL64, atol=ATOL64)
    block.eval()  # running statistics after one batch: momentum 0.1 towards the batch's
    torch.testing.assert_close(block.norm.running_mean, 0.1 * z.mean(0).detach(), rtol=RTOL64, atol=ATOL64)


def test_evaluate_uses_running_statistics_and_restores_the_mode():
    X, y = small_batch(n=12, features=5, classes=3)
    model = small_stack("plain", batch_norm=True)
    model.train()
    loss, _ = R.evaluate(model, X, y)
    assert model.training
    model.eval()
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(model(torch.as_tensor(X)), torch.as_tensor(y)).item()
    assert abs(loss - expected) < 1e-12


def test_remedy_options_bad_input():
    with pytest.raises(ValueError, match="init must be one of"):
        R.build_stack(2, init="xavier")
    with pytest.raises(ValueError, match="batch_norm=True needs block='plain'"):
        R.build_stack(2, "residual", batch_norm=True)
    with pytest.raises(TypeError, match="batch_norm must be bool"):
        R.build_stack(2, batch_norm=1)


# --------------------------------------------------------------------------- the notes' singular cases

def test_degenerate_weights():
    assert torch.equal(R.degenerate_weight("zero", 4), torch.zeros(4, 4, dtype=torch.float64))
    tied = R.degenerate_weight("tied", 6, seed=2)
    assert torch.equal(tied, tied[:1].expand(6, 6)) and tied.abs().max() <= 1 / np.sqrt(6)
    random = R.degenerate_weight("random", 6, seed=2)
    assert torch.equal(random[0], tied[0]) and R.numerical_rank(random) == 6


def test_numerical_rank_and_unit_redundancy_by_hand():
    H = np.array([[1.0, 2.0, 2.0, 5.0], [3.0, 1.0, 1.0, 5.0], [0.0, 4.0, 4.0, 5.0]])
    assert R.numerical_rank(H) == np.linalg.matrix_rank(H) == 3  # columns 1, 2 (= 3) and the constant 4
    assert R.numerical_rank(np.zeros((3, 2))) == 0
    assert R.unit_redundancy(H) == (0.25, 0.25)  # column 3 is constant, column 2 copies column 1
    assert R.unit_redundancy(torch.zeros(4, 3)) == (1.0, 0.0)


@pytest.mark.parametrize("kind, plain_rank", [("zero", 0), ("tied", 1), ("random", 5)])
def test_singular_layer_ranks_and_jacobian_against_autograd(kind, plain_rank):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 5))
    W = R.degenerate_weight(kind, 5, seed=1)
    for skip in (False, True):
        Y, J = R.singular_layer(X, W, skip=skip)
        expected = np.tanh(X @ W.numpy().T) + (X if skip else 0)
        np.testing.assert_allclose(Y, expected, rtol=RTOL64, atol=ATOL64)
        x0 = torch.as_tensor(X[0])
        J_ref = torch.autograd.functional.jacobian(lambda v: torch.tanh(W @ v) + (v if skip else 0), x0)
        np.testing.assert_allclose(J, J_ref.numpy(), rtol=RTOL64, atol=ATOL64)
        assert R.numerical_rank(Y) == R.numerical_rank(J) == (5 if skip else plain_rank)


def test_singular_case_bad_input():
    with pytest.raises(ValueError, match="kind must be one of"):
        R.degenerate_weight("ones", 4)
    with pytest.raises(ValueError, match="width"):
        R.degenerate_weight("zero", 0)
    with pytest.raises(ValueError, match="rtol"):
        R.numerical_rank(np.eye(2), rtol=0.0)
    with pytest.raises(ValueError, match="H must"):
        R.unit_redundancy(np.zeros(3))
    with pytest.raises(ValueError, match="W must"):
        R.singular_layer(np.zeros((3, 4)), torch.zeros(3, 3))
    with pytest.raises(TypeError, match="skip must be bool"):
        R.singular_layer(np.zeros((3, 4)), torch.zeros(4, 4), skip="yes")
