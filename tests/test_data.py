"""nlpcourse.data: the bundled corpora load offline and have the sizes the chapters quote."""

import pytest

from nlpcourse import data, text


def test_lee_corpus_sizes():
    docs = data.lee_documents()
    assert len(docs) == 300
    assert sum(len(text.tokenize(d)) for d in docs) == 60602  # "about 61k tokens" (COURSE.md), with our tokenizer
    assert len(data.lee_documents("test")) == 50
    with pytest.raises(ValueError, match="split must be one of"):
        data.lee_documents("train")


def test_wiki_excerpt_is_derived_from_gensims_dump():
    docs, titles = data.wiki_documents(), data.wiki_titles()
    assert len(docs) == len(titles) == 106
    assert titles[0] == "Anarchism"
    # the derived file holds exactly what the extraction gives (first articles checked)
    fresh = data.extract_wiki_articles()
    assert [t for t, _ in fresh] == titles
    assert fresh[0][1] == docs[0]
    total = sum(len(text.tokenize(d)) for d in data.english_documents())
    assert 500_000 < total < 600_000


def test_evaluation_files_ship_with_gensim():
    for name in ("wordsim353", "simlex999", "analogies"):
        assert data.gensim_file(name).exists()
    with pytest.raises(ValueError, match="name must be one of"):
        data.gensim_file("imdb")


def test_jieba_dictionary():
    entries = data.jieba_dictionary()
    assert len(entries) > 300_000
    assert all(isinstance(w, str) and f >= 0 for w, f in entries[:1000])


def test_spelled_numbers_are_correct_and_reproducible():
    assert data.spell_number(0) == ["zero"]
    assert data.spell_number(2005) == ["two", "thousand", "five"]
    assert data.spell_number(999_999) == "nine hundred ninety nine thousand nine hundred ninety nine".split()
    assert data.spell_number(110_013) == "one hundred ten thousand thirteen".split()
    pairs = data.spelled_numbers(200, seed=3)
    assert pairs == data.spelled_numbers(200, seed=3)
    assert pairs != data.spelled_numbers(200, seed=4)
    for words, digits in pairs:
        assert data.spell_number(int("".join(digits))) == words
    with pytest.raises(ValueError, match="value must be <= 999999"):
        data.spell_number(10**6)
    with pytest.raises(ValueError, match="n must be >= 1"):
        data.spelled_numbers(0)
