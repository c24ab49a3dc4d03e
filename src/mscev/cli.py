"""The `mscev` command: a thin layer that parses arguments, calls a pipeline stage, prints, and exits.

Exit codes: 0 ok; 1 the data does not conform, is inconsistent, or a check failed; 2 usage or runtime error.
"""

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mscev.errors import MscevError
from mscev.paths import DEFAULT_BUILD_DIR, DEFAULT_RELEASE_DIR

app = typer.Typer(
    name="mscev",
    help="Knowledge graph of extracellular vesicles from mesenchymal stem cells: build, validate, reason, query.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ExtraFiles = Annotated[Optional[list[Path]], typer.Argument(help="Extra Turtle files (a curator's draft) to include.")]
BuildDir = Annotated[Path, typer.Option("--out", help="Build folder.")]
GraphIri = Annotated[Optional[str], typer.Option("--graph", help="Named graph holding the release on the server "
                     "(default https://w3id.org/mscev/data/graph/release).")]
User = Annotated[Optional[str], typer.Option("--user", envvar="MSCEV_USER", help="User at the server (Digest or "
                 "Basic authentication, whichever it asks for).")]
Password = Annotated[Optional[str], typer.Option("--password", envvar="MSCEV_PASSWORD", help="Password (or set "
                     "MSCEV_PASSWORD, which keeps it out of the process list).")]


def _version(value: bool) -> None:
    if value:
        from mscev import __version__

        out.print(f"mscev {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    """mscev: build, validate, reason over and query the MSC-EV knowledge graph."""


def _fail_on_invalid(report) -> None:
    if report.conforms:
        return
    _print_validation(report, err)
    err.print(f"[red]The graph does not conform: {len(report.violations)} violation(s).[/red]")
    raise typer.Exit(1)


def _print_validation(report, console: Console) -> None:
    if not report.results:
        console.print("[green]Conforms: no violations, no warnings.[/green]")
        return
    table = Table(title=f"{len(report.violations)} violation(s), {len(report.warnings)} warning(s)", show_lines=False)
    for column in ("severity", "file", "focus node", "path", "message"):
        table.add_column(column, overflow="fold")
    for r in sorted(report.results, key=lambda r: (r.severity != "Violation", r.file, r.focus, r.path)):
        style = "red" if r.severity == "Violation" else "yellow"
        table.add_row(f"[{style}]{r.severity}[/{style}]", *(escape(x) for x in (r.file, r.focus, r.path, r.message)))
    console.print(table)


@app.command()
def build(
    out_dir: BuildDir = DEFAULT_BUILD_DIR,
    no_reason: Annotated[bool, typer.Option("--no-reason", help="Skip the OWL reasoner.")] = False,
    engine: Annotated[str, typer.Option("--engine", help="reference (rdflib, pySHACL, HermiT), fast (pyoxigraph: "
                      "SHACL as SPARQL, OWL 2 RL rules; for millions of triples) or auto (fast above 8 MB of input).")] = "auto",
    data: Annotated[Optional[Path], typer.Option("--data", help="Folder of Turtle data used instead of triples/ "
                    "(e.g. a corpus from `mscev synth`).")] = None,
) -> None:
    """Load, validate and reason over the graph, and write build/ (graph, inferences, report, store)."""
    from mscev.build import build as run_build
    from mscev.paths import TRIPLES_DIR

    if data is not None and not data.is_dir():
        raise MscevError(f"--data {data}: no such folder")
    with err.status("building…") as status:
        def on_stage(stage: str) -> None:
            status.update(f"{stage}…")
            if not err.is_terminal:  # no spinner in a log or pipe: one line per stage instead
                err.print(f"build stage: {stage}")

        result = run_build(out_dir, use_reasoner=not no_reason, on_stage=on_stage, engine=engine,
                           data_dir=data or TRIPLES_DIR)
    _fail_on_invalid(result.report)
    if result.reasoning and not result.reasoning.consistent:
        if result.engine == "fast":
            err.print("[red]The graph is inconsistent (OWL 2 RL rules):[/red]")
            for line in result.reasoning.explanation:
                err.print(f"  - {escape(line)}")
        else:
            err.print("[red]The graph is inconsistent (HermiT); run `mscev reason` for details.[/red]")
        raise typer.Exit(1)
    if result.report.warnings:
        out.print(f"[yellow]{len(result.report.warnings)} warning(s): see {out_dir / 'validation.txt'} "
                  "or run `mscev validate`.[/yellow]")
    if result.reasoning is None:
        why = "--no-reason" if no_reason else "Java not found"
        out.print(f"[yellow]Reasoner not run ({why}).[/yellow]")
    table = Table(title=f"mscev build → {out_dir} ({result.engine} engine)")
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, value in result.counts.items():
        table.add_row(key, str(value))
    for stage, seconds in result.seconds.items():
        table.add_row(f"time: {stage} (s)", f"{seconds:.2f}")
    out.print(table)


@app.command()
def synth(
    findings: Annotated[int, typer.Option("--findings", help="How many findings (1 to 9,999,999).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write (replaced whole).")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")] = 0,
    broken: Annotated[float, typer.Option("--broken", help="Fraction of findings that break one shape each; "
                      "broken.tsv lists what validation must report.")] = 0.0,
) -> None:
    """Write a synthetic corpus shaped like the curated findings, for benchmarks (`mscev build --data DIR`)."""
    from mscev.synth import synthesize

    with err.status("writing the corpus…"):
        result = synthesize(findings, out_dir, seed=seed, broken=broken)
    table = Table(title=f"mscev synth → {out_dir} (seed {seed})")
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, value in result.counts.items():
        table.add_row(key, f"{value:,}")
    table.add_row("broken findings", f"{len({focus for focus, _, _ in result.broken}):,}")
    out.print(table)


@app.command()
def validate(
    extra: ExtraFiles = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table (for people) or tsv (one result per line).")] = "table",
    violations_only: Annotated[bool, typer.Option("--violations-only", help="Leave warnings out.")] = False,
) -> None:
    """Validate the graph (plus EXTRA files) against the SHACL shapes; report with files and focus nodes."""
    from mscev.load import load_graph
    from mscev.validate import validate as run_validate

    if fmt not in ("table", "tsv"):
        raise MscevError(f"--format {fmt!r}: choose table or tsv")
    report = run_validate(load_graph(extra or []))
    if violations_only:
        report.results = report.violations
    if fmt == "tsv":
        out.file.write(report.as_text())
    else:
        _print_validation(report, out)
    raise typer.Exit(0 if report.conforms else 1)


@app.command()
def reason(
    extra: ExtraFiles = None,
    profile: Annotated[str, typer.Option("--profile", help="dl: HermiT (OWL 2 DL); rl: OWL 2 RL closure (fast, for large graphs).")] = "dl",
    build_dir: Annotated[Path, typer.Option("--build", help="Build folder whose inferred triples are updated.")] = DEFAULT_BUILD_DIR,
) -> None:
    """Reason over the ontology and data (plus EXTRA files): consistency, unsatisfiable classes, inferred facts.

    Without EXTRA files, and when a build exists, the inferred triples replace those of the build
    (build/inferred.ttl and the store's inferred graph). A curator's draft never changes the build.
    """
    from mscev.build import update_inferred
    from mscev.load import load_graph
    from mscev.reason import reason as run_reason

    loaded = load_graph(extra or [])
    result = run_reason(loaded.graph, profile)
    timings = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in result.seconds.items())
    if not result.consistent:
        err.print(f"[red]Inconsistent[/red] ({timings}): the ontology and data contradict each other.")
        for line in result.explanation or ["No single axiom was identified; check the last statements you added."]:
            err.print(f"  - {escape(line)}")
        raise typer.Exit(1)
    table = Table(title=f"Reasoning ({'HermiT, OWL 2 DL' if profile == 'dl' else 'OWL 2 RL closure'})")
    table.add_column("result")
    table.add_column("value", justify="right")
    table.add_row("consistent", "yes")
    table.add_row("unsatisfiable classes", str(len(result.unsatisfiable)))
    for kind, count in result.counts().items():
        table.add_row(f"inferred {kind}", str(count))
    for step, seconds in result.seconds.items():
        table.add_row(f"time: {step} (s)", f"{seconds:.2f}")
    out.print(table)
    for iri in result.unsatisfiable:
        out.print(f"  unsatisfiable: {escape(iri)}")
    if not extra and (build_dir / "store").is_dir():
        update_inferred(build_dir, result)
        out.print(f"Inferred triples written to {build_dir / 'inferred.ttl'} and the store's inferred graph.")


@app.command()
def query(
    name: Annotated[Optional[str], typer.Argument(help="Stored query name, or a .rq file.")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="key=value (repeatable); an iri "
                     "parameter takes a full IRI, a CURIE or a label.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, tsv or json (SPARQL 1.1 results JSON).")] = "table",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write results to this file.")] = None,
    list_queries: Annotated[bool, typer.Option("--list", help="List the stored queries (as a table or json).")] = False,
    ids: Annotated[bool, typer.Option("--ids", help="In the table, show the CURIE after each label.")] = False,
    asserted: Annotated[bool, typer.Option("--asserted-only", help="Ignore the reasoner's inferences.")] = False,
    build_dir: Annotated[Path, typer.Option("--build", help="Build folder holding the store.")] = DEFAULT_BUILD_DIR,
    endpoint: Annotated[Optional[str], typer.Option("--endpoint", help="Run it on this SPARQL 1.1 endpoint instead "
                        "(a server `mscev publish` loaded), e.g. http://HOST:8890/sparql.")] = None,
    graph: GraphIri = None,
    user: User = None,
    password: Password = None,
) -> None:
    """Run a stored SPARQL query (or an ad-hoc .rq file) on the built store, or on a server with --endpoint."""
    from mscev import render
    from mscev.query import find_query, open_store, run_query, stale_sources, stored_queries

    if list_queries:
        render.write_catalogue(stored_queries(), fmt, out_file, out)
        return
    if not name:
        raise MscevError("name a stored query (see `mscev query --list`) or a .rq file")
    render.check_format(fmt)
    values = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MscevError(f"--param {item!r}: write it as key=value")
        values[key.strip()] = value
    stored = find_query(name)
    if endpoint:
        _query_endpoint(stored, values, endpoint, graph, user, password, asserted, fmt, out_file, ids)
        return
    store = open_store(build_dir)
    changed = stale_sources(build_dir)
    if changed:
        err.print(f"[yellow]note: {len(changed)} source file(s) changed since the last build (e.g. "
                  f"{escape(changed[0].name)}); run `mscev build` for current answers.[/yellow]")
    results = run_query(stored, values, store=store, inferred=not asserted)
    render.emit(results, fmt, out_file, out, label=render.labeler(store), ids=ids, title=stored.summary or None)


def _query_endpoint(stored, values, endpoint, graph, user, password, asserted, fmt, out_file, ids) -> None:
    """`mscev query --endpoint`: the same binding and output, on a server; the table's labels come from it."""
    from mscev import render
    from mscev.remote import PUBLISHED_GRAPH, RemoteStore, run_remote_query

    if asserted:
        raise MscevError("--asserted-only: a published graph holds asserted and inferred triples together; "
                         "query the built store for asserted triples only")
    with RemoteStore(endpoint, graph or PUBLISHED_GRAPH, user, password) as remote:
        results = run_remote_query(stored, values, remote)
        labels = None
        if fmt == "table":
            results, labels = remote.labels(results)
    render.emit(results, fmt, out_file, out, label=render.labeler(labels) if labels is not None else None, ids=ids,
                title=stored.summary or None)


@app.command()
def stats(build_dir: Annotated[Path, typer.Option("--build", help="Build folder.")] = DEFAULT_BUILD_DIR) -> None:
    """Counts of what the built graph holds."""
    summary = build_dir / "summary.json"
    if not summary.is_file():
        raise MscevError(f"no build in {build_dir}: run `mscev build` first")
    data = json.loads(summary.read_text(encoding="utf-8"))
    table = Table(title=f"mscev graph ({build_dir})")
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, value in data["counts"].items():
        table.add_row(key, str(value))
    out.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
    build_dir: Annotated[Path, typer.Option("--build", help="Build folder holding the store.")] = DEFAULT_BUILD_DIR,
    workers: Annotated[int, typer.Option("--workers", help="Query worker processes.", min=1)] = 2,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a query may run before it is stopped (503).",
                                           min=0.1)] = 10.0,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Rows (or triples) a result may have; more is refused "
                                          "with 400 (web pages show the first rows instead).", min=1)] = 10_000,
    max_body: Annotated[int, typer.Option("--max-body", help="Bytes a request body may have (413 beyond).",
                                          min=1024)] = 256 * 1024,
    worker_memory: Annotated[int, typer.Option("--worker-memory", help="MiB of memory a query worker may use "
                                               "(503 beyond).", min=256)] = 2048,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level (info logs each request).")] = "info",
) -> None:
    """Serve the built graph: SPARQL 1.1 endpoint at /sparql, linked-data pages, and a web interface at /."""
    from mscev.serve import Settings, serve as run_server

    settings = Settings(build_dir, workers, timeout, max_rows, max_body, worker_memory)
    err.print(f"mscev serving {build_dir} at http://{host}:{port}/ (SPARQL endpoint: /sparql); Ctrl-C stops it.")
    run_server(host, port, settings, log_level=log_level)


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="ttl, nt, jsonld, rdfxml (the ontology), trig or nq "
                                     "(nanopublications).")] = "ttl",
    inferred: Annotated[bool, typer.Option("--inferred/--asserted", help="With or without the reasoner's "
                                           "inferred triples.")] = False,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write to this file (default: standard output).")] = None,
    build_dir: Annotated[Path, typer.Option("--build", help="Build folder.")] = DEFAULT_BUILD_DIR,
) -> None:
    """Export the built graph in a standard RDF form; the same build always gives the same bytes."""
    from mscev import atomic, render
    from mscev.export import export as run_export
    from mscev.export import streams, write_streamed

    if not streams(fmt, build_dir):
        render.write_text(run_export(fmt, build_dir, inferred=inferred).decode("utf-8"), out_file, out)
    elif out_file is None:
        write_streamed(fmt, sys.stdout.buffer, build_dir, inferred=inferred)
    else:
        with atomic.writing(out_file) as handle:
            write_streamed(fmt, handle, build_dir, inferred=inferred)
    if out_file:
        err.print(f"Wrote {out_file}.")


@app.command()
def release(
    out_dir: Annotated[Path, typer.Option("--out", help="Release folder (replaced whole).")] = DEFAULT_RELEASE_DIR,
    build_dir: Annotated[Path, typer.Option("--build", help="Build folder.")] = DEFAULT_BUILD_DIR,
) -> None:
    """Write every export, the VoID/DCAT description, KGX tables, ontology pages and checksums to one folder."""
    from mscev.release import write_release

    with err.status("writing the release…"):
        result = write_release(build_dir, out_dir)
    table = Table(title=f"mscev {result.version} (issued {result.issued}) → {out_dir}")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for name, size in result.files.items():
        table.add_row(name, f"{size:,}")
    out.print(table)


@app.command()
def publish(
    endpoint: Annotated[str, typer.Option("--endpoint", help="The server's SPARQL 1.1 Graph Store endpoint: Virtuoso "
                        "http://HOST:8890/sparql-graph-crud-auth, Fuseki http://HOST:3030/DATASET/data, Oxigraph "
                        "http://HOST:7878/store, GraphDB http://HOST:7200/repositories/REPO/rdf-graphs/service.")],
    graph: GraphIri = None,
    user: User = None,
    password: Password = None,
    release_dir: Annotated[Path, typer.Option("--release", help="Release folder (`mscev release`).")] = DEFAULT_RELEASE_DIR,
    chunk: Annotated[Optional[int], typer.Option("--chunk", help="Triples per request (default 50,000).", min=1)] = None,
) -> None:
    """Load a release (asserted and inferred triples) into a triple store server, replacing the graph it had there."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from mscev.remote import CHUNK_TRIPLES, PUBLISHED_GRAPH, publish as run_publish

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("triples"),
               TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("publishing", total=None)
        result = run_publish(endpoint, release_dir, graph or PUBLISHED_GRAPH, user, password, chunk or CHUNK_TRIPLES,
                             on_chunk=lambda sent, total: progress.update(task, completed=sent, total=total))
    table = Table(title=f"mscev publish {release_dir} → {endpoint}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("graph", escape(result.graph))
    table.add_row("triples sent", f"{result.triples:,}")
    table.add_row("requests (chunks)", f"{result.chunks:,}")
    table.add_row("bytes", f"{result.bytes:,}")
    table.add_row("time (s)", f"{result.seconds:.2f}")
    table.add_row("triples per second", f"{result.triples / max(result.seconds, 1e-9):,.0f}")
    out.print(table)
    out.print(f"Query it with `mscev query NAME --endpoint URL` (its SPARQL endpoint, e.g. http://HOST:8890/sparql"
              f"{'' if result.graph == PUBLISHED_GRAPH else ' --graph ' + escape(result.graph)}).")


@app.command("check-quotes")
def check_quotes(
    source: Annotated[Path, typer.Option("--source", help="The source text the quotes come from.")],
    extra: ExtraFiles = None,
) -> None:
    """Check that every mscev:evidenceQuote appears verbatim in SOURCE (white space folded)."""
    from mscev.load import load_graph
    from mscev.quotes import check_quotes as run_check, read_source

    text = read_source(source)
    checked, problems = run_check(load_graph(extra or []), text)
    for problem in problems:
        out.print(f"[red]not verbatim[/red]\t{escape(problem.file)}\t{escape(problem.statement)}\t{escape(repr(problem.quote[:120]))}")
    out.print(f"{checked} quote(s) checked, {len(problems)} not found verbatim in {source}.")
    raise typer.Exit(1 if problems else 0)


@app.command()
def coverage(
    source: Annotated[Path, typer.Option("--source", help="The review text whose citations are checked.")],
) -> None:
    """Per review section: citations in the text, those the graph covers, and findings per source."""
    from mscev.coverage import coverage as section_coverage, findings_per_source
    from mscev.load import load_graph
    from mscev.quotes import read_source

    text = read_source(source)
    graph = load_graph().graph
    sections = section_coverage(graph, text)
    table = Table(title="Citations per review section")
    for column in ("section", "cited", "covered", "excluded", "missing"):
        table.add_column(column, overflow="fold")
    for section in sections:
        table.add_row(escape(section.heading), str(len(section.cited)), str(len(section.covered)),
                      ", ".join(map(str, section.excluded)) or "-",
                      f"[red]{', '.join(map(str, section.missing))}[/red]" if section.missing else "-")
    out.print(table)
    per_source = Table(title="Findings per MSC source")
    per_source.add_column("source")
    per_source.add_column("findings", justify="right")
    for name, count in findings_per_source(graph).items():
        per_source.add_row(escape(name), str(count))
    out.print(per_source)
    missing = sorted({n for section in sections for n in section.missing})
    if missing:
        out.print(f"[red]{len(missing)} citation(s) covered by no statement and not excluded: "
                  f"{', '.join(map(str, missing))}[/red] (see triples/README.md, 'Coverage exclusions').")
    raise typer.Exit(1 if missing else 0)


@app.command("update-imports")
def update_imports() -> None:
    """Regenerate ontology/imports/external.ttl from the term list ontology/imports/terms.tsv."""
    from mscev.imports import write_imports

    count = write_imports()
    out.print(f"Wrote ontology/imports/external.ttl with {count} terms.")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code so tests can call it in process."""
    try:
        code = app(args=argv, prog_name="mscev", standalone_mode=False)
    except MscevError as error:
        err.print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
        return error.exit_code
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        return 2
    except typer.exceptions.TyperException as error:  # usage errors: unknown option, bad value
        error.show()
        return 2
    return code if isinstance(code, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
