"""Chapter 09b's "Fill the mask" widget, driven without a display, against nlpcourse.bert."""

import pytest
import torch

from nlpcourse import bert, data, widgets


@pytest.fixture(scope="module")
def tiny():
    docs = bert.corpus_sentences(data.lee_documents()[:20])
    vocab = bert.bert_vocabulary([s for d in docs for s in d], min_count=1)
    torch.manual_seed(0)
    model = bert.Bert(bert.BertConfig(len(vocab), d_model=32, n_heads=2, d_ff=64, n_layers=2, max_len=48, dropout=0.0))
    return model.eval(), vocab


def test_widget_shows_fill_mask_and_layer_cosines(tiny):
    model, vocab = tiny
    box = widgets.fill_mask_explorer(model, vocab, "the fire [MASK] the town", k=5)
    assert box.result.predictions == bert.fill_mask(model, vocab, "the fire [MASK] the town", k=5)
    tokens, vectors = bert.layer_states(model, vocab, "the fire [MASK] the town", layer=2)
    expected = torch.nn.functional.cosine_similarity(vectors[2][None], vectors, dim=-1).tolist()
    assert [t for t, _c in box.result.similarities] == ["the", "fire", "the", "town"]
    assert [round(c, 5) for _t, c in box.result.similarities] == [round(c, 5) for i, c in enumerate(expected) if i != 2]
    renders, image = box.view.renders, bytes(box.view.image.value)
    box.controls["layer"].value = 0
    assert box.view.renders == renders + 1 and bytes(box.view.image.value) != image
    _tokens, v0 = bert.layer_states(model, vocab, "the fire [MASK] the town", layer=0)
    expected0 = torch.nn.functional.cosine_similarity(v0[2][None], v0, dim=-1).tolist()
    assert [round(c, 5) for _t, c in box.result.similarities] == [round(c, 5) for i, c in enumerate(expected0) if i != 2]


def test_widget_bad_sentence_shows_a_message_and_keeps_the_picture(tiny):
    model, vocab = tiny
    box = widgets.fill_mask_explorer(model, vocab, "the fire [MASK] the town")
    before = box.result.predictions
    box.controls["sentence"].value = "no blank here"
    assert "sentence must contain [MASK]" in box.message.value and box.result.predictions == before
    box.controls["sentence"].value = "the [MASK] spread"
    assert box.message.value == "" and box.result.predictions == bert.fill_mask(model, vocab, "the [MASK] spread", k=8)


def test_builder_raises_on_bad_input(tiny):
    model, vocab = tiny
    with pytest.raises(ValueError, match=r"sentence must contain \[MASK\]"):
        widgets.fill_mask_explorer(model, vocab, "no blank here")
    with pytest.raises(ValueError, match=r"layer must be between 0 \(embeddings\) and 2"):
        widgets.fill_mask_explorer(model, vocab, "the [MASK] spread", layer=5)
