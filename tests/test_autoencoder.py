"""nlpcourse.autoencoder against hand computations, torch's soft-target cross-entropy and
scikit-learn's PCA (the optimum a linear auto-encoder must reach)."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.decomposition import PCA

from nlpcourse import autoencoder as ae
from nlpcourse import text


pytestmark = pytest.mark.usefixtures("one_thread")


def numpy_forward(model: ae.MLPAutoencoder, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code and reconstruction written out layer by layer with the model's weights (float64)."""
    act = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "identity": lambda z: z,
           "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[model.activation]

    def run(stack, h):
        linears = [m for m in stack if isinstance(m, torch.nn.Linear)]
        for i, layer in enumerate(linears):
            h = h @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy()
            if i < len(linears) - 1:
                h = act(h)
        return h

    code = run(model.encoder, x)
    return code, run(model.decoder, code)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
def test_forward_layer_by_layer(activation):
    model = ae.MLPAutoencoder([5, 4, 3, 2], activation=activation, seed=1).double()
    x = np.random.default_rng(0).normal(size=(6, 5))
    code, recon = numpy_forward(model, x)
    xt = torch.tensor(x)
    np.testing.assert_allclose(model.encode(xt).detach().numpy(), code, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model(xt).detach().numpy(), recon, rtol=1e-10, atol=1e-12)
    assert code.shape == (6, 2) and recon.shape == (6, 5)


def test_layer_shapes_mirror_and_code_is_linear():
    model = ae.MLPAutoencoder([10, 6, 3], activation="tanh")
    enc = [(m.in_features, m.out_features) for m in model.encoder if isinstance(m, torch.nn.Linear)]
    dec = [(m.in_features, m.out_features) for m in model.decoder if isinstance(m, torch.nn.Linear)]
    assert enc == [(10, 6), (6, 3)] and dec == [(3, 6), (6, 10)]
    assert isinstance(model.encoder[-1], torch.nn.Linear) and isinstance(model.decoder[-1], torch.nn.Linear)
    assert sum(isinstance(m, torch.nn.Tanh) for m in model.modules()) == 2


def test_reconstruction_losses_by_hand_and_against_torch():
    rng = np.random.default_rng(1)
    output = torch.tensor(rng.normal(size=(4, 6)))
    target = torch.tensor(rng.dirichlet(np.ones(6), size=4))
    mse = ae.reconstruction_loss(output, target, "mse")
    assert float(mse) == pytest.approx(((output.numpy() - target.numpy()) ** 2).sum(1).mean(), rel=1e-12)
    multinomial = ae.reconstruction_loss(output, target, "multinomial")
    reference = torch.nn.functional.cross_entropy(output, target)  # torch's soft-target cross-entropy
    assert float(multinomial) == pytest.approx(float(reference), rel=1e-12)
    log_softmax = output.numpy() - np.log(np.exp(output.numpy()).sum(1, keepdims=True))
    assert float(multinomial) == pytest.approx(-(target.numpy() * log_softmax).sum(1).mean(), rel=1e-12)


def test_linear_autoencoder_reaches_the_pca_optimum():
    """A linear auto-encoder with a k-wide code and square error can do no better than PCA with
    k components; trained, it should reach that error and span the same subspace."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)) * np.array([3.0, 2.0, 1.0, 0.5, 0.3, 0.1]) @ np.linalg.qr(rng.normal(size=(6, 6)))[0]
    x = x + np.array([1.0, -2.0, 0.5, 0.0, 3.0, 1.0])  # the biases must absorb the mean
    pca = PCA(2).fit(x)
    pca_error = ((x - pca.inverse_transform(pca.transform(x))) ** 2).sum(1).mean()
    model = ae.MLPAutoencoder([6, 2], activation="identity", seed=0).double()
    inputs = torch.tensor(x)
    history = ae.train_autoencoder(model, inputs, loss="mse", epochs=1500, batch_size=300, lr=0.03)
    assert history.loss[-1] == pytest.approx(pca_error, rel=0.01)
    assert history.loss[-1] >= pca_error * (1 - 1e-6)  # PCA is the optimum: never beaten
    decoder_columns = model.decoder[0].weight.detach().numpy()  # (6, 2): the decoded directions
    q, _ = np.linalg.qr(decoder_columns)
    cosines = np.linalg.svd(q.T @ pca.components_.T, compute_uv=False)  # of the principal angles
    assert cosines.min() > 0.999


def test_training_is_reproducible_and_lowers_the_loss():
    x = torch.tensor(np.random.default_rng(2).normal(size=(40, 5)), dtype=torch.float32)
    runs = []
    for seed in (0, 0, 1):
        model = ae.MLPAutoencoder([5, 4, 2], seed=seed)
        runs.append(ae.train_autoencoder(model, x, epochs=20, batch_size=8, lr=1e-2, seed=seed).loss)
    assert runs[0] == runs[1] and runs[0] != runs[2]
    assert len(runs[0]) == 21 and runs[0][-1] < runs[0][0]


def test_bow_inputs_by_hand():
    counts = sp.csr_matrix(np.array([[2, 0, 1], [0, 3, 0]]))
    inputs, targets = ae.bow_inputs(counts)
    logs = np.log1p(np.array([[2.0, 0, 1], [0, 3, 0]]))
    np.testing.assert_allclose(inputs.numpy(), logs / np.linalg.norm(logs, axis=1, keepdims=True), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(targets.numpy(), [[2 / 3, 0, 1 / 3], [0, 1, 0]], rtol=1e-6, atol=1e-7)
    assert inputs.dtype == targets.dtype == torch.float32


def two_topic_corpus(n=30, seed=0):
    rng = np.random.default_rng(seed)
    sport = "match goal team player score win coach league".split()
    money = "bank rate market price loan dollar trade stock".split()
    common = "the a of and to in said".split()
    docs, truth = [], []
    for i in range(n):
        topic = sport if i % 2 == 0 else money
        docs.append(list(rng.choice(topic, 12)) + list(rng.choice(common, 8)))
        truth.append(i % 2)
    return docs, np.array(truth)


def test_bow_autoencoder_separates_topics_without_labels():
    docs, truth = two_topic_corpus()
    vocab = text.build_vocabulary(docs)
    result = ae.train_bow_autoencoder(docs, vocab, hidden=(16, 8), code_dim=2, epochs=60, lr=1e-2, ignore=("<unk>",))
    assert result.codes.shape == (30, 2)
    assert result.ignored == ("<unk>",)
    assert result.model.sizes == (len(vocab) - 1, 16, 8, 2)
    assert result.history.loss[-1] < result.history.loss[0]
    # every document's nearest other document (in the 2-D code) shares its topic
    d = np.linalg.norm(result.codes[:, None] - result.codes[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert np.mean(truth[d.argmin(1)] == truth) == 1.0


def test_keyword_topics_by_hand():
    docs = [["fire", "fire", "israeli"], ["israeli", "fire"], ["cat"], ["bank", "rates"]]
    topics = {"fires": ["fire"], "Middle East": ["israeli", "gaza"], "economy": ["rates", "bank"]}
    assert ae.keyword_topics(docs, topics) == ["fires", "fires", "other", "economy"]  # a tie goes to the first topic
    assert ae.keyword_topics([["cat"]], topics, other="none") == ["none"]


# --------------------------------------------------------------------------- bad input

def test_bad_model_arguments():
    with pytest.raises(ValueError, match="at least an input and a code width"):
        ae.MLPAutoencoder([5])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be >= 1"):
        ae.MLPAutoencoder([5, 0])
    with pytest.raises(TypeError, match="sizes must be a sequence"):
        ae.MLPAutoencoder(5)
    with pytest.raises(ValueError, match="activation must be one of"):
        ae.MLPAutoencoder([5, 2], activation="gelu")
    model = ae.MLPAutoencoder([5, 2])
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 5\), got \(3, 4\)"):
        model.encode(torch.zeros(3, 4))
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got ndarray"):
        model(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"code must have shape \(batch, 2\)"):
        model.decode(torch.zeros(3, 5))


def test_bad_training_arguments():
    model = ae.MLPAutoencoder([3, 2])
    x = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="loss must be one of"):
        ae.train_autoencoder(model, x, loss="l1")
    with pytest.raises(ValueError, match="epochs must be >= 0"):
        ae.train_autoencoder(model, x, epochs=-1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        ae.train_autoencoder(model, x, lr=0.0)
    with pytest.raises(ValueError, match="inputs and targets must have the same length"):
        ae.train_autoencoder(model, x, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="must not contain NaN"):
        ae.train_autoencoder(model, torch.full((4, 3), float("nan")))
    with pytest.raises(ValueError, match="inputs is empty"):
        ae.train_autoencoder(model, torch.zeros(0, 3))
    with pytest.raises(TypeError, match="model must be an MLPAutoencoder"):
        ae.train_autoencoder(torch.nn.Linear(3, 3), x)
    with pytest.raises(ValueError, match="kind must be one of"):
        ae.reconstruction_loss(x, x, "l1")
    with pytest.raises(ValueError, match="output and target must have the same shape"):
        ae.reconstruction_loss(x, torch.zeros(4, 2))


def test_bad_bow_and_topic_arguments():
    with pytest.raises(ValueError, match=r"empty documents \(rows \[1\]\)"):
        ae.bow_inputs(np.array([[1, 0], [0, 0]]))
    with pytest.raises(ValueError, match="finite and non-negative"):
        ae.bow_inputs(np.array([[1, -1]]))
    with pytest.raises(TypeError, match="counts must be a scipy sparse matrix or numpy array"):
        ae.bow_inputs([[1, 2]])
    with pytest.raises(ValueError, match="topics must be a non-empty dict"):
        ae.keyword_topics([["a"]], {})
    with pytest.raises(TypeError, match=r"topics\['x'\] must be a non-empty list of str"):
        ae.keyword_topics([["a"]], {"x": "abc"})
    with pytest.raises(TypeError, match=r"documents\[0\] must be a list of tokens"):
        ae.keyword_topics(["a b"], {"x": ["a"]})
    docs, _ = two_topic_corpus(4)
    with pytest.raises(ValueError, match="code_dim must be >= 1"):
        ae.train_bow_autoencoder(docs, text.build_vocabulary(docs), code_dim=0)
