"""Where the project's data lives: ontology/, triples/, queries/ and the default build folder.

The package is installed in editable mode from the repository, so the data folders sit two levels above
this file. ``MSCEV_HOME`` points elsewhere (another checkout) when set.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("MSCEV_HOME", Path(__file__).resolve().parents[2]))
ONTOLOGY_DIR = PROJECT_ROOT / "ontology"
IMPORTS_DIR = ONTOLOGY_DIR / "imports"
TRIPLES_DIR = PROJECT_ROOT / "triples"
QUERIES_DIR = PROJECT_ROOT / "queries"
RULES_DIR = PROJECT_ROOT / "rules"  # build-time derivation rules (mscev.derive)
REVIEW_FILE = PROJECT_ROOT / "source" / "cai-2020-cell-biosci.txt"  # the review, CC BY 4.0 (source/README.md)
DEFAULT_BUILD_DIR = PROJECT_ROOT / "build"
DEFAULT_RELEASE_DIR = PROJECT_ROOT / "release"  # beside build/, not in it: a new build leaves the last release alone

ONTOLOGY_FILE = ONTOLOGY_DIR / "mscev.ttl"
SHAPES_FILE = ONTOLOGY_DIR / "shapes.ttl"
PREFIXES_FILE = ONTOLOGY_DIR / "prefixes.json"
TERMS_FILE = IMPORTS_DIR / "terms.tsv"
EXTERNAL_FILE = IMPORTS_DIR / "external.ttl"
SYNONYMS_FILE = IMPORTS_DIR / "synonyms.tsv"

# Folders an output (--out) may never replace, nor any folder that contains one of them.
SOURCE_DIRS = (ONTOLOGY_DIR, TRIPLES_DIR, QUERIES_DIR, PROJECT_ROOT / "source", PROJECT_ROOT / "src",
               PROJECT_ROOT / "tests")


def source_files(data_dir: Path = TRIPLES_DIR) -> list[Path]:
    """The files that make up the graph: the ontology, its imports and every Turtle file under triples/
    (or under ``data_dir``, e.g. a synthetic corpus)."""
    return [ONTOLOGY_FILE, EXTERNAL_FILE, *sorted(Path(data_dir).rglob("*.ttl"))]
