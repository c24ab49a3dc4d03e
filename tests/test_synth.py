"""The synthetic corpus: deterministic for a seed, shaped like the curated findings, broken exactly where it says."""

import json

import pytest

from mscev.cli import main
from mscev.errors import MscevError
from mscev.load import load_store
from mscev.paths import SHAPES_FILE, source_files
from mscev.query import ASSERTED_GRAPH
from mscev.synth import BREAKS, read_broken, synthesize
from mscev.validate import validate_store


def contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_same_seed_gives_byte_identical_files(tmp_path):
    first = synthesize(400, tmp_path / "a", seed=11, broken=0.05)
    second = synthesize(400, tmp_path / "b", seed=11, broken=0.05)
    assert contents(first.out) == contents(second.out)
    assert contents(synthesize(400, tmp_path / "c", seed=12, broken=0.05).out) != contents(first.out)


def test_breaks_change_only_the_broken_findings(tmp_path):
    """Breaks draw from their own random stream: the rest of the corpus is the same as without them."""
    clean = synthesize(300, tmp_path / "clean", seed=3)
    broken = synthesize(300, tmp_path / "broken", seed=3, broken=0.1)
    assert clean.counts["cited studies"] == broken.counts["cited studies"]
    assert (clean.out / "terms.ttl").read_bytes() == (broken.out / "terms.ttl").read_bytes()
    assert not read_broken(clean.out)


def test_reference_validation_reports_exactly_the_broken_findings(synthetic, synthetic_reference_report):
    expected = read_broken(synthetic.out)
    assert len({focus for focus, _, _ in expected}) == round(300 * 0.05)
    reported = {(r.focus, r.constraint, r.path) for r in synthetic_reference_report.results}
    assert reported == expected
    assert all(r.severity == "Violation" for r in synthetic_reference_report.results)


def test_fast_validation_reports_exactly_the_broken_findings(synthetic):
    report = validate_store(load_store(source_files(synthetic.out), ASSERTED_GRAPH))
    assert {(r.focus, r.constraint, r.path) for r in report.results} == read_broken(synthetic.out)


def test_every_kind_of_break_is_validated(tmp_path):
    """A corpus large enough to hold every kind of break: each one is reported as broken.tsv says."""
    corpus = synthesize(2000, tmp_path / "corpus", seed=1, broken=0.05)
    expected = read_broken(corpus.out)
    assert {(c, p) for _, c, p in expected} == {pair for pairs in BREAKS.values() for pair in pairs}
    report = validate_store(load_store(source_files(corpus.out), ASSERTED_GRAPH))
    assert {(r.focus, r.constraint, r.path) for r in report.results} == expected


def test_corpus_covers_every_shape(tmp_path):
    """Every node shape has focus nodes in a corpus of realistic size (the shapes are all exercised)."""
    from rdflib import Graph, Namespace

    sh = Namespace("http://www.w3.org/ns/shacl#")
    corpus = synthesize(5000, tmp_path / "corpus", seed=1)
    store = load_store(source_files(corpus.out), ASSERTED_GRAPH)
    shapes = Graph().parse(SHAPES_FILE)
    for shape in set(shapes.subjects(sh.targetClass, None)):
        classes = " ".join(f"<{c}>" for c in shapes.objects(shape, sh.targetClass))
        query = f"ASK {{ VALUES ?c {{ {classes} }} ?x a ?c }}"
        assert store.store.query(query, default_graph=ASSERTED_GRAPH), f"no focus node for {shape}"


def test_refuses_to_overwrite_a_folder_that_is_not_a_corpus(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(MscevError, match="holds files that mscev did not write as the corpus"):
        synthesize(10, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("findings, broken", [(0, 0.0), (10, 1.5)])
def test_bad_parameters_exit_2(tmp_path, findings, broken):
    assert main(["synth", "--findings", str(findings), "--broken", str(broken), "--out", str(tmp_path / "c")]) == 2


def test_synth_command_writes_a_buildable_corpus(tmp_path, capsys):
    corpus, out = tmp_path / "corpus", tmp_path / "build"
    assert main(["synth", "--findings", "200", "--seed", "2", "--out", str(corpus)]) == 0
    manifest = json.loads((corpus / "synth.json").read_text())
    assert manifest["findings"] == 200 and manifest["seed"] == 2
    assert main(["build", "--engine", "fast", "--data", str(corpus), "--out", str(out)]) == 0
    counts = json.loads((out / "summary.json").read_text())["counts"]
    assert counts["findings"] == 200 and counts["violations"] == 0


def test_build_of_a_broken_corpus_exits_1(tmp_path, capsys):
    corpus = synthesize(200, tmp_path / "corpus", seed=2, broken=0.05).out
    assert main(["build", "--engine", "fast", "--data", str(corpus), "--out", str(tmp_path / "build")]) == 1
    assert not (tmp_path / "build").exists()
    assert "does not conform" in capsys.readouterr().err


def test_a_synthetic_build_says_so_everywhere(tmp_path, capsys):
    """Summary, stats, query captions and every web page of a synth corpus say it is synthetic; the real build's do not."""
    from fastapi.testclient import TestClient

    from mscev.serve import Settings, create_app

    corpus = synthesize(50, tmp_path / "corpus", seed=5)
    out = tmp_path / "build"
    assert main(["build", "--data", str(corpus.out), "--out", str(out), "--no-reason"]) == 0
    assert "SYNTHETIC corpus" in capsys.readouterr().out
    assert json.loads((out / "summary.json").read_text())["synthetic"] is True
    assert main(["stats", "--build", str(out)]) == 0
    assert "SYNTHETIC corpus" in capsys.readouterr().out
    assert main(["query", "graph-summary", "--build", str(out)]) == 0
    assert "SYNTHETIC corpus" in capsys.readouterr().out.replace("\n", " ")
    with TestClient(create_app(Settings(build_dir=out, workers=1))) as client:
        for path in ("/", "/queries", "/matrix"):
            assert "Synthetic data." in client.get(path, headers={"Accept": "text/html"}).text, path


def test_the_real_build_is_not_marked_synthetic(built, capsys):
    assert json.loads((built.out / "summary.json").read_text())["synthetic"] is False
    assert main(["query", "graph-summary", "--build", str(built.out)]) == 0
    assert "SYNTHETIC" not in capsys.readouterr().out
