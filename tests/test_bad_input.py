"""The bad-input policy (COURSE.md) on the cases a student's probe found: unchecked numbers,
extreme but valid values, silent coercion, constructors that accepted anything, implicit
truncation. Each is refused with a ValueError/TypeError naming the argument, or (for extreme
values) gives a finite or documented answer."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse import (activations, autograd, bert, conv, decomposition, elmo, generative, glove, gpt, logistic,
                       nnlm, rbf, seq2seq, text, transformer, word2vec)

R = np.array([[5.0, 3.0, 0.0], [4.0, 0.0, 1.0]])
MASK = R > 0

REFUSED = {  # call -> (error type, text the message must contain)
    "mf_sgd reg=-1": (lambda: decomposition.mf_sgd(R, MASK, 1, reg=-1), ValueError, "reg must be >= 0"),
    "mf_sgd reg=nan": (lambda: decomposition.mf_sgd(R, MASK, 1, reg=float("nan")), ValueError, "reg must be finite"),
    "als reg=nan": (lambda: decomposition.als(R, MASK, 1, reg=float("nan")), ValueError, "reg must be finite"),
    "als reg=inf": (lambda: decomposition.als(R, MASK, 1, reg=float("inf")), ValueError, "reg must be finite"),
    "lda reg='0.5'": (lambda: decomposition.lda(np.eye(4), [0, 0, 1, 1], 1, reg="0.5"), TypeError, "reg must be a real"),
    "weighting x_max=0": (lambda: glove.weighting([1.0], x_max=0), ValueError, "x_max must be > 0"),
    "weighting x<0": (lambda: glove.weighting([-1.0]), ValueError, "x must hold co-occurrence counts"),
    "conv stride=-1": (lambda: conv.conv_output_size(5, 3, stride=-1), ValueError, "stride must be >= 1"),
    "conv stride=0": (lambda: conv.conv_output_size(5, 3, stride=0), ValueError, "stride must be >= 1"),
    "conv kernel=0": (lambda: conv.conv_output_size(5, 0), ValueError, "kernel must be >= 1"),
    "parameter_count c_in=-3": (lambda: conv.parameter_count("conv", c_in=-3, c_out=2, k=3), ValueError,
                                "c_in must be >= 1"),
    "parameter_count missing k": (lambda: conv.parameter_count("conv", c_in=1, c_out=2), TypeError, "c_in, c_out, k"),
    "sigmoid('1.5')": (lambda: activations.sigmoid("1.5"), TypeError, "x must be array-like of numbers, got text"),
    "Value('2.5')": (lambda: autograd.Value("2.5"), TypeError, "data must be array-like of numbers, got text"),
    "init_mlp('23')": (lambda: autograd.init_mlp("23", np.random.default_rng(0)), TypeError, "sizes must be a list"),
    "init_mlp([2, 0])": (lambda: autograd.init_mlp([2, 0], np.random.default_rng(0)), ValueError, "sizes[1]"),
    "pad_batch floats": (lambda: seq2seq.pad_batch([[1.7, 2.2]]), TypeError, "sequences[0] must hold integer ids"),
    "pad_batch negative": (lambda: seq2seq.pad_batch([[1, -2]]), ValueError, "sequences[0] must be ids >= 0"),
    "logistic accuracy float labels": (
        lambda: logistic.accuracy(logistic.fit_logistic(np.eye(2), [0, 1], epochs=1), np.eye(2), [0.7, 0.2]),
        TypeError, "y must hold whole numbers"),
    "encode_pairs strings": (lambda: transformer.encode_pairs([("one two", "1 2")]), TypeError,
                             "pairs[0] source must be a list of str tokens"),
    "seq2seq max_src_len=0": (lambda: seq2seq.encode_pairs([(["a"], ["1"])], *seq2seq.make_vocabularies([(["a"], ["1"])]),
                                                           max_src_len=0, truncate=True), ValueError,
                              "max_src_len must be >= 1"),
    "Vocabulary counts": (lambda: text.Vocabulary(("a", "b"), (1,)), ValueError, "one count per token"),
    "Vocabulary duplicates": (lambda: text.Vocabulary(("a", "a"), (1, 1)), ValueError, "'a' twice"),
    "Vocabulary unk": (lambda: text.Vocabulary(("a",), (1,), unk_token="<unk>"), ValueError, "unk_token '<unk>'"),
    "TransformerConfig d_model=0": (lambda: transformer.TransformerConfig(5, 5, d_model=0), ValueError,
                                    "d_model must be >= 1"),
    "TransformerConfig pad_id=99": (lambda: transformer.TransformerConfig(5, 5, pad_id=99), ValueError,
                                    "pad_id must be <= 4"),
    "TransformerConfig dropout=1": (lambda: transformer.TransformerConfig(5, 5, dropout=1.0), ValueError,
                                    "dropout must be < 1"),
    "BertConfig n_segments=0": (lambda: bert.BertConfig(vocab_size=20, n_segments=0), ValueError,
                                "n_segments must be >= 2"),
    "BertConfig n_heads=3": (lambda: bert.BertConfig(vocab_size=20, n_heads=3), ValueError, "divisible by n_heads"),
    "EncoderLayer eps=-1": (lambda: transformer.EncoderLayer(8, 2, 16, layer_norm_eps=-1), ValueError,
                            "layer_norm_eps must be > 0"),
    "exact_match batch_size=-1": (
        lambda: transformer.exact_match_accuracy(transformer.Transformer(transformer.TransformerConfig(8, 8)),
                                                 transformer.encode_pairs([(["a"], ["1"])]), batch_size=-1),
        ValueError, "batch_size must be >= 1"),
    "mlp_forward p_drop=2": (lambda: autograd.mlp_forward(autograd.init_mlp([2, 3, 1], np.random.default_rng(0)),
                                                          np.ones((1, 2)), p_drop=2.0), ValueError, "p_drop must be < 1"),
    "greedy_decode bos_id=99": (lambda: transformer.greedy_decode(transformer.Transformer(
        transformer.TransformerConfig(5, 5, max_len=8)), torch.ones(1, 3, dtype=torch.long), 99, 2),
        ValueError, "bos_id must be <= 4"),
    "train_gpt eval_windows=0": (lambda: gpt.train_gpt(gpt.GPT(gpt.GPTConfig(vocab_size=8, context=4, d_model=8,
                                                                            n_heads=2, d_ff=16)),
                                                    list(range(8)) * 4, list(range(8)) * 4, eval_windows=0),
                                 ValueError, "eval_windows must be >= 1"),
    "context_vectors place": (lambda: elmo.context_vectors([["a"]], [(0, 5)]), ValueError, "places[0][1] (position)"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_bad_input_is_refused_naming_the_argument(case):
    call, error, message = REFUSED[case]
    with pytest.raises(error, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        call()


def test_a_config_changed_after_construction_is_checked_again_by_the_model():
    config = transformer.TransformerConfig(5, 5)
    config.pad_id = 99
    with pytest.raises(ValueError, match="pad_id must be <= 4"):
        transformer.Transformer(config)


def test_generative_accuracy_refuses_fractional_labels_but_takes_whole_floats():
    X = np.array([[0.0, 0.0], [0.1, 0.2], [0.2, 0.1], [3.0, 3.0], [3.1, 3.2], [3.2, 2.9]])
    model = generative.fit_generative(X, [0, 0, 0, 1, 1, 1], shared=True)
    assert generative.accuracy(model, X, np.array([0.0, 0, 0, 1, 1, 1])) == 1.0
    with pytest.raises(TypeError, match="y must hold whole numbers"):
        generative.accuracy(model, X, [0.7, 0.2, 0, 1, 1, 1])


# --------------------------------------------------------------------------- extreme but valid values

@settings(max_examples=40, deadline=None)
@given(temperature=st.floats(min_value=1e-320, max_value=1e-3), x=st.lists(st.floats(-50, 50), min_size=2, max_size=6))
def test_softmax_at_any_small_temperature_is_a_distribution_not_nan(temperature, x):
    for probs in (activations.softmax(x, temperature=temperature),
                  activations.softmax(torch.tensor(x, dtype=torch.float32), temperature=temperature).numpy()):
        assert np.all(np.isfinite(probs)) and math.isclose(float(np.sum(probs)), 1.0, rel_tol=1e-5)
    assert activations.softmax([1.0, 2.0, 2.0], temperature=1e-320).tolist() == [0.0, 0.5, 0.5]  # the limit


def test_rbf_features_with_a_tiny_width_are_the_limit_bumps():
    phi = rbf.rbf_features(np.array([[0.0], [1.0]]), np.array([[0.0]]), width=1e-180, bias=False)
    assert phi.tolist() == [[1.0], [0.0]]


@pytest.mark.parametrize("perplexity", [elmo.perplexity, nnlm.perplexity])
def test_perplexity_above_a_float_is_inf_not_an_overflow_error(perplexity):
    assert perplexity(709.0) == pytest.approx(math.exp(709.0)) and perplexity(800.0) == math.inf


def test_word2vec_noise_distribution_refuses_zero_counts_with_a_negative_power():
    with pytest.raises(ValueError, match="power"):
        word2vec.noise_distribution([0, 1], power=-1)
    assert word2vec.noise_distribution([1, 4], power=-1).tolist() == pytest.approx([0.8, 0.2])
