"""The CLI in process (`main([...])`), exit codes included, and the installed console script."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mscev import __version__
from mscev.build import build
from mscev.cli import main

from conftest import REVIEW_TEXT

BAD_QUOTE = """@prefix mscev: <https://w3id.org/mscev/> .
@prefix claim: <https://w3id.org/mscev/data/claim/> .
claim:invented a mscev:ReviewClaim ;
    mscev:evidenceQuote "MSC vesicles cure every disease known to medicine." .
"""


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize("command", ["build", "validate", "reason", "query", "stats", "check-quotes", "update-imports"])
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_build_command_writes_the_build_folder(tmp_path, capsys):
    out = tmp_path / "build"
    assert main(["build", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "findings" in printed and "time: validate" in printed
    for name in ("graph.ttl", "graph.nt", "inferred.ttl", "validation.ttl", "validation.txt", "summary.json", "store"):
        assert (out / name).exists(), name
    counts = json.loads((out / "summary.json").read_text())["counts"]
    assert counts["findings"] > 0 and counts["references"] == 115 and counts["violations"] == 0


def test_validate_reports_a_violation_in_an_extra_file(tmp_path, capsys):
    draft = tmp_path / "draft.ttl"
    draft.write_text(BAD_QUOTE.replace("claim:invented a mscev:ReviewClaim ;", "claim:invented a mscev:ReviewClaim ;\n"
                                       "    mscev:citedStudy <https://w3id.org/mscev/data/ref/1> ;"), encoding="utf-8")
    assert main(["validate", "--format", "tsv", "--violations-only", str(draft)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("violation(s), 0 warning(s)") and not lines[0].startswith("0 ")
    assert all(line.split("\t")[1].endswith("draft.ttl") and line.split("\t")[2] == "claim:invented"
               for line in lines[1:]), lines


def test_validate_syntax_error_exits_2_with_location(tmp_path, capsys):
    draft = tmp_path / "broken.ttl"
    draft.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b \"unterminated .\n", encoding="utf-8")
    assert main(["validate", str(draft)]) == 2
    assert f"{draft}:2:" in capsys.readouterr().err.replace("\n", "")


def test_missing_extra_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.ttl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_check_quotes(tmp_path, capsys):
    assert main(["check-quotes", "--source", str(REVIEW_TEXT)]) == 0
    assert main(["check-quotes"]) == 0  # the review shipped in source/ is the default
    assert "not found verbatim in " + str(REVIEW_TEXT) in capsys.readouterr().out.replace("\n", "")
    draft = tmp_path / "invented.ttl"
    draft.write_text(BAD_QUOTE, encoding="utf-8")
    assert main(["check-quotes", str(draft)]) == 1
    assert "claim:invented" in capsys.readouterr().out
    assert main(["check-quotes", "--source", str(tmp_path / "absent.txt")]) == 2


def test_unknown_query_exits_2(built, capsys):
    assert main(["query", "no-such-question", "--build", str(built.out)]) == 2
    assert "no stored query" in capsys.readouterr().err


def test_query_without_a_build_says_how(tmp_path, capsys):
    assert main(["query", "graph-summary", "--build", str(tmp_path)]) == 2
    assert "mscev build" in capsys.readouterr().err


def test_stats(built, capsys):
    assert main(["stats", "--build", str(built.out)]) == 0
    assert "findings" in capsys.readouterr().out


def test_unknown_option_exits_2(capsys):
    assert main(["build", "--no-such-option"]) == 2


def test_output_folder_inside_a_file_exits_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert main(["build", "--no-reason", "--out", str(blocker / "build")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_missing_output_parent_exits_2(tmp_path, capsys):
    assert main(["build", "--no-reason", "--out", str(tmp_path / "no" / "such" / "build")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_failed_build_leaves_previous_build_intact(tmp_path):
    out = tmp_path / "build"
    out.mkdir()
    (out / "previous.txt").write_text("the last good build", encoding="utf-8")
    (out / "summary.json").write_text("{}", encoding="utf-8")  # what marks a build, which --out may replace
    draft = tmp_path / "draft.ttl"
    draft.write_text(BAD_QUOTE, encoding="utf-8")  # a review claim without section or statedIn: violations
    result = build(out, extra=[draft], use_reasoner=False)
    assert not result.ok and result.report.violations
    assert sorted(p.name for p in out.iterdir()) == ["previous.txt", "summary.json"]
    assert not list(tmp_path.glob(".build.partial-*"))


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("mscev")
    command = [str(script)] if script.exists() else [shutil.which("mscev")]
    done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and __version__ in done.stdout


def test_validate_a_draft_shows_its_own_problems_first(tmp_path, capsys):
    """The graph's own warnings do not bury a draft's problem: only the draft's results, then a count of the rest."""
    draft = tmp_path / "draft.ttl"
    draft.write_text("@prefix mscev: <https://w3id.org/mscev/> .\n"
                     "<https://w3id.org/mscev/data/finding/draft> a mscev:Finding .\n", encoding="utf-8")
    assert main(["validate", "--format", "tsv", str(draft)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) > 1 and all(line.split("\t")[1].endswith("draft.ttl") for line in lines[1:]), lines
    assert re.search(r"The rest of the graph: 0 violation\(s\), \d+ warning\(s\), not shown \(--all", captured.err)
    assert main(["validate", "--format", "tsv", "--all", str(draft)]) == 1
    everything = capsys.readouterr().out.splitlines()
    assert len(everything) > len(lines) and any(not line.split("\t")[1].endswith("draft.ttl") for line in everything[1:])
    assert main(["validate", str(draft)]) == 1
    assert "rdfs:label" in capsys.readouterr().out  # a message's ':label:' stays text (no emoji)


def test_new_finding_is_a_draft_that_validation_guides(tmp_path, capsys):
    draft = tmp_path / "draft.ttl"
    assert main(["new", "finding", "26", "cartilage-repair", "--section", "bm-ev", "--out", str(draft)]) == 0
    text = draft.read_text(encoding="utf-8")
    assert "finding:ref26-cartilage-repair a mscev:Finding" in text and "mscev:citedStudy ref:26" in text
    assert "Vonk LA" in text  # the reference's printed entry, for the curator
    assert main(["validate", "--format", "tsv", str(draft)]) == 1
    lines = capsys.readouterr().out.splitlines()[1:]
    todo = {line.split("\t")[3] for line in lines if "TODO" in line}
    assert {"mscev:condition", "mscev:outcome", "mscev:studyModel", "mscev:direction", "mscev:producedBy"} <= todo
    assert main(["check-quotes", str(draft)]) == 1  # the quote is still a TODO
    capsys.readouterr()
    assert main(["new", "finding", "26", "cartilage-repair", "--section", "bm-ev", "--out", str(draft)]) == 2
    assert "the file exists" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["999", "x", "--section", "bm-ev"], "numbered 1 to 115"),
    (["26", "Not A Slug", "--section", "bm-ev"], "lower-case words joined by hyphens"),
    (["26", "x", "--section", "nowhere"], "choose one of introduction, bm, bm-ev"),
])
def test_new_finding_refuses_bad_input(args, message, capsys):
    assert main(["new", "finding", *args]) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_update_imports_leaves_an_identical_file_alone(tmp_path, capsys):
    """Rewriting external.ttl with the same content made every later command report a changed source."""
    from mscev.imports import write_imports
    from mscev.paths import EXTERNAL_FILE

    copy = tmp_path / "external.ttl"
    copy.write_bytes(EXTERNAL_FILE.read_bytes())
    before = copy.stat().st_mtime_ns
    assert write_imports(copy)[2] is False and copy.stat().st_mtime_ns == before
    copy.write_text("# stale\n", encoding="utf-8")
    assert write_imports(copy)[2] is True and copy.read_bytes() == EXTERNAL_FILE.read_bytes()
    assert main(["update-imports"]) == 0
    assert "up to date" in capsys.readouterr().out
