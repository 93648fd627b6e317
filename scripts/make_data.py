"""Regenerate the derived files in data/ from the packages that ship the originals.

Run from the repository root: `python scripts/make_data.py` (or `make data`).
Each file's source and licence are in data/README.md.
"""

from nlpcourse import data


def main() -> None:
    count = data.write_wiki_excerpt()
    print(f"wrote {data.WIKI_EXCERPT.relative_to(data.DATA_DIR.parent)}: {count} articles")


if __name__ == "__main__":
    main()
