"""Bad input, property-based: text, tokenizers, data sets and word vectors (chapters 01-03, 12;
text, tokenize, data, word2vec, glove, evaluate). See tests/bad_input_support.py. The compiled
Word2Vec and GloVe kernels have their own crash tests in a subprocess
(tests/test_bad_input_kernels.py)."""

import numpy as np
import scipy.sparse as sp

from bad_input_support import (Array, Case, Choice, Counts, Documents, Float, Ids, Int,
                               module_tests, OfType, Text)
from nlpcourse import data, evaluate, glove, prompts, text, tokenize, word2vec

DOCS = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat", "ran"]]
VOCAB = text.build_vocabulary(DOCS)
COUNTS = text.bag_of_words(DOCS, VOCAB)
W2V_CORPUS = [["the", "cat", "sat", "on", "the", "mat"]] * 5
H, U = np.ones(3), np.ones((4, 3))
PAIR_VOCAB = text.build_vocabulary([["tiger", "cat", "money", "cash", "car", "automobile", "king", "queen"]])
PAIR_VECTORS = evaluate.WordVectors(np.random.default_rng(0).normal(size=(len(PAIR_VOCAB), 3)), PAIR_VOCAB)

CASES = [
    Case("tokenize", lambda **a: text.tokenize(**a), dict(text="The cat."), dict(text=Text())),
    Case("split_sentences", lambda **a: text.split_sentences(**a), dict(text="A b. C d."), dict(text=Text())),
    Case("build_vocabulary", lambda **a: text.build_vocabulary(**a), dict(documents=DOCS, min_count=1),
         dict(documents=Documents(), min_count=Int(1), max_size=Int(1, optional=True), ties=Choice())),
    Case("bag_of_words", lambda **a: text.bag_of_words(**a), dict(documents=DOCS, vocab=VOCAB),
         dict(documents=Documents(), vocab=OfType())),
    Case("one_hot", lambda **a: text.one_hot(**a), dict(tokens=["the", "cat"], vocab=VOCAB), dict(vocab=OfType())),
    Case("term_frequency", lambda **a: text.term_frequency(**a), dict(counts=COUNTS), dict(variant=Choice())),
    Case("inverse_document_frequency", lambda **a: text.inverse_document_frequency(**a), dict(counts=COUNTS),
         dict(variant=Choice(), base=Float(1.0, strict=True))),
    Case("tfidf", lambda **a: text.tfidf(**a), dict(counts=COUNTS), dict(tf=Choice())),
    Case("cosine_similarity", lambda **a: text.cosine_similarity(**a), dict(a=np.eye(3)), dict(a=Array(2, also=(1,)))),
    Case("keyword_in_context", lambda **a: text.keyword_in_context(**a), dict(documents=DOCS, word="cat"),
         dict(documents=Documents(), word=Text(), width=Int(0), limit=Int(1))),
    Case("split_chunks", lambda **a: tokenize.split_chunks(**a), dict(text="Hello world"), dict(text=Text())),
    Case("learn_merges", lambda **a: tokenize.learn_merges(**a), dict(counts={"hello": 2, "help": 1}, n_merges=3),
         dict(counts=Counts(), n_merges=Int(0))),
    Case("spell_number", lambda **a: data.spell_number(**a), dict(value=42), dict(value=Int(0, 999_999_999))),
    Case("spelled_numbers", lambda **a: data.spelled_numbers(**a), dict(n=5), dict(n=Int(1), seed=Int(0),
                                                                                  max_value=Int(0))),
    Case("lee_documents", lambda **a: data.lee_documents(**a), dict(), dict(split=Choice())),
    Case("digits_split", lambda **a: data.digits_split(**a), dict(), dict(test_fraction=Float(0.0, 1.0, strict=True),
                                                                         seed=Int(0))),
    Case("low_rank_ratings", lambda **a: data.low_rank_ratings(**a), dict(),
         dict(n_rows=Int(1), n_cols=Int(1), rank=Int(1, 40), observed=Float(0.0, 1.0, strict=True))),
    Case("english_lm_split", lambda **a: data.english_lm_split(**a), dict(), dict(every=Int(2))),
    Case("prompt_task_items", lambda **a: prompts.prompt_task_items(**a), dict(task="reverse", n=2),
         dict(task=Choice(), n=Int(1), seed=Int(0), split=Choice())),
    Case("Word2VecConfig", lambda **a: word2vec.Word2VecConfig(**a), dict(),
         dict(output=Choice(), dim=Int(1), window=Int(1), min_count=Int(1), negative=Int(1), sample=Float(0.0),
              alpha=Float(0.0, strict=True), epochs=Int(1), threads=Int(1), seed=Int(0), max_softmax_vocab=Int(2))),
    Case("train_word2vec", lambda **a: word2vec.train_word2vec(**a),
         dict(sentences=W2V_CORPUS, min_count=1, dim=4, epochs=1, threads=1), dict(sentences=Documents())),
    Case("word2vec_vocabulary", lambda **a: word2vec.word2vec_vocabulary(**a), dict(sentences=DOCS, min_count=1),
         dict(sentences=Documents(), min_count=Int(1))),
    Case("noise_distribution", lambda **a: word2vec.noise_distribution(**a), dict(counts=[3.0, 1.0]),
         dict(counts=Array(1), power=Float())),
    Case("keep_probability", lambda **a: word2vec.keep_probability(**a), dict(counts=[3.0, 1.0]),
         dict(counts=Array(1), sample=Float(0.0))),
    Case("huffman_tree", lambda **a: word2vec.huffman_tree(**a), dict(counts=[3.0, 2.0, 1.0]), dict(counts=Array(1))),
    Case("full_softmax_loss", lambda **a: word2vec.full_softmax_loss(**a), dict(h=H, U=U, target=1),
         dict(h=Array(1), target=Int(0, 3))),
    Case("negative_sampling_loss", lambda **a: word2vec.negative_sampling_loss(**a),
         dict(h=H, U=U, target=1, negatives=[2, 3]), dict(h=Array(1), target=Int(0, 3), negatives=Ids(4))),
    # U is not scanned for NaN (a float array passes as it is: training calls these once per
    # prediction); its shape is checked in tests/test_word2vec.py
    Case("split_long_sentences", lambda **a: word2vec.split_long_sentences(**a), dict(sentences=DOCS),
         dict(sentences=Documents(), max_length=Int(1))),
    Case("GloVeConfig", lambda **a: glove.GloVeConfig(**a), dict(),
         dict(dim=Int(1), window=Int(1), min_count=Int(1), x_max=Float(0.0, strict=True), alpha=Float(0.0),
              learning_rate=Float(0.0, strict=True), epochs=Int(1), threads=Int(1), seed=Int(0))),
    Case("train_glove", lambda **a: glove.train_glove(**a),
         dict(sentences=W2V_CORPUS, min_count=1, dim=4, epochs=1), dict(sentences=Documents())),
    Case("weighting", lambda **a: glove.weighting(**a), dict(x=[1.0, 200.0]),
         dict(x=Array(1, any_shape=True), x_max=Float(0.0, strict=True), alpha=Float(0.0))),
    Case("init_parameters", lambda **a: glove.init_parameters(**a), dict(vocab_size=4, dim=3),
         dict(vocab_size=Int(1), dim=Int(1), seed=Int(0))),
    Case("cooccurrence_matrix", lambda **a: glove.cooccurrence_matrix(**a),
         dict(corpus=word2vec.encode_corpus(DOCS, word2vec.word2vec_vocabulary(DOCS, 1)), vocab_size=6),
         dict(corpus=OfType(), vocab_size=Int(6), window=Int(1))),
    Case("WordVectors", lambda **a: evaluate.WordVectors(**a), dict(vectors=np.eye(len(VOCAB)), vocab=VOCAB),
         dict(vectors=Array(2), vocab=OfType())),
    Case("evaluate_word_pairs", lambda **a: evaluate.evaluate_word_pairs(**a),
         dict(wv=PAIR_VECTORS, path=data.gensim_file("wordsim353")),
         dict(wv=OfType())),
]


(test_listed_bad_values_are_refused, test_drawn_bad_values_are_refused,
 test_the_valid_arguments_work) = module_tests(CASES, examples=5)
