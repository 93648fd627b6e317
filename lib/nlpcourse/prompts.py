"""Chapter 09c's prompt-format tasks: in-context learning at small scale.

The "arrow" tasks share one surface format ("in: ... => out: ...") but differ in the rule, and
every input fits every rule, so with no example in the prompt the rule is a guess and one or more
examples of the same rule settle it. "qa" (the notes' d1..dN "Q:" q "A:") and "tldr" ("TL;DR:")
have formats of their own. Task logic and scoring only: the texts are drawn here, never loaded.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple, Sequence

import numpy as np

from nlpcourse._checks import check_choice, check_int

__all__ = [
    "PromptItem", "ARROW_TASKS", "TASK_FORMATS", "PROMPT_TASKS", "PROMPT_FORMATS", "ANSWER_CUES",
    "PHRASE_FRENCH",
    "prompt_task_items", "format_prompt", "prompt_training_text", "prompt_eval_set",
    "score_completion", "rules_applied",
]


class PromptItem(NamedTuple):
    """One task instance: an optional ``context`` (a short document), a ``query`` and its
    ``answer``."""

    context: str
    query: str
    answer: str


#: The rules that share the "in: ... => out: ..." format. Every rule applies to every input (two or
#: three words), so with no example in the prompt nothing says which rule is meant.
ARROW_TASKS = ("copy", "reverse", "first", "last", "translate")
#: Every task and the format its prompts are written in.
TASK_FORMATS = {**{task: "arrow" for task in ARROW_TASKS}, "qa": "qa", "tldr": "tldr"}
PROMPT_TASKS = tuple(TASK_FORMATS)
PROMPT_FORMATS = ("arrow", "qa", "tldr")
#: How each format ends right before the answer (the answer follows after one space).
ANSWER_CUES = {"arrow": "=> out:", "qa": "A:", "tldr": "TL;DR:"}

#: The arrow tasks' words and their French, for the word-by-word "translate" rule (translation by
#: examples). Each English word is one token of chapter 09c's byte-pair merges, so copying or
#: reordering a word moves exactly one token; the French words take one to four tokens.
PHRASE_FRENCH = {
    "red": "rouge", "cat": "chat", "dog": "chien", "fish": "poisson", "bird": "oiseau",
    "car": "voiture",
    "book": "livre", "man": "homme", "land": "terre", "war": "guerre", "horse": "cheval",
    "key": "clef",
    "world": "monde", "time": "temps", "year": "an", "new": "nouveau", "high": "haut", "one": "un",
    "two": "deux", "three": "trois", "four": "quatre", "five": "cinq", "seven": "sept",
    "nine": "neuf",
}
_PHRASE_WORDS = tuple(PHRASE_FRENCH)
_QA_NAMES = tuple("anna bob carl dora emil fay gus hana".split())
_QA_CITIES = tuple("paris rome oslo lima cairo delhi tokyo quito".split())
_TLDR_ANIMALS = tuple("cat dog bird fish horse cow fox bear".split())
_TLDR_VERBS = tuple("runs eats sleeps swims sings jumps reads waits".split())
_TEST_SHARE = 5  # one input in five (by a hash of its text) belongs to the test split


def _split_of(item: PromptItem) -> str:
    """'test' for about one input in five, chosen by a CRC-32 of the input text (stable everywhere).

    The split depends on the input only, never on the rule, so a test input is unseen in training
    under every rule.
    """

    key = f"{item.context}|{item.query}".encode("utf-8")
    return "test" if zlib.crc32(key) % _TEST_SHARE == 0 else "train"


def _draw_phrase(rng) -> str:
    size = int(rng.integers(2, 4))
    return " ".join(_PHRASE_WORDS[i]
                    for i in rng.choice(len(_PHRASE_WORDS), size=size, replace=False))


def _apply_rule(task: str, text: str) -> str:
    words = text.split()
    if task == "copy":
        return text
    if task == "reverse":
        return " ".join(reversed(words))
    if task == "first":
        return words[0]
    if task == "last":
        return words[-1]
    return " ".join(PHRASE_FRENCH[w] for w in words)  # translate, word by word


def _draw_item(task: str, rng) -> PromptItem:
    if task in ARROW_TASKS:
        text = _draw_phrase(rng)
        return PromptItem("", text, _apply_rule(task, text))
    if task == "qa":
        names = rng.choice(len(_QA_NAMES), size=2, replace=False)
        cities = rng.choice(len(_QA_CITIES), size=2, replace=False)
        context = " ".join(f"{_QA_NAMES[n]} lives in {_QA_CITIES[c]} ."
                           for n, c in zip(names, cities))
        asked = int(rng.integers(2))
        return PromptItem(context, f"where does {_QA_NAMES[names[asked]]} live ?",
                          _QA_CITIES[cities[asked]])
    # tldr: three sentences, two about the same animal; the summary names that animal
    main, other = (_TLDR_ANIMALS[i] for i in rng.choice(len(_TLDR_ANIMALS), size=2, replace=False))
    verbs = [_TLDR_VERBS[i] for i in rng.choice(len(_TLDR_VERBS), size=3, replace=False)]
    subjects = [main, main, main]
    subjects[int(rng.integers(3))] = other
    context = " ".join(f"the {s} {v} ." for s, v in zip(subjects, verbs))
    return PromptItem(context, "", main)


def prompt_task_items(task: str, n: int, seed: int = 0, split: str = "train") -> list[PromptItem]:
    """``n`` items of one prompt task from the ``train`` or ``test`` split (the splits share no
    input).

    An input belongs to one split for every task (a CRC-32 of its text decides, one in five is
    ``test``), so a test query is unseen in training whatever the rule. Items are distinct while
    the split has enough of them (it repeats only beyond that); the same seed gives the same items.
    """


    check_choice("task", task, PROMPT_TASKS)
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    check_choice("split", split, ("train", "test"))
    rng = np.random.default_rng([seed, PROMPT_TASKS.index(task), ("train", "test").index(split)])
    items: list[PromptItem] = []
    seen: set[PromptItem] = set()
    draws = 0
    while len(items) < n:
        item = _draw_item(task, rng)
        draws += 1
        if _split_of(item) != split or (item in seen and draws < 20 * n):
            continue
        seen.add(item)
        items.append(item)
    return items


def _format_item(item: PromptItem, fmt: str, with_answer: bool) -> str:
    if fmt == "arrow":
        head = f"in: {item.query} {ANSWER_CUES['arrow']}"
    elif fmt == "qa":
        head = f"{item.context} Q: {item.query} {ANSWER_CUES['qa']}"
    else:
        head = f"{item.context} {ANSWER_CUES['tldr']}"
    return f"{head} {item.answer}" if with_answer else head


def _check_item(name: str, item, fmt: str) -> PromptItem:
    if (not isinstance(item, tuple) or len(item) != 3
            or not all(isinstance(part, str) for part in item)):
        raise TypeError(f"{name} must be a PromptItem (context, query, answer) of str, got "
                        f"{item!r}")
    item = PromptItem(*item)
    if "\n" in "".join(item):
        raise ValueError(f"{name} must not contain a newline (a newline ends each example), got "
                         f"{item!r}")
    if fmt == "arrow" and item.context:
        raise ValueError(f"{name} has a context, but fmt 'arrow' has no place for one: use fmt "
                         "'qa' or 'tldr'")
    if fmt == "tldr" and item.query:
        raise ValueError(f"{name} has a query, but fmt 'tldr' has no place for one: use fmt 'qa'")
    return item


def format_prompt(examples: Sequence[PromptItem], query: PromptItem, fmt: str = "arrow") -> str:
    """The prompt: one line per solved example, then the query's line up to where its answer starts.

    ``arrow``: ``in: red cat => out: cat red``; ``qa``: ``<context> Q: <question> A: <answer>``;
    ``tldr``: ``<context> TL;DR: <answer>``. Lines end with a newline and the prompt ends right
    after the cue (``out:``, ``A:``, ``TL;DR:``), so a model continues with a space and the answer.
    """
    check_choice("fmt", fmt, PROMPT_FORMATS)
    if isinstance(examples, (str, bytes, PromptItem)) or not hasattr(examples, "__iter__"):
        raise TypeError(f"examples must be a sequence of PromptItem, got {type(examples).__name__}")
    lines = [_format_item(_check_item(f"examples[{i}]", ex, fmt), fmt, True)
             for i, ex in enumerate(examples)]
    lines.append(_format_item(_check_item("query", query, fmt), fmt, False))
    return "\n".join(lines)


def prompt_training_text(n_docs: int, seed: int = 0, shots: Sequence[int] = (0, 1, 2, 4),
                         tasks: Sequence[str] = PROMPT_TASKS) -> list[str]:
    """``n_docs`` training episodes, one document each: ``k`` solved examples of one task then
    one more, all written in the task's format (``k`` drawn from ``shots``, the task from
    ``tasks``).

    Only ``train`` items are used, so every test query stays unseen. Each document ends with a
    newline after its last answer.
    """


    n_docs = check_int("n_docs", n_docs, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    shots = [check_int("shots[...]", k, minimum=0) for k in _check_nonempty("shots", shots)]
    tasks = [check_choice("tasks", t, PROMPT_TASKS) for t in _check_nonempty("tasks", tasks)]
    rng = np.random.default_rng([seed, 9])
    picks = [(tasks[int(t)], shots[int(k)]) for t, k in zip(rng.integers(len(tasks), size=n_docs),
                                                          rng.integers(len(shots), size=n_docs))]
    pools = {task: prompt_task_items(task, 500, seed=seed, split="train")
             for task in set(t for t, _k in picks)}
    documents = []
    for task, k in picks:
        pool = pools[task]
        chosen = [pool[int(i)] for i in rng.choice(len(pool), size=k + 1, replace=False)]
        fmt = TASK_FORMATS[task]
        documents.append("\n".join(_format_item(item, fmt, True) for item in chosen) + "\n")
    return documents


def prompt_eval_set(task: str, n: int, shots: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (prompt, answer) pairs for measuring in-context accuracy with ``shots`` examples.

    Queries come from the ``test`` split and are the same for every ``shots`` (same seed), so
    accuracies at 0, 1, 4 examples differ only by the examples; the examples come from ``train``.
    """


    shots = check_int("shots", shots, minimum=0)
    queries = prompt_task_items(task, n, seed=seed, split="test")
    pool = prompt_task_items(task, 500, seed=seed + 1, split="train")
    rng = np.random.default_rng([seed, 17, shots])
    fmt = TASK_FORMATS[task]
    out = []
    for query in queries:
        examples = [pool[int(i)] for i in rng.choice(len(pool), size=shots, replace=False)]
        out.append((format_prompt(examples, query, fmt), query.answer))
    return out


def score_completion(predicted: str, expected: str) -> bool:
    """Exact match: the completion up to its first newline (where every answer ends), stripped of
    surrounding whitespace, equals ``expected`` stripped. Case and inner spacing count."""
    if not isinstance(predicted, str):
        raise TypeError(f"predicted must be a str, got {type(predicted).__name__}")
    if not isinstance(expected, str):
        raise TypeError(f"expected must be a str, got {type(expected).__name__}")
    return predicted.split("\n", 1)[0].strip() == expected.strip()


def rules_applied(query: str, predicted: str) -> tuple[str, ...]:
    """The arrow rules whose answer to ``query`` the completion ``predicted`` is (by
    ``score_completion``), in ``ARROW_TASKS`` order: which rule a model applied, () for none.

    ``rules_applied("red cat", " cat red")`` is ``("reverse",)``.
    """
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, got {type(query).__name__}")
    words = query.split()
    if not 2 <= len(words) <= 3 or any(w not in PHRASE_FRENCH for w in words):
        raise ValueError("query must be two or three of the arrow tasks' words (PHRASE_FRENCH), "
                         f"got {query!r}")
    return tuple(rule for rule in ARROW_TASKS
                 if score_completion(predicted, _apply_rule(rule, query)))


def _check_nonempty(name: str, values) -> list:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence, got {type(values).__name__}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} must not be empty")
    return values
