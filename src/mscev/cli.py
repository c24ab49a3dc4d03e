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

from mscev import __version__
from mscev.errors import MscevError
from mscev.paths import DEFAULT_BUILD_DIR

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


def _version(value: bool) -> None:
    if value:
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
) -> None:
    """Load, validate and reason over the graph, and write build/ (graph, inferences, report, store)."""
    from mscev.build import build as run_build

    with err.status("building…") as status:
        result = run_build(out_dir, use_reasoner=not no_reason, on_stage=lambda stage: status.update(f"{stage}…"))
    _fail_on_invalid(result.report)
    if result.reasoning and not result.reasoning.consistent:
        err.print("[red]The graph is inconsistent (HermiT); run `mscev reason` for details.[/red]")
        raise typer.Exit(1)
    if result.report.warnings:
        out.print(f"[yellow]{len(result.report.warnings)} warning(s): see {out_dir / 'validation.txt'} "
                  "or run `mscev validate`.[/yellow]")
    if result.reasoning is None:
        why = "--no-reason" if no_reason else "Java not found"
        out.print(f"[yellow]Reasoner not run ({why}).[/yellow]")
    table = Table(title=f"mscev build → {out_dir}")
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, value in result.counts.items():
        table.add_row(key, str(value))
    for stage, seconds in result.seconds.items():
        table.add_row(f"time: {stage} (s)", f"{seconds:.2f}")
    out.print(table)


@app.command()
def validate(extra: ExtraFiles = None) -> None:
    """Validate the graph (plus EXTRA files) against the SHACL shapes; report with files and focus nodes."""
    from mscev.load import load_graph
    from mscev.validate import validate as run_validate

    report = run_validate(load_graph(extra or []))
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
) -> None:
    """Run a stored SPARQL query (or an ad-hoc .rq file) on the built store."""
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
    store = open_store(build_dir)
    changed = stale_sources(build_dir)
    if changed:
        err.print(f"[yellow]note: {len(changed)} source file(s) changed since the last build (e.g. "
                  f"{escape(changed[0].name)}); run `mscev build` for current answers.[/yellow]")
    results = run_query(stored, values, store=store, inferred=not asserted)
    render.emit(results, fmt, out_file, out, label=render.labeler(store), ids=ids, title=stored.summary or None)


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
