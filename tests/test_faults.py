"""Faults: killed and concurrent builds, damaged builds, missing tools, read-only folders and full disks.

Each test runs the real `mscev` (a subprocess where a process is killed, raced or given another PATH; in
process otherwise) and checks three things: a clear message and a non-zero exit, nothing half-written (no
staging folder or temporary file left), and the previous output unchanged and usable.

Read-only folders and full disks are real: a small tmpfs mounted for the test (read-only by a remount). That
needs root, as CI has (.ci/run runs as root); without it these tests fail and say so, rather than skip.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from mscev.cli import main
from mscev.reason import java_available

MSCEV = Path(sys.executable).with_name("mscev")
BUILD_FILES = ["graph.nt", "graph.ttl", "inferred.ttl", "store", "summary.json", "validation.ttl", "validation.txt"]


# ---------------------------------------------------------------------------------------------------- helpers


def previous_build(built, folder: Path) -> Path:
    """A copy of the session build: the 'previous build' a failing command must leave as it was."""
    out = folder / "build"
    shutil.copytree(built.out, out)
    return out


def snapshot(build: Path) -> dict:
    """What must not change: the file names, summary.json byte for byte, and the store's answer to a query."""
    answer = subprocess.run([MSCEV, "query", "graph-summary", "--build", str(build), "--format", "json"],
                            capture_output=True, text=True, timeout=120)
    assert answer.returncode == 0, answer.stderr
    return {"files": sorted(path.name for path in build.iterdir()),
            "summary": (build / "summary.json").read_bytes(),
            "graph-summary": json.loads(answer.stdout)["results"]["bindings"]}


def leftovers(folder: Path) -> list[str]:
    """Staging folders and temporary files beside the outputs (lock files are meant to stay)."""
    return sorted(path.name for path in folder.iterdir() if path.name.startswith(".") and not path.name.endswith(".lock"))


def mscev(*argv, path: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """The installed command in a subprocess; ``path`` replaces PATH (to hide java or sort)."""
    env = {**os.environ, "PATH": str(path)} if path else None
    return subprocess.run([MSCEV, *map(str, argv)], capture_output=True, text=True, timeout=timeout, env=env)


@contextmanager
def tmpfs(where: Path, size: str):
    """A small tmpfs mounted at ``where`` (a full disk is one that is full; a read-only one is remounted ro)."""
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "mscev-test", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"these tests mount a small tmpfs to make a real full disk or read-only folder, which needs root "
                    f"(CI runs as root): `mount` said {done.stderr.strip()!r}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True)


def fill(folder: Path) -> None:
    """Write a file until the file system is full."""
    with open(folder / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError as error:
            assert error.strerror == "No space left on device", error


def size_of(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


# ---------------------------------------------------------------------------------------------------- killed and concurrent builds


@pytest.mark.slow
def test_a_build_killed_in_any_stage_leaves_the_previous_build_usable(built, tmp_path):
    """SIGKILL during validate, reason and write: the previous build answers as before; each next build
    removes the staging folder the killed one left, and the last one succeeds."""
    assert java_available(), "the reason stage runs HermiT, which needs Java (.ci/run installs it)"
    out = previous_build(built, tmp_path)
    before = snapshot(out)
    scratch = tmp_path / "tmp"  # where HermiT's temporary files go (a killed build cannot remove them)
    scratch.mkdir()
    for stage in ("validate", "reason", "write"):
        process = subprocess.Popen([MSCEV, "build", "--out", str(out)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(scratch)})
        for line in process.stderr:
            if line.strip() == f"build stage: {stage}":
                break
        else:
            pytest.fail(f"the build ended before its {stage} stage (exit {process.wait()})")
        staging = tmp_path / f".build.partial-{worker(process)}"
        if stage == "write":  # kill it with the new build half-written
            while not any(path.is_file() for path in staging.iterdir()):
                time.sleep(0.01)
        else:
            time.sleep({"validate": 0.2, "reason": 2}[stage])
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
        process.stderr.close()
        # its staging folder shows it was still at work; each build removed those of the builds killed before it
        assert leftovers(tmp_path) == [staging.name], f"killed in {stage}"
        assert snapshot(out) == before, f"killed in {stage}"
    done = mscev("build", "--out", out)
    assert done.returncode == 0, done.stderr
    assert leftovers(tmp_path) == []
    assert snapshot(out)["graph-summary"] == before["graph-summary"]


def test_the_fast_engines_store_loader_dies_with_a_killed_build(tmp_path):
    """The fast engine loads the on-disk store in a second process; killed with the build, it writes no more.
    Once it is at work (its store exists) it is stopped (SIGSTOP), so it cannot simply finish: only the SIGKILL
    the kernel sends when its parent dies ends it."""
    from mscev.synth import synthesize

    corpus = synthesize(5000, tmp_path / "corpus", seed=1).out  # a few seconds of loading
    out = tmp_path / "build"
    process = subprocess.Popen([MSCEV, "build", "--engine", "fast", "--data", str(corpus), "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr.readline().strip() == "build stage: load"  # the loader has been started
    [loader] = children(worker(process))
    store = tmp_path / f".build.partial-{worker(process)}" / "store"
    try:
        while not store.is_dir():
            assert process_state(loader) not in ("gone", "Z"), "the loader ended before it opened the store"
            time.sleep(0.005)
        os.kill(loader, signal.SIGSTOP)
        process.kill()
        assert process.wait() == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while process_state(loader) not in ("gone", "Z") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process_state(loader) in ("gone", "Z"), "the loader outlived the build"
    finally:
        process.stderr.close()
        if process_state(loader) not in ("gone", "Z"):
            os.kill(loader, signal.SIGKILL)


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def worker(process: subprocess.Popen) -> int:
    """The PID of the process doing the work of `mscev build`, which the command runs as its one child and watches
    (mscev.processes.supervise: a child killed for want of memory is reported)."""
    [child] = children(process.pid)
    return child


def process_state(pid: int) -> str:
    """The state letter of a process (R, S, T, Z, ...) or 'gone'."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return "gone"
    return next(line.split()[1] for line in status.splitlines() if line.startswith("State:"))


@pytest.mark.slow
def test_a_second_build_into_the_same_folder_is_refused_while_the_first_runs(built, tmp_path):
    out = previous_build(built, tmp_path)
    first = subprocess.Popen([MSCEV, "build", "--no-reason", "--out", str(out)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    assert first.stderr.readline().strip() == "build stage: load"  # the first holds the lock from here on
    holder = worker(first)
    second = mscev("build", "--no-reason", "--out", out, timeout=120)
    first.stderr.read()
    assert first.wait() == 0
    assert second.returncode == 2
    assert f"{out}: another mscev process (PID {holder}) is writing it now" in second.stderr
    assert "Traceback" not in second.stderr
    assert leftovers(tmp_path) == []
    assert mscev("query", "graph-summary", "--build", out).returncode == 0


def test_the_build_lock_is_released_when_a_build_fails(tmp_path, capsys):
    out = tmp_path / "build"
    draft = tmp_path / "draft.ttl"
    draft.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b \"unterminated .\n", encoding="utf-8")
    assert main(["build", "--no-reason", "--out", str(out), str(draft)]) == 2
    assert main(["build", "--no-reason", "--out", str(out)]) == 0
    assert "another mscev process" not in capsys.readouterr().err


@pytest.mark.slow
def test_reason_does_not_update_a_build_that_another_process_is_writing(built, tmp_path):
    """`mscev reason` changes the build's inferred graph in place, so it takes the build's lock too."""
    from mscev.atomic import locked

    out = previous_build(built, tmp_path)
    before, inferred = snapshot(out), (out / "inferred.ttl").read_bytes()
    with locked(out, "the build"):
        done = mscev("reason", "--build", out)
    assert done.returncode == 2, done.stderr
    assert "another mscev process" in done.stderr and "Traceback" not in done.stderr
    assert snapshot(out) == before and (out / "inferred.ttl").read_bytes() == inferred
    done = mscev("reason", "--build", out)  # once the lock is free, the same inferences replace the old ones
    assert done.returncode == 0, done.stderr
    assert snapshot(out) == before and leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------------- damaged builds


def truncated_store_files(build: Path) -> None:
    for path in (build / "store").glob("*.sst"):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garbage_store_files(build: Path) -> None:
    for path in (build / "store").glob("*.sst"):
        path.write_bytes(os.urandom(path.stat().st_size))


def store_of_random_bytes(build: Path) -> None:
    shutil.rmtree(build / "store")
    (build / "store").mkdir()
    for name in ("CURRENT", "MANIFEST-000001", "000001.sst"):
        (build / "store" / name).write_bytes(os.urandom(4096))


def empty_store_folder(build: Path) -> None:
    shutil.rmtree(build / "store")
    (build / "store").mkdir()


def store_without_triples(build: Path) -> None:
    import pyoxigraph as ox

    shutil.rmtree(build / "store")
    ox.Store(str(build / "store")).flush()


def missing_summary(build: Path) -> None:
    (build / "summary.json").unlink()


DAMAGE = [truncated_store_files, garbage_store_files, store_of_random_bytes, empty_store_folder,
          store_without_triples, missing_summary]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda damage: damage.__name__)
@pytest.mark.parametrize("command", [["query", "graph-summary"], ["export", "--format", "nt"]], ids=lambda c: c[0])
def test_a_damaged_build_is_reported_with_a_hint_to_rebuild(built, tmp_path, capsys, damage, command):
    out = previous_build(built, tmp_path)
    damage(out)
    assert main([*command, "--build", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"the build in {out} is damaged or incomplete" in error and f"run `mscev build --out {out}`" in error


@pytest.mark.slow
@pytest.mark.parametrize("damage", DAMAGE, ids=lambda damage: damage.__name__)
def test_serve_refuses_a_damaged_build(built, tmp_path, damage):
    out = previous_build(built, tmp_path)
    damage(out)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = mscev("serve", "--build", out, "--port", port, timeout=120)
    assert done.returncode == 2
    assert "damaged or incomplete" in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------------------------------------------- missing tools


@pytest.mark.slow
def test_build_without_java_skips_the_reasoner_and_says_so(built, tmp_path):
    out = previous_build(built, tmp_path)
    no_tools = tmp_path / "empty-path"
    no_tools.mkdir()
    done = mscev("build", "--out", out, path=no_tools)
    assert done.returncode == 0, done.stderr
    assert "Reasoner not run (Java not found)" in done.stdout
    assert json.loads((out / "summary.json").read_text())["reasoner"] == "not run"


def test_reason_without_java_exits_2_and_leaves_the_build(built, tmp_path):
    out = previous_build(built, tmp_path)
    inferred = (out / "inferred.ttl").read_bytes()
    no_tools = tmp_path / "empty-path"
    no_tools.mkdir()
    done = mscev("reason", "--build", out, path=no_tools)
    assert done.returncode == 2
    assert "Java is required" in done.stderr and "Traceback" not in done.stderr
    assert (out / "inferred.ttl").read_bytes() == inferred


@pytest.mark.slow
def test_a_failing_java_stops_the_build_and_leaves_the_previous_one(built, tmp_path):
    out = previous_build(built, tmp_path)
    before = snapshot(out)
    broken = tmp_path / "broken-java"
    broken.mkdir()
    (broken / "java").write_text("#!/bin/sh\necho 'Error: could not create the Java virtual machine.' >&2\nexit 1\n")
    (broken / "java").chmod(0o755)
    done = mscev("build", "--out", out, path=f"{broken}:{os.environ['PATH']}")
    assert done.returncode == 2
    assert "HermiT failed" in done.stderr and "could not create the Java virtual machine" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(out) == before and leftovers(tmp_path) == []


@pytest.mark.slow
def test_fast_engine_without_sort_says_what_to_install(built, tmp_path):
    out = previous_build(built, tmp_path)
    before = snapshot(out)
    no_tools = tmp_path / "empty-path"
    no_tools.mkdir()
    done = mscev("build", "--engine", "fast", "--out", out, path=no_tools)
    assert done.returncode == 2
    assert "`sort`, which is not on PATH" in done.stderr and "Traceback" not in done.stderr
    assert snapshot(out) == before and leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------------- read-only folder


@pytest.fixture
def read_only(built, tmp_path):
    """A read-only folder holding a previous build and a previous query result."""
    with tmpfs(tmp_path / "ro", f"{size_of(built.out) + 4_000_000}") as folder:
        shutil.copytree(built.out, folder / "build")
        (folder / "result.json").write_text("previous\n", encoding="utf-8")
        remount_read_only(folder)
        yield folder


@pytest.mark.parametrize("argv", [
    ["build", "--no-reason", "--out", "{ro}/build"],
    ["build", "--no-reason", "--out", "{ro}/new-build"],
    ["query", "graph-summary", "--format", "json", "--build", "{built}", "--out", "{ro}/result.json"],
    ["export", "--format", "nt", "--build", "{built}", "--out", "{ro}/result.json"],
    ["release", "--build", "{built}", "--out", "{ro}/release"],
], ids=lambda argv: argv[0] + ("-new" if "{ro}/new-build" in argv else ""))
def test_a_read_only_output_folder_is_refused_cleanly(built, read_only, capsys, argv):
    listing = sorted(path.name for path in read_only.iterdir())
    argv = [arg.format(ro=read_only, built=built.out) for arg in argv]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "Read-only file system" in error or "not writable" in error, error
    assert sorted(path.name for path in read_only.iterdir()) == listing
    assert (read_only / "result.json").read_text(encoding="utf-8") == "previous\n"
    assert main(["query", "graph-summary", "--build", str(read_only / "build")]) == 0


# ---------------------------------------------------------------------------------------------------- full disk


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("room", [500_000, 2_000_000, 4_000_000])
def test_build_on_a_full_disk_leaves_the_previous_build(built, tmp_path, capsys, engine, room):
    """Room for the previous build plus ``room`` bytes: the new one (about as big) fails at some point."""
    with tmpfs(tmp_path / "disk", f"{size_of(built.out) + room}") as disk:
        out = previous_build(built, disk)
        before = snapshot(out)
        assert main(["build", "--no-reason", "--engine", engine, "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert "No space left on device" in error and "Traceback" not in error, error
        assert snapshot(out) == before and leftovers(disk) == []


@pytest.mark.parametrize("command", [["query", "graph-summary", "-f", "tsv"], ["export", "-f", "nt"]],
                         ids=["query", "export"])
def test_a_named_pipe_as_out_stays_a_pipe_and_gets_the_output(built, tmp_path, command):
    """--out /dev/null, /dev/stdout or a pipe is written into, never replaced by a file renamed over it."""
    import stat
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    assert main([*command, "--build", str(built.out), "--out", str(pipe)]) == 0
    reader.join(timeout=60)
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert received and received[0].strip(), "nothing came through the pipe"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["pipe"]


@pytest.mark.parametrize("command", [["query", "graph-summary", "--format", "json"], ["export", "--format", "nt"]],
                         ids=lambda command: command[0])
def test_query_and_export_on_a_full_disk_leave_the_previous_file(built, tmp_path, capsys, command):
    with tmpfs(tmp_path / "disk", "1m") as disk:
        target = disk / "result"
        target.write_text("previous\n", encoding="utf-8")
        fill(disk)
        assert main([*command, "--build", str(built.out), "--out", str(target)]) == 2
        error = capsys.readouterr().err
        assert f"{target}: cannot write it (No space left on device)" in error, error
        assert target.read_text(encoding="utf-8") == "previous\n"
        assert sorted(path.name for path in disk.iterdir()) == ["filler", "result"]


@pytest.mark.slow
def test_release_on_a_full_disk_leaves_the_previous_release(built, tmp_path, capsys):
    with tmpfs(tmp_path / "disk", "3m") as disk:
        out = disk / "release"
        out.mkdir()
        (out / "README.md").write_text("the previous release\n", encoding="utf-8")
        (out / "SHA256SUMS").write_text("", encoding="utf-8")  # what marks a release, which --out may replace
        assert main(["release", "--build", str(built.out), "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert "No space left on device" in error and "the previous one is unchanged" in error, error
        assert sorted(path.name for path in out.iterdir()) == ["README.md", "SHA256SUMS"]
        assert (out / "README.md").read_text(encoding="utf-8") == "the previous release\n"
        assert leftovers(disk) == []
