"""Bad input, property-based: the building blocks of chapters 04-06 and 11 (activations, losses,
autograd, normalization, optimisers, residual stacks). See tests/bad_input_support.py."""

import numpy as np
import torch

from bad_input_support import (Array, Case, Choice, Float, FloatTensor, Int, module_tests, OfType)
from nlpcourse import activations, autograd, losses, normalization, optim, residual

X = np.array([[0.5, -1.0], [2.0, 0.0], [1.0, 1.0], [-1.0, 0.5]])
Y = np.array([0, 1, 1, 0])
STACK = residual.build_stack(2, "residual", width=4, in_features=2, n_classes=2)
PARAMS = [np.ones(2)]
PROBLEM = normalization.LeastSquares(X, np.array([1.0, 0.0, 2.0, -1.0])) if hasattr(normalization, "LeastSquares") else None

CASES = [
    Case("sigmoid", lambda **a: activations.sigmoid(**a), dict(x=X), dict(x=Array(2, any_shape=True))),
    Case("softmax", lambda **a: activations.softmax(**a), dict(x=X, temperature=1.0),
         dict(temperature=Float(0.0, strict=True), axis=Int(-2, 1))),
    Case("leaky_relu", lambda **a: activations.leaky_relu(**a), dict(x=X, negative_slope=0.01),
         dict(negative_slope=Float())),
    Case("elu", lambda **a: activations.elu(**a), dict(x=X, alpha=1.0), dict(alpha=Float(0.0))),
    Case("softplus", lambda **a: activations.softplus(**a), dict(x=X, beta=1.0), dict(beta=Float(0.0, strict=True))),
    Case("entropy", lambda **a: activations.entropy(**a), dict(p=[0.5, 0.5]), dict(axis=Int(-1, 0))),
    Case("losses.cross_entropy", lambda **a: losses.cross_entropy(**a), dict(logits=X, labels=Y),
         dict(logits=Array(2), reduction=Choice())),
    Case("losses.hinge", lambda **a: losses.hinge(**a), dict(scores=X[:, 0], target=np.array([1, -1, 1, -1.0])),
         dict(scores=Array(1), margin=Float(0.0), reduction=Choice())),
    Case("losses.huber", lambda **a: losses.huber(**a), dict(prediction=X[:, 0], target=X[:, 1]),
         dict(prediction=Array(1, also=(2,)), delta=Float(0.0, strict=True))),
    Case("init_mlp", lambda **a: autograd.init_mlp(**a), dict(sizes=[2, 3, 2], rng=np.random.default_rng(0)),
         dict(rng=OfType(), scale=Choice())),
    Case("mlp_forward", lambda **a: autograd.mlp_forward(**a),
         dict(params=autograd.init_mlp([2, 3, 2], np.random.default_rng(0)), X=X, rng=np.random.default_rng(0)),
         dict(X=Array(2), activation=Choice(), p_drop=Float(0.0, 1.0))),
    Case("autograd.dropout", lambda **a: autograd.dropout(**a), dict(x=autograd.Value(X), p=0.5,
                                                                     rng=np.random.default_rng(0)),
         dict(p=Float(0.0, 1.0))),
    Case("z_score", lambda **a: normalization.z_score(**a), dict(X_train=X, eps=1e-8),
         dict(X_train=Array(2), eps=Float(0.0))),
    Case("min_max", lambda **a: normalization.min_max(**a), dict(X_train=X), dict(X_train=Array(2))),
    Case("gradient_descent_path", lambda **a: normalization.gradient_descent_path(**a),
         dict(grad=lambda w: 2 * w, start=np.ones(2), lr=0.1, steps=3),
         dict(start=Array(1), lr=Float(0.0, strict=True), steps=Int(0))),
    Case("scaled_features", lambda **a: normalization.scaled_features(**a), dict(scale=2.0, n=10),
         dict(scale=Float(0.0, strict=True), n=Int(2), seed=Int(0), noise=Float(0.0))),
    Case("BatchNorm", lambda **a: normalization.BatchNorm(**a), dict(num_features=3),
         dict(num_features=Int(1), eps=Float(0.0, strict=True), momentum=Float(0.0, 1.0))),
    Case("BatchNorm.forward", lambda **a: normalization.BatchNorm(3)(**a), dict(x=torch.zeros(4, 3)),
         dict(x=FloatTensor((4, 3), any_float=True))),
    Case("LayerNorm.forward", lambda **a: normalization.LayerNorm(3)(**a), dict(x=torch.zeros(4, 3)),
         dict(x=FloatTensor((4, 3), any_float=True))),
    Case("optim.SGD", lambda **a: optim.SGD(**a), dict(params=PARAMS, lr=0.1, momentum=0.9),
         dict(lr=Float(0.0, strict=True), momentum=Float(0.0, 1.0), weight_decay=Float(0.0))),
    Case("optim.Adam", lambda **a: optim.Adam(**a), dict(params=PARAMS, lr=0.1),
         dict(lr=Float(0.0, strict=True), eps=Float(0.0, strict=True), weight_decay=Float(0.0))),
    Case("warmup_cosine", lambda **a: optim.warmup_cosine(**a), dict(step=3, warmup_steps=2, total_steps=10),
         dict(step=Int(0), warmup_steps=Int(0), total_steps=Int(1), floor=Float(0.0, 1.0))),
    Case("early_stopping_epoch", lambda **a: optim.early_stopping_epoch(**a),
         dict(valid_losses=[3.0, 2.0, 2.5], patience=1), dict(valid_losses=Array(1), patience=Int(1))),
    Case("rosenbrock_grad", lambda **a: optim.rosenbrock_grad(**a), dict(w=np.zeros(2)),
         dict(a=Float(), b=Float())),
    Case("build_stack", lambda **a: residual.build_stack(**a), dict(depth=2, block="plain", width=4, in_features=2),
         dict(depth=Int(1), block=Choice(), width=Int(1), in_features=Int(1), n_classes=Int(2), activation=Choice(),
              skip=Choice(), gate_bias=Float(), seed=Int(0))),
    Case("DeepStack.forward", lambda **a: STACK(**a), dict(x=torch.zeros(3, 2)), dict(x=FloatTensor((3, 2)))),
    Case("ResidualBlock.forward", lambda **a: residual.ResidualBlock(4)(**a), dict(x=torch.zeros(3, 4)),
         dict(x=FloatTensor((3, 4)))),
    Case("HighwayBlock.forward", lambda **a: residual.HighwayBlock(4)(**a), dict(x=torch.zeros(3, 4)),
         dict(x=FloatTensor((3, 4)))),
    Case("layer_gradient_norms", lambda **a: residual.layer_gradient_norms(**a), dict(model=STACK, X=X, y=Y),
         dict(model=OfType(), X=Array(2), of=Choice())),
    Case("residual.train", lambda **a: residual.train(**a),
         dict(model=STACK, X_train=X, y_train=Y, X_val=X, y_val=Y, epochs=1, batch_size=2),
         dict(model=OfType(), X_train=Array(2), X_val=Array(2), epochs=Int(0), lr=Float(0.0, strict=True),
              momentum=Float(0.0, 1.0), batch_size=Int(1), seed=Int(0))),
    Case("effective_rank", lambda **a: residual.effective_rank(**a), dict(values=[3.0, 1.0]),
         dict(values=Array(1))),
    Case("singular_values", lambda **a: residual.singular_values(**a), dict(H=X), dict(H=Array(2))),
    Case("random_orthogonal", lambda **a: residual.random_orthogonal(**a), dict(n=3), dict(n=Int(1), seed=Int(0))),
]


(test_listed_bad_values_are_refused, test_drawn_bad_values_are_refused,
 test_the_valid_arguments_work) = module_tests(CASES, examples=10)
