"""What a killed mscev leaves behind, and what it says when memory runs out (issue 14, defects 11 and 12).

kill -9 gives a process no chance to clean up, so the children it started must end with it (the kernel's
parent-death signal) and the next run must remove the temporaries it left.
"""

import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mscev.reason import java_available

MSCEV = Path(sys.executable).with_name("mscev")


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return "gone"


def alive(pid: int) -> bool:
    try:
        state = next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                     if line.startswith("State:"))
    except FileNotFoundError:
        return False
    return state != "Z"


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def wait_for_java(process: subprocess.Popen, timeout: float = 120) -> int:
    """Java started by mscev (by the command's own process, which `mscev build` and `reason` run as a child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"mscev ended (exit {process.returncode}) before it started Java"
        for child in descendants(process.pid):
            if command_name(child) == "java":
                return child
        time.sleep(0.02)
    pytest.fail("mscev started no Java process")


@pytest.mark.slow
def test_the_java_reasoner_and_its_temporary_folder_do_not_outlive_a_killed_mscev(tmp_path):
    """HermiT (Java) is stopped (SIGSTOP) so it cannot simply finish; killing mscev must end it all the same.
    The next run removes the killed one's mscev-reason-* folder before it starts its own."""
    assert java_available(), "HermiT needs Java (.ci/run installs it)"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    left = []
    for run in range(2):
        process = subprocess.Popen([MSCEV, "reason", "--build", str(tmp_path / "no-build")], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            java = wait_for_java(process)
            folders = sorted(path.name for path in scratch.iterdir())
            assert len(folders) == 1 and folders[0].startswith("mscev-reason-"), (run, folders)
            assert left == [] or folders != left[0], "the killed run's folder is still there"
            os.kill(java, signal.SIGSTOP)
            process.kill()
            assert process.wait() == -signal.SIGKILL
            deadline = time.monotonic() + 10
            while alive(java) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not alive(java), "Java outlived the killed mscev"
            left.append(folders)
        finally:
            if process.poll() is None:
                process.kill()
    assert all(left)


def test_a_killed_writer_s_temporary_file_is_removed_by_the_next_write(built, tmp_path):
    """`export --out` and `query --out` write a temporary file beside the target; one whose writer was killed (its
    PID in the name is gone) is removed by the next command that writes beside it."""
    target = tmp_path / "graph.nt"
    writer = ("import os, signal, sys; from mscev.atomic import writing\n"
              "with writing(sys.argv[1]) as handle:\n"
              "    handle.write(b'half a file'); handle.flush(); os.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", writer, str(target)], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    [stale] = [path for path in tmp_path.iterdir() if path.name.startswith(".graph.nt.")]
    unrelated = tmp_path / ".notes.txt.tmp"
    unrelated.write_text("not ours")
    done = subprocess.run([MSCEV, "export", "-f", "nt", "--build", str(built.out), "--out", str(target)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and unrelated.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == [".notes.txt.tmp", "graph.nt"]


# ---------------------------------------------------------------------------------------------------- out of memory


def limited_memory(megabytes: int):
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))
    return limit


def test_a_build_that_runs_out_of_memory_says_so(tmp_path):
    """Under a 300 MB address-space limit pyoxigraph cannot allocate its load buffer and aborts (SIGABRT, exit
    134 with no word from mscev before): the command says what ran out, in which stage, and what to do."""
    from mscev.synth import synthesize

    corpus = synthesize(3000, tmp_path / "corpus", seed=1).out
    done = subprocess.run([MSCEV, "build", "--engine", "fast", "--no-reason", "--data", str(corpus), "--out",
                           str(tmp_path / "build")], capture_output=True, text=True, timeout=600,
                          preexec_fn=limited_memory(300))
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "error: mscev build ran out of memory in its load stage" in done.stderr, done.stderr[-2000:]
    assert "--engine fast" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "build").exists()


@pytest.mark.slow
def test_hermit_out_of_memory_names_the_java_heap_and_the_setting(tmp_path):
    assert java_available(), "HermiT needs Java (.ci/run installs it)"
    done = subprocess.run([MSCEV, "reason", "--build", str(tmp_path / "no-build")], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "MSCEV_JAVA_MEMORY": "16"})
    assert done.returncode == 2, done.stderr
    assert "HermiT ran out of memory: its Java heap is 16 MB" in done.stderr and "MSCEV_JAVA_MEMORY" in done.stderr


def test_python_running_out_of_memory_is_a_message_not_a_traceback(monkeypatch, capsys):
    from mscev.cli import main

    def exhausted(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(importlib.import_module("mscev.validate"), "validate", exhausted)
    assert main(["validate"]) == 2
    error = capsys.readouterr().err
    assert "error: mscev ran out of memory" in error and "Traceback" not in error
