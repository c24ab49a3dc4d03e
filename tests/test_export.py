"""Exports and the release: every form round-trips, independent parsers accept it, and it is byte-for-byte stable.

One release of the session build is written through the CLI (module fixture) and every test reads it.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import RDF, Dataset, Graph, Literal, URIRef

from mscev import __version__
from mscev.cli import main
from mscev.export import (BACKGROUND_GRAPH, CONTEXT_FILE, NANOPUB, PROVENANCE_PREDICATES, STREAMED_FORMATS,
                          built_graph, canonical, export, findings, issued_date, jsonld_context, nanopublication_iri,
                          ontology_graph, streams)
from mscev.kgx import EDGE_COLUMNS, NODE_COLUMNS, mapping
from mscev.namespaces import ONTOLOGY_IRI, curie, expand, prefix_map
from mscev.release import CHECKSUMS, DISTRIBUTIONS, RELEASE_BASE, SUPPORT_FILES, release_version

# release file → (rdflib format, rapper input syntax)
RDF_FILES = {
    "mscev.ttl": ("turtle", "turtle"),
    "mscev.nt": ("nt", "ntriples"),
    "mscev-inferred.nt": ("nt", "ntriples"),
    "mscev-derived.nt": ("nt", "ntriples"),
    "mscev.jsonld": ("json-ld", None),
    "mscev-ontology.owl": ("xml", "rdfxml"),
    "void.ttl": ("turtle", "turtle"),
}
QUAD_FILES = {"mscev-nanopubs.trig": ("trig", "trig"), "mscev-nanopubs.nq": ("nquads", "nquads")}
VOID = prefix_map()["void"]
DCAT = prefix_map()["dcat"]
DCTERMS = prefix_map()["dcterms"]
MSCEV = prefix_map()["mscev"]


@pytest.fixture(scope="module")
def release(built, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "release"
    assert main(["release", "--build", str(built.out), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def asserted(built) -> Graph:
    return built_graph(built.out)


def expected_graph(name: str, built, asserted: Graph) -> Graph:
    """What each RDF file of the release must hold, computed independently of the file."""
    if name == "mscev-inferred.nt":
        return built_graph(built.out, inferred=True, asserted=False)
    if name == "mscev-ontology.owl":
        return ontology_graph()
    if name == "mscev-derived.nt":  # the build's direct.ttl and summaries.ttl
        from mscev.derive import DERIVED_GRAPHS

        derived = Graph()
        for graph in DERIVED_GRAPHS:
            derived.parse(built.out / graph.file_name)
        return derived
    return asserted


def assert_same_graph(actual: Graph, expected: Graph) -> None:
    """Isomorphism, through canonical N-Triples lines, with the differing triples printed on failure."""
    actual_lines = set(canonical(actual).serialize(format="nt").splitlines()) - {""}
    expected_lines = set(canonical(expected).serialize(format="nt").splitlines()) - {""}
    missing, extra = sorted(expected_lines - actual_lines), sorted(actual_lines - expected_lines)
    assert not missing and not extra, (
        f"{len(missing)} triple(s) missing, {len(extra)} unexpected\n"
        + "\n".join(["missing:", *missing[:20], "unexpected:", *extra[:20]]))


def rapper_count(path: Path, syntax: str) -> int:
    """The number of triples Raptor's rapper parses from ``path`` (it fails on any syntax error)."""
    assert shutil.which("rapper"), "rapper is missing: install raptor2-utils (.ci/run does)"
    done = subprocess.run(["rapper", "-q", "-i", syntax, "-c", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, f"rapper rejects {path.name}: {done.stderr}"
    match = re.search(r"returned (\d+) (triples|statements)", done.stdout + done.stderr)
    if match is None:  # -q silences the count; ask again without it
        done = subprocess.run(["rapper", "-i", syntax, "-c", str(path)], capture_output=True, text=True)
        match = re.search(r"returned (\d+) triples", done.stderr)
    return int(match.group(1))


# ------------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", [n for n in RDF_FILES if n != "void.ttl"])
def test_every_rdf_file_round_trips(release, built, asserted, name):
    graph = Graph().parse(release / name, format=RDF_FILES[name][0])
    assert_same_graph(graph, expected_graph(name, built, asserted))


@pytest.mark.parametrize("name", QUAD_FILES)
def test_nanopublications_union_is_the_graph_plus_bookkeeping(release, asserted, name):
    dataset = Dataset()
    dataset.parse(release / name, format=QUAD_FILES[name][0])
    union = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        union.add((s, p, o))
    bookkeeping = {(s, p, o) for s, p, o in union if str(s).startswith(NANOPUB)}
    assert bookkeeping == expected_bookkeeping(asserted)
    for triple in bookkeeping:
        union.remove(triple)
    assert_same_graph(union, asserted)


def expected_bookkeeping(graph: Graph) -> set:
    """The triples a nanopublication adds, spelled out: head links, derivations, creator, licence, date."""
    np_, prov = prefix_map()["np"], prefix_map()["prov"]
    review = URIRef(prefix_map()["mscev-data"] + "review")
    created = Literal(issued_date().isoformat(), datatype=URIRef(prefix_map()["xsd"] + "date"))
    expected = set()
    for finding in findings(graph):
        nanopub = URIRef(nanopublication_iri(finding))
        part = {name: URIRef(f"{nanopub}#{name}") for name in ("assertion", "provenance", "pubinfo")}
        expected |= {(nanopub, RDF.type, URIRef(np_ + "Nanopublication")),
                     (nanopub, URIRef(np_ + "hasAssertion"), part["assertion"]),
                     (nanopub, URIRef(np_ + "hasProvenance"), part["provenance"]),
                     (nanopub, URIRef(np_ + "hasPublicationInfo"), part["pubinfo"]),
                     (part["assertion"], URIRef(prov + "wasDerivedFrom"), review),
                     (nanopub, URIRef(DCTERMS + "created"), created)}
        expected |= {(part["assertion"], URIRef(prov + "wasDerivedFrom"), study)
                     for study in graph.objects(finding, URIRef(MSCEV + "citedStudy"))}
        expected |= {(nanopub, URIRef(DCTERMS + p), value) for p in ("creator", "license")
                     for value in graph.objects(URIRef(ONTOLOGY_IRI), URIRef(DCTERMS + p))}
    return expected


def test_each_finding_is_a_nanopublication_with_its_effects_and_provenance(release, asserted):
    dataset = Dataset()
    dataset.parse(release / "mscev-nanopubs.trig", format="trig")
    graphs = {str(g.identifier): g for g in dataset.graphs() if len(g)}
    all_findings = findings(asserted)
    assert len(all_findings) > 100 and any((f, RDF.type, URIRef(MSCEV + "Comparison")) in asserted for f in all_findings)
    provenance_predicates = {URIRef(p) for p in PROVENANCE_PREDICATES}
    for finding in all_findings:
        nanopub = nanopublication_iri(finding)
        assertion, provenance = graphs[f"{nanopub}#assertion"], graphs[f"{nanopub}#provenance"]
        assert {f"{nanopub}#{part}" for part in ("Head", "pubinfo")} <= set(graphs)
        effects = set(asserted.objects(finding, URIRef(MSCEV + "hasEffect")))
        assert set(assertion.subjects()) == {finding, *effects}, finding
        assert not provenance_predicates & set(assertion.predicates(finding)), finding
        cited = set(asserted.objects(finding, URIRef(MSCEV + "citedStudy")))
        derived = set(provenance.objects(URIRef(f"{nanopub}#assertion"), URIRef(prefix_map()["prov"] + "wasDerivedFrom")))
        assert cited and derived == cited | {URIRef(prefix_map()["mscev-data"] + "review")}, finding
        assert set(provenance.objects(finding, URIRef(MSCEV + "evidenceQuote"))), finding
    background = graphs[BACKGROUND_GRAPH]
    assert not set(background.subjects()) & {*all_findings, *(e for f in all_findings
                                                               for e in asserted.objects(f, URIRef(MSCEV + "hasEffect")))}
    assert len(dataset.default_context) == 0, "everything outside the findings is in the background graph"


def test_inferred_export_adds_the_inferred_triples(built, asserted):
    inferred = Graph().parse(data=export("nt", built.out, inferred=True), format="nt")
    expected = asserted + built_graph(built.out, inferred=True, asserted=False)
    assert_same_graph(inferred, expected)
    if built.reasoning is not None:
        assert len(inferred) > len(asserted)


# ------------------------------------------------------------------------------------------- streamed (large builds)


@pytest.fixture(scope="module")
def fast_build(tmp_path_factory):
    """A build of a clean synthetic corpus by the fast engine, whose N-Triples and JSON-LD are streamed."""
    from mscev.synth import synthesize

    folder = tmp_path_factory.mktemp("fast")
    corpus = synthesize(200, folder / "corpus", seed=3)
    assert main(["build", "--engine", "fast", "--data", str(corpus.out), "--out", str(folder / "build")]) == 0
    return folder / "build"


@pytest.mark.parametrize("inferred", [False, True], ids=["asserted", "inferred"])
@pytest.mark.parametrize("fmt", STREAMED_FORMATS)
def test_streamed_exports_of_a_fast_build_round_trip(fast_build, tmp_path, fmt, inferred):
    """Exactly the build's triples (isomorphic, blank nodes included), and the same bytes every time."""
    assert streams(fmt, fast_build)
    files = [tmp_path / f"first.{fmt}", tmp_path / f"second.{fmt}"]
    for path in files:
        argv = ["export", "-f", fmt, "--build", str(fast_build), "--out", str(path)]
        assert main(argv + (["--inferred"] if inferred else [])) == 0
    assert files[0].read_bytes() == files[1].read_bytes()
    expected = Graph().parse(fast_build / "graph.nt", format="nt")
    if inferred:
        expected += built_graph(fast_build, inferred=True, asserted=False)
        assert len(expected) > len(Graph().parse(fast_build / "graph.nt", format="nt"))
    assert_same_graph(Graph().parse(files[0], format={"nt": "nt", "jsonld": "json-ld"}[fmt]), expected)


def test_only_fast_builds_stream(built, fast_build):
    """The curated graph keeps the reference exports (canonical blank nodes, JSON-LD compacted by PyLD)."""
    assert not any(streams(fmt, built.out) for fmt in STREAMED_FORMATS)
    assert not streams("ttl", fast_build)


# ------------------------------------------------------------------------------------------- independent parsers


@pytest.mark.parametrize("name", [n for n, (_, syntax) in {**RDF_FILES, **QUAD_FILES}.items() if syntax])
@pytest.mark.rapper
def test_rapper_accepts_every_file_with_our_triple_count(release, name):
    rdflib_format, syntax = {**RDF_FILES, **QUAD_FILES}[name]
    if name in QUAD_FILES:
        dataset = Dataset()
        dataset.parse(release / name, format=rdflib_format)
        ours = len(list(dataset.quads((None, None, None, None))))
    else:
        ours = len(Graph().parse(release / name, format=rdflib_format))
    assert rapper_count(release / name, syntax) == ours


@pytest.mark.parametrize("name", [*RDF_FILES, *QUAD_FILES])
def test_oxigraph_loads_every_file_with_our_triple_count(release, name):
    """Oxigraph's own (Rust) parsers, JSON-LD included: what a KG builder's store would load."""
    import pyoxigraph as ox

    formats = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "json-ld": ox.RdfFormat.JSON_LD,
               "xml": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS}
    rdflib_format = {**RDF_FILES, **QUAD_FILES}[name][0]
    store = ox.Store()
    store.bulk_load(path=str(release / name), format=formats[rdflib_format])
    if name in QUAD_FILES:
        dataset = Dataset()
        dataset.parse(release / name, format=rdflib_format)
        assert len(store) == len(list(dataset.quads((None, None, None, None))))
    else:
        assert len(store) == len(Graph().parse(release / name, format=rdflib_format))


def test_pyld_expands_the_jsonld_to_our_graph(release, asserted):
    from pyld import jsonld

    document = json.loads((release / "mscev.jsonld").read_text(encoding="utf-8"))
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads"})
    assert_same_graph(Graph().parse(data=nquads, format="nquads"), asserted)


# ------------------------------------------------------------------------------------------- context and prefixes


def test_context_file_is_in_step_with_the_prefix_map():
    context = jsonld_context()["@context"]
    assert context.pop("@version") == 1.1
    assert list(context) == list(prefix_map()), "ontology/context.jsonld must list the prefixes of prefixes.json, in order"
    for prefix, namespace in prefix_map().items():
        # JSON-LD 1.1 uses a term as a prefix only if its IRI ends in a gen-delim, or when "@prefix" is true
        expected = namespace if namespace[-1] in ":/?#[]@" else {"@id": namespace, "@prefix": True}
        assert context[prefix] == expected, f"{CONTEXT_FILE}: write \"{prefix}\": {json.dumps(expected)}"


def test_jsonld_embeds_the_published_context_and_uses_every_prefix_it_can(release, asserted):
    document = json.loads((release / "mscev.jsonld").read_text(encoding="utf-8"))
    assert document["@context"] == jsonld_context()["@context"]
    assert (release / "context.jsonld").read_bytes() == CONTEXT_FILE.read_bytes()
    used = {curie(str(term)).partition(":")[0] for triple in asserted for term in triple
            if isinstance(term, URIRef) and curie(str(term)) != str(term)}
    assert used <= set(document["@context"]), "the context must cover every prefix the graph uses"
    body = json.dumps(document["@graph"])
    for namespace in prefix_map().values():
        assert f'"{namespace}' not in body, f"a full IRI under {namespace} was not compacted"


# ------------------------------------------------------------------------------------------- determinism


@pytest.mark.slow
def test_two_builds_and_releases_give_identical_bytes(tmp_path):
    """Build and release twice, each in a fresh process with its own hash seed, from one copy of the sources
    (MSCEV_HOME), so that edits to the working tree meanwhile cannot differ the two; every file must match."""
    from mscev.paths import PROJECT_ROOT

    home = tmp_path / "home"
    for folder in ("ontology", "triples", "queries", "rules"):
        shutil.copytree(PROJECT_ROOT / folder, home / folder)
    releases = []
    for seed in ("1", "4711"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "MSCEV_HOME": str(home)}
        build, release = tmp_path / f"build-{seed}", tmp_path / f"release-{seed}"
        for argv in (["build", "--out", str(build)], ["release", "--build", str(build), "--out", str(release)]):
            done = subprocess.run([sys.executable, "-c", "import sys; from mscev.cli import main; sys.exit(main(sys.argv[1:]))",
                                   *argv], env=env, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
        releases.append({p.relative_to(release).as_posix(): p.read_bytes() for p in release.rglob("*") if p.is_file()})
    first, second = releases
    assert first.keys() == second.keys() == {*DISTRIBUTIONS, *SUPPORT_FILES}
    assert [name for name in first if first[name] != second[name]] == []


# ------------------------------------------------------------------------------------------- release contents


def test_release_holds_every_listed_file_and_checksums(release):
    files = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()}
    assert files == {*DISTRIBUTIONS, *SUPPORT_FILES}
    lines = (release / CHECKSUMS).read_text(encoding="utf-8").splitlines()
    sums = dict(reversed(line.split("  ", 1)) for line in lines)
    assert set(sums) == files - {CHECKSUMS}
    for name, digest in sums.items():
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest, name
    assert not list(release.parent.glob(".release.partial-*")), "no staging folder may be left behind"


def test_dataset_description(release, asserted):
    void = Graph().parse(release / "void.ttl")
    dataset = URIRef(prefix_map()["mscev-data"] + "dataset")
    value = lambda p: void.value(dataset, URIRef(p))  # noqa: E731
    assert (dataset, RDF.type, URIRef(VOID + "Dataset")) in void and (dataset, RDF.type, URIRef(DCAT + "Dataset")) in void
    for p in ("title", "description", "creator", "source"):
        assert value(DCTERMS + p) is not None, p
    assert value(DCTERMS + "license") == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert value(DCTERMS + "issued").toPython() == issued_date()
    assert str(value(DCAT + "version")) == __version__
    assert value(VOID + "sparqlEndpoint") is not None
    assert value(VOID + "triples").toPython() == len(asserted)
    classes = {void.value(part, URIRef(VOID + "class")): void.value(part, URIRef(VOID + "entities")).toPython()
               for part in void.objects(dataset, URIRef(VOID + "classPartition"))}
    assert classes == {cls: len(set(asserted.subjects(RDF.type, cls))) for cls in set(asserted.objects(None, RDF.type))}
    properties = {void.value(part, URIRef(VOID + "property")) for part in void.objects(dataset, URIRef(VOID + "propertyPartition"))}
    assert properties == set(asserted.predicates())
    examples = set(void.objects(dataset, URIRef(VOID + "exampleResource")))
    assert examples and all((example, None, None) in asserted for example in examples)
    downloads = {}
    for distribution in void.objects(dataset, URIRef(DCAT + "distribution")):
        url = void.value(distribution, URIRef(DCAT + "downloadURL"))
        if url is not None:
            downloads[str(url).removeprefix(RELEASE_BASE.format(version=__version__))] = \
                void.value(distribution, URIRef(DCAT + "byteSize")).toPython()
        else:  # the SPARQL endpoint, as a distribution through a data service
            assert void.value(distribution, URIRef(DCAT + "accessService")) is not None
    assert downloads == {name: (release / name).stat().st_size for name in DISTRIBUTIONS}


def test_ontology_version_iri_follows_the_package_version(asserted):
    assert release_version(asserted) == __version__
    stale = Graph()
    stale += asserted
    stale.set((URIRef(ONTOLOGY_IRI), URIRef("http://www.w3.org/2002/07/owl#versionInfo"), Literal("0.0.1")))
    with pytest.raises(Exception) as failure:
        release_version(stale)
    assert getattr(failure.value, "exit_code", None) == 1 and "owl:versionInfo" in str(failure.value)


def test_failed_release_leaves_the_previous_one(release, built, tmp_path, monkeypatch, capsys):
    out = tmp_path / "release"
    shutil.copytree(release, out)
    monkeypatch.setattr("mscev.release.__version__", "9.9.9")
    assert main(["release", "--build", str(built.out), "--out", str(out)]) == 1
    assert "9.9.9" in capsys.readouterr().err
    assert (out / CHECKSUMS).read_bytes() == (release / CHECKSUMS).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]


def test_ontology_pages_document_every_class_and_property(release):
    html = (release / "docs" / "index.html").read_text(encoding="utf-8")
    ontology = Graph().parse(release / "mscev-ontology.owl", format="xml")
    owl = "http://www.w3.org/2002/07/owl#"
    terms = {str(s) for kind in ("Class", "ObjectProperty", "DatatypeProperty") for s in
             ontology.subjects(RDF.type, URIRef(owl + kind)) if str(s).startswith(MSCEV) and "/data/" not in str(s)}
    assert len(terms) > 30
    assert [t for t in sorted(terms) if t not in html] == []


# ------------------------------------------------------------------------------------------- KGX


def read_tsv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    header, *lines = path.read_text(encoding="utf-8").splitlines()
    columns = header.split("\t")
    rows = [dict(zip(columns, line.split("\t"), strict=True)) for line in lines]
    return columns, rows


def test_kgx_tables_are_consistent(release, asserted):
    node_columns, nodes = read_tsv(release / "kgx" / "mscev_nodes.tsv")
    edge_columns, edges = read_tsv(release / "kgx" / "mscev_edges.tsv")
    assert tuple(node_columns) == NODE_COLUMNS and tuple(edge_columns) == EDGE_COLUMNS
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)) and len({e["id"] for e in edges}) == len(edges)
    assert {e[end] for e in edges for end in ("subject", "object")} == set(ids)
    assert all(n["category"].startswith("biolink:") and n["name"] for n in nodes)
    assert all(e["predicate"].startswith("biolink:") and e["primary_knowledge_source"] for e in edges)
    by_statement: dict[str, list[dict[str, str]]] = {}
    for edge in edges:
        by_statement.setdefault(edge["id"].split("#")[0], []).append(edge)
    mapped = {row.mscev: row.biolink for row in mapping() if row.kind == "outcome"}
    for finding in findings(asserted):
        outcome = curie(str(asserted.value(finding, URIRef(MSCEV + "outcome"))))
        values = lambda p: {curie(str(v)) for v in asserted.objects(finding, URIRef(MSCEV + p))}  # noqa: E731
        if outcome in mapped and values("condition"):
            made = by_statement[curie(str(finding))]
            assert {(e["subject"], e["predicate"], e["object"]) for e in made} == \
                {(v, mapped[outcome], c) for v in values("vesicle") | values("cellSubject") for c in values("condition")}, finding
            assert all(e["publications"] == "|".join(sorted(values("citedStudy"))) for e in made), finding
    effects = {str(e) for f in findings(asserted) for e in asserted.objects(f, URIRef(MSCEV + "hasEffect"))}
    assert {expand(e["id"].split("#")[0]) for e in edges if e["predicate"] == "biolink:affects"} == effects


def test_biolink_mapping_uses_real_biolink_terms():
    """Every category, predicate and enum value of ontology/biolink-mapping.tsv exists in the Biolink model."""
    from importlib.resources import files

    import yaml

    model = yaml.safe_load((files("biolink_model") / "schema" / "biolink_model.yaml").read_text(encoding="utf-8"))
    slot = lambda curie_: curie_.removeprefix("biolink:").replace("_", " ")  # noqa: E731
    klass = lambda curie_: re.sub(r"(?<!^)(?=[A-Z])", " ", curie_.removeprefix("biolink:")).lower()  # noqa: E731
    classes = {name.lower() for name in model["classes"]}
    directions = set(model["enums"]["DirectionQualifierEnum"]["permissible_values"])
    for row in mapping():
        if row.kind == "category":
            assert klass(row.biolink).replace("micro r n a", "microrna") in classes, row
        elif row.kind == "direction":
            assert row.biolink in directions | {"negated", ""}, row
        else:
            assert slot(row.biolink) in model["slots"], row
    for name, enum in (("knowledge_assertion", "KnowledgeLevelEnum"), ("manual_agent", "AgentTypeEnum")):
        assert name in model["enums"][enum]["permissible_values"]
    assert set(EDGE_COLUMNS) - {"id", "subject", "predicate", "object"} <= {n.replace(" ", "_") for n in model["slots"]}


def test_biolink_mapping_names_only_terms_of_the_graph(asserted):
    declared = {curie(str(s)) for s in asserted.subjects()}
    for row in mapping():
        if row.mscev.endswith(":"):
            assert row.mscev[:-1] in prefix_map(), row
        else:
            assert row.mscev in declared, f"{row.mscev} (ontology/biolink-mapping.tsv) is not in the graph"


def test_biolink_mapping_document_lists_every_row(release):
    text = (release / "kgx" / "biolink-mapping.md").read_text(encoding="utf-8")
    assert all(f"`{row.mscev}`" in text for row in mapping())


# ------------------------------------------------------------------------------------------- CLI


def test_export_command_writes_the_same_bytes_as_the_release(release, built, tmp_path, capsysbinary):
    target = tmp_path / "graph.nt"
    assert main(["export", "--format", "nt", "--build", str(built.out), "--out", str(target)]) == 0
    assert target.read_bytes() == (release / "mscev.nt").read_bytes()
    capsysbinary.readouterr()
    assert main(["export", "--format", "ttl", "--build", str(built.out)]) == 0
    assert capsysbinary.readouterr().out == (release / "mscev.ttl").read_bytes()


@pytest.mark.parametrize("command", ["export", "release"])
def test_commands_have_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_issued_date_comes_from_the_dataset_file_or_source_date_epoch(monkeypatch):
    from datetime import date

    from mscev.errors import MscevError
    from mscev.export import DATASET_FILE

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert f'dcterms:issued "{issued_date().isoformat()}"^^xsd:date' in DATASET_FILE.read_text(encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    assert issued_date() == date(1970, 1, 2)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(MscevError, match="SOURCE_DATE_EPOCH"):
        issued_date()


@pytest.mark.parametrize("argv, message", [
    (["export", "--format", "xml"], "choose one of"),
    (["export", "--format", "nt", "--build", "{missing}"], "run `mscev build`"),
    (["release", "--build", "{missing}"], "run `mscev build`"),
], ids=["bad-format", "no-build", "release-no-build"])
def test_export_usage_errors_exit_2(argv, message, tmp_path, capsys):
    argv = [a.replace("{missing}", str(tmp_path / "no-build")) for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_build_leaves_the_default_release_alone():
    """`mscev build` replaces its build folder whole; the default release folder must not sit inside it."""
    from mscev.paths import DEFAULT_BUILD_DIR, DEFAULT_RELEASE_DIR

    assert not DEFAULT_RELEASE_DIR.resolve().is_relative_to(DEFAULT_BUILD_DIR.resolve())
