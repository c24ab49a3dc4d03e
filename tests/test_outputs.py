"""Output folders and files: what `--out` may replace, the build manifest, file modes and byte-identical builds.

Every test runs the real command (in process, or in a subprocess where the process's own state matters) and
checks what is on disk afterwards, not only the exit code.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mscev.cli import main
from mscev.paths import PROJECT_ROOT

MSCEV = Path(sys.executable).with_name("mscev")


def listing(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file()}


# ---------------------------------------------------------------------------------------------------- what --out may replace


@pytest.mark.parametrize("command", [["build", "--no-reason"], ["release", "--build", "{built}"],
                                     ["synth", "--findings", "3"]], ids=lambda command: command[0])
def test_out_refuses_a_folder_holding_someone_elses_files(built, tmp_path, capsys, command):
    """A folder that is not empty and was not written by the same command is never replaced."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "draft.ttl").write_text("my uncommitted edits\n", encoding="utf-8")
    argv = [arg.format(built=built.out) for arg in command]
    assert main([*argv, "--out", str(folder)]) == 2
    error = capsys.readouterr().err
    assert f"{folder}: holds files that mscev did not write" in error and "Traceback" not in error, error
    assert listing(folder) == {"draft.ttl": b"my uncommitted edits\n"}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes"]


@pytest.mark.parametrize("target", ["triples", "ontology", ".", "root", "home", "/"])
@pytest.mark.parametrize("command", [["build", "--no-reason"], ["release", "--build", "{built}"]],
                         ids=lambda command: command[0])
def test_out_refuses_sources_the_project_root_home_and_slash(built, capsys, monkeypatch, command, target):
    monkeypatch.chdir(PROJECT_ROOT)
    folder = {"root": str(PROJECT_ROOT), "home": str(Path.home())}.get(target, target)
    before = sorted(path.name for path in Path(folder).iterdir())
    argv = [arg.format(built=built.out) for arg in command]
    assert main([*argv, "--out", folder]) == 2
    error = capsys.readouterr().err
    assert "error:" in error and "--out" in error and "Traceback" not in error, error
    assert sorted(path.name for path in Path(folder).iterdir()) == before


def test_build_out_refuses_the_folder_of_its_own_data(tmp_path, capsys):
    """`build --data DIR --out DIR` would replace the sources it reads."""
    data = tmp_path / "corpus"
    assert main(["synth", "--findings", "3", "--out", str(data)]) == 0
    before = listing(data)
    assert main(["build", "--no-reason", "--data", str(data), "--out", str(data)]) == 2
    assert "holds the sources" in capsys.readouterr().err
    assert listing(data) == before


def test_out_accepts_a_new_an_empty_or_its_own_previous_folder(built, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (tmp_path / "new", empty, tmp_path / "new"):
        assert main(["release", "--build", str(built.out), "--out", str(folder)]) == 0
        assert (folder / "SHA256SUMS").is_file()


def test_release_out_refuses_a_build_folder(built, tmp_path, capsys):
    """A folder mscev wrote, but as something else (a build), is not replaced by a release."""
    build = tmp_path / "build"
    shutil.copytree(built.out, build)
    assert main(["release", "--build", str(built.out), "--out", str(build)]) == 2
    assert "holds files that mscev did not write" in capsys.readouterr().err
    assert (build / "summary.json").is_file() and (build / "store").is_dir()


# ---------------------------------------------------------------------------------------------------- file modes


@pytest.mark.parametrize("umask", [0o022, 0o027])
@pytest.mark.parametrize("command", [["query", "graph-summary", "-f", "tsv"], ["export", "-f", "ttl"]],
                         ids=lambda command: command[0])
def test_files_written_with_out_follow_the_umask(built, tmp_path, command, umask):
    target = tmp_path / "result"
    done = subprocess.run([MSCEV, *command, "--build", str(built.out), "--out", str(target)], capture_output=True,
                          text=True, timeout=300, preexec_fn=lambda: os.umask(umask))
    assert done.returncode == 0, done.stderr
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------------------------------------------- byte-identical builds


BUILT_FILES = ["graph.nt", "graph.ttl", "inferred.ttl", "validation.ttl", "validation.txt"]


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_two_builds_of_the_same_input_are_byte_identical(tmp_path, engine):
    """Blank nodes (the ontology's OWL restrictions and lists, the report's results) get canonical labels and the
    report is sorted, so a diff between two builds shows only real changes. Each build is its own process with its
    own hash seed, as two runs on two days would be; the reasoner is left out (HermiT finds no blank nodes)."""
    files = []
    for seed in ("1", "2"):
        out = tmp_path / f"build-{seed}"
        done = subprocess.run([MSCEV, "build", "--no-reason", "--engine", engine, "--out", str(out)],
                              capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        files.append({name: (out / name).read_bytes() for name in BUILT_FILES})
    first, second = files
    assert b"_:" in first["graph.nt"] and b"sh:result" in first["validation.ttl"]  # there are blank nodes to label
    assert [name for name in BUILT_FILES if first[name] != second[name]] == []


# ---------------------------------------------------------------------------------------------------- the build manifest


def truncate_graph_nt(build: Path) -> None:
    """The probe's damage: graph.nt cut to 90 %, at a line end, so what is left still parses."""
    data = (build / "graph.nt").read_bytes()
    (build / "graph.nt").write_bytes(data[: data.rindex(b"\n", 0, len(data) * 9 // 10) + 1])


def overwrite_a_line_of_graph_nt(build: Path) -> None:
    """Same size, other content: only a checksum sees it."""
    data = bytearray((build / "graph.nt").read_bytes())
    start = data.index(b'"') + 1
    data[start] = ord("Z") if data[start] != ord("Z") else ord("Y")
    (build / "graph.nt").write_bytes(bytes(data))


def empty_the_inferred_graph(build: Path) -> None:
    import pyoxigraph as ox

    store = ox.Store(str(build / "store"))
    store.update("DROP SILENT GRAPH <https://w3id.org/mscev/data/graph/inferred>")
    store.flush()


@pytest.mark.parametrize("damage", [truncate_graph_nt, overwrite_a_line_of_graph_nt, empty_the_inferred_graph],
                         ids=lambda damage: damage.__name__)
@pytest.mark.parametrize("command", [["release", "--out", "{tmp}/release"], ["export", "--format", "nt"],
                                     ["export", "--format", "ttl", "--inferred"]],
                         ids=["release", "export-nt", "export-ttl-inferred"])
def test_release_and_export_refuse_a_build_that_differs_from_its_manifest(built, tmp_path, capsys, command, damage):
    build = tmp_path / "build"
    shutil.copytree(built.out, build)
    damage(build)
    argv = [arg.format(tmp=tmp_path) for arg in command]
    assert main([*argv, "--build", str(build)]) == 2
    captured = capsys.readouterr()
    assert f"the build in {build} is damaged or incomplete" in captured.err and "Traceback" not in captured.err
    assert captured.out == "" and not (tmp_path / "release").exists()


def test_query_notices_a_truncated_file_by_its_size(built, tmp_path, capsys):
    build = tmp_path / "build"
    shutil.copytree(built.out, build)
    truncate_graph_nt(build)
    assert main(["query", "graph-summary", "--build", str(build)]) == 2
    assert "graph.nt has" in capsys.readouterr().err


def test_serve_refuses_a_build_that_differs_from_its_manifest(built, tmp_path):
    from mscev.errors import MscevError
    from mscev.serve import Settings, create_app

    build = tmp_path / "build"
    shutil.copytree(built.out, build)
    overwrite_a_line_of_graph_nt(build)
    with pytest.raises(MscevError, match="damaged or incomplete"):
        create_app(Settings(build_dir=build, workers=1))


def test_the_manifest_lists_every_file_with_size_and_checksum(built):
    import hashlib
    import json

    manifest = json.loads((built.out / "manifest.json").read_text(encoding="utf-8"))
    for name in ["graph.nt", "graph.ttl", "inferred.ttl", "summary.json", "validation.ttl", "validation.txt"]:
        data = (built.out / name).read_bytes()
        assert manifest["files"][name] == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    graphs = manifest["store"]["triples"]  # the curated triples: those of the body text, and those that are not
    assert (graphs["https://w3id.org/mscev/data/graph/asserted"]
            + graphs["https://w3id.org/mscev/data/graph/not-from-body-text"]) == built.counts["triples"]
