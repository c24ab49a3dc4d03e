"""Output of query results: a readable table (rich), plain CSV and TSV for spreadsheets and scripts, and the SPARQL
1.1 result formats through pyoxigraph's own serialisers.

rich is imported only when a table is drawn: importing it costs `mscev query -f csv` about 60 ms. In the table, IRIs
are shown by their rdfs:label (the CURIE when a term has none); ``ids=True`` adds the CURIE after the label, for
users who want identifiers. Plain CSV and TSV give each IRI as its CURIE with a label column beside it
(``<column>Label``, unless the query already projects one); literals as their lexical form.
"""

import csv
import functools
import io
import json
import os
import sys
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pyoxigraph as ox

from mscev import atomic
from mscev.errors import MscevError
from mscev.namespaces import curie

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

ConsoleMaker = Callable[[], "Console"]  # the console, made on first use (see mscev.cli)

SPARQL_FORMATS = {"srj": ox.QueryResultsFormat.JSON, "json": ox.QueryResultsFormat.JSON,
                  "srx": ox.QueryResultsFormat.XML, "srcsv": ox.QueryResultsFormat.CSV, "srtsv": ox.QueryResultsFormat.TSV}
PLAIN_FORMATS = {"csv": ",", "tsv": "\t"}
FORMATS = ("table", *PLAIN_FORMATS, *SPARQL_FORMATS)
FORMAT_HELP = ("table (for people), csv or tsv (plain values: CURIEs with a label column beside each, for "
               "spreadsheets), or a SPARQL 1.1 results format: srj (JSON; also json), srx (XML), srcsv, srtsv.")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
PLAIN_LOOKAHEAD = 1000  # rows read before plain CSV/TSV output starts (to find the columns that hold IRIs)
LABEL_CACHE_SIZE = 20_000  # IRIs; the graph has a few thousand labelled ones


def labeler(store: ox.Store, cache_size: int = LABEL_CACHE_SIZE):
    """A function giving the rdfs:label of an IRI in ``store`` (English or plain first, then by string order);
    the last ``cache_size`` IRIs asked about are remembered (a server is asked about any IRI anyone sends)."""

    @functools.lru_cache(maxsize=cache_size)
    def label_of(iri: str) -> str | None:
        labels = sorted((q.object.language not in (None, "en"), q.object.value)
                        for q in store.quads_for_pattern(ox.NamedNode(iri), RDFS_LABEL, None)
                        if isinstance(q.object, ox.Literal))
        return labels[0][1] if labels else None

    def label(node: ox.NamedNode) -> str | None:
        return label_of(node.value)

    label.cache_info = label_of.cache_info
    return label


def show_term(term, label=None, ids: bool = False) -> str:
    """A term for people: an IRI by its label (with its CURIE when ``ids``), a literal by its lexical form."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        text = curie(term.value)
        name = label(term) if label else None
        if not name:
            return text
        return f"{name} ({text})" if ids else name
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def emit(results, fmt: str, out_file: Path | None, console: ConsoleMaker, label=None, ids: bool = False,
         title: str | None = None, caption: str | None = None) -> None:
    """Write results in ``fmt`` to ``out_file`` (atomically) or standard output; a table ends with ``caption``
    (which inferences the answer saw, whether the data is synthetic) after its row count."""
    check_format(fmt)
    if isinstance(results, ox.QueryTriples):
        write_text(ox.serialize(results, format=ox.RdfFormat.TURTLE).decode("utf-8"), out_file)
        return
    if fmt in SPARQL_FORMATS:
        with _output(out_file) as handle:  # pyoxigraph writes each row as the store yields it
            results.serialize(handle, format=SPARQL_FORMATS[fmt])
        return
    if isinstance(results, ox.QueryBoolean):
        write_text(str(bool(results)).lower() + "\n", out_file)
        return
    if fmt in PLAIN_FORMATS:
        with _output(out_file) as handle:
            for text in plain_rows(results, PLAIN_FORMATS[fmt], label):
                handle.write(text.encode("utf-8"))
        return
    from rich.markup import escape
    from rich.table import Table

    variables = [v.value for v in results.variables]
    solutions = list(results)
    variables = [name for name in variables if not _is_label_of_iri_column(name, variables, solutions)]
    rows = [[show_term(solution[name], label, ids) for name in variables] for solution in solutions]
    table = Table(title=escape(title) if title else None, show_lines=False)
    if len(rows) == 1 and len(variables) > 3:  # one wide row (a summary) reads better as name / value pairs
        table.add_column("variable")
        table.add_column("value", overflow="fold")
        for name, value in zip(variables, rows[0]):
            table.add_row(escape(name), escape(value))
    else:
        for name in variables:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*(escape(value) for value in row))
    table.caption = f"{len(rows)} row{'' if len(rows) == 1 else 's'}" + (f" · {escape(caption)}" if caption else "")
    _write_table(table, out_file, console)


def _is_label_of_iri_column(name: str, variables: list[str], solutions) -> bool:
    """``conditionLabel`` beside an IRI column ``condition``: the table already shows that column by its label."""
    column = name[:-len("Label")] if name.endswith("Label") else None
    return column in variables and any(isinstance(s[column], ox.NamedNode) for s in solutions)


def plain_table(results, delimiter: str, label=None) -> str:
    """Rows of plain values, a label column after each column that holds IRIs (none where the query has one)."""
    return "".join(plain_rows(results, delimiter, label))


def plain_rows(results, delimiter: str, label=None, lookahead: int = PLAIN_LOOKAHEAD) -> Iterator[str]:
    """plain_table's text a few rows at a time, so a long answer streams: which columns hold IRIs (and get a
    label column) is judged from the first ``lookahead`` rows, which for a shorter answer are all of them."""
    variables = [v.value for v in results.variables]
    rows = iter(results)
    solutions = list(itertools.islice(rows, lookahead))
    iri_columns = {name for name in variables if any(isinstance(s[name], ox.NamedNode) for s in solutions)}
    labelled = {name for name in iri_columns if f"{name}Label" not in variables}
    header = [h for name in variables for h in ([name, f"{name}Label"] if name in labelled else [name])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for count, solution in enumerate(itertools.chain(solutions, rows), start=1):
        if count % lookahead == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        row = []
        for name in variables:
            term = solution[name]
            row.append("" if term is None else curie(term.value) if isinstance(term, ox.NamedNode) else
                       f"_:{term.value}" if isinstance(term, ox.BlankNode) else term.value)
            if name in labelled:
                row.append((label(term) or "") if label and isinstance(term, ox.NamedNode) else "")
        writer.writerow(row)
    yield buffer.getvalue()


@contextmanager
def _output(out_file: Path | None) -> Iterator[BinaryIO]:
    """Standard output, or ``out_file`` written atomically (mscev.atomic): bytes as they come."""
    if out_file is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with atomic.writing(out_file) as handle:
        yield handle


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise MscevError(f"--format {fmt!r}: choose {FORMAT_HELP}")


def catalogue(queries) -> "Table":
    """The stored queries as a table: name, question, parameters."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(queries)} stored queries (queries/)")
    table.add_column("name", no_wrap=True, min_width=max((len(name) for name in queries), default=4))
    table.add_column("question", overflow="fold")
    table.add_column("parameters", overflow="fold")
    for query in queries.values():
        params = "; ".join(
            f"{p.name} ({p.type}{'(' + '|'.join(p.kinds) + ')' if p.kinds else ''}"
            f"{' = ' + p.default if p.default else ''}): {p.description}" for p in query.parameters)
        table.add_row(query.name, escape(query.summary), escape(params or "-"))
    return table


def catalogue_json(queries) -> str:
    """The stored queries as JSON, for programs (a web page, a notebook)."""
    return json.dumps([
        {"name": q.name, "summary": q.summary, "tags": list(q.tags), "file": q.path.name,
         "parameters": [{"name": p.name, "type": p.type, "kinds": list(p.kinds), "default": p.default,
                         "description": p.description} for p in q.parameters]}
        for q in queries.values()], indent=2, ensure_ascii=False) + "\n"


def catalogue_lines(queries, width: int | None = None) -> str:
    """One line per stored query, its name and its question (cut to ``width`` on a terminal)."""
    name_width = max((len(name) for name in queries), default=4)
    lines = [f"{name:<{name_width}}  {query.summary}" for name, query in queries.items()]
    if width:
        lines = [line if len(line) <= width else line[:width - 1] + "…" for line in lines]
    return "\n".join(lines) + "\n"


def write_catalogue(queries, fmt: str, out_file: Path | None, console: ConsoleMaker, long: bool = False) -> None:
    """`mscev query --list`: one line per query, a full table with parameters (``long``), or JSON for programs."""
    check_format(fmt)
    if fmt in ("json", "srj"):
        write_text(catalogue_json(queries), out_file)
    elif fmt != "table":
        raise MscevError(f"--list --format {fmt}: the list is written as lines, a table (--long) or json")
    elif long:
        _write_table(catalogue(queries), out_file, console)
    else:
        width = os.get_terminal_size().columns if out_file is None and sys.stdout.isatty() else None
        write_text(catalogue_lines(queries, width), out_file)


def _write_table(table: "Table", out_file: Path | None, console: ConsoleMaker) -> None:
    if out_file is None:
        console().print(table)
        return
    from rich.console import Console

    with open(os.devnull, "w") as sink:
        capture = Console(file=sink, record=True, width=200, emoji=False)
        capture.print(table)
    write_text(capture.export_text(), out_file)


def write_text(text: str, out_file: Path | None) -> None:
    """``text`` to standard output, or to ``out_file`` atomically (mscev.atomic)."""
    if out_file is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    atomic.write_text(out_file, text)
