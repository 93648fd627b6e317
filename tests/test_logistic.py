"""nlpcourse.logistic: gradients against torch autograd, fits against scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from nlpcourse import data, logistic
from nlpcourse.losses import sigmoid

ATOL = 1e-12
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize("loss", ["cross_entropy", "square_error"])
def test_gradient_equals_torch_autograd(loss):
    rng = np.random.default_rng(0)
    X, y, w, b = rng.normal(size=(9, 3)), rng.integers(0, 2, 9).astype(float), rng.normal(size=3), 0.3
    value, grad_w, grad_b = logistic.logistic_loss_and_grad(w, b, X, y, loss)
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    z = torch.tensor(X) @ tw + tb
    if loss == "cross_entropy":
        ref = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.tensor(y))
    else:
        ref = torch.nn.functional.mse_loss(torch.sigmoid(z), torch.tensor(y))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-10)
    np.testing.assert_allclose(grad_w, tw.grad.numpy(), rtol=1e-10, atol=ATOL)
    assert grad_b == pytest.approx(tb.grad.item(), rel=1e-10)


@pytest.mark.parametrize("features", [("defense", "sp_defense"), data.POKEMON_STATS], ids=["two", "all"])
def test_matches_sklearn_unpenalised_logistic_regression(features):
    X, y, Xt, yt = data.pokemon_two_types(features=features)
    ours = logistic.fit_logistic(X, y, lr=0.5, epochs=2000)
    ref = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10).fit(X, y)
    # same accuracy within one test example, and (the optimum is unique) nearly the same weights
    assert abs(logistic.accuracy(ours, Xt, yt) - ref.score(Xt, yt)) * len(yt) <= 1
    assert abs(logistic.accuracy(ours, X, y) - ref.score(X, y)) * len(y) <= 1
    np.testing.assert_allclose(ours.w, ref.coef_[0], rtol=1e-3)
    np.testing.assert_allclose(logistic.predict_proba(ours, Xt), ref.predict_proba(Xt)[:, 1], atol=1e-4)
    assert np.all(np.diff(ours.history) <= 1e-12)  # full-batch GD with this step never goes uphill


def test_minibatch_sgd_is_seeded_and_learns():
    X, y, Xt, yt = data.pokemon_two_types(features=data.POKEMON_STATS)
    a = logistic.fit_logistic(X, y, lr=0.1, epochs=50, batch_size=16, seed=3)
    b = logistic.fit_logistic(X, y, lr=0.1, epochs=50, batch_size=16, seed=3)
    c = logistic.fit_logistic(X, y, lr=0.1, epochs=50, batch_size=16, seed=4)
    np.testing.assert_array_equal(a.w, b.w)
    assert not np.array_equal(a.w, c.w)
    assert a.history[-1] < a.history[0] < np.log(2.0)


def test_square_error_learns_slowly_from_a_bad_start():
    """Started far from the target, square error's gradient vanishes; cross-entropy's does not."""
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    start = dict(w0=np.array([-8.0]), b0=0.0, lr=1.0, epochs=30, standardize=False)
    ce = logistic.fit_logistic(X, y, loss="cross_entropy", **start)
    se = logistic.fit_logistic(X, y, loss="square_error", **start)
    assert logistic.accuracy(ce, X, y) == 1.0
    assert logistic.accuracy(se, X, y) == 0.0
    assert ce.w[0] > 0 > se.w[0] > -8.01


def test_standardize_folds_back_to_raw_features():
    X, y, Xt, _yt = data.pokemon_two_types()
    model = logistic.fit_logistic(X, y, epochs=200)
    mean, std = X.mean(axis=0), X.std(axis=0)
    scaled = logistic.fit_logistic((X - mean) / std, y, epochs=200, standardize=False)
    np.testing.assert_allclose(logistic.predict_proba(model, Xt),
                               logistic.predict_proba(scaled, (Xt - mean) / std), rtol=1e-9, atol=ATOL)


def test_softmax_regression_matches_sklearn_multinomial():
    table = data.pokemon()
    types = ("water", "normal", "grass")
    keep = np.isin(table["type1"], types)
    X = np.column_stack([table[s][keep] for s in data.POKEMON_STATS]).astype(float)
    y = np.array([types.index(t) for t in table["type1"][keep]])
    ours = logistic.fit_softmax(X, y, lr=0.5, epochs=2000)
    ref = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(logistic.softmax_proba(ours, X), ref.predict_proba(X), atol=1e-3)
    assert abs(logistic.accuracy(ours, X, y) - ref.score(X, y)) * len(y) <= 1
    np.testing.assert_allclose(logistic.softmax_proba(ours, X).sum(axis=1), 1.0, rtol=1e-12)


def test_softmax_with_two_classes_equals_logistic_regression():
    X, y, Xt, _yt = data.pokemon_two_types()
    soft = logistic.fit_softmax(X, y, lr=0.25, epochs=3000)
    binary = logistic.fit_logistic(X, y, lr=0.5, epochs=3000)
    # softmax over two logits is sigmoid of their difference
    np.testing.assert_allclose(logistic.softmax_proba(soft, Xt)[:, 1], logistic.predict_proba(binary, Xt), atol=1e-6)


def test_xor_linear_fails_feature_transform_and_cascade_succeed():
    linear = logistic.fit_logistic(XOR_X, XOR_Y, epochs=500)
    assert logistic.accuracy(linear, XOR_X, XOR_Y) <= 0.5
    np.testing.assert_allclose(logistic.predict_proba(linear, XOR_X), 0.5, atol=1e-9)
    # hand-made transformation: distances to (0,0) and (1,1) make XOR separable
    transformed = np.column_stack([np.linalg.norm(XOR_X, axis=1), np.linalg.norm(XOR_X - 1.0, axis=1)])
    assert logistic.accuracy(logistic.fit_logistic(transformed, XOR_Y, epochs=500), transformed, XOR_Y) == 1.0
    cascade = logistic.fit_cascade(XOR_X, XOR_Y, hidden=2, lr=1.0, epochs=3000, seed=0)
    assert logistic.accuracy(cascade, XOR_X, XOR_Y) == 1.0
    assert cascade.history[-1] < 0.01


def test_cascade_gradient_equals_torch():
    """One step of the hand-written chain rule equals torch autograd's step."""
    model = logistic.fit_cascade(XOR_X, XOR_Y, hidden=3, lr=0.5, epochs=1, seed=1)
    rng = np.random.default_rng(1)  # the same initial draw as fit_cascade
    W1, b1, w2 = rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=3)
    params = [torch.tensor(p, requires_grad=True) for p in (W1, b1, w2)]
    b2 = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    h = torch.sigmoid(torch.tensor(XOR_X) @ params[0] + params[1])
    loss = torch.nn.functional.binary_cross_entropy_with_logits(h @ params[2] + b2, torch.tensor(XOR_Y, dtype=torch.float64))
    loss.backward()
    assert model.history[0] == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(model.W1, W1 - 0.5 * params[0].grad.numpy(), rtol=1e-10, atol=ATOL)
    np.testing.assert_allclose(model.b1, b1 - 0.5 * params[1].grad.numpy(), rtol=1e-10, atol=ATOL)
    np.testing.assert_allclose(model.w2, w2 - 0.5 * params[2].grad.numpy(), rtol=1e-10, atol=ATOL)
    assert model.b2 == pytest.approx(-0.5 * b2.grad.item(), rel=1e-10)
    np.testing.assert_allclose(logistic.cascade_proba(model, XOR_X),
                               sigmoid(sigmoid(XOR_X @ model.W1 + model.b1) @ model.w2 + model.b2), rtol=1e-12)


def test_bad_input_errors():
    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]])
    with pytest.raises(ValueError, match=r"y must hold exactly 2 classes labelled 0..1, got labels \[0, 1, 2\]"):
        logistic.fit_logistic(X, [0, 1, 2, 1])
    with pytest.raises(ValueError, match="y must hold exactly 2 classes"):
        logistic.fit_logistic(X, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="X must not contain NaN"):
        logistic.fit_logistic(np.where(X > 4, np.nan, X), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="X and y must have the same length, got 4 and 2"):
        logistic.fit_logistic(X, [0, 1])
    with pytest.raises(ValueError, match="loss must be one of"):
        logistic.fit_logistic(X, [0, 1, 0, 1], loss="hinge")
    with pytest.raises(ValueError, match="lr must be > 0.0"):
        logistic.fit_logistic(X, [0, 1, 0, 1], lr=0.0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        logistic.fit_logistic(X, [0, 1, 0, 1], batch_size=0)
    with pytest.raises(ValueError, match=r"w0 must have one weight per feature column \(2\), got 3"):
        logistic.fit_logistic(X, [0, 1, 0, 1], w0=np.zeros(3))
    with pytest.raises(ValueError, match=r"w must have one weight per feature column \(2\), got 1"):
        logistic.logistic_loss_and_grad(np.zeros(1), 0.0, X, np.array([0.0, 1, 0, 1]))
    model = logistic.fit_logistic(X, [0, 1, 0, 1], epochs=1)
    with pytest.raises(ValueError, match="X must have 2 feature columns, got 3"):
        logistic.predict_proba(model, np.ones((1, 3)))
    with pytest.raises(ValueError, match="hidden must be >= 1"):
        logistic.fit_cascade(XOR_X, XOR_Y, hidden=0)
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        logistic.fit_softmax(X, [0.0, 1.5, 0.0, 1.0])
