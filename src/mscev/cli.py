"""The `mscev` command: a thin layer that parses arguments, calls a pipeline stage, prints, and exits.

Exit codes: 0 ok; 1 the data does not conform, is inconsistent, or a check failed; 2 usage or runtime error.
Start-up is most of what `mscev query` costs, so: plain click rather than typer (typer's type coercion imports
pydantic, which alone doubled it), and rich imported only when something is printed through it (about 60 ms).
"""

import functools
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mscev.errors import MscevError
from mscev.paths import DEFAULT_BUILD_DIR, DEFAULT_RELEASE_DIR, REVIEW_FILE

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def out() -> "Console":
    """Standard output as a rich console, made on first use."""
    from rich.console import Console

    return Console(soft_wrap=True, emoji=False)  # ":label:" in a message is text, not an emoji


@functools.cache
def err() -> "Console":
    """Standard error as a rich console, made on first use."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, emoji=False)


def escape(text: str) -> str:
    """Text printed through rich's markup as it is (rich imported on first use)."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)

SUPERVISED = ("build", "reason")  # the commands that hold a whole graph in memory
PATH = click.Path(path_type=Path)
extra_files = click.argument("extra", nargs=-1, type=PATH, metavar="[EXTRA]...")


def build_option(help_text: str = "Build folder holding the store."):
    return click.option("--build", "build_dir", type=PATH, default=DEFAULT_BUILD_DIR, help=help_text)


graph_option = click.option("--graph", help="Named graph holding the release on the server "
                            "(default https://w3id.org/mscev/data/graph/release).")
user_option = click.option("--user", envvar="MSCEV_USER", help="User at the server (Digest or Basic authentication, "
                           "whichever it asks for).")
password_option = click.option("--password", envvar="MSCEV_PASSWORD", help="Password (or set MSCEV_PASSWORD, which "
                               "keeps it out of the process list).")


def _version(context: click.Context, _option: click.Parameter, value: bool) -> None:
    if value:
        from mscev import __version__

        out().print(f"mscev {__version__}")
        context.exit()


@click.group(name="mscev", no_args_is_help=True, context_settings={"show_default": True})
@click.option("--version", is_flag=True, callback=_version, expose_value=False, is_eager=True,
              help="Show the version.")
def app() -> None:
    """Knowledge graph of extracellular vesicles from mesenchymal stem cells: build, validate, reason, query."""


def _fail_on_invalid(report) -> None:
    if report.conforms:
        return
    _print_validation(report, err())
    err().print(f"[red]The graph does not conform: {len(report.violations)} violation(s).[/red]")
    raise click.exceptions.Exit(1)


def _print_validation(report, console: "Console") -> None:
    from rich.table import Table

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
@click.option("--out", "out_dir", type=PATH, default=DEFAULT_BUILD_DIR, help="Build folder.")
@click.option("--no-reason", is_flag=True, help="Skip the OWL reasoner.")
@click.option("--engine", type=click.Choice(["reference", "fast", "auto"]), default="auto",
              help="reference (rdflib, pySHACL, HermiT), fast (pyoxigraph: SHACL as SPARQL, OWL 2 RL rules; for "
              "millions of triples) or auto (fast above 8 MB of input).")
@click.option("--data", type=PATH, help="Folder of Turtle data used instead of triples/ (e.g. a corpus from "
              "`mscev synth`).")
def build(out_dir: Path, no_reason: bool, engine: str, data: Path | None) -> None:
    """Load, validate and reason over the graph, and write build/ (graph, inferences, report, store)."""
    from rich.table import Table

    from mscev.build import build as run_build
    from mscev.paths import TRIPLES_DIR
    from mscev.processes import report_stage

    if data is not None and not data.is_dir():
        raise MscevError(f"--data {data}: no such folder")
    with err().status("building…") as status:
        def on_stage(stage: str) -> None:
            report_stage(stage)
            status.update(f"{stage}…")
            if not err().is_terminal:  # no spinner in a log or pipe: one line per stage instead
                err().print(f"build stage: {stage}")

        result = run_build(out_dir, use_reasoner=not no_reason, on_stage=on_stage, engine=engine,
                           data_dir=data or TRIPLES_DIR)
    _fail_on_invalid(result.report)
    if result.reasoning and not result.reasoning.consistent:
        if result.engine == "fast":
            err().print("[red]The graph is inconsistent (OWL 2 RL rules):[/red]")
            for line in result.reasoning.explanation:
                err().print(f"  - {escape(line)}")
        else:
            err().print("[red]The graph is inconsistent (HermiT); run `mscev reason` for details.[/red]")
        raise click.exceptions.Exit(1)
    if result.report.warnings:
        out().print(f"[yellow]{len(result.report.warnings)} warning(s): see {out_dir / 'validation.txt'} "
                  "or run `mscev validate`.[/yellow]")
    if result.reasoning is None:
        why = "--no-reason" if no_reason else "Java not found"
        out().print(f"[yellow]Reasoner not run ({why}).[/yellow]")
    table = Table(title=f"mscev build → {out_dir} ({result.engine} engine)"
                  + ("\nSYNTHETIC corpus (mscev synth), not the review" if result.synthetic else ""))
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, value in result.counts.items():
        table.add_row(key, str(value))
    for stage, seconds in result.seconds.items():
        table.add_row(f"time: {stage} (s)", f"{seconds:.2f}")
    out().print(table)


@app.command()
@click.option("--findings", type=int, required=True, help="How many findings (1 to 9,999,999).")
@click.option("--out", "out_dir", type=PATH, required=True, help="Folder to write (replaced whole).")
@click.option("--seed", type=int, default=0, help="Random seed: the same seed gives the same files.")
@click.option("--broken", type=float, default=0.0, help="Fraction of findings that break one shape each; broken.tsv "
              "lists what validation must report.")
def synth(findings: int, out_dir: Path, seed: int, broken: float) -> None:
    """Write a synthetic corpus shaped like the curated findings, for benchmarks (`mscev build --data DIR`)."""
    from rich.table import Table

    from mscev.synth import synthesize

    with err().status("writing the corpus…"):
        result = synthesize(findings, out_dir, seed=seed, broken=broken)
    table = Table(title=f"mscev synth → {out_dir} (seed {seed})")
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, value in result.counts.items():
        table.add_row(key, f"{value:,}")
    table.add_row("broken findings", f"{len({focus for focus, _, _ in result.broken}):,}")
    out().print(table)


@app.command()
@extra_files
@click.option("--format", "-f", "fmt", default="table", help="table (for people) or tsv (one result per line).")
@click.option("--violations-only", is_flag=True, help="Leave warnings out.")
@click.option("--all", "show_all", is_flag=True, help="With EXTRA files: show the whole graph's results too, not only "
              "those about what the EXTRA files state.")
def validate(extra: tuple[Path, ...], fmt: str, violations_only: bool, show_all: bool) -> None:
    """Validate the graph (plus EXTRA files, e.g. a draft) against the SHACL shapes; report with files and focus nodes.

    With EXTRA files, only the results about nodes those files state are shown (a one-line count of the rest
    follows); --all shows everything. The exit code is 1 when the merged graph has any violation."""
    from mscev.load import display_name, load_graph
    from mscev.validate import validate as run_validate

    if fmt not in ("table", "tsv"):
        raise MscevError(f"--format {fmt!r}: choose table or tsv")
    report = run_validate(load_graph(list(extra)))
    if violations_only:
        report.results = report.violations
    shown, rest = (report.about_files({display_name(path) for path in extra}) if extra and not show_all
                   else (report, None))
    if fmt == "tsv":
        out().file.write(shown.as_text())
    else:
        _print_validation(shown, out())
    if rest is not None and rest.results:
        err().print(f"The rest of the graph: {len(rest.violations)} violation(s), {len(rest.warnings)} warning(s), "
                    "not shown (--all shows them).")
    raise click.exceptions.Exit(0 if report.conforms else 1)


@app.command()
@extra_files
@click.option("--profile", default="dl", help="dl: HermiT (OWL 2 DL); rl: OWL 2 RL closure (fast, for large graphs).")
@build_option("Build folder whose inferred triples are updated.")
@click.option("--replace", is_flag=True, help="Replace the build's inferences even when they come from another "
              "profile (e.g. HermiT's by the OWL 2 RL closure, which changes query answers).")
def reason(extra: tuple[Path, ...], profile: str, build_dir: Path, replace: bool) -> None:
    """Reason over the ontology and data (plus EXTRA files): consistency, unsatisfiable classes, inferred facts.

    Without EXTRA files, and when a build exists, the inferred triples replace those of the build
    (build/inferred.ttl and the store's inferred graph) when they come from the same profile as the build's,
    or with --replace. A curator's draft never changes the build.
    """
    from rich.table import Table

    from mscev.build import update_inferred
    from mscev.load import load_graph
    from mscev.reason import reason as run_reason

    loaded = load_graph(list(extra))
    result = run_reason(loaded.graph, profile)
    timings = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in result.seconds.items())
    if not result.consistent:
        err().print(f"[red]Inconsistent[/red] ({timings}): the ontology and data contradict each other.")
        for line in result.explanation or ["No single axiom was identified; check the last statements you added."]:
            err().print(f"  - {escape(line)}")
        raise click.exceptions.Exit(1)
    table = Table(title=f"Reasoning ({'HermiT, OWL 2 DL' if profile == 'dl' else 'OWL 2 RL closure'})")
    table.add_column("result")
    table.add_column("value", justify="right")
    table.add_row("consistent", "yes")
    table.add_row("unsatisfiable classes", str(len(result.unsatisfiable)))
    for kind, count in result.counts().items():
        table.add_row(f"inferred {kind}", str(count))
    for step, seconds in result.seconds.items():
        table.add_row(f"time: {step} (s)", f"{seconds:.2f}")
    out().print(table)
    for iri in result.unsatisfiable:
        out().print(f"  unsatisfiable: {escape(iri)}")
    if extra or not (build_dir / "store").is_dir():
        return
    from mscev.build import ENGINE_NAMES
    from mscev.query import build_summary

    current, new = build_summary(build_dir).get("reasoner", "not run"), ENGINE_NAMES[profile]
    if current not in (new, "not run") and not replace:
        out().print(f"[yellow]The build's inferences come from {escape(current)}; these ({escape(new)}) were not "
                    "written into it, since they would change query answers. Add --replace to replace them.[/yellow]")
        return
    update_inferred(build_dir, result)
    out().print(f"Inferred triples ({escape(new)}) written to {build_dir / 'inferred.ttl'} and the store's inferred "
                "graph; queries now report them.")


@app.command()
@click.argument("name", required=False)
@click.option("--param", "-p", multiple=True, help="key=value (repeatable); an iri parameter takes a full IRI, a CURIE "
              "or a label.")
@click.option("--format", "-f", "fmt", default="table", help="table (for people), csv or tsv (plain values: CURIEs "
              "with a label column beside each), or a SPARQL 1.1 results format: srj (JSON; also json), srx (XML), "
              "srcsv, srtsv.")
@click.option("--out", "out_file", type=PATH, help="Write results to this file.")
@click.option("--list", "list_queries", is_flag=True, help="List the stored queries, one line each (json with -f json).")
@click.option("--long", "long_list", is_flag=True, help="With --list: a table with each query's parameters.")
@click.option("--ids", is_flag=True, help="In the table, show the CURIE after each label.")
@click.option("--asserted-only", "asserted", is_flag=True, help="Ignore the reasoner's inferences.")
@click.option("--body-text-only", "body_text_only", is_flag=True,
              help="Leave out the values a finding takes from outside the review's body text (a cited reference's "
              "title, a Table 2 row); see `mscev:valueOrigin`.")
@click.option("--limit", type=click.IntRange(min=0), help="At most this many rows (a page; rows stream as they come).")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many rows first (with --limit: the "
              "page after them).")
@build_option()
@click.option("--endpoint", help="Run it on this SPARQL 1.1 endpoint instead (a server `mscev publish` loaded), e.g. "
              "http://HOST:8890/sparql.")
@graph_option
@user_option
@password_option
def query(name: str | None, param: tuple[str, ...], fmt: str, out_file: Path | None, list_queries: bool,
          long_list: bool, ids: bool, asserted: bool, body_text_only: bool, limit: int | None, offset: int,
          build_dir: Path, endpoint: str | None, graph: str | None, user: str | None, password: str | None) -> None:
    """Run a stored SPARQL query (or an ad-hoc .rq file) on the built store, or on a server with --endpoint."""

    from mscev import render
    from mscev.query import build_summary, find_query, open_store, run_query, stale_sources, stored_queries

    if list_queries:
        render.write_catalogue(stored_queries(), fmt, out_file, out, long=long_list)
        return
    if not name:
        raise MscevError("name a stored query (see `mscev query --list`) or a .rq file")
    render.check_format(fmt)
    values = {}
    for item in param:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MscevError(f"--param {item!r}: write it as key=value")
        values[key.strip()] = value
    stored = find_query(name)
    if endpoint:
        _query_endpoint(stored, values, endpoint, graph, user, password, asserted, body_text_only, fmt, out_file, ids,
                        limit, offset)
        return
    store = open_store(build_dir)
    changed = stale_sources(build_dir)
    if changed:
        err().print(f"[yellow]note: {len(changed)} source file(s) changed since the last build (e.g. "
                  f"{escape(changed[0].name)}); run `mscev build` for current answers.[/yellow]")
    summary = build_summary(build_dir)
    reasoner = "none (--asserted-only)" if asserted else summary.get("reasoner", "unknown")
    if "inferences" in stored.needs and (asserted or reasoner == "not run"):
        err().print(f"[yellow]note: '{escape(stored.name)}' answers from the reasoner's inferences, which this run "
                    "does not see (" + ("--asserted-only" if asserted else "the build was made without reasoning")
                    + "); its answer is empty or partial. Run `mscev build` (or `mscev reason`).[/yellow]")
    results = run_query(stored, values, store=store, inferred=not asserted, body_text_only=body_text_only, limit=limit,
                        offset=offset)
    caption = f"inferences: {reasoner}" + ("; SYNTHETIC corpus (mscev synth), not the review"
                                           if summary.get("synthetic") else "")
    render.emit(results, fmt, out_file, out, label=render.labeler(store), ids=ids, title=stored.summary or None,
                caption=caption)


def _query_endpoint(stored, values, endpoint, graph, user, password, asserted, body_text_only, fmt, out_file,
                    ids, limit, offset) -> None:
    """`mscev query --endpoint`: the same binding and output, on a server; the labels of a table, CSV or TSV come
    from it. An endpoint has no build summary to say which reasoner made its inferences: the table's caption says
    they are those published in the graph, and where."""
    from mscev import render
    from mscev.remote import PUBLISHED_GRAPH, RemoteStore, run_remote_query

    if asserted:
        raise MscevError("--asserted-only: a published graph holds asserted and inferred triples together; "
                         "query the built store for asserted triples only")
    if body_text_only:
        raise MscevError("--body-text-only: a published graph holds the values from outside the body text together "
                         "with the others; query the built store for answers from the body text only")
    with RemoteStore(endpoint, graph or PUBLISHED_GRAPH, user, password) as remote:
        results = run_remote_query(stored, values, remote, limit=limit, offset=offset)
        labels = None
        if fmt == "table" or fmt in render.PLAIN_FORMATS:
            results, labels = remote.labels(results)
        # written while the connection is open: a long page of a numbered listing is read a request at a time
        render.emit(results, fmt, out_file, out, label=render.labeler(labels) if labels is not None else None,
                    ids=ids, title=stored.summary or None,
                    caption=f"inferences: as published in {remote.graph} at {remote.shown}")


@app.command()
@build_option("Build folder.")
def stats(build_dir: Path) -> None:
    """Counts of what the built graph holds."""
    from rich.table import Table

    summary = build_dir / "summary.json"
    if not summary.is_file():
        raise MscevError(f"no build in {build_dir}: run `mscev build` first")
    data = json.loads(summary.read_text(encoding="utf-8"))
    table = Table(title=f"mscev graph ({build_dir})"
                  + ("\nSYNTHETIC corpus (mscev synth), not the review" if data.get("synthetic") else ""),
                  caption=f"inferences: {data.get('reasoner', 'unknown')}")
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, value in data["counts"].items():
        table.add_row(key, str(value))
    out().print(table)


@app.command()
@click.option("--host", default="127.0.0.1", help="Address to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, help="TCP port.")
@build_option()
@click.option("--workers", type=click.IntRange(min=1), default=2, help="Query worker processes for free queries "
              "(the SPARQL protocol), at a lower CPU priority.")
@click.option("--reserved-workers", type=click.IntRange(min=1), default=1, help="Query worker processes kept for "
              "stored queries and pages, so that heavy free queries cannot starve them.")
@click.option("--client-queries", type=click.IntRange(min=1), default=2, help="Free queries one client (address) "
              "may have running, waiting or being sent at once (429 beyond).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0,
              help="Seconds a query may run before it is stopped (503).")
@click.option("--max-rows", type=click.IntRange(min=1), default=10_000, help="Rows (or triples) a result may have; "
              "more is refused with 400 (web pages show the first rows instead).")
@click.option("--max-answer", type=click.IntRange(min=1), default=64, help="MiB an answer may have; a larger one is "
              "refused with 400, or, once its first 4 MiB were sent, cut off with a line saying why.")
@click.option("--send-timeout", type=click.FloatRange(min=1), default=120.0, help="Seconds a client has to read a "
              "streamed answer (one over 4 MiB); a slower one is cut off.")
@click.option("--max-body", type=click.IntRange(min=1024), default=256 * 1024,
              help="Bytes a request body may have (413 beyond).")
@click.option("--worker-memory", type=click.IntRange(min=256), default=2048,
              help="MiB of memory a query worker may use (503 beyond).")
@click.option("--max-connections", type=click.IntRange(min=8), default=1000, help="Connections kept open at once "
              "(within the open-file limit); beyond, the one waiting longest for its request is closed.")
@click.option("--request-timeout", type=click.FloatRange(min=0.5), default=10.0,
              help="Seconds a client has to send its whole request, from connecting or from the last answer.")
@click.option("--log-level", default="info", help="uvicorn log level (info logs each request).")
@click.option("--base-url", help="Public address of the site (e.g. https://kg.example.org/mscev/), named in the "
              "service description; default: the address it listens on.")
def serve(host: str, port: int, build_dir: Path, workers: int, reserved_workers: int, client_queries: int,
          timeout: float, max_rows: int, max_answer: int, send_timeout: float, max_body: int, worker_memory: int,
          max_connections: int, request_timeout: float, log_level: str, base_url: str | None) -> None:
    """Serve the built graph: SPARQL 1.1 endpoint at /sparql, linked-data pages, and a web interface at /."""
    from mscev.serve import Settings, serve as run_server

    settings = Settings(build_dir, workers, timeout, max_rows, max_body, worker_memory, base_url,
                        reserved_workers=reserved_workers, client_queries=client_queries,
                        max_connections=max_connections, request_timeout=request_timeout,
                        max_answer_bytes=max_answer * 1024 * 1024, send_timeout=send_timeout)
    err().print(f"mscev serving {build_dir} at http://{host}:{port}/ (SPARQL endpoint: /sparql); Ctrl-C stops it.")
    run_server(host, port, settings, log_level=log_level)


@app.command()
@click.option("--format", "-f", "fmt", default="ttl", help="ttl, nt, jsonld, rdfxml (the ontology), trig or nq "
              "(nanopublications).")
@click.option("--inferred/--asserted", default=False, help="With or without the reasoner's inferred triples.")
@click.option("--out", "out_file", type=PATH, help="Write to this file (default: standard output).")
@build_option("Build folder.")
def export(fmt: str, inferred: bool, out_file: Path | None, build_dir: Path) -> None:
    """Export the built graph in a standard RDF form; the same build always gives the same bytes."""
    from mscev import atomic, render
    from mscev.export import export as run_export
    from mscev.export import streams, write_streamed

    if not streams(fmt, build_dir):
        render.write_text(run_export(fmt, build_dir, inferred=inferred).decode("utf-8"), out_file)
    elif out_file is None:
        write_streamed(fmt, sys.stdout.buffer, build_dir, inferred=inferred)
    else:
        with atomic.writing(out_file) as handle:
            write_streamed(fmt, handle, build_dir, inferred=inferred)
    if out_file:
        err().print(f"Wrote {out_file}.")


@app.command()
@click.option("--out", "out_dir", type=PATH, default=DEFAULT_RELEASE_DIR, help="Release folder (replaced whole).")
@build_option("Build folder.")
def release(out_dir: Path, build_dir: Path) -> None:
    """Write every export, the VoID/DCAT description, KGX tables, ontology pages and checksums to one folder."""
    from rich.table import Table

    from mscev.release import write_release

    with err().status("writing the release…"):
        result = write_release(build_dir, out_dir)
    table = Table(title=f"mscev {result.version} (issued {result.issued}) → {out_dir}")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for name, size in result.files.items():
        table.add_row(name, f"{size:,}")
    out().print(table)


@app.command()
@click.option("--endpoint", required=True, help="The server's SPARQL 1.1 Graph Store endpoint: Virtuoso "
              "http://HOST:8890/sparql-graph-crud-auth, Fuseki http://HOST:3030/DATASET/data, Oxigraph "
              "http://HOST:7878/store, GraphDB http://HOST:7200/repositories/REPO/rdf-graphs/service.")
@graph_option
@user_option
@password_option
@click.option("--release", "release_dir", type=PATH, default=DEFAULT_RELEASE_DIR,
              help="Release folder (`mscev release`).")
@click.option("--chunk", type=click.IntRange(min=1), help="Triples per request (default 50,000).")
@click.option("--timeout", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="Seconds one request (a chunk sent and answered) may take in all.")
def publish(endpoint: str, graph: str | None, user: str | None, password: str | None, release_dir: Path,
            chunk: int | None, timeout: float) -> None:
    """Load a release (asserted and inferred triples) into a triple store server, replacing the graph it had there."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.table import Table

    from mscev.remote import CHUNK_TRIPLES, PUBLISHED_GRAPH, publish as run_publish, redact

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("triples"),
               TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err(), transient=True) as progress:
        task = progress.add_task("publishing", total=None)
        result = run_publish(endpoint, release_dir, graph or PUBLISHED_GRAPH, user, password, chunk or CHUNK_TRIPLES,
                             on_chunk=lambda sent, total: progress.update(task, completed=sent, total=total),
                             timeout=timeout)
    table = Table(title=f"mscev publish {release_dir} → {escape(redact(endpoint))}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("graph", escape(result.graph))
    table.add_row("triples sent", f"{result.triples:,}")
    table.add_row("requests (chunks)", f"{result.chunks:,}")
    table.add_row("bytes", f"{result.bytes:,}")
    table.add_row("time (s)", f"{result.seconds:.2f}")
    table.add_row("triples per second", f"{result.triples / max(result.seconds, 1e-9):,.0f}")
    out().print(table)
    out().print(f"Query it with `mscev query NAME --endpoint URL` (its SPARQL endpoint, e.g. http://HOST:8890/sparql"
              f"{'' if result.graph == PUBLISHED_GRAPH else ' --graph ' + escape(result.graph)}).")


@app.command("check-quotes")
@click.option("--source", type=PATH, default=REVIEW_FILE, help="The source text the quotes come from (the review "
              "shipped in source/).")
@extra_files
def check_quotes(source: Path, extra: tuple[Path, ...]) -> None:
    """Check that every mscev:evidenceQuote appears verbatim in SOURCE (white space folded)."""

    from mscev.load import load_graph
    from mscev.quotes import check_quotes as run_check, read_source

    text = read_source(source)
    checked, problems = run_check(load_graph(list(extra)), text)
    for problem in problems:
        out().print(f"[red]not verbatim[/red]\t{escape(problem.file)}\t{escape(problem.statement)}\t{escape(repr(problem.quote[:120]))}")
    out().print(f"{checked} quote(s) checked, {len(problems)} not found verbatim in {source}.")
    raise click.exceptions.Exit(1 if problems else 0)


@app.command()
@click.option("--source", type=PATH, default=REVIEW_FILE, help="The review text whose citations and sentences are "
              "checked (the copy shipped in source/).")
@click.option("--uncovered", is_flag=True, help="List every result-reporting sentence that no statement quotes.")
def coverage(source: Path, uncovered: bool) -> None:
    """Per review section: citations and sentences the graph covers, and findings per source.

    Fails when a citation is covered by no statement, or a result-reporting sentence of a study section is
    quoted by no statement (exclusions and the rule: triples/README.md).
    """
    from rich.table import Table

    from mscev.coverage import coverage as section_coverage, findings_per_source, sentence_coverage
    from mscev.load import load_graph
    from mscev.quotes import read_source

    text = read_source(source)
    graph = load_graph().graph
    sections = section_coverage(graph, text)
    sentences = sentence_coverage(graph, text)
    table = Table(title="Citations per review section")
    for column in ("section", "cited", "covered", "excluded", "missing"):
        table.add_column(column, overflow="fold")
    for section in sections:
        table.add_row(escape(section.heading), str(len(section.cited)), str(len(section.covered)),
                      ", ".join(map(str, section.excluded)) or "-",
                      f"[red]{', '.join(map(str, section.missing))}[/red]" if section.missing else "-")
    out().print(table)
    per_sentence = Table(title="Sentences per review section",
                         caption="n/a: a section that reports no study results (triples/README.md)")
    per_sentence.add_column("section", no_wrap=True)
    for column in ("sentences", "covered", "result-reporting", "uncovered"):
        per_sentence.add_column(column, justify="right")
    for section in sentences:
        missing = len(section.uncovered)
        per_sentence.add_row(section.section, str(len(section.sentences)), str(len(section.covered)),
                             str(len(section.result_reporting)) if section.reports_studies else "n/a",
                             f"[red]{missing}[/red]" if missing else "-")
    out().print(per_sentence)
    per_source = Table(title="Findings per MSC source")
    per_source.add_column("source")
    per_source.add_column("findings", justify="right")
    for name, count in findings_per_source(graph).items():
        per_source.add_row(escape(name), str(count))
    out().print(per_source)
    if uncovered:
        for section in sentences:
            for sentence in section.uncovered:
                out().print(f"uncovered {section.section}: {escape(sentence)}", highlight=False)
    missing = sorted({n for section in sections for n in section.missing})
    if missing:
        out().print(f"[red]{len(missing)} citation(s) covered by no statement and not excluded: "
                  f"{', '.join(map(str, missing))}[/red] (see triples/README.md, 'Coverage exclusions').")
    unquoted = sum(len(section.uncovered) for section in sentences)
    if unquoted:
        out().print(f"[red]{unquoted} result-reporting sentence(s) of study sections quoted by no statement[/red] "
                    "(list them with --uncovered; see triples/README.md, 'Sentence coverage').")
    raise click.exceptions.Exit(1 if missing or unquoted else 0)


@app.group()
def new() -> None:
    """Start a new statement in the house style, ready to fill in and validate."""


@new.command("finding")
@click.argument("number", type=click.IntRange(min=1))
@click.argument("slug")
@click.option("--section", required=True, help="The review section it comes from (section:… in triples/review.ttl), "
              "e.g. bm-ev.")
@click.option("--cells", is_flag=True, help="A cell-level finding: its subject is the cells themselves (transplanted, "
              "modified, vesicle release blocked), not their vesicles.")
@click.option("--out", "out_file", type=PATH, help="Write the draft to this new file (default: standard output).")
def new_finding(number: int, slug: str, section: str, cells: bool, out_file: Path | None) -> None:
    """A finding of reference NUMBER named finding:refNUMBER-SLUG, with every required field; each TODO is a
    violation that `mscev validate DRAFT` names until it is filled in."""
    from mscev.draft import new_finding as make_draft
    from mscev.render import write_text

    if out_file is not None and out_file.exists():
        raise MscevError(f"--out {out_file}: the file exists; choose a new name (a draft is never written over a file)")
    write_text(make_draft(number, slug, section, cells), out_file)


@app.command("update-imports")
def update_imports() -> None:
    """Regenerate ontology/imports/external.ttl from the term list ontology/imports/terms.tsv and the synonym list
    ontology/imports/synonyms.tsv."""
    from mscev.imports import write_imports

    terms, synonyms, changed = write_imports()
    if changed:
        out().print(f"Wrote ontology/imports/external.ttl with {terms} terms and {synonyms} synonyms.")
    else:
        out().print(f"ontology/imports/external.ttl is up to date ({terms} terms, {synonyms} synonyms): not rewritten.")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code so tests can call it in process."""
    try:
        code = app.main(args=argv, prog_name="mscev", standalone_mode=False)
    except MscevError as error:
        err().print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
        return error.exit_code
    except (click.Abort, KeyboardInterrupt):
        err().print("aborted")
        return 2
    except MemoryError:
        from mscev.processes import OUT_OF_MEMORY_HINT

        sys.stderr.write(f"error: mscev ran out of memory (Python could not allocate more); {OUT_OF_MEMORY_HINT}.\n")
        return 2
    except click.ClickException as error:  # usage errors: unknown option, bad value
        error.show()
        return 2
    return code if isinstance(code, int) else 0


def run() -> None:
    """Console-script entry point. The commands that can run out of memory run in a child process that this one
    watches (mscev.processes.supervise), so that a native library's abort or the kernel's OOM killer still ends
    with a message."""
    import os

    from mscev.processes import SUPERVISED_VARIABLE, supervise

    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command in SUPERVISED and SUPERVISED_VARIABLE not in os.environ:
        sys.exit(supervise(sys.argv[1:], command))
    sys.exit(main())
