"""Bad input never reaches a compiled loop or wraps around an index: the worst cases of the
bad-input policy (COURSE.md), each refused with a ValueError/TypeError that names the argument.

Arrays too small for the vocabulary used to make the numba kernels write outside their memory
(the Jupyter kernel died with SIGSEGV); those cases run in a subprocess, so a regression shows
as a failed test instead of a dead test run.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpcourse import bert, elmo, glove, gpt, word2vec

# --------------------------------------------------------------------------- compiled kernels, in a subprocess

_WORD2VEC_SETUP = """
import numpy as np
from nlpcourse import word2vec as w
sentences = [["a", "b", "c", "a", "b"], ["c", "a", "d", "b"]] * 20
vocab = w.word2vec_vocabulary(sentences, min_count=1)
corpus = w.encode_corpus(sentences, vocab)
counts = np.array(vocab.counts, dtype=float)
config = w.Word2VecConfig(dim=8, min_count=1, output="{output}", negative=3, epochs=1)
w_in, w_out = w.init_weights(len(vocab), config)
keep = w.keep_probability(counts, 0.0)
table = w.cumulative_table(counts, 0.75)
tree = w.huffman_tree(counts)
args = dict(corpus=corpus, w_in=w_in, w_out=w_out, config=config, keep=keep, table=table, tree=tree)
"""

WORD2VEC_CASES = {  # what a student might pass -> the argument the error must name
    "w_in[:2]": ("negative", "args['w_in'] = w_in[:2]", "corpus ids"),
    "w_out[:1]": ("negative", "args['w_out'] = w_out[:1]", "w_out"),
    "zero-row w_in": ("negative", "args['w_in'] = w_in[:0]", "w_in"),
    "keep[:1]": ("negative", "args['keep'] = keep[:1]", "keep"),
    "table=None": ("negative", "args['table'] = None", "table"),
    "table too long": ("negative", "args['table'] = np.arange(1, 50)", "table"),
    "float64 w_in": ("negative", "args['w_in'] = w_in.astype(np.float64)", "w_in"),
    "hs w_out[:1]": ("hierarchical", "args['w_out'] = w_out[:1]", "w_out"),
    "hs tree=None": ("hierarchical", "args['tree'] = None", "tree"),
    "hs other tree": ("hierarchical", "args['tree'] = w.huffman_tree([3, 2, 1])", "tree"),
}


@pytest.mark.parametrize("case", WORD2VEC_CASES, ids=list(WORD2VEC_CASES))
@pytest.mark.parametrize("epoch", ["train_epoch_compiled", "train_epoch_numpy"])
def test_word2vec_epoch_refuses_arrays_that_do_not_fit_without_crashing(case, epoch):
    output, change, named = WORD2VEC_CASES[case]
    code = _WORD2VEC_SETUP.format(output=output) + textwrap.dedent(f"""
        {change}
        try:
            w.{epoch}(**args)
        except (ValueError, TypeError) as error:
            print("refused:", error)
        else:
            print("accepted")
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"the process died ({result.returncode}): {result.stderr[-500:]}"
    assert result.stdout.startswith("refused:") and named in result.stdout, result.stdout


def test_word2vec_epoch_still_trains_with_good_arrays():
    code = _WORD2VEC_SETUP.format(output="negative") + "print(w.train_epoch_compiled(**args))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.startswith("("), result.stderr[-500:]


def _glove_inputs():
    params = glove.init_parameters(4, 3)
    cooc = sp.coo_matrix(([2.0, 1.0, 3.0], ([0, 1, 2], [1, 2, 3])), shape=(4, 4))
    return params, cooc


@pytest.mark.parametrize("order, named", [([0, 3], "order"), ([-1], "order"), ([0.5], "order")])
def test_glove_epoch_refuses_cell_indices_outside_the_matrix(order, named):
    params, cooc = _glove_inputs()
    with pytest.raises((ValueError, TypeError), match=named):
        glove.adagrad_epoch(params, cooc, order)


def test_glove_epoch_refuses_a_matrix_larger_than_its_parameters():
    params, _ = _glove_inputs()
    cooc = sp.coo_matrix(([1.0], ([7], [1])), shape=(8, 8))
    code = textwrap.dedent("""
        import scipy.sparse as sp
        from nlpcourse import glove
        params = glove.init_parameters(4, 3)
        try:
            glove.adagrad_epoch(params, sp.coo_matrix(([1.0], ([7], [1])), shape=(8, 8)), [0])
        except ValueError as error:
            print("refused:", error)
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "refused: cooc has shape (8, 8)" in result.stdout, result.stderr[-500:]
    with pytest.raises(ValueError, match="learning_rate"):
        glove.adagrad_epoch(params, _glove_inputs()[1], [0], learning_rate=float("nan"))
    with pytest.raises(TypeError, match="cooc must be a scipy.sparse COO"):
        glove.adagrad_epoch(params, cooc.toarray(), [0])


# --------------------------------------------------------------------------- no hang

def test_nsp_pairs_refuses_instead_of_looping_forever_when_other_documents_are_empty():
    with pytest.raises(ValueError, match="at least 2 non-empty documents"):
        bert.nsp_pairs([[["a"], ["b"], ["c"]], []], torch.Generator().manual_seed(0))
    pairs = bert.nsp_pairs([[["a"], ["b"], ["c"]], [], [["d"]]], torch.Generator().manual_seed(0))
    assert {tuple(b) for a, b, label in pairs if label == 0} <= {("d",)}


# --------------------------------------------------------------------------- ids never wrap around

ID_FUNCTIONS = {
    "BigramModel.loss": (lambda ids: gpt.BigramModel(5).fit([0, 1, 2, 3, 4]).loss([0] + ids), "ids"),
    "full_softmax_loss": (lambda ids: word2vec.full_softmax_loss(np.ones(3), np.ones((5, 3)), ids[0]), "target"),
    "negative_sampling_loss target": (
        lambda ids: word2vec.negative_sampling_loss(np.ones(3), np.ones((5, 3)), ids[0], [1]), "target"),
    "negative_sampling_loss negatives": (
        lambda ids: word2vec.negative_sampling_loss(np.ones(3), np.ones((5, 3)), 0, ids), "negatives"),
    "binary_logistic_loss rows": (
        lambda ids: word2vec.binary_logistic_loss(np.ones(3), np.ones((5, 3)), ids, [1] * len(ids)), "rows"),
    "mask_tokens": (lambda ids: bert.mask_tokens(torch.tensor([ids]), torch.zeros(1, len(ids), dtype=torch.bool),
                                                 mask_id=1, vocab_size=5,
                                                 generator=torch.Generator().manual_seed(0)), "ids"),
}


@settings(max_examples=25, deadline=None)
@given(bad=st.one_of(st.integers(-10**6, -1), st.integers(5, 10**6)), good=st.lists(st.integers(0, 4), max_size=3))
@pytest.mark.parametrize("name", ID_FUNCTIONS, ids=list(ID_FUNCTIONS))
def test_out_of_range_ids_are_refused_naming_the_argument(name, bad, good):
    call, argument = ID_FUNCTIONS[name]
    with pytest.raises(ValueError, match=rf"{argument} must lie in \[0, 5\)"):
        call([bad] + good)


@pytest.mark.parametrize("name", ID_FUNCTIONS, ids=list(ID_FUNCTIONS))
def test_float_ids_are_refused_not_truncated(name):
    call, argument = ID_FUNCTIONS[name]
    if name == "mask_tokens":  # a float tensor is refused by its dtype check
        with pytest.raises(TypeError, match="ids must be an integer"):
            bert.mask_tokens(torch.tensor([[1.7, 2.2]]), torch.zeros(1, 2, dtype=torch.bool), mask_id=1,
                             vocab_size=5, generator=torch.Generator().manual_seed(0))
        return
    with pytest.raises(TypeError, match=rf"{argument} must hold integer ids"):
        call([1.7, 2.2])


def test_mlm_baselines_and_context_vectors_refuse_negative_places():
    vocab = bert.bert_vocabulary([["a", "b"]], min_count=1)
    with pytest.raises(ValueError, match=r"labels must lie in"):
        bert.mlm_baselines([["a", "b"]], vocab, [-1])
    with pytest.raises(ValueError, match=r"places\[0\]\[0\] \(sentence\) must be >= 0"):
        elmo.context_vectors([["a", "b"], ["c"]], [(-1, 0)])
    with pytest.raises(ValueError, match=r"places\[1\]\[1\] \(position\) must be <= 0"):
        elmo.context_vectors([["a", "b"], ["c"]], [(0, 1), (1, 3)])
