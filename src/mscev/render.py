"""Output of query results: machine formats through pyoxigraph's own serialisers, a readable table with rich."""

import os
import tempfile
from pathlib import Path

import pyoxigraph as ox
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mscev.errors import MscevError
from mscev.namespaces import curie

MACHINE_FORMATS = {"csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV, "json": ox.QueryResultsFormat.JSON}
FORMATS = ("table", *MACHINE_FORMATS)
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")


def labeler(store: ox.Store):
    """A function giving the rdfs:label of an IRI in ``store`` (first one, by string order), or None."""
    cache: dict[str, str | None] = {}

    def label(node: ox.NamedNode) -> str | None:
        if node.value not in cache:
            labels = sorted(q.object.value for q in store.quads_for_pattern(node, RDFS_LABEL, None))
            cache[node.value] = labels[0] if labels else None
        return cache[node.value]

    return label


def show_term(term, label=None) -> str:
    """A term for people: 'label (CURIE)' for IRIs, the lexical form for literals."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        text = curie(term.value)
        name = label(term) if label else None
        return f"{name} ({text})" if name else text
    return term.value


def emit(results, fmt: str, out_file: Path | None, console: Console, label=None) -> None:
    """Write results in ``fmt`` to ``out_file`` (atomically) or the console."""
    if fmt not in FORMATS:
        raise MscevError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if isinstance(results, ox.QueryBoolean):
        _write_text(str(bool(results)).lower() + "\n", out_file, console)
        return
    if isinstance(results, ox.QueryTriples):
        data = ox.serialize(results, format=ox.RdfFormat.TURTLE)
        _write_text(data.decode("utf-8"), out_file, console)
        return
    if fmt in MACHINE_FORMATS:
        _write_text(results.serialize(format=MACHINE_FORMATS[fmt]).decode("utf-8"), out_file, console)
        return
    variables = [v.value for v in results.variables]
    table = Table(show_lines=False)
    for name in variables:
        table.add_column(name, overflow="fold")
    count = 0
    for solution in results:
        table.add_row(*(escape(show_term(solution[name], label)) for name in variables))
        count += 1
    table.caption = f"{count} row(s)"
    if out_file:
        with open(os.devnull, "w") as sink:
            capture = Console(file=sink, record=True, width=200)
            capture.print(table)
        _write_text(capture.export_text(), out_file, console)
    else:
        console.print(table)


def catalogue(queries) -> Table:
    """The stored queries as a table: name, question, parameters."""
    table = Table(title=f"{len(queries)} stored queries (queries/)")
    table.add_column("name", no_wrap=True)
    table.add_column("question", overflow="fold")
    table.add_column("parameters", overflow="fold")
    for query in queries.values():
        params = "; ".join(
            f"{p.name} ({p.type}{' = ' + p.default if p.default else ''})" for p in query.parameters) or "-"
        table.add_row(query.name, escape(query.summary), escape(params))
    return table


def _write_text(text: str, out_file: Path | None, console: Console) -> None:
    if out_file is None:
        console.file.write(text)
        console.file.flush()
        return
    out_file = Path(out_file)
    try:
        handle = tempfile.NamedTemporaryFile("w", dir=out_file.parent, delete=False, encoding="utf-8",
                                             prefix=f".{out_file.name}.")
    except OSError as error:
        raise MscevError(f"--out {out_file}: cannot write there ({error.strerror})") from None
    with handle:
        handle.write(text)
    os.replace(handle.name, out_file)
