"""Load stage: parse the ontology, its imports and the curated Turtle into one rdflib graph.

Every parse error is turned into a message naming the file, line and column, so a curator can go
straight to it. The loader also remembers which file stated each subject, for the validation report.

For large graphs (the fast engine of `mscev build`), load_store parses the same files straight into a
pyoxigraph store instead, never building an rdflib graph; it finds which file stated a node only when asked
(for the few nodes a validation report names), by reading the files again.
"""

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from mscev.errors import MscevError
from mscev.namespaces import bind_prefixes
from mscev.paths import source_files

PYOXIGRAPH_POSITION = re.compile(r"^Parser error at line \d+ (column \d+|between columns \d+ and \d+): ")
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
MAX_TERM_BYTES = 16 << 20  # pyoxigraph's parser buffer: no literal or IRI can be longer
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
    """Parse one Turtle file into an rdflib graph, raising MscevError with file:line:column on any problem.

    The parser is pyoxigraph's, the strict one the store and the fast engine use, so every command accepts and
    refuses the same files: rdflib's own parser lets through what the store then rejects (an IRI with a space,
    a lone surrogate escape). Blank-node labels are the file's own: ``_:b`` in two files are two nodes.
    """
    graph = Graph()
    blank_nodes: dict[str, BNode] = {}
    with reading_turtle(path) as parser:
        for quad in parser:
            graph.add(tuple(to_rdflib(term, blank_nodes) for term in (quad.subject, quad.predicate, quad.object)))
        for prefix, namespace in parser.prefixes.items():
            graph.bind(prefix, namespace)
    return graph


@contextmanager
def reading_turtle(path: Path, parse: bool = True) -> Iterator:
    """pyoxigraph's Turtle parser on ``path`` (with ``parse``; else nothing, for a reader of the caller's own,
    such as Store.bulk_load), its errors turned into MscevError: syntax errors with FILE:LINE:COLUMN and the line,
    a term over pyoxigraph's 16 MiB buffer with FILE:LINE, unreadable files with the system's reason."""
    path = Path(path)
    if not path.is_file():
        raise MscevError(f"{path}: no such file")
    try:
        yield ox.parse(**turtle_source(path), format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri()) \
            if parse else None
    except SyntaxError as error:
        why = PYOXIGRAPH_POSITION.sub("", error.msg)
        raise MscevError(f"{path}:{error.lineno}:{error.offset}: Turtle syntax error: {why}"
                         f"{_shown_line(path, error.lineno)}") from None
    except MemoryError as error:
        if "buffer maximal size" not in str(error):
            raise
        raise MscevError(f"{path}:{_first_line_longer_than(path, MAX_TERM_BYTES)}: a literal or IRI longer than "
                         "16 MiB, more than the RDF parser (and so the store) can hold in one term; shorten it or "
                         "link to a file instead") from None
    except OSError as error:
        raise MscevError(f"{path}: cannot read ({error.strerror or error})") from None


def _shown_line(path: Path, number: int | None) -> str:
    """The line a syntax error is on, indented on a line of its own (nothing when it is long or unreadable)."""
    try:
        with open(path, "rb") as handle:
            for line_no, line in enumerate(handle, start=1):
                if line_no == number:
                    text = line.decode("utf-8", "replace").strip().removeprefix("\ufeff")
                    return f"\n    {text}" if len(text) <= 300 else ""
    except OSError:
        pass
    return ""


def _first_line_longer_than(path: Path, limit: int) -> int | str:
    """The number of the first line of ``path`` longer than ``limit`` bytes, read in chunks ('?' if none)."""
    line, length = 1, 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            for piece_no, piece in enumerate(chunk.split(b"\n")):
                if piece_no:
                    line, length = line + 1, 0
                length += len(piece)
                if length > limit:
                    return line
    return "?"


def load_graph(extra: Iterable[Path] = (), files: Iterable[Path] | None = None) -> LoadedGraph:
    """Parse the project's sources (or ``files``) plus ``extra`` files into one graph."""
    paths = [*(source_files() if files is None else files), *extra]
    merged = bind_prefixes(Graph())
    origins: dict[Node, set[str]] = {}
    for path in paths:
        part = parse_turtle(Path(path))
        name = display_name(Path(path))
        for subject in set(part.subjects()):
            origins.setdefault(subject, set()).add(name)
        merged += part
    return LoadedGraph(merged, [Path(p) for p in paths], origins)


@dataclass
class LoadedStore:
    """The merged graph in a pyoxigraph store, in the named graph ``graph`` (the build's asserted graph)."""

    store: ox.Store | None  # None once a build has written everything from it (mscev.build)
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
            name = display_name(path)
            with reading_turtle(path) as parser:
                for triple in parser:
                    if triple.subject in wanted:
                        found.setdefault(triple.subject, set()).add(name)
        return {node: ", ".join(sorted(files)) for node, files in found.items()}


def load_store(files: Iterable[Path], graph: ox.NamedNode, store: ox.Store | None = None) -> LoadedStore:
    """Parse Turtle files into ``graph`` of a pyoxigraph store (a new in-memory one by default)."""
    store = ox.Store() if store is None else store
    paths = [Path(p) for p in files]
    for path in paths:
        with reading_turtle(path, parse=False):
            store.bulk_load(**turtle_source(path), format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri(),
                            to_graph=graph)
    count = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}")
    return LoadedStore(store, graph, paths, int(next(count)[0].value))


def turtle_source(path: Path) -> dict:
    """The file for pyoxigraph's parsers, as a keyword argument: ``path`` (its fastest reader), or, for a file
    that starts with a byte-order mark, ``input``: the bytes after it."""
    with open(path, "rb") as handle:
        if handle.read(len(BYTE_ORDER_MARK)) != BYTE_ORDER_MARK:
            return {"path": str(path)}
        return {"input": handle.read()}


def to_rdflib(term, blank_nodes: dict[str, BNode] | None = None):
    """A pyoxigraph term as an rdflib term; blank nodes keep their label, or with ``blank_nodes`` get a new one per
    label (kept in that dict). A simple literal stays plain, as rdflib's parsers give it (no ^^xsd:string)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        if blank_nodes is None:
            return BNode(term.value)
        return blank_nodes.setdefault(term.value, BNode())
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=None if term.datatype.value == XSD_STRING else URIRef(term.datatype.value))


def to_oxigraph(term):
    """An rdflib term as a pyoxigraph term (the inverse of to_rdflib)."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None)


def display_name(path: Path) -> str:
    """A short file name for reports: relative to the working folder when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
