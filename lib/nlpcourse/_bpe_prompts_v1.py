"""The prompt episodes chapter 09c's byte-pair merges were learned from (frozen).

``data/checkpoints/09c_bpe_merges.json`` was learned from the English training documents plus
2000 episodes of the first prompt-task family (rules copy, reverse, upper, first_letters,
to_digits, to_words over 24 phrase words and the numbers 0-999). The arrow rules have changed
since (``nlpcourse.prompts.ARROW_TASKS``), but both GPT checkpoints read token ids of these merges,
so the merges stay, and this module regenerates their training text exactly so that
``tests/test_tokenize.py`` can still relearn them. Nothing else uses it.
"""

import zlib

import numpy as np

from nlpcourse.data import _ONES, _TENS, spell_number
from nlpcourse.prompts import PromptItem

_RULES = {
    "copy": ("words", "number_words", "digits"),
    "reverse": ("words", "number_words"),
    "upper": ("words", "number_words"),
    "first_letters": ("words", "number_words"),
    "to_digits": ("number_words",),
    "to_words": ("digits",),
}
_TASKS = (*_RULES, "qa", "tldr")
_PHRASE_WORDS = tuple("red blue green cat dog sun moon tree fish bird car road book door hat cup "
                      "king queen rain snow star ship box key".split())
_NUMBER_WORDS = frozenset(_ONES) | frozenset(_TENS[2:]) | {"hundred"}


def _spelled_value(words: list[str]) -> int:
    ones = {w: i for i, w in enumerate(_ONES)}
    tens = {w: 10 * i for i, w in enumerate(_TENS) if w != "_"}
    total = 0
    for w in words:
        total = total * 100 if w == "hundred" else total + ones.get(w, 0) + tens.get(w, 0)
    return total


def _is_train(item: PromptItem) -> bool:
    query = item.query
    if query.isdigit():
        query = str(int(query))
    elif query and all(w in _NUMBER_WORDS for w in query.split()):
        query = str(_spelled_value(query.split()))
    return zlib.crc32(f"{item.context}|{query}".encode("utf-8")) % 5 != 0


def _apply_rule(task: str, text: str) -> str:
    words = text.split()
    if task == "copy":
        return text
    if task == "reverse":
        return " ".join(reversed(words))
    if task == "upper":
        return text.upper()
    if task == "first_letters":
        return " ".join(w[0] for w in words)
    if task == "to_digits":
        return str(_spelled_value(words))
    return " ".join(spell_number(int(text)))


def _draw_item(task: str, rng) -> PromptItem:
    if task in _RULES:
        domain = _RULES[task][int(rng.integers(len(_RULES[task])))]
        if domain == "words":
            size = int(rng.integers(2, 4))
            text = " ".join(_PHRASE_WORDS[i]
                            for i in rng.choice(len(_PHRASE_WORDS), size=size, replace=False))
        else:
            value = int(rng.integers(0, 1000))
            text = " ".join(spell_number(value)) if domain == "number_words" else str(value)
        return PromptItem("", text, _apply_rule(task, text))
    return _draw_qa_or_tldr(task, rng)


# The qa and tldr items as they were drawn then (a copy, so that editing today's tasks in
# nlpcourse.prompts can never change the frozen text).
_QA_NAMES = tuple("anna bob carl dora emil fay gus hana".split())
_QA_CITIES = tuple("paris rome oslo lima cairo delhi tokyo quito".split())
_TLDR_ANIMALS = tuple("cat dog bird fish horse cow fox bear".split())
_TLDR_VERBS = tuple("runs eats sleeps swims sings jumps reads waits".split())


def _draw_qa_or_tldr(task: str, rng) -> PromptItem:
    if task == "qa":
        names = rng.choice(len(_QA_NAMES), size=2, replace=False)
        cities = rng.choice(len(_QA_CITIES), size=2, replace=False)
        context = " ".join(f"{_QA_NAMES[n]} lives in {_QA_CITIES[c]} ."
                           for n, c in zip(names, cities))
        asked = int(rng.integers(2))
        return PromptItem(context, f"where does {_QA_NAMES[names[asked]]} live ?",
                          _QA_CITIES[cities[asked]])
    main, other = (_TLDR_ANIMALS[i] for i in rng.choice(len(_TLDR_ANIMALS), size=2, replace=False))
    verbs = [_TLDR_VERBS[i] for i in rng.choice(len(_TLDR_VERBS), size=3, replace=False)]
    subjects = [main, main, main]
    subjects[int(rng.integers(3))] = other
    context = " ".join(f"the {s} {v} ." for s, v in zip(subjects, verbs))
    return PromptItem(context, "", main)


def _train_items(task: str, n: int, seed: int) -> list[PromptItem]:
    rng = np.random.default_rng([seed, _TASKS.index(task), 0])
    items: list[PromptItem] = []
    seen: set[PromptItem] = set()
    draws = 0
    while len(items) < n:
        item = _draw_item(task, rng)
        draws += 1
        if not _is_train(item) or (item in seen and draws < 20 * n):
            continue
        seen.add(item)
        items.append(item)
    return items


def _line(item: PromptItem, task: str) -> str:
    if task in _RULES:
        return f"in: {item.query} => out: {item.answer}"
    if task == "qa":
        return f"{item.context} Q: {item.query} A: {item.answer}"
    return f"{item.context} TL;DR: {item.answer}"


def prompt_episodes(n_docs: int, seed: int = 0, shots=(0, 1, 2, 4)) -> list[str]:
    """The first family's training episodes, as ``prompts.prompt_training_text`` made them then."""
    rng = np.random.default_rng([seed, 9])
    picks = [(_TASKS[int(t)], shots[int(k)]) for t, k in zip(rng.integers(len(_TASKS), size=n_docs),
                                                           rng.integers(len(shots), size=n_docs))]
    pools = {task: _train_items(task, 500, seed) for task in set(t for t, _k in picks)}
    documents = []
    for task, k in picks:
        pool = pools[task]
        chosen = [pool[int(i)] for i in rng.choice(len(pool), size=k + 1, replace=False)]
        documents.append("\n".join(_line(item, task) for item in chosen) + "\n")
    return documents
