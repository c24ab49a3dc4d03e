"""Flood benchmark of `mscev serve`: stored-query latency while hostile clients flood the server.

Starts its own server on a free loopback port (default limits, or the options after --), then runs phases one
after the other, each for --seconds (at most 60): a quiet baseline, then three floods from the probe of issue 14:
- half-open: --sockets connections that each send the start of a request and then wait (reopened when closed);
- heavy: --heavy clients looping a COUNT over a three-way cross product (POST /sparql);
- crash: --crashers clients looping `ASK { BIND(1 AS ?b0) ... }` with 5,000 BINDs (it killed workers).
Meanwhile one well-behaved client asks /queries/graph-summary every 0.1 s. For each phase it prints the probe's
p50/p95/p99/max latency, its failures (non-200 answers, errors, timeouts) and the load average at the phase's
start and end: other work on the machine slows the figures. Traffic goes to 127.0.0.1 only.

    .venv/bin/python benchmarks/flood.py [--seconds 30] [--build build] [-- SERVE OPTIONS]

A benchmark: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import http.client
import os
import resource
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).parent))
from load_serve import percentile, running_server  # noqa: E402

from mscev.paths import DEFAULT_BUILD_DIR  # noqa: E402

PROBE_PATH = "/queries/graph-summary?format=json"
PROBE_TIMEOUT = 15.0
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CRASHER = "ASK { " + " ".join(f"BIND(1 AS ?b{i})" for i in range(5000)) + " }"
PARTIAL_REQUEST = b"GET /queries/graph-summary HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
MAX_SECONDS = 60


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def probe(port: int, stop: threading.Event, latencies: list[float], failures: list[str]) -> None:
    """The well-behaved client: one stored query every 0.1 s, a new connection each time."""
    while not stop.is_set():
        began = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
            connection.request("GET", PROBE_PATH, headers={"Accept": "application/json"})
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                failures.append(str(response.status))
        except OSError as error:
            failures.append(type(error).__name__)
        latencies.append(time.perf_counter() - began)
        stop.wait(0.1)


def post_loop(port: int, query: str, stop: threading.Event, statuses: dict) -> None:
    """A client sending ``query`` again and again (each answer awaited, whatever it is)."""
    body = urlencode({"query": query})
    while not stop.is_set():
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("POST", "/sparql", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/sparql-results+json"})
            status = connection.getresponse().status
            connection.close()
        except OSError as error:
            status = type(error).__name__
            stop.wait(0.05)
        statuses[status] = statuses.get(status, 0) + 1


def half_open(port: int, sockets: int, stop: threading.Event, statuses: dict) -> None:
    """Keep ``sockets`` connections open, each having sent the start of a request and nothing more."""
    held: list[socket.socket] = []
    while not stop.is_set():
        while len(held) < sockets and not stop.is_set():
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=2)
                connection.sendall(PARTIAL_REQUEST)
                held.append(connection)
                statuses["opened"] = statuses.get("opened", 0) + 1
            except OSError as error:
                statuses[type(error).__name__] = statuses.get(type(error).__name__, 0) + 1
                break
        stop.wait(0.5)
        alive = []
        for connection in held:  # a closed one reads b"" (or fails): count it and open another
            connection.setblocking(False)
            try:
                closed = connection.recv(1, socket.MSG_PEEK) == b""
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            if closed:
                connection.close()
                statuses["closed by server"] = statuses.get("closed by server", 0) + 1
            else:
                alive.append(connection)
        held = alive
    for connection in held:
        connection.close()


def phase(name: str, port: int, seconds: float, flood=None) -> None:
    before = load_average()
    stop = threading.Event()
    latencies: list[float] = []
    failures: list[str] = []
    statuses: dict = {}
    threads = [threading.Thread(target=target, args=(*args, stop, statuses)) for target, args in (flood or [])]
    for thread in threads:
        thread.start()
    time.sleep(min(2.0, seconds / 5))  # let the flood build up
    prober = threading.Thread(target=probe, args=(port, stop, latencies, failures))
    prober.start()
    time.sleep(seconds)
    stop.set()
    for thread in [prober, *threads]:
        thread.join(60)
    shown = {key: value for key, value in sorted(statuses.items(), key=str)}
    if latencies:
        print(f"{name:10} n {len(latencies):4}  p50 {percentile(latencies, .5) * 1000:7.1f} ms  "
              f"p95 {percentile(latencies, .95) * 1000:7.1f} ms  p99 {percentile(latencies, .99) * 1000:7.1f} ms  "
              f"max {max(latencies) * 1000:7.1f} ms  failures {len(failures):3} {sorted(set(failures))}  "
              f"load {before} -> {load_average()}")
    else:
        print(f"{name:10} no probe request completed  load {before} -> {load_average()}")
    print(f"{'':10} flood: {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help=f"seconds per phase (at most {MAX_SECONDS})")
    parser.add_argument("--sockets", type=int, default=1000, help="half-open connections")
    parser.add_argument("--heavy", type=int, default=20, help="clients looping the heavy query")
    parser.add_argument("--crashers", type=int, default=4, help="clients looping the crashing query")
    parser.add_argument("--server-files", type=int, default=1024,
                        help="the server's limit of open files (1024 is the usual default soft limit)")
    parser.add_argument("--build", type=Path, default=DEFAULT_BUILD_DIR)
    parser.add_argument("serve_options", nargs="*", help="options for mscev serve (after --)")
    options = parser.parse_args()
    seconds = min(options.seconds, MAX_SECONDS)
    print(f"{os.cpu_count()} cores; load average {load_average()}; probe {PROBE_PATH} every 0.1 s; {seconds:g} s "
          f"per phase; serve options {options.serve_options or 'default'}; server's open-file limit "
          f"{options.server_files}; {options.sockets} half-open sockets, {options.heavy} heavy clients, "
          f"{options.crashers} crashing clients")
    log = Path(tempfile.mkdtemp(prefix="mscev-flood-")) / "serve.log"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(options.server_files, hard), hard))  # the server inherits it
    with running_server(options.build, *options.serve_options, log=log) as (server, base):
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))  # the flood's own sockets
        port = int(base.rsplit(":", 1)[1])
        phase("quiet", port, seconds)
        phase("half-open", port, seconds, [(half_open, (port, options.sockets))])
        phase("heavy", port, seconds, [(post_loop, (port, HEAVY))] * options.heavy)
        phase("crash", port, seconds, [(post_loop, (port, CRASHER))] * options.crashers)
        print(f"server {'still running' if server.poll() is None else f'stopped ({server.returncode})'}; its log: "
              f"{log.stat().st_size:,} bytes, {len(log.read_bytes().splitlines()):,} lines ({log})")


if __name__ == "__main__":
    main()
