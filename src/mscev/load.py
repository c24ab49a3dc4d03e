"""Load stage: parse the ontology, its imports and the curated Turtle into one rdflib graph.

Every parse error is turned into a message naming the file, line and column, so a curator can go
straight to it. The loader also remembers which file stated each subject, for the validation report.

For large graphs (the fast engine of `mscev build`), load_store parses the same files straight into a
pyoxigraph store instead, never building an rdflib graph; it finds which file stated a node only when asked
(for the few nodes a validation report names), by reading the files again.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from mscev.errors import MscevError
from mscev.namespaces import bind_prefixes
from mscev.paths import source_files

PYOXIGRAPH_POSITION = re.compile(r"^Parser error at line \d+ (column \d+|between columns \d+ and \d+): ")
BYTE_ORDER_MARK = b"\xef\xbb\xbf"  # allowed before UTF-8 text; pyoxigraph and rdflib read it as a stray character


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
        data = path.read_bytes()
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line, column = data.count(b"\n", 0, error.start) + 1, error.start - data.rfind(b"\n", 0, error.start)
        raise MscevError(f"{path}:{line}:{column}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise MscevError(f"{path}: cannot read ({error.strerror})") from None
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=path.resolve().as_uri())
    except BadSyntax as error:
        if 0 <= error._i <= len(text):
            raise MscevError(_syntax_message(path, text, error)) from None
        # at the end of the text rdflib may give an offset counted from elsewhere (negative): ask pyoxigraph
        raise MscevError(f"{_stricter_position(path, text, error.lines + 1)} Turtle syntax error: {error._why}") \
            from None
    except Exception as error:  # rdflib raises plain exceptions (bad IRIs and literals, its own bugs), no position
        raise MscevError(f"{_stricter_position(path, text)} cannot parse as Turtle: {error}") from None
    return graph


def _stricter_position(path: Path, text: str, line: int | None = None) -> str:
    """'FILE:LINE:COLUMN: why;' of the first error pyoxigraph's parser finds in ``text``; when it finds none,
    'FILE:LINE:' with the line rdflib gave, if any."""
    try:
        for _ in ox.parse(text, ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri()):
            pass
    except SyntaxError as error:
        return f"{path}:{error.lineno}:{error.offset}: {PYOXIGRAPH_POSITION.sub('', error.msg)};"
    return f"{path}:{line}:" if line else f"{path}:"


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


@dataclass
class LoadedStore:
    """The merged graph in a pyoxigraph store, in the named graph ``graph`` (the build's asserted graph)."""

    store: ox.Store
    graph: ox.NamedNode
    files: list[Path]
    triples: int

    def origins(self, nodes: Iterable[ox.NamedNode | ox.BlankNode]) -> dict[ox.NamedNode | ox.BlankNode, str]:
        """For each node, the file(s) that state it as a subject, for messages.

        One streaming pass over the files; asked only for the nodes a report names, so a clean graph of
        millions of triples never pays for it.
        """
        wanted = set(nodes)
        found: dict[ox.NamedNode | ox.BlankNode, set[str]] = {}
        for path in self.files if wanted else ():
            name = _display_name(path)
            for triple in ox.parse(**turtle_source(path), format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri()):
                if triple.subject in wanted:
                    found.setdefault(triple.subject, set()).add(name)
        return {node: ", ".join(sorted(files)) for node, files in found.items()}


def load_store(files: Iterable[Path], graph: ox.NamedNode, store: ox.Store | None = None) -> LoadedStore:
    """Parse Turtle files into ``graph`` of a pyoxigraph store (a new in-memory one by default)."""
    store = ox.Store() if store is None else store
    paths = [Path(p) for p in files]
    for path in paths:
        if not path.is_file():
            raise MscevError(f"{path}: no such file")
        try:
            store.bulk_load(**turtle_source(path), format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri(),
                            to_graph=graph)
        except SyntaxError as error:
            why = PYOXIGRAPH_POSITION.sub("", error.msg)
            raise MscevError(f"{path}:{error.lineno}:{error.offset}: Turtle syntax error: {why}") from None
        except OSError as error:
            raise MscevError(f"{path}: cannot read ({error.strerror or error})") from None
    count = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}")
    return LoadedStore(store, graph, paths, int(next(count)[0].value))


def turtle_source(path: Path) -> dict:
    """The file for pyoxigraph's parsers, as a keyword argument: ``path`` (its fastest reader), or, for a file
    that starts with a byte-order mark, ``input``: the bytes after it."""
    with open(path, "rb") as handle:
        if handle.read(len(BYTE_ORDER_MARK)) != BYTE_ORDER_MARK:
            return {"path": str(path)}
        return {"input": handle.read()}


def to_rdflib(term):
    """A pyoxigraph term as an rdflib term (for reports built with rdflib)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    return Literal(term.value, lang=term.language, datatype=None if term.language else URIRef(term.datatype.value))


def _display_name(path: Path) -> str:
    """A short file name for reports: relative to the working folder when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
