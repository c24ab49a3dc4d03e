"""Load test of `mscev serve`: concurrent clients run the stored queries over HTTP.

Prints requests per second, latency percentiles (overall and per request), failures, and the resident memory
of the server's processes (the server, its fork server and its query workers) as the run goes on, so that
growth would show. It starts its own server on a free loopback port and stops it at the end; traffic goes to
127.0.0.1 only, and the run is bounded by --requests (or --duration). --pages adds entity pages (findings,
preparations, references; HTML and Turtle). A benchmark: never asserted in tests; benchmarks/soak.py runs it for
minutes, and tests/test_hostile.py and tests/test_browser.py start their servers with running_server.

    .venv/bin/mscev build
    .venv/bin/python benchmarks/load_serve.py [--requests 3000 | --duration S] [--pages] [--clients 8] [--workers 2]
        [--build build]

Exit code 1 when any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

import httpx2

from mscev.paths import DEFAULT_BUILD_DIR
from mscev.query import open_store, stored_queries

# Stored queries with parameter values given as a user would (a label, a CURIE), besides their defaults.
PARAMETER_VALUES = {"sources-by-condition": [{"condition": "osteoarthritis"}, {"condition": "MONDO:0005178"}],
                    "conditions-by-source": [{"source": "bone marrow MSC"}, {"source": "umbilical cord"}]}
FREE_QUERY = ("SELECT ?finding ?label WHERE { ?finding a <https://w3id.org/mscev/Finding> ; "
              "<http://www.w3.org/2000/01/rdf-schema#label> ?label } LIMIT 50")
MEMORY_SAMPLE_SECONDS = 0.25
HTML = "text/html"
PAGE_TYPES = ("Finding", "VesiclePreparation", "CitedStudy")  # classes of the ontology whose members get pages
PAGES_PER_TYPE = 6
MEMBERS = ("SELECT DISTINCT ?member WHERE {{ GRAPH <https://w3id.org/mscev/data/graph/asserted> {{ ?member a "
           "<https://w3id.org/mscev/{type}> }} }} ORDER BY ?member")


def targets(build_dir: Path | None = None) -> list[tuple[str, str]]:
    """(path, Accept) of the requests: every stored query with its defaults (JSON results), some with given
    values, and one free query through the SPARQL protocol; with ``build_dir``, also the pages of a few members
    (spread over the sorted list) of each type in PAGE_TYPES, as HTML and as Turtle."""
    paths = []
    for name in stored_queries():
        paths.append(f"/queries/{name}?format=json")
        paths += [f"/queries/{name}?{urlencode({**values, 'format': 'json'})}" for values in PARAMETER_VALUES.get(name, [])]
    paths.append("/sparql?" + urlencode({"query": FREE_QUERY}))
    requests = [(path, "*/*") for path in paths]
    if build_dir is not None:
        store = open_store(build_dir)
        for type_name in PAGE_TYPES:
            members = [row["member"].value for row in store.query(MEMBERS.format(type=type_name))]
            for iri in members[::max(1, len(members) // PAGES_PER_TYPE)][:PAGES_PER_TYPE]:
                path = "/" + iri.removeprefix("https://w3id.org/mscev/")
                requests += [(path, HTML), (path + "?format=ttl", "*/*")]
    return requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MiB."""
    total_kib = 0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        total_kib += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kib / 1024


@contextlib.contextmanager
def running_server(build_dir: Path, *options: str, quiet: bool = False, log: Path | None = None):
    """`mscev serve` (with these command-line ``options``) on a free loopback port, once it answers: yields the
    process and its base URL, and stops it on leaving. Its log (standard error) goes to the file ``log`` if given
    (a server that logs much would otherwise fill the pipe and block)."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("mscev")), "serve", "--build", str(build_dir), "--port", str(port),
               "--log-level", "warning", *options]
    log_file = log.open("w") if log else None
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log_file or subprocess.PIPE, text=True)
    try:
        base = _wait_until_it_answers(server, f"http://127.0.0.1:{port}", quiet)
        yield server, base
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if log_file:
            log_file.close()


def _wait_until_it_answers(server: subprocess.Popen, base: str, quiet: bool) -> str:
    started = time.monotonic()
    while time.monotonic() - started < 60:
        if server.poll() is not None:
            raise RuntimeError(f"mscev serve stopped: {server.stderr.read() if server.stderr else 'see its log'}")
        try:
            with urllib.request.urlopen(base + "/sparql?query=ASK%7B%7D", timeout=2):
                if not quiet:
                    print(f"server ready in {time.monotonic() - started:.2f} s at {base}")
                return base
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("mscev serve did not start within 60 s")


async def load(base: str, requests: list[tuple[str, str]], clients: int, server_pid: int, total: int | None = None,
               duration: float | None = None):
    """Send ``total`` requests (or send them for ``duration`` seconds) from ``clients`` concurrent clients,
    round-robin over ``requests`` ((path, Accept) pairs)."""
    latencies: dict[str, list[float]] = defaultdict(list)
    failures: list[str] = []
    memory: list[tuple[int, float]] = []
    sent = 0
    done = 0
    deadline = None

    def finished() -> bool:
        return sent >= total if duration is None else time.perf_counter() >= deadline

    async def client(http: httpx2.AsyncClient):
        nonlocal sent, done
        while not finished():
            path, accept = requests[sent % len(requests)]
            label = path if accept == "*/*" else f"{path} ({accept})"
            sent += 1
            began = time.perf_counter()
            try:
                response = await http.get(path, headers={"Accept": accept})
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {label}: {response.text[:200]}")
            except httpx2.HTTPError as error:
                failures.append(f"{type(error).__name__} {label}")
            latencies[label].append(time.perf_counter() - began)
            done += 1

    async def sample_memory():
        while not finished():
            memory.append((done, rss_mib(server_pid)))
            await asyncio.sleep(MEMORY_SAMPLE_SECONDS)

    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        for path, accept in list(requests):  # warm-up: every request once; one the server refuses is left out, loudly
            response = await http.get(path, headers={"Accept": accept})
            if response.status_code != 200:
                print(f"left out (warm-up answered {response.status_code}): {path}\n  {response.text.strip()[:160]}")
                requests.remove((path, accept))
        memory.append((0, rss_mib(server_pid)))
        began = time.perf_counter()
        deadline = began + (duration or 0)
        sampler = asyncio.create_task(sample_memory())
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - began
        await sampler
    memory.append((done, rss_mib(server_pid)))
    return latencies, failures, memory, elapsed


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(latencies, failures, memory, elapsed: float, clients: int, workers: int) -> None:
    every = [value for values in latencies.values() for value in values]
    print(f"\n{len(every)} requests from {clients} concurrent clients, {workers} query workers, "
          f"{os.cpu_count()} cores: {elapsed:.2f} s (load average at the end: "
          f"{' '.join(f'{load:.2f}' for load in os.getloadavg())})")
    print(f"  throughput  {len(every) / elapsed:8.1f} requests/s")
    print(f"  latency     p50 {percentile(every, .5) * 1000:6.1f} ms   p90 {percentile(every, .9) * 1000:6.1f} ms   "
          f"p99 {percentile(every, .99) * 1000:6.1f} ms   max {max(every) * 1000:6.1f} ms")
    print(f"  failures    {len(failures)}")
    for failure in failures[:10]:
        print(f"    {failure}")
    print("\nper request (ms)                                                     n    p50    p99")
    for label, values in sorted(latencies.items(), key=lambda item: -statistics.median(item[1])):
        print(f"  {label[:66]:66} {len(values):5} {percentile(values, .5) * 1000:6.1f} "
              f"{percentile(values, .99) * 1000:6.1f}")
    print("\nserver memory (RSS of the server, its fork server and its workers, MiB)")
    step = max(1, len(memory) // 8)
    for done, mib in memory[::step] + ([memory[-1]] if (len(memory) - 1) % step else []):
        print(f"  after {done:6} requests  {mib:7.1f}")
    values = [mib for _, mib in memory]
    print(f"  first {values[0]:.1f}, last {values[-1]:.1f}, peak {max(values):.1f} "
          f"(growth {values[-1] - values[0]:+.1f} MiB)")


def arguments(doc: str, **defaults) -> argparse.ArgumentParser:
    """The command-line options of this benchmark (and of soak.py, which changes their ``defaults``)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests to send in all")
    parser.add_argument("--duration", type=float, help="send requests for this many seconds instead")
    parser.add_argument("--pages", action="store_true", help="add entity pages (HTML and Turtle) to the requests")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="the server's query workers (mscev serve --workers)")
    parser.add_argument("--build", type=Path, default=DEFAULT_BUILD_DIR, help="build folder to serve")
    parser.set_defaults(**defaults)
    return parser


def run(options: argparse.Namespace) -> int:
    """Start a server, load it, stop it, print the report; 1 when any request failed."""
    print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())} (other work on the machine "
          "slows the figures)")
    requests = targets(options.build if options.pages else None)
    with running_server(options.build, "--workers", str(options.workers)) as (server, base):
        latencies, failures, memory, elapsed = asyncio.run(
            load(base, requests, options.clients, server.pid, options.requests, options.duration))
    report(latencies, failures, memory, elapsed, options.clients, options.workers)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run(arguments(__doc__).parse_args()))
