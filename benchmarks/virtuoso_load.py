"""Benchmark: a release loaded into Virtuoso 7 by its bulk loader (ld_dir, rdf_loader_run), as README.md documents
beside `mscev publish` (which sends the triples over HTTP and suits releases of up to a few million triples).

Starts `virtuoso-t` in a temporary folder on free loopback ports (benchmarks/virtuoso-bulk.ini), then, timed:
registers the release's N-Triples (mscev.nt, mscev-inferred.nt, mscev-derived.nt, and with --split the asserted
triples cut into pieces first, so that several loaders work at once) with ld_dir into one graph, runs --loaders
rdf_loader_run() at once in as many isql sessions, and checkpoints. Prints the seconds, the triples in the graph,
and the server's peak resident memory. A benchmark prints figures; it is never asserted in tests.

    .venv/bin/python benchmarks/virtuoso_load.py --release RELEASE [--loaders 2] [--split 4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template

GRAPH = "https://w3id.org/mscev/data/graph/release"
INI = Path(__file__).with_name("virtuoso-bulk.ini")
ISQL = shutil.which("isql-vt") or shutil.which("isql")


def free_ports(count: int) -> list[int]:
    ports = []
    for _ in range(count):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    return ports


def isql(port: int, sql: str, timeout: float = 3600) -> str:
    done = subprocess.run([ISQL, str(port), "dba", "dba", f"exec={sql}"], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or "*** Error" in done.stdout + done.stderr:
        raise RuntimeError(f"isql {sql!r}: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return done.stdout


def split_release(release: Path, folder: Path, pieces: int) -> None:
    """The release's N-Triples as files the loaders can share: every triple with a blank node in one file (a blank
    node label is scoped to its file), the other asserted triples in ``pieces`` files of whole lines; the inferred
    and derived graphs as they are."""
    with open(release / "mscev.nt", "rb") as source:
        blank = open(folder / "mscev-blank.nt", "wb")
        parts = [open(folder / f"mscev-{index:02d}.nt", "wb") for index in range(pieces)]
        for number, line in enumerate(source):
            (blank if b"_:" in line else parts[number % pieces]).write(line)
        for handle in (blank, *parts):
            handle.close()
    for name in ("mscev-inferred.nt", "mscev-derived.nt"):
        shutil.copyfile(release / name, folder / name)


def peak_sampler(pid: int, stop: threading.Event, peak: list[float]) -> None:
    """Keep ``peak[0]`` at the highest resident memory (MB) of ``pid`` seen, every 0.2 s, until ``stop``."""
    while not stop.wait(0.2):
        try:
            peak[0] = max(peak[0], resident_mb(pid))
        except (OSError, IndexError):
            return


def resident_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


@dataclass
class Virtuoso:
    """A running virtuoso-t: its process, ports and folder."""
    process: subprocess.Popen
    sql_port: int
    http_port: int
    work: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/sparql"


@contextmanager
def running_virtuoso(work: Path, readable: Path, buffers: int = 340_000, max_rows: int = 100_000,
                     query_seconds: int = 600) -> Iterator[Virtuoso]:
    """virtuoso-t with benchmarks/virtuoso-bulk.ini in ``work`` on free loopback ports, ``readable`` allowed to its
    bulk loader; stopped on exit."""
    if ISQL is None or shutil.which("virtuoso-t") is None:
        raise SystemExit("virtuoso-t and isql-vt are needed (Debian: virtuoso-opensource-7-bin)")
    sql_port, http_port = free_ports(2)
    ini = work / "virtuoso.ini"
    ini.write_text(Template(INI.read_text(encoding="utf-8")).substitute(
        dir=work, sql_port=sql_port, http_port=http_port, release=readable, buffers=buffers,
        dirty_buffers=buffers * 3 // 4, max_rows=max_rows, query_seconds=query_seconds), encoding="utf-8")
    server = subprocess.Popen(["virtuoso-t", "-f", "-c", str(ini)], cwd=work, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                isql(sql_port, "SELECT 1;", timeout=10)
                break
            except (RuntimeError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"virtuoso-t did not come online: {(work / 'virtuoso.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield Virtuoso(server, sql_port, http_port, work)
    finally:
        server.terminate()
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def bulk_load(server: Virtuoso, source: Path, loaders: int) -> dict:
    """Load every *.nt file of ``source`` into GRAPH with ``loaders`` rdf_loader_run() at once, then checkpoint;
    the seconds, the triples in the graph and the files that failed."""
    figures: dict = {"loadavg_at_start": os.getloadavg()}
    began = time.perf_counter()
    isql(server.sql_port, f"ld_dir('{source}', '*.nt', '{GRAPH}');")
    running = [subprocess.Popen([ISQL, str(server.sql_port), "dba", "dba", "exec=rdf_loader_run();"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(loaders)]
    for loader in running:
        loader.communicate()
    loaded = time.perf_counter()
    isql(server.sql_port, "checkpoint;")
    figures["load_seconds"] = round(loaded - began, 2)
    figures["load_and_checkpoint_seconds"] = round(time.perf_counter() - began, 2)
    errors = isql(server.sql_port, "SELECT ll_file, ll_error FROM DB.DBA.load_list WHERE ll_error IS NOT NULL;")
    figures["errors"] = [line for line in errors.splitlines() if "/" in line]
    count = isql(server.sql_port, f"SPARQL SELECT COUNT(*) FROM <{GRAPH}> WHERE {{ ?s ?p ?o }};")
    figures["triples"] = int(next(line for line in count.splitlines() if line.strip().isdigit()).strip())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", type=Path, required=True)
    parser.add_argument("--loaders", type=int, default=2, help="rdf_loader_run() sessions at once")
    parser.add_argument("--split", type=int, default=0, help="cut the asserted triples into this many files first")
    parser.add_argument("--buffers", type=int, default=340_000, help="NumberOfBuffers (8 KiB pages)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the database (default: a temporary one)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="mscev-virtuoso-"))
    work.mkdir(parents=True, exist_ok=True)
    source = args.release.resolve()
    figures: dict = {"release": str(source), "loaders": args.loaders, "split": args.split}
    try:
        if args.split:
            started = time.perf_counter()
            source = work / "pieces"
            source.mkdir(exist_ok=True)
            split_release(args.release.resolve(), source, args.split)
            figures["split_seconds"] = round(time.perf_counter() - started, 2)
        with running_virtuoso(work, source, args.buffers) as server:
            stop, peak = threading.Event(), [0.0]
            threading.Thread(target=peak_sampler, args=(server.process.pid, stop, peak), daemon=True).start()
            figures.update(bulk_load(server, source, args.loaders))
            stop.set()
            figures["server_peak_mb"] = round(peak[0])
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
