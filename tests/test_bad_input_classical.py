"""Bad input, property-based: the classical models of chapters 10-12 (logistic, generative,
decomposition, rbf, conv, autoencoder). See tests/bad_input_support.py for the harness."""

import numpy as np
import torch

from bad_input_support import (Array, Case, Choice, Float, FloatTensor, Int, module_tests, OfType)
from nlpcourse import autoencoder, conv, decomposition, generative, logistic, rbf

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 1.0], [1.0, 2.0]])
Y = np.array([0, 1, 1, 0, 1, 0])
R = np.array([[5.0, 3.0, 0.0], [4.0, 0.0, 1.0]])
MASK = R > 0
LOGISTIC = logistic.fit_logistic(X, Y, epochs=2)
GAUSSIAN = generative.fit_generative(X, Y, reg=0.1)
IMAGE = torch.zeros(1, 2, 5, 5)
AE = autoencoder.MLPAutoencoder([4, 2])

CASES = [
    Case("fit_logistic", lambda **a: logistic.fit_logistic(**a),
         dict(X=X, y=Y, lr=0.5, epochs=2, batch_size=2, seed=0),
         dict(X=Array(2), lr=Float(0.0, strict=True), epochs=Int(1), batch_size=Int(1, optional=True), seed=Int(0),
              loss=Choice())),
    Case("fit_softmax", lambda **a: logistic.fit_softmax(**a), dict(X=X, y=Y, lr=0.5, epochs=2),
         dict(X=Array(2), lr=Float(0.0, strict=True), epochs=Int(1))),
    Case("fit_cascade", lambda **a: logistic.fit_cascade(**a), dict(X=X, y=Y, hidden=2, epochs=2),
         dict(X=Array(2), hidden=Int(1), epochs=Int(1), lr=Float(0.0, strict=True), init_scale=Float(0.0))),
    Case("logistic.predict", lambda **a: logistic.predict(**a), dict(model=LOGISTIC, X=X),
         dict(model=OfType(), X=Array(2))),
    Case("fit_generative", lambda **a: generative.fit_generative(**a), dict(X=X, y=Y, reg=0.1),
         dict(X=Array(2), reg=Float(0.0))),
    Case("gaussian_log_density", lambda **a: generative.gaussian_log_density(**a),
         dict(X=X, mean=np.zeros(2), cov=np.eye(2)), dict(X=Array(2), mean=Array(1), cov=Array(2))),
    Case("generative.posterior", lambda **a: generative.posterior(**a), dict(model=GAUSSIAN, X=X),
         dict(model=OfType(), X=Array(2))),
    Case("pca", lambda **a: decomposition.pca(**a), dict(X=X, k=1), dict(X=Array(2), k=Int(1, 2))),
    Case("lda", lambda **a: decomposition.lda(**a), dict(X=X, y=Y, k=1, reg=0.1),
         dict(X=Array(2), k=Int(1, 1), reg=Float(0.0))),
    Case("truncated_svd", lambda **a: decomposition.truncated_svd(**a), dict(M=X, k=1), dict(M=Array(2), k=Int(1, 2))),
    Case("ppmi", lambda **a: decomposition.ppmi(**a), dict(cooccurrence=np.ones((3, 3))),
         dict(cooccurrence=Array(2))),
    Case("mf_sgd", lambda **a: decomposition.mf_sgd(**a), dict(R=R, mask=MASK, rank=1, epochs=2),
         dict(R=Array(2), rank=Int(1), lr=Float(0.0, strict=True), reg=Float(0.0), epochs=Int(1), seed=Int(0))),
    Case("als", lambda **a: decomposition.als(**a), dict(R=R, mask=MASK, rank=1, iterations=2),
         dict(R=Array(2), rank=Int(1), reg=Float(0.0), iterations=Int(1), seed=Int(0))),
    Case("kmeans", lambda **a: rbf.kmeans(**a), dict(X=X, k=2, iterations=3, restarts=1),
         dict(X=Array(2, also=(1,)), k=Int(1, 6), seed=Int(0), iterations=Int(1), restarts=Int(1))),
    Case("rbf_features", lambda **a: rbf.rbf_features(**a), dict(X=X, centres=X[:2], width=1.0),
         dict(X=Array(2, also=(1,)), centres=Array(2, also=(1,)), width=Float(0.0, strict=True))),
    Case("fit_rbf", lambda **a: rbf.fit_rbf(**a), dict(X=X, y=Y.astype(float), k=2, width=1.0),
         dict(X=Array(2, also=(1,)), k=Int(1, 6, optional=True), width=Float(0.0, strict=True, optional=True), ridge=Float(0.0),
              seed=Int(0))),
    Case("conv_output_size", lambda **a: conv.conv_output_size(**a), dict(size=5, kernel=3, stride=1, padding=0, dilation=1),
         dict(size=Int(1), kernel=Int(1, 5), stride=Int(1), padding=Int(0), dilation=Int(1, 2))),
    Case("conv2d", lambda **a: conv.conv2d(**a), dict(x=IMAGE, weight=torch.zeros(3, 2, 3, 3), bias=torch.zeros(3)),
         dict(x=FloatTensor((1, 2, 5, 5)), weight=FloatTensor((3, 2, 3, 3)), bias=FloatTensor((3,), optional=True), stride=Int(1),
              padding=Int(0), dilation=Int(1, 2), groups=Int(1, 1))),
    Case("max_pool2d", lambda **a: conv.max_pool2d(**a), dict(x=IMAGE, kernel_size=2),
         dict(x=FloatTensor((1, 2, 5, 5), any_size=True, any_float=True), kernel_size=Int(1, 5), padding=Int(0, 1)),
         names=dict(kernel_size="kernel")),
    Case("MLPAutoencoder", lambda **a: autoencoder.MLPAutoencoder(**a), dict(sizes=[4, 2]),
         dict(activation=Choice(), seed=Int(0, optional=True))),
    Case("MLPAutoencoder.forward", lambda **a: AE(**a), dict(x=torch.zeros(3, 4)), dict(x=FloatTensor((3, 4)))),
    Case("reconstruction_loss", lambda **a: autoencoder.reconstruction_loss(**a),
         dict(output=torch.zeros(3, 4), target=torch.zeros(3, 4)),
         dict(output=FloatTensor((3, 4)), target=FloatTensor((3, 4)), kind=Choice())),
    Case("train_autoencoder", lambda **a: autoencoder.train_autoencoder(**a),
         dict(model=AE, inputs=torch.zeros(6, 4), epochs=1, batch_size=2),
         dict(model=OfType(), inputs=FloatTensor((6, 4)), epochs=Int(0), batch_size=Int(1))),
]


(test_listed_bad_values_are_refused, test_drawn_bad_values_are_refused,
 test_the_valid_arguments_work) = module_tests(CASES, examples=10)
