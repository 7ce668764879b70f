#!/usr/bin/env python3
"""`make bench`: manifest-tool against its peers, on a real registry, with and without latency.

Python 3 standard library only (3.9+). Run from anywhere: `python3 bench/bench.py`.

What it does, in order:
  1. `cargo build --release` (ours) and, unless BENCH_STATIC=0, the static musl build
     (`--target x86_64-unknown-linux-musl`), whose size is reported and which runs as a second
     "ours-static" column when it exists; "ours-cold" is the release build without its cache
     of registries' auth schemes (MANIFEST_TOOL_NO_CACHE=1), as in a fresh CI container;
  2. starts Debian's `docker-registry serve` on 127.0.0.1 (plain HTTP, temp dir, access log
     captured), writes the test OCI layout with tests/support/make_layout.py and seeds it with
     skopeo as Docker v2s2: the six platform tags and the `multi` list into `bench/app`, and each
     platform into its own repository `bench/src-<tag>:latest`;
  3. for each network (loopback, then 10 ms and 50 ms round trip through a latency-injecting
     TCP proxy that every tool goes through) and each operation, runs every tool once untimed
     (warm-up, which measures peak RSS through GNU time), then BENCH_RUNS times, alternating
     the tools' order, timing each command with wait4(2);
  4. then the TLS set-up (unless BENCH_TLS_RTTS=0): the same storage served by a second
     `docker-registry` with TLS and `auth.token`, its realm a token server on its own port
     (bench/tokenmode.py), both behind latency proxies (10, 50 and 200 ms round trip), and runs
     `inspect`, `push-platforms` and `push-configs` with ours, ours-cold and the Go tool (no
     peers: they would need the CA set up their own way), trusting the CA via SSL_CERT_FILE;
  5. counts the registry's access-log lines of each run (= HTTP requests; plus the token
     server's requests in the TLS set-up), sums up how long the registry was busy answering
     them (from its own logged durations), takes from the latency proxies the time from the
     first connection accepted to the last bytes handed to the client ("net RTTs": round trips
     without process start-up, less disturbed by a busy machine than wall time), and prints one
     table (operation x tool -> median ms, spread, ratio to ours, RTTs, net RTTs, client
     RTTs (net RTTs less the registry's busy time), requests, registry ms, peak RSS), which it also writes to bench/RESULTS.md with the date, the
     machine and the tool versions.

The operations:
  inspect        inspect the six-platform Docker list `bench/app:multi` with its child manifests
                 (ours/Go default text output; `docker manifest inspect -v`)
  inspect-raw    only the list's bytes (ours `--format verbatim`, `skopeo inspect --raw`,
                 `docker manifest inspect`)
  push-platforms push a six-platform list into a new tag of `bench/app` (new each run, so that no
                 tool can skip the PUT as already done: the Go tool HEADs the target first) from
                 the six tags of `bench/app`, the platforms given in the spec (docker cannot be told platforms: it always reads
                 the configs; buildah gets --os/--arch/--variant/--os-version)
  push-configs   the same with no platform in the spec: filled from the image configs
  push-mounts    sources in six other repositories (`bench/src-<tag>`), target a new repository
                 each run, so every blob is mounted and every child manifest PUT
  version        `--version` (start-up cost); `/bin/true` is the cost of spawning a process

Peers: `docker manifest create/push/inspect --insecure` (the docker CLI, no daemon; a private
DOCKER_CONFIG; `docker manifest rm` between runs, untimed), `buildah manifest create/add/push`
(vfs storage in a temp dir; `manifest rm` between runs, untimed), `skopeo inspect --raw`, and the
Go manifest-tool when MANIFEST_TOOL_GO=/path/to/binary is set (same command lines as ours). A
peer that is not installed is left out; a command that fails is reported as failed, and the
benchmark goes on. A multi-command peer operation is timed as the sum of its commands, its
requests are summed and its peak RSS is the largest of its commands'.

The latency proxy holds every chunk for half the round trip in each direction (in a queue, so
chunks are pipelined, not serialised), and models the TCP handshake: bytes a client sends on a
new connection leave the proxy no earlier than one round trip after it accepted the connection
(BENCH_HANDSHAKE=0 turns that off). So a client pays one RTT per new connection and one per
request/response exchange, as on a real network.

Environment:
  BENCH_RUNS=N        timed runs per operation, tool and network (default 7; `version`: 5 x N)
  BENCH_QUICK=1       smoke run: BENCH_RUNS=1, loopback and 50 ms only, output to
                      bench/RESULTS-quick.md
  BENCH_RTTS=0,10,50  the networks, as round-trip times in ms (0 = loopback, no proxy)
  BENCH_TLS_RTTS=10,50,200  the networks of the TLS set-up (BENCH_QUICK: 50; 0 leaves it out);
                      at 200 ms a busy machine's CPU delays weigh little against the round
                      trips, so its RTT counts are the ones to hold against the floors
  BENCH_OPS=a,b       only these operations (names above)
  BENCH_TOOLS=a,b     only these tools (ours, ours-cold, ours-static, go, docker, buildah,
                      skopeo, spawn)
  BENCH_STATIC=0      do not build or run the static musl binary
  BENCH_HANDSHAKE=0   the proxy does not model the TCP handshake
  BENCH_OUT=FILE      write the results there instead of bench/RESULTS.md
  BENCH_KEEP=1        keep the temp dir (registry log, specs, command output)
  MANIFEST_TOOL_GO    path of a Go manifest-tool binary to compare with
  BENCH_BASELINE      path of another build of ours (say, of the main branch), run as "base"
                      and "base-cold" beside ours
No timing is asserted: the benchmark reports, it does not pass or fail.
"""

import collections
import datetime
import json
import os
import platform as py_platform
import queue
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import tokenmode

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
OURS = TARGET / "release" / "manifest-tool"
MUSL_TARGET = "x86_64-unknown-linux-musl"
OURS_STATIC = TARGET / MUSL_TARGET / "release" / "manifest-tool"
# The release binary as `make cross` builds it (rebuilt std, no unwind tables): its size is the
# one the release ships. Reported with its --version, which names the commit it was built from.
RELEASE_AMD64 = ROOT / "dist" / "manifest-tool-linux-amd64"
RELEASE_LABEL = "ours, release binary of `make cross` (static musl, build-std)"

# (tag, os, architecture, variant, os.version) of the six single-platform images of the layout.
PLATFORMS = [
    ("linux-amd64", "linux", "amd64", "", ""),
    ("linux-arm-v7", "linux", "arm", "v7", ""),
    ("linux-arm64-v8", "linux", "arm64", "v8", ""),
    ("linux-ppc64le", "linux", "ppc64le", "", ""),
    ("linux-s390x", "linux", "s390x", "", ""),
    ("windows-amd64", "windows", "amd64", "", "10.0.17763.2565"),
]

OPERATIONS = {
    "inspect": "inspect a 6-platform list (+ its child manifests)",
    "inspect-raw": "inspect a 6-platform list (list bytes only)",
    "push-platforms": "push 6-platform list, same repo, platforms in spec",
    "push-configs": "push 6-platform list, same repo, platforms from configs",
    "push-mounts": "push 6-platform list, sources in 6 other repos (mounts)",
    "version": "--version (start-up)",
}

# What runs against the TLS registry whose tokens come from a token server on another port.
TLS_OPERATIONS = ("inspect", "push-platforms", "push-configs")


LOG_START = time.monotonic()
DEFAULT_RUNS = 7


def log(*args):
    print(f"[{time.monotonic() - LOG_START:6.1f}s]", *args, file=sys.stderr, flush=True)


def env_flag(name):
    return os.environ.get(name, "") not in ("", "0", "false", "no")


def env_list(name, default):
    value = os.environ.get(name, "").strip()
    return [v.strip() for v in value.split(",") if v.strip()] if value else default


def run_quiet(argv, timeout=600, **kw):
    """Runs a setup command; returns CompletedProcess (never raises on exit status)."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def first_line(argv):
    try:
        out = run_quiet(argv, timeout=60)
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0] if text else "?"
    except (OSError, subprocess.SubprocessError):
        return "not available"


# --------------------------------------------------------------------------------------------
# The registry


class Registry:
    """`docker-registry serve` on 127.0.0.1 with filesystem storage in `workdir`; its stdout (the
    app log and the Apache-format access log) goes to `workdir/registry.log`."""

    def __init__(self, workdir, config_text=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "registry.log"
        self.storage = self.dir / "storage"
        config = self.dir / "config.yml"
        self.tls = config_text is not None
        if config_text is None:
            self.storage.mkdir(parents=True)
            config_text = self._plain_config()
        config.write_text(config_text)
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
        )
        self.port = self._wait_ready()

    def _plain_config(self):
        return tokenmode.plain_config(self.storage, f"bench-{os.getpid()}-{time.time_ns()}")

    def _wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log_path.read_text(errors="replace"))
            if m:
                port = int(m.group(1))
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                        if self.tls:
                            return port  # listening; its answers are checked by the first run
                        s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        if s.recv(64).startswith(b"HTTP/1.1 200"):
                            return port
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise SystemExit("docker-registry did not start:\n" + self.log_path.read_text(errors="replace"))

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def log_size(self):
        return self.log_path.stat().st_size

    def settle(self):
        """Waits until the log stops growing (a line is written when a handler returns, which can
        be just after the client got the whole answer); returns its size."""
        size = self.log_size()
        stable = 0
        while stable < 2:
            time.sleep(0.015)
            now = self.log_size()
            stable = stable + 1 if now == size else 0
            size = now
        return size

    def requests_since(self, offset):
        """Access-log entries after byte `offset`, as (method, path, status)."""
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        entries = []
        for line in text.splitlines():
            # 127.0.0.1 - - [DATE] "GET /v2/ HTTP/1.1" 200 2 "" "agent"
            m = re.search(r'\] "([A-Z]+) (\S+) HTTP/[\d.]+" (\d{3}) ', line)
            if m and not line.startswith("time="):
                entries.append((m.group(1), m.group(2), m.group(3)))
        return entries

    def busy_since(self, offset):
        """How long the registry was busy answering requests logged after byte `offset`: the
        union of the intervals [end - duration, end] of its "response completed" app-log lines,
        in seconds. No client can make the same requests of this registry in less."""
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        intervals = []
        for line in text.splitlines():
            if 'msg="response completed' not in line:
                continue
            end = re.match(r'time="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z"', line)
            took = re.search(r'http\.response\.duration="?([0-9.µunms]+)"?', line)
            if not end or not took:
                continue
            stamp = datetime.datetime.strptime(end.group(1), "%Y-%m-%dT%H:%M:%S")
            end_s = stamp.replace(tzinfo=datetime.timezone.utc).timestamp() + float("0." + (end.group(2) or "0"))
            intervals.append((end_s - go_duration_seconds(took.group(1)), end_s))
        busy, reach = 0.0, None
        for start, end in sorted(intervals):
            if reach is None or start > reach:
                busy += end - start
                reach = end
            elif end > reach:
                busy += end - reach
                reach = end
        return busy

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


def go_duration_seconds(text):
    """A Go duration as the registry logs it (`693.113µs`, `1.86ms`, `1.2s`), in seconds."""
    units = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(ns|µs|us|ms|s|m)", text))


def request_kind(method, path, status):
    """A short name for an access-log entry, e.g. `GET manifest 200`."""
    path = path.split("?")[0]
    if path == "/v2/":
        what = "/v2/ ping"
    elif "/manifests/" in path:
        what = "manifest"
    elif "/blobs/uploads" in path:
        what = "blob upload"
    elif "/blobs/" in path:
        what = "blob"
    elif "/tags/list" in path:
        what = "tags/list"
    else:
        what = path
    return f"{method} {what} {status}"


def summarize_requests(entries, tokens=None):
    counts = collections.Counter(request_kind(*e) for e in entries)
    mounts = sum(1 for m, p, s in entries if m == "POST" and "mount=" in p)
    parts = [f"{n}× {k}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    text = ", ".join(parts) if parts else "none"
    if mounts:
        text += f" ({mounts} of the POSTs are mounts)"
    if tokens is not None:
        text += f"; {tokens}× GET token (token server)"
    return text


# --------------------------------------------------------------------------------------------
# The latency proxy


class LatencyProxy:
    """A TCP proxy on 127.0.0.1 to `upstream_port` that holds every chunk for rtt/2 in each
    direction, pipelined; with `handshake`, what a client sends on a new connection leaves no
    earlier than one rtt after the connection was accepted (the TCP handshake's round trip)."""

    def __init__(self, upstream_port, rtt_ms, handshake=True):
        self.upstream = ("127.0.0.1", upstream_port)
        self.set_rtt(rtt_ms)
        self.handshake = handshake
        self.mark()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        self.connections = 0
        threading.Thread(target=self._accept_loop, daemon=True).start()

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def set_rtt(self, rtt_ms):
        """The round trip of the connections accepted from now on."""
        self.rtt = rtt_ms / 1000.0
        self.one_way = self.rtt / 2

    def mark(self):
        """Forget the times `span` reports: call it before a run."""
        self.first_accept = None
        self.last_delivery = None

    def span(self):
        """(first connection accepted, last bytes handed to a client) since `mark`, in
        time.monotonic() seconds, or None when nothing was accepted."""
        if self.first_accept is None or self.last_delivery is None:
            return None
        return self.first_accept, self.last_delivery

    def _accept_loop(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            accepted = time.monotonic()
            if self.first_accept is None:
                self.first_accept = accepted
            self.connections += 1
            threading.Thread(target=self._serve, args=(client, accepted), daemon=True).start()

    def _serve(self, client, accepted):
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        established = accepted + (self.rtt if self.handshake else 0.0)
        state = {"writers": 2, "lock": threading.Lock()}

        def done():
            with state["lock"]:
                state["writers"] -= 1
                last = state["writers"] == 0
            if last:
                client.close()
                upstream.close()

        def broken():
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        self._pipe(client, upstream, established, done, broken, False)
        self._pipe(upstream, client, 0.0, done, broken, True)

    def _pipe(self, src, dst, not_before, done, broken, to_client):
        chunks = queue.SimpleQueue()
        one_way = self.one_way

        def reader():
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                chunks.put((max(time.monotonic(), not_before) + one_way, data))
                if not data:
                    return

        def writer():
            try:
                while True:
                    at, data = chunks.get()
                    wait = at - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    if not data:
                        try:
                            dst.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        return
                    dst.sendall(data)
                    if to_client:
                        self.last_delivery = time.monotonic()
            except OSError:
                broken()
                # drain so the reader can finish
            finally:
                done()

        threading.Thread(target=reader, daemon=True).start()
        threading.Thread(target=writer, daemon=True).start()

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# Measuring one command


class Failed(Exception):
    pass


TIME = "/usr/bin/time"  # Debian's `time`: GNU time, for the peak RSS of a command


def measure(argv, env, cwd, log_dir, label, with_rss):
    """Runs argv; returns (seconds, peak RSS in KiB or None). Output goes to files in log_dir
    (opened before the clock starts). Raises Failed on a non-zero exit.

    The peak RSS is taken only `with_rss`, through GNU time (`time -f %M`): a child that Python
    spawns starts as a copy of (or, with vfork, shares) the Python process, and the kernel's
    ru_maxrss keeps that high-water mark across exec, so wait4(2) on a direct child would report
    Python's ~18 MiB for even /bin/true. GNU time is small and forks a fresh child. As it costs
    a few ms of start-up, the timed runs do not go through it: the warm-up run measures RSS."""
    out_path = log_dir / f"{label}.out"
    err_path = log_dir / f"{label}.err"
    rss_path = log_dir / f"{label}.rss"
    if with_rss and os.access(TIME, os.X_OK):
        argv = [TIME, "-f", "%M", "-o", str(rss_path)] + list(argv)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-5:]
        raise Failed(f"{' '.join(map(str, argv))} exited {proc.returncode}: " + " | ".join(tail))
    rss = None
    if with_rss:
        try:
            rss = int(rss_path.read_text().split()[-1])
        except (OSError, ValueError, IndexError):
            rss = usage.ru_maxrss  # no GNU time: an upper bound that includes Python's RSS
    return elapsed, rss


# --------------------------------------------------------------------------------------------
# Tools


class Context:
    """What a tool needs to build its command lines for one run."""

    def __init__(self, host, net, run_id, work, ca=None, proxies=(), token_server=None):
        self.host = host  # registry (or proxy) host:port
        self.net = net  # e.g. "rtt50"
        self.run_id = run_id
        self.work = work  # temp dir
        self.ca = ca  # the CA to trust (SSL_CERT_FILE) for the TLS registry, else plain HTTP
        self.proxies = proxies  # the latency proxies the run goes through, for its span
        self.token_server = token_server  # the TLS set-up's token server, for its count


def src_same(ctx, tag):
    return f"{ctx.host}/bench/app:{tag}"


def src_other(ctx, tag):
    return f"{ctx.host}/bench/src-{tag}:latest"


def push_target(ctx, op, tool):
    """The target of a push run, which did not exist before the run (so no tool can skip its
    PUT), and the six sources as (image, PLATFORMS entry): in other repositories for
    `push-mounts`, else in the target's own."""
    if op == "push-mounts":
        target = f"{ctx.host}/bench/mnt-{tool}-{ctx.net}-{ctx.run_id}:list"
        return target, [(src_other(ctx, p[0]), p) for p in PLATFORMS]
    target = f"{ctx.host}/bench/app:{op}-{tool}-{ctx.net}-{ctx.run_id}"
    return target, [(src_same(ctx, p[0]), p) for p in PLATFORMS]


class ManifestTool:
    """Ours (and, with MANIFEST_TOOL_GO, the Go tool: the same command lines)."""

    def __init__(self, name, binary):
        self.name = name
        self.binary = str(binary)
        self.ops = set(OPERATIONS)
        if name == "go":
            self.ops -= {"inspect-raw"}  # its --raw also fetches every child
        if name.endswith("-cold"):
            self.ops -= {"version"}  # no registry involved

    def env(self, work):
        env = dict(os.environ)
        env["DOCKER_CONFIG"] = str(work / "empty-docker-config")
        env["NO_COLOR"] = "1"
        # Ours remembers each registry's auth scheme in its cache dir: a private one, filled by
        # the warm-up run; "-cold" runs without it, as every run in a fresh CI container does.
        env["XDG_CACHE_HOME"] = str(work / "cache")
        if self.name.endswith("-cold"):
            env["MANIFEST_TOOL_NO_CACHE"] = "1"
        return env

    def steps(self, op, ctx):
        mt = [self.binary] if ctx.ca else [self.binary, "--plain-http"]
        if op == "version":
            return [[self.binary, "--version"]], [], []
        if op == "inspect":
            return [mt + ["inspect", f"{ctx.host}/bench/app:multi"]], [], []
        if op == "inspect-raw":
            return [mt + ["inspect", "--format", "verbatim", f"{ctx.host}/bench/app:multi"]], [], []
        target, sources = push_target(ctx, op, self.name)
        with_platforms = op in ("push-platforms", "push-mounts")
        spec = ctx.work / f"spec-{self.name}-{op}-{ctx.net}.yaml"
        spec.write_text(spec_yaml(target, sources, with_platforms))
        return [mt + ["push", "--type", "docker", "from-spec", str(spec)]], [], []


def spec_yaml(target, sources, with_platforms):
    lines = [f"image: {target}", "manifests:"]
    for image, (_tag, os_, arch, variant, osversion) in sources:
        lines.append(f"  - image: {image}")
        if with_platforms:
            lines.append("    platform:")
            lines.append(f"      os: {os_}")
            lines.append(f"      architecture: {arch}")
            if variant:
                lines.append(f"      variant: {variant}")
            if osversion:
                lines.append(f"      osversion: {osversion}")
    return "\n".join(lines) + "\n"


class DockerCli:
    name = "docker"
    ops = set(OPERATIONS)

    def __init__(self):
        self.binary = shutil.which("docker")

    def env(self, work):
        env = dict(os.environ)
        env["DOCKER_CONFIG"] = str(work / "docker-config")
        env.pop("DOCKER_HOST", None)
        return env

    def steps(self, op, ctx):
        d = self.binary
        if op == "version":
            return [[d, "--version"]], [], []
        if op == "inspect":
            return [[d, "manifest", "inspect", "--insecure", "-v", f"{ctx.host}/bench/app:multi"]], [], []
        if op == "inspect-raw":
            return [[d, "manifest", "inspect", "--insecure", f"{ctx.host}/bench/app:multi"]], [], []
        target, sources = push_target(ctx, op, self.name)
        sources = [image for image, _platform in sources]
        rm = [[d, "manifest", "rm", target]]
        timed = [
            [d, "manifest", "create", "--insecure", target] + sources,
            [d, "manifest", "push", "--insecure", target],
        ]
        return timed, rm, rm


class Buildah:
    name = "buildah"
    ops = set(OPERATIONS) - {"inspect", "inspect-raw"}

    def __init__(self):
        self.binary = shutil.which("buildah")

    def env(self, work):
        env = dict(os.environ)
        env["REGISTRY_AUTH_FILE"] = str(work / "no-auth.json")
        env["BUILDAH_ISOLATION"] = "chroot"
        return env

    def base(self, ctx):
        return [
            self.binary,
            "--root", str(ctx.work / "buildah-root"),
            "--runroot", str(ctx.work / "buildah-runroot"),
            "--storage-driver", "vfs",
        ]

    def steps(self, op, ctx):
        b = self.base(ctx)
        if op == "version":
            return [[self.binary, "--version"]], [], []
        name = "benchlist"
        target, sources = push_target(ctx, op, self.name)
        timed = [b + ["manifest", "create", name]]
        for image, (_tag, os_, arch, variant, osversion) in sources:
            add = b + ["manifest", "add", "--tls-verify=false"]
            if op in ("push-platforms", "push-mounts"):
                add += ["--os", os_, "--arch", arch]
                if variant:
                    add += ["--variant", variant]
                if osversion:
                    add += ["--os-version", osversion]
            timed.append(add + [name, f"docker://{image}"])
        push = b + ["manifest", "push", "--tls-verify=false", "--format", "v2s2", "--quiet"]
        if op == "push-mounts":
            push.append("--all")
        timed.append(push + [name, f"docker://{target}"])
        rm = [b + ["manifest", "rm", name]]
        return timed, rm, rm


class Skopeo:
    name = "skopeo"
    ops = {"inspect-raw", "version"}

    def __init__(self):
        self.binary = shutil.which("skopeo")

    def env(self, work):
        env = dict(os.environ)
        env["REGISTRY_AUTH_FILE"] = str(work / "no-auth.json")
        return env

    def steps(self, op, ctx):
        if op == "version":
            return [[self.binary, "--version"]], [], []
        ref = f"docker://{ctx.host}/bench/app:multi"
        return [[self.binary, "inspect", "--raw", "--tls-verify=false", ref]], [], []


class Spawn:
    """`/bin/true`: what spawning and reaping any process costs this harness."""

    name = "spawn"
    ops = {"version"}

    def env(self, work):
        return dict(os.environ)

    def steps(self, op, ctx):
        return [["/bin/true"]], [], []


# --------------------------------------------------------------------------------------------
# The benchmark


class Sample:
    def __init__(self, seconds, rss_kib, entries, registry_seconds, net_seconds=None, tokens=None):
        self.seconds = seconds
        self.rss_kib = rss_kib  # None unless measured (the warm-up run)
        self.entries = entries
        self.registry_seconds = registry_seconds  # the registry's busy time (Registry.busy_since)
        # From the first connection the latency proxies accepted to the last bytes they handed
        # to the client: the run's time on the network, without start-up and exit.
        self.net_seconds = net_seconds
        self.tokens = tokens  # token requests (the TLS set-up's token server), else None


class Cell:
    """Everything measured for one (network, operation, tool)."""

    def __init__(self):
        self.samples = []
        self.rss_kib = None  # from the warm-up run
        self.error = None

    def median_ms(self):
        return statistics.median(s.seconds for s in self.samples) * 1000 if self.samples else None

    def spread_ms(self):
        times = sorted(s.seconds * 1000 for s in self.samples)
        if len(times) < 2:
            return None
        if len(times) >= 4:
            q = statistics.quantiles(times, n=4)
            return q[0], q[2]
        return times[0], times[-1]

    def requests(self):
        counts = [len(s.entries) for s in self.samples]
        return statistics.median(counts) if counts else None

    def net_rtts(self, rtt_ms):
        """Median network span (Sample.net_seconds) in round trips."""
        spans = [s.net_seconds for s in self.samples if s.net_seconds is not None]
        return statistics.median(spans) * 1000 / rtt_ms if spans and rtt_ms else None

    def client_rtts(self, rtt_ms):
        """Median of each run's network span less the registry's busy time, in round trips:
        the round trips the client itself made, to hold against the protocol's floor (the
        registry's time counts against no client)."""
        spans = [s.net_seconds - s.registry_seconds for s in self.samples
                 if s.net_seconds is not None and s.entries]
        return statistics.median(spans) * 1000 / rtt_ms if spans and rtt_ms else None

    def tokens(self):
        counts = [s.tokens for s in self.samples if s.tokens is not None]
        return statistics.median(counts) if counts else None

    def registry_ms(self):
        busy = [s.registry_seconds for s in self.samples if s.entries]
        return statistics.median(busy) * 1000 if busy else None

    def rss_mib(self):
        return self.rss_kib / 1024 if self.rss_kib else None


def run_case(tool, op, ctx, registry, log_dir, label, with_rss):
    """One run of `op` by `tool`: untimed set-up, the timed commands, untimed clean-up."""
    timed, pre, post = tool.steps(op, ctx)
    env = tool.env(ctx.work)
    if ctx.ca:
        env["SSL_CERT_FILE"] = str(ctx.ca)
    for argv in pre:
        subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, cwd=ctx.work)
    offset = registry.settle()
    for p in ctx.proxies:
        p.mark()
    tokens_before = ctx.token_server.requests if ctx.token_server else None
    seconds, rss = 0.0, None
    try:
        for i, argv in enumerate(timed):
            s, r = measure(argv, env, ctx.work, log_dir, f"{label}-{i}", with_rss)
            seconds += s
            if r is not None:
                rss = max(rss or 0, r)
    finally:
        registry.settle()
        entries = registry.requests_since(offset)
        busy = registry.busy_since(offset)
        spans = [span for span in (p.span() for p in ctx.proxies) if span]
        net = (max(e for _, e in spans) - min(b for b, _ in spans)) if spans else None
        tokens = ctx.token_server.requests - tokens_before if ctx.token_server else None
        for argv in post:
            subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, cwd=ctx.work)
    return Sample(seconds, rss, entries, busy, net, tokens)


def seed(registry, work):
    layout = work / "layout"
    out = run_quiet([sys.executable, str(ROOT / "tests/support/make_layout.py"), str(layout)])
    if out.returncode != 0:
        raise SystemExit("make_layout.py failed:\n" + out.stderr)
    env = dict(os.environ, REGISTRY_AUTH_FILE=str(work / "no-auth.json"))
    jobs = [("multi", "bench/app:multi", True)]
    for tag, *_ in PLATFORMS:
        jobs.append((tag, f"bench/app:{tag}", False))
        jobs.append((tag, f"bench/src-{tag}:latest", False))
    errors = []

    def copy(job):
        tag, dest, all_ = job
        argv = ["skopeo", "--insecure-policy", "copy", "--quiet", "--format", "v2s2", "--dest-tls-verify=false"]
        if all_:
            argv.append("--all")
        argv += [f"oci:{layout}:{tag}", f"docker://{registry.host}/{dest}"]
        r = subprocess.run(argv, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            errors.append(f"{' '.join(argv)}: {r.stderr.strip()}")

    threads = [threading.Thread(target=copy, args=(j,)) for j in jobs]
    for i in range(0, len(threads), 4):
        for t in threads[i:i + 4]:
            t.start()
        for t in threads[i:i + 4]:
            t.join()
    if errors:
        raise SystemExit("seeding with skopeo failed:\n" + "\n".join(errors))


def shown_path(path):
    """`path` relative to the repository, or `$CARGO_TARGET_DIR/…` (no machine path in results)."""
    if path.is_relative_to(ROOT):
        return path.relative_to(ROOT)
    if path.is_relative_to(TARGET):
        return f"$CARGO_TARGET_DIR/{path.relative_to(TARGET)}"
    return path.name


def build(static):
    log("== cargo build --release")
    r = subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    if r.returncode != 0 or not OURS.exists():
        raise SystemExit("cargo build --release failed")
    static_note = ""
    if static:
        log(f"== cargo build --release --target {MUSL_TARGET}")
        r = subprocess.run(["cargo", "build", "--release", "--quiet", "--target", MUSL_TARGET], cwd=ROOT)
        if r.returncode != 0:
            static_note = "the static musl build failed; its size is not reported"
    if static and not OURS_STATIC.exists() and not static_note:
        static_note = f"no {shown_path(OURS_STATIC)}"
    return static_note


def machine_info():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "kernel": f"{py_platform.system()} {py_platform.release()} {py_platform.machine()}",
        "memory": mem,
    }


def cpu_busy_seconds():
    """Total non-idle CPU time of the machine so far (from /proc/stat), in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    self_ = os.times()
    return self_.user + self_.system + self_.children_user + self_.children_system


def fmt_ms(ms):
    if ms is None:
        return "-"
    if ms < 10:
        return f"{ms:.2f}"
    if ms < 100:
        return f"{ms:.1f}"
    return f"{ms:.0f}"


def main():
    quick = env_flag("BENCH_QUICK")
    runs = max(1, int(os.environ.get("BENCH_RUNS", "1" if quick else str(DEFAULT_RUNS))))
    rtts = [int(v) for v in env_list("BENCH_RTTS", ["0", "50"] if quick else ["0", "10", "50"])]
    tls_rtts = [int(v) for v in env_list("BENCH_TLS_RTTS", ["50"] if quick else ["10", "50", "200"]) if int(v) > 0]
    ops = env_list("BENCH_OPS", list(OPERATIONS))
    for op in ops:
        if op not in OPERATIONS:
            raise SystemExit(f"unknown operation {op!r} in BENCH_OPS; known: {', '.join(OPERATIONS)}")
    static = not env_flag("BENCH_NO_STATIC") and os.environ.get("BENCH_STATIC", "1") != "0"
    handshake = os.environ.get("BENCH_HANDSHAKE", "1") != "0"
    out_file = Path(os.environ.get("BENCH_OUT") or (BENCH_DIR / ("RESULTS-quick.md" if quick else "RESULTS.md")))

    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    busy_start, own_start, wall_start = cpu_busy_seconds(), own_cpu_seconds(), time.monotonic()

    static_note = build(static)

    tools = [ManifestTool("ours", OURS), ManifestTool("ours-cold", OURS)]
    if static and OURS_STATIC.exists():
        tools.append(ManifestTool("ours-static", OURS_STATIC))
    base = os.environ.get("BENCH_BASELINE")
    if base:
        if not os.access(base, os.X_OK):
            raise SystemExit(f"BENCH_BASELINE={base} is not an executable")
        tools += [ManifestTool("base", base), ManifestTool("base-cold", base)]
    go = os.environ.get("MANIFEST_TOOL_GO")
    if go:
        if not os.access(go, os.X_OK):
            raise SystemExit(f"MANIFEST_TOOL_GO={go} is not an executable")
        tools.append(ManifestTool("go", go))
    missing = []
    for cls, binary in ((DockerCli, "docker"), (Buildah, "buildah"), (Skopeo, "skopeo")):
        if shutil.which(binary):
            tools.append(cls())
        else:
            missing.append(binary)
    tools.append(Spawn())
    only = env_list("BENCH_TOOLS", None)
    if only:
        tools = [t for t in tools if t.name in only or t.name == "ours"]
    if missing:
        log(f"not installed, left out: {', '.join(missing)} (buildah: apt-get install buildah)")

    head = run_quiet(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT).stdout.strip() or "?"
    dirty = run_quiet(["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"], cwd=ROOT).stdout
    versions = {
        "source": f"commit {head}" + (" plus uncommitted changes in src/ or Cargo.*" if dirty.strip() else ""),
        "manifest-tool (ours)": first_line([str(OURS), "--version"]),
        "docker-registry": first_line(["docker-registry", "--version"]),
        "rustc": first_line(["rustc", "--version"]),
        "python": py_platform.python_version(),
    }
    for t in tools:
        if t.name == "base":
            versions["manifest-tool (baseline)"] = first_line([t.binary, "--version"])
        if t.name == "go":
            # The Go tool names itself by the path it was started from: keep only the name.
            versions["manifest-tool (Go)"] = first_line([t.binary, "--version"]).replace(
                t.binary, os.path.basename(t.binary), 1)
        elif t.name in ("docker", "buildah", "skopeo"):
            versions[t.name] = first_line([t.binary, "--version"])

    work = Path(tempfile.mkdtemp(prefix="manifest-tool-bench-"))
    log_dir = work / "out"
    log_dir.mkdir()
    (work / "empty-docker-config").mkdir()
    (work / "docker-config").mkdir()
    (work / "no-auth.json").write_text('{"auths":{}}\n')
    registry = None
    proxies = []
    servers = []  # the TLS set-up's registry and token server

    def cleanup(*_):
        for p in proxies:
            p.close()
        for server in servers:
            server.stop()
        if registry:
            registry.stop()
        if not env_flag("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *a: (cleanup(), sys.exit(143)))
    cells = collections.OrderedDict()  # (rtt, op, tool) -> Cell
    breakdowns = {}  # ("plain" | "tls", op, tool) -> text, from the first network of each set-up
    try:
        log(f"== registry and seed (work dir {work})")
        registry = Registry(work / "registry")
        seed(registry, work)
        def bench_network(net_key, host, net, net_ops, net_tools, first, **ctx_extra):
            """Every operation of `net_ops` by every tool of `net_tools` on one network."""
            for op in net_ops:
                op_tools = [t for t in net_tools if op in t.ops]
                n = runs * (5 if op == "version" else 1)
                log(f"== {net}: {op} ({n} runs x {', '.join(t.name for t in op_tools)})")
                for t in op_tools:
                    cells[(net_key, op, t.name)] = Cell()
                for i in range(-1, n):  # -1: the untimed warm-up, which measures peak RSS
                    shift = (i % len(op_tools)) if i >= 0 else 0
                    order = op_tools[shift:] + op_tools[:shift]
                    for t in order:
                        cell = cells[(net_key, op, t.name)]
                        if cell.error:
                            continue
                        ctx = Context(host, net, f"w" if i < 0 else str(i), work, **ctx_extra)
                        try:
                            sample = run_case(t, op, ctx, current[0], log_dir, f"{net}-{op}-{t.name}-{i}", i < 0)
                        except Failed as e:
                            cell.error = str(e)
                            log(f"   {t.name} FAILED: {e}")
                            continue
                        if i < 0:
                            cell.rss_kib = sample.rss_kib
                        else:
                            cell.samples.append(sample)
                            key = (first, op, t.name)
                            if first and key not in breakdowns:
                                breakdowns[key] = summarize_requests(sample.entries, sample.tokens)
                line = "   " + "  ".join(
                    f"{t.name} {fmt_ms(cells[(net_key, op, t.name)].median_ms())} ms" for t in op_tools
                )
                log(line)

        current = [registry]
        for rtt in rtts:
            if rtt:
                proxy = LatencyProxy(registry.port, rtt, handshake)
                proxies.append(proxy)
                host, net = proxy.host, f"rtt{rtt}"
            else:
                host, net = registry.host, "loopback"
            net_ops = [op for op in ops if not (op == "version" and rtt)]  # start-up: loopback only
            bench_network(rtt, host, net, net_ops, tools, "plain" if rtt == rtts[0] else None,
                          proxies=[proxy] if rtt else [])
        tls_ops = [op for op in ops if op in TLS_OPERATIONS]
        tls_tools = [t for t in tools if isinstance(t, ManifestTool) and t.name != "ours-static"]
        if tls_rtts and tls_ops:
            log("== TLS registry with a token server on its own port (same storage)")
            certs = tokenmode.Certificates(work / "tls")
            token_server = tokenmode.TokenServer(certs)
            servers.append(token_server)
            token_proxy = LatencyProxy(token_server.port, tls_rtts[0], handshake)
            proxies.append(token_proxy)
            registry.stop()  # one registry on the storage at a time
            current[0] = Registry(work / "registry-tls", tokenmode.registry_config(
                registry.storage, certs, f"https://{token_proxy.host}/token",
                f"bench-{os.getpid()}-{time.time_ns()}"))
            servers.append(current[0])
            registry_proxy = LatencyProxy(current[0].port, tls_rtts[0], handshake)
            proxies.append(registry_proxy)
            for rtt in tls_rtts:
                for p in (token_proxy, registry_proxy):
                    p.set_rtt(rtt)
                bench_network(("tls", rtt), registry_proxy.host, f"tls-rtt{rtt}", tls_ops, tls_tools,
                              "tls" if rtt == tls_rtts[0] else None, ca=certs.ca,
                              proxies=[token_proxy, registry_proxy], token_server=token_server)
    finally:
        for p in proxies:
            p.close()
        for server in servers:
            server.stop()
        if registry:
            registry.stop()
        if sys.exc_info()[0] is not None and not env_flag("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)

    wall = time.monotonic() - wall_start
    busy = cpu_busy_seconds() - busy_start
    own = own_cpu_seconds() - own_start
    load_end = os.getloadavg()
    others_cores = max(0.0, (busy - own) / wall) if wall > 0 else 0.0

    networks = [(rtt, "loopback" if rtt == 0 else f"{rtt} ms RTT", rtt) for rtt in rtts]
    networks += [(("tls", rtt), f"TLS+token, {rtt} ms RTT", rtt) for rtt in tls_rtts]
    report = render(
        cells, breakdowns, networks, rtts, tls_rtts, ops, tools, runs, quick, handshake, versions, static_note,
        started, wall, load_start, load_end, others_cores,
    )
    print(report["table"])
    out_file.write_text(report["markdown"])
    log(f"== wrote {out_file.relative_to(ROOT) if out_file.is_relative_to(ROOT) else out_file}")
    if env_flag("BENCH_KEEP"):
        log(f"== kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def render(cells, breakdowns, networks, rtts, tls_rtts, ops, tools, runs, quick, handshake, versions,
           static_note, started, wall, load_start, load_end, others_cores):
    header = ["network", "operation", "tool", "median ms", "spread ms", "× ours", "RTTs",
              "net RTTs", "client RTTs", "requests", "registry ms", "peak RSS MiB"]
    rows = []
    errors = []
    for key, net, rtt in networks:
        for op in ops:
            ours = cells.get((key, op, "ours"))
            ours_ms = ours.median_ms() if ours else None
            for t in tools:
                cell = cells.get((key, op, t.name))
                if cell is None:
                    continue
                if cell.error:
                    rows.append([net, op, t.name, "failed", "", "", "", "", "", "", "", ""])
                    errors.append(f"{net} {op} {t.name}: {cell.error}")
                    continue
                ms = cell.median_ms()
                spread = cell.spread_ms()
                ratio = f"{ms / ours_ms:.2f}" if ms and ours_ms else "-"
                rtts_ = f"{ms / rtt:.1f}" if rtt and ms else ""
                net_rtts = cell.net_rtts(rtt)
                client_rtts = cell.client_rtts(rtt)
                req = cell.requests()
                tokens = cell.tokens()
                req_text = f"{req:g}" if req is not None else "-"
                if tokens is not None:
                    req_text += f" + {tokens:g}"
                rows.append([
                    net, op, t.name, fmt_ms(ms),
                    f"{fmt_ms(spread[0])}–{fmt_ms(spread[1])}" if spread else "-",
                    ratio, rtts_,
                    f"{net_rtts:.1f}" if net_rtts is not None else "",
                    f"{client_rtts:.1f}" if client_rtts is not None else "",
                    "" if op == "version" else req_text,
                    "" if op == "version" else fmt_ms(cell.registry_ms()),
                    f"{cell.rss_mib():.1f}" if cell.samples else "-",
                ])
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    numeric = {3, 4, 5, 6, 7, 8, 9, 10, 11}

    def line(r):
        return "  ".join(str(v).rjust(widths[i]) if i in numeric else str(v).ljust(widths[i])
                         for i, v in enumerate(r))

    table = "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])

    m = machine_info()
    sizes = []
    for label, path in (("ours, release (glibc, dynamic)", OURS), ("ours, static musl", OURS_STATIC),
                        (RELEASE_LABEL, RELEASE_AMD64)):
        if path.exists():
            size = path.stat().st_size
            line = (f"- {label}: {size:,} bytes ({size / 1e6:.2f} MB, {size / 2**20:.2f} MiB) "
                    f"— `{shown_path(path)}`")
            if path == RELEASE_AMD64:
                line += f", {first_line([str(path), '--version'])}"
            sizes.append(line)
    if static_note:
        sizes.append(f"- static musl: {static_note}")
    if not RELEASE_AMD64.exists():
        sizes.append(f"- {RELEASE_LABEL}: not built (`make cross` builds it)")
    # The load average at the start counts the cargo build just before, so only the CPU time
    # other processes used during the run says whether the machine was shared.
    shared = others_cores > 0.25
    md = []
    md.append("# `make bench` results" + (" (BENCH_QUICK smoke run)" if quick else ""))
    md.append("")
    md.append(f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}, {wall / 60:.1f} min")
    md.append(f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, {m['kernel']}")
    md.append(f"- load average at start {load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f}, "
              f"at end {load_end[0]:.2f} / {load_end[1]:.2f} / {load_end[2]:.2f}; CPU used by other "
              f"processes during the run: {others_cores:.2f} cores on average")
    if shared:
        md.append("- **the machine was shared** with other jobs during this run: timings are noisy "
                  "(the spread column shows how much); request counts and sizes are not affected")
    md.append(f"- runs: {runs} timed per cell (`version`: {runs * 5}) after one untimed warm-up run "
              "(which measures the peak RSS), tools alternating")
    md.append(f"- networks: " + ", ".join("loopback" if r == 0 else f"{r} ms RTT" for r in rtts)
              + (" (latency proxy: rtt/2 each way per chunk" + (", + 1 RTT per new connection for the "
                 "TCP handshake)" if handshake else ", no handshake model)") if any(rtts) else ""))
    if tls_rtts:
        md.append("- TLS+token: " + ", ".join(f"{r} ms RTT" for r in tls_rtts) + ": the same storage "
                  "served by a `docker-registry` with TLS and `auth.token`, its realm a token server "
                  "on its own port (bench/tokenmode.py), each behind its own latency proxy; the "
                  "manifest tools trust its CA through `SSL_CERT_FILE`")
    md.append("")
    md.append("## Versions")
    md.append("")
    for k, v in versions.items():
        md.append(f"- {k}: {v}")
    md.append("")
    md.append("## Binary size")
    md.append("")
    md.extend(sizes)
    md.append("")
    md.append("## Results")
    md.append("")
    md.append("median ms = median wall time of the whole operation (a peer's several commands "
              "added up); spread = interquartile range (min–max under 4 runs); × ours = median / "
              "ours' median; RTTs = median / round-trip time; net RTTs = median time from the "
              "first connection the latency proxies accepted to the last bytes they handed to the "
              "client, / round-trip time: the run's round trips without process start-up and "
              "exit, and less disturbed by a busy machine; client RTTs = the median of each run's "
              "network span less its registry ms, / round-trip time: the round trips the client "
              "made, to hold against the protocol's floor; requests = HTTP requests in the "
              "registry's access log per run (median), + token requests in the TLS+token set-up; "
              "registry ms = how long the registry was busy "
              "answering those requests (the union of the request intervals in its log: start = "
              "end − its own `http.response.duration`), median — what no client making the same "
              "requests of this registry can go below; peak RSS = largest maximum resident set "
              "size (GNU time's %M) of the operation's commands, in the warm-up run. Times "
              "include spawning the process (see the `spawn` row: /bin/true).")
    md.append("")
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + "|".join("---:" if i in numeric else "---" for i in range(len(header))) + "|")
    for r in rows:
        md.append("| " + " | ".join(str(v) for v in r) + " |")
    md.append("")
    md.append("## Operations")
    md.append("")
    for op in ops:
        md.append(f"- `{op}`: {OPERATIONS[op]}")
    md.append("")
    for setup, title in (("plain", f"{'loopback' if rtts and rtts[0] == 0 else 'first network'}"),
                         ("tls", "TLS+token")):
        lines = [f"- {op} / {tool}: {text}" for (s_, op, tool), text in breakdowns.items()
                 if s_ == setup and op != "version"]
        if lines:
            md.append(f"## Requests per operation ({title}, one run)")
            md.append("")
            md.extend(lines)
            md.append("")
    if errors:
        md.append("")
        md.append("## Failures")
        md.append("")
        for e in errors:
            md.append(f"- {e}")
    md.append("")
    md.append("Produced by `make bench` (bench/bench.py); see bench/README.md.")
    md.append("")
    return {"table": table, "markdown": "\n".join(md)}


if __name__ == "__main__":
    main()
