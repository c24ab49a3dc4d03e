"""The quote check: every evidence quote must appear verbatim in the source text.

Quotes and source are compared with all Unicode white space (no-break and thin spaces included) folded
to one space, because copying from a web page changes spacing but never words.
"""

from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef

from mscev.errors import MscevError
from mscev.load import LoadedGraph
from mscev.namespaces import MSCEV, curie


@dataclass(frozen=True)
class QuoteProblem:
    statement: str
    file: str
    quote: str


def fold_space(text: str) -> str:
    """Collapse every run of Unicode white space to one ASCII space."""
    return " ".join(text.split())


def read_source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise MscevError(f"--source {path}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise MscevError(f"--source {path}: not UTF-8 text") from None


def quotes(graph: Graph) -> list[tuple[str, str]]:
    """(statement IRI, quote) for every evidence quote in the graph."""
    return sorted((str(s), str(o)) for s, o in graph.subject_objects(MSCEV.evidenceQuote))


def check_quotes(loaded: LoadedGraph, source_text: str) -> tuple[int, list[QuoteProblem]]:
    """How many quotes were checked, and those not found verbatim in the source."""
    folded = fold_space(source_text)
    found = quotes(loaded.graph)
    problems = [
        QuoteProblem(curie(statement), loaded.origin_of(URIRef(statement)), quote)
        for statement, quote in found
        if fold_space(quote) not in folded
    ]
    return len(found), problems

