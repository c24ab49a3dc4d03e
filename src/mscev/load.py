"""Load stage: parse the ontology, its imports and the curated Turtle into one rdflib graph.

Every parse error is turned into a message naming the file, line and column, so a curator can go
straight to it. The loader also remembers which file stated each subject, for the validation report.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from mscev.errors import MscevError
from mscev.namespaces import bind_prefixes
from mscev.paths import source_files


@dataclass
class LoadedGraph:
    """The merged graph and, for each subject, the files that describe it."""

    graph: Graph
    files: list[Path]
    origins: dict[Node, set[str]] = field(default_factory=dict)

    def origin_of(self, node: Node) -> str:
        """The file(s) that state ``node``, for messages."""
        return ", ".join(sorted(self.origins.get(node, ()))) or "-"


def parse_turtle(path: Path) -> Graph:
    """Parse one Turtle file, raising MscevError with file:line:column on any problem."""
    if not path.is_file():
        raise MscevError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise MscevError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise MscevError(f"{path}: cannot read ({error.strerror})") from None
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=path.resolve().as_uri())
    except BadSyntax as error:
        raise MscevError(_syntax_message(path, text, error)) from None
    except Exception as error:  # rdflib raises plain exceptions for bad IRIs and literals
        raise MscevError(f"{path}: cannot parse as Turtle: {error}") from None
    return graph


def _syntax_message(path: Path, text: str, error: BadSyntax) -> str:
    """file:line:column: why, with the offending line shown."""
    start = text.rfind("\n", 0, error._i) + 1
    line_no = text.count("\n", 0, error._i) + 1
    column = error._i - start + 1
    end = text.find("\n", error._i)
    line = text[start : end if end != -1 else len(text)]
    return f"{path}:{line_no}:{column}: Turtle syntax error: {error._why}\n    {line.strip()}"


def load_graph(extra: Iterable[Path] = (), files: Iterable[Path] | None = None) -> LoadedGraph:
    """Parse the project's sources (or ``files``) plus ``extra`` files into one graph."""
    paths = [*(source_files() if files is None else files), *extra]
    merged = bind_prefixes(Graph())
    origins: dict[Node, set[str]] = {}
    for path in paths:
        part = parse_turtle(Path(path))
        name = _display_name(Path(path))
        for subject in set(part.subjects()):
            origins.setdefault(subject, set()).add(name)
        merged += part
    return LoadedGraph(merged, [Path(p) for p in paths], origins)


def _display_name(path: Path) -> str:
    """A short file name for reports: relative to the working folder when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
