"""The one checkpoint format (nlpcourse._checkpoints) every chapter's save/load functions use."""

import pytest
import torch

from nlpcourse import _checkpoints, data, gpt
from nlpcourse import transformer as tf


def test_save_then_load_gives_float16_weights_back_as_float32_and_the_items(tmp_path):
    torch.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=11, context=6, d_model=8, n_heads=2, n_layers=1, d_ff=16))
    size = _checkpoints.save(tmp_path / "m.pt", model, skip=("head.weight",), meta={"loss": 1.5})
    assert size == (tmp_path / "m.pt").stat().st_size > 0
    saved, state = _checkpoints.load(tmp_path / "m.pt", "scripts/x.py")
    assert saved["meta"] == {"loss": 1.5} and saved["config"]["d_model"] == 8
    assert "head.weight" not in state and all(v.dtype == torch.float32 for v in state.values())
    for name, value in state.items():
        torch.testing.assert_close(value, model.state_dict()[name].half().float(), rtol=0, atol=0)
    assert all(v.dtype == torch.float16 for v in saved["state"].values())  # stored at half size


def test_missing_file_names_the_script_that_makes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"none.pt is missing; make it with `python scripts/x.py`"):
        _checkpoints.load(tmp_path / "none.pt", "scripts/x.py")


@pytest.mark.parametrize("name", ["08_transformer.pt", "09c_gpt_lm.pt", "09b_bert.pt", "09a_elmo.pt"])
def test_every_committed_checkpoint_is_in_the_format(name):
    saved, state = _checkpoints.load(data.DATA_DIR / "checkpoints" / name, "scripts/make.py")
    assert isinstance(saved["config"], dict) and state
    assert {v.dtype for v in saved["state"].values() if v.is_floating_point()} == {torch.float16}


def test_a_full_precision_save_keeps_float32(tmp_path):
    model = tf.Transformer(tf.TransformerConfig(src_vocab=7, tgt_vocab=5, d_model=8, n_heads=2, d_ff=16,
                                                n_encoder_layers=1, n_decoder_layers=1))
    _checkpoints.save(tmp_path / "m.pt", model, half=False)
    saved, state = _checkpoints.load(tmp_path / "m.pt", "s.py")
    for name, value in model.state_dict().items():
        torch.testing.assert_close(state[name], value, rtol=0, atol=0)
