"""Bad input, property-based: sequence models of chapters 07-09 (RNN cells and layers, seq2seq,
attention, the Transformer, NNLM, ELMo's biLM, BERT, GPT). See tests/bad_input_support.py."""

import torch

from bad_input_support import (Case, Choice, Documents, Float, FloatTensor, Ids, IdTensor, Int,
                               module_tests, OfType)
from nlpcourse import attention, bert, elmo, gpt, nnlm, rnn, seq2seq, transformer

torch.manual_seed(0)
PAIRS = [(["one", "two"], ["1", "2"]), (["two", "one"], ["2", "1"])]
SRC_VOCAB, TGT_VOCAB = seq2seq.make_vocabularies(PAIRS)
S2S = seq2seq.build_model(seq2seq.Seq2SeqConfig(embedding_dim=4, hidden_size=4, attention_size=4), SRC_VOCAB, TGT_VOCAB)
TF = transformer.Transformer(transformer.TransformerConfig(8, 8, d_model=8, n_heads=2, d_ff=8, max_len=6))
TF_DATA = transformer.encode_pairs(PAIRS)
BERT = bert.Bert(bert.BertConfig(vocab_size=20, d_model=8, n_heads=2, d_ff=8, n_layers=1, max_len=8))
GPT = gpt.GPT(gpt.GPTConfig(vocab_size=20, context=8, d_model=8, n_heads=2, d_ff=8, n_layers=1))
BILM = elmo.BiLM(elmo.BiLMConfig(vocab_size=20, dim=4, layers=1, dropout=0.0))
NNLM = nnlm.NNLM(nnlm.NNLMConfig(vocab_size=20, context=2, embedding_dim=4, hidden_dim=4))
STREAM = torch.arange(40) % 20
Q = torch.zeros(2, 3, 4)
CELL = rnn.make_cell("gru", 4, 5)

CASES = [
    Case("make_cell", lambda **a: rnn.make_cell(**a), dict(kind="lstm", input_size=4, hidden_size=5),
         dict(kind=Choice(), input_size=Int(1), hidden_size=Int(1))),
    Case("GRUCell.forward", lambda **a: CELL(**a), dict(x=torch.zeros(2, 4)), dict(x=FloatTensor((2, 4)))),
    Case("Recurrent.forward", lambda **a: rnn.Recurrent(CELL)(**a), dict(inputs=torch.zeros(2, 3, 4)),
         dict(inputs=FloatTensor((2, 3, 4)))),
    Case("gradient_norms_through_time", lambda **a: rnn.gradient_norms_through_time(**a), dict(cell=CELL, steps=3),
         dict(cell=OfType(), steps=Int(1), batch=Int(1), seed=Int(0), recurrent_scale=Float(0.0))),
    Case("Seq2SeqConfig", lambda **a: seq2seq.Seq2SeqConfig(**a), dict(),
         dict(embedding_dim=Int(1), hidden_size=Int(1), attention_size=Int(1), cell=Choice(), max_src_len=Int(1),
              max_tgt_len=Int(1))),
    Case("seq2seq.translate", lambda **a: seq2seq.translate(**a), dict(model=S2S, sources=[["one", "two"]]),
         dict(model=OfType(), sources=Documents(), max_len=Int(1, optional=True))),
    Case("seq2seq.train", lambda **a: seq2seq.train(**a), dict(model=S2S, pairs=PAIRS, epochs=1, batch_size=2),
         dict(model=OfType(), epochs=Int(0), batch_size=Int(1), lr=Float(0.0, strict=True), seed=Int(0),
              clip=Float(0.0, strict=True))),
    Case("split_pairs", lambda **a: seq2seq.split_pairs(**a), dict(pairs=PAIRS * 3, test_fraction=0.3),
         dict(test_fraction=Float(0.0, 1.0, strict=True), seed=Int(0))),
    Case("scaled_dot_product_attention", lambda **a: attention.scaled_dot_product_attention(**a), dict(q=Q, k=Q, v=Q),
         dict(q=FloatTensor((2, 3, 4)), k=FloatTensor((2, 3, 4)), v=FloatTensor((2, 3, 4), any_size=True),
              dropout_p=Float(0.0, 1.0), scale=Float(optional=True))),
    Case("fused_attention", lambda **a: attention.fused_attention(**a), dict(q=Q, k=Q, v=Q),
         dict(q=FloatTensor((2, 3, 4)), k=FloatTensor((2, 3, 4)), dropout_p=Float(0.0, 1.0))),
    Case("MultiHeadAttention", lambda **a: attention.MultiHeadAttention(**a), dict(d_model=8, n_heads=2),
         dict(d_model=Int(1), n_heads=Int(1, 8), dropout=Float(0.0, 1.0))),
    Case("MultiHeadAttention.forward", lambda **a: attention.MultiHeadAttention(4, 2)(**a), dict(query=Q),
         dict(query=FloatTensor((2, 3, 4)))),
    Case("causal_mask", lambda **a: attention.causal_mask(**a), dict(size=3), dict(size=Int(1))),
    Case("padding_mask", lambda **a: attention.padding_mask(**a), dict(lengths=[1, 3], max_len=4),
         dict(lengths=Ids(5), max_len=Int(3, optional=True))),
    Case("sinusoidal_positions", lambda **a: attention.sinusoidal_positions(**a), dict(max_len=4, d_model=4),
         dict(max_len=Int(1), d_model=Int(2))),
    Case("SinusoidalPositionalEncoding.forward", lambda **a: attention.SinusoidalPositionalEncoding(4, 8)(**a),
         dict(x=Q), dict(x=FloatTensor((2, 3, 4), any_float=True))),
    Case("TransformerConfig", lambda **a: transformer.TransformerConfig(**a), dict(src_vocab=8, tgt_vocab=8),
         dict(src_vocab=Int(1), tgt_vocab=Int(1), d_model=Int(1), n_heads=Int(1, 64), d_ff=Int(1), dropout=Float(0.0, 1.0),
              max_len=Int(1), positions=Choice(), pad_id=Int(0, 7))),
    Case("Transformer.forward", lambda **a: TF(**a), dict(src=torch.ones(1, 3, dtype=torch.long),
                                                          tgt=torch.ones(1, 2, dtype=torch.long)),
         dict(src=IdTensor(8, (1, 3)), tgt=IdTensor(8, (1, 2)))),
    Case("EncoderLayer.forward", lambda **a: TF.encoder[0](**a), dict(x=torch.zeros(1, 3, 8)),
         dict(x=FloatTensor((1, 3, 8)))),
    Case("train_transformer", lambda **a: transformer.train_transformer(**a),
         dict(model=TF, data=TF_DATA, epochs=1, batch_size=2),
         dict(model=OfType(), data=OfType(), epochs=Int(1), batch_size=Int(1), lr=Float(0.0, strict=True),
              warmup_steps=Int(0), label_smoothing=Float(0.0, 1.0), weight_decay=Float(0.0), schedule=Choice(),
              seed=Int(0))),
    Case("transformer.greedy_decode", lambda **a: transformer.greedy_decode(**a),
         dict(model=TF, src=TF_DATA.src, bos_id=1, eos_id=2),
         dict(model=OfType(), src=IdTensor(8, tuple(TF_DATA.src.shape)), bos_id=Int(0, 7), eos_id=Int(0, 7),
              max_len=Int(1, optional=True))),
    Case("NNLMConfig", lambda **a: nnlm.NNLMConfig(**a), dict(vocab_size=20),
         dict(vocab_size=Int(2), context=Int(1), embedding_dim=Int(1), hidden_dim=Int(1),
              embedding_init_std=Float(0.0, strict=True))),
    Case("NNLM.forward", lambda **a: NNLM(**a), dict(context=torch.ones(3, 2, dtype=torch.long)),
         dict(context=IdTensor(20, (3, 2)))),
    Case("nnlm.perplexity", lambda **a: nnlm.perplexity(**a), dict(loss=2.0), dict(loss=Float(0.0))),
    Case("BiLMConfig", lambda **a: elmo.BiLMConfig(**a), dict(vocab_size=20),
         dict(vocab_size=Int(2), dim=Int(1), layers=Int(1), dropout=Float(0.0, 1.0))),
    Case("BiLM.forward", lambda **a: BILM(**a), dict(ids=torch.ones(2, 3, dtype=torch.long)),
         dict(ids=IdTensor(20, (2, 3)), direction=Choice())),
    Case("batchify", lambda **a: elmo.batchify(**a), dict(stream=STREAM, batch_size=4), dict(batch_size=Int(1, 20))),
    Case("train_bilm", lambda **a: elmo.train_bilm(**a), dict(model=BILM, stream=STREAM, batch_size=2, bptt=5),
         dict(model=OfType(), epochs=Int(0), batch_size=Int(1, 20), bptt=Int(1), lr=Float(0.0, strict=True),
              clip=Float(0.0, strict=True))),
    Case("BertConfig", lambda **a: bert.BertConfig(**a), dict(vocab_size=20),
         dict(vocab_size=Int(2), d_model=Int(1), n_heads=Int(1, 128), n_layers=Int(1), d_ff=Int(1), max_len=Int(1),
              dropout=Float(0.0, 1.0), n_segments=Int(2))),
    Case("Bert.forward", lambda **a: BERT(**a), dict(ids=torch.ones(1, 3, dtype=torch.long),
                                                     segments=torch.zeros(1, 3, dtype=torch.long)),
         dict(ids=IdTensor(20, (1, 3)), segments=IdTensor(2, (1, 3)))),
    Case("mask_tokens", lambda **a: bert.mask_tokens(**a),
         dict(ids=torch.arange(6)[None] + 5, special_mask=torch.zeros(1, 6, dtype=torch.bool), mask_id=4, vocab_size=20,
              generator=torch.Generator().manual_seed(0)),
         dict(ids=IdTensor(20, (1, 6)), mask_id=Int(0, 19), vocab_size=Int(2), mask_prob=Float(0.0, 1.0))),
    Case("GPTConfig", lambda **a: gpt.GPTConfig(**a), dict(),
         dict(vocab_size=Int(2), context=Int(1), d_model=Int(1), n_heads=Int(1, 64), n_layers=Int(1), d_ff=Int(1),
              dropout=Float(0.0, 1.0))),
    Case("GPT.forward", lambda **a: GPT(**a), dict(ids=torch.ones(1, 3, dtype=torch.long)),
         dict(ids=IdTensor(20, (1, 3)))),
    Case("gpt.generate", lambda **a: gpt.generate(**a), dict(model=GPT, ids=[1, 2], max_new_tokens=2),
         dict(model=OfType(), ids=Ids(20), max_new_tokens=Int(0), temperature=Float(0.0, strict=True),
              top_k=Int(1, 20, optional=True))),
    Case("gpt.evaluate_loss", lambda **a: gpt.evaluate_loss(**a), dict(model=GPT, stream=STREAM),
         dict(model=OfType(), batch_size=Int(1), max_windows=Int(1, optional=True))),
    Case("train_gpt", lambda **a: gpt.train_gpt(**a),
         dict(model=GPT, train_ids=STREAM, valid_ids=STREAM, steps=2, batch_size=2, eval_every=1, eval_windows=2),
         dict(steps=Int(1), batch_size=Int(1), lr=Float(0.0, strict=True), weight_decay=Float(0.0), warmup_steps=Int(0),
              eval_every=Int(1), eval_windows=Int(1), seed=Int(0))),
]


(test_listed_bad_values_are_refused, test_drawn_bad_values_are_refused,
 test_the_valid_arguments_work) = module_tests(CASES, examples=5)
