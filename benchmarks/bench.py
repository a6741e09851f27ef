#!/usr/bin/env python3
"""The livesupport benchmark matrix (run it through benchmarks/run.sh).

Starts release nodes with load-test limits on fresh databases, drives them with
target/release/loadtest, and writes benchmarks/results/<mode>.json:

- chat runs: one node on SQLite, one node on PostgreSQL, two nodes over Redis and
  PostgreSQL, at fixed rates, then a search for the highest rate that keeps
  p99 <= 50 ms with nothing lost, duplicated or out of order and no error;
- idle sockets: the node's resident set size (ps -o rss=) before and while it
  holds N idle visitor sockets; (after - before) / N.

Every process it starts (nodes, redis-server, loadtest) is stopped on exit,
Ctrl-C included, and every database it creates is dropped. Python 3.8+, stdlib only.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
# The node binary; benchmarks/profile.sh points it at a frame-pointer build.
NODE_BIN = os.environ.get("BENCH_NODE_BIN", os.path.join(BIN, "livesupport"))
AGENT_EMAIL = "lt@example.com"
AGENT_PASSWORD = "loadtest-password-123"
TOKEN_SECRET = "benchmark-token-secret-of-at-least-32-characters"
LOAD_LIMITS = {
    "TICKET_RATE_PER_MINUTE": "1000000",
    "SOCKET_RATE_PER_MINUTE": "1000000",
    "MESSAGE_BURST": "100000",
    "MESSAGE_RATE_PER_SECOND": "100000",
    # Every socket comes from this machine, and the idle run holds 20,000 and
    # more: the node's cap then follows its open-files limit alone.
    "MAX_CONNECTIONS_PER_IP": "1000000",
    "MAX_CONNECTIONS": "1000000",
    "MESSAGE_TICKET_RATE_PER_MINUTE": "1000000",
    "MESSAGE_IP_RATE_PER_MINUTE": "1000000",
    "MAX_SOCKETS_PER_TICKET": "100000",
    "MAX_SOCKETS_PER_IP": "100000",
}
P99_TARGET_MS = 50.0
CONFIGS = {
    "sqlite": {"label": "1 node, SQLite", "nodes": 1, "db": "sqlite", "redis": False},
    "pg": {"label": "1 node, PostgreSQL", "nodes": 1, "db": "pg", "redis": False},
    "redis-pg": {
        "label": "2 nodes, Redis + PostgreSQL",
        "nodes": 2,
        "db": "pg",
        "redis": True,
    },
}
# Idle-socket measurements: which deployment, one node.
IDLE_CONFIGS = {
    "redis-pg": {"label": "1 node, Redis + PostgreSQL", "nodes": 1, "db": "pg", "redis": True},
    "sqlite": {"label": "1 node, SQLite", "nodes": 1, "db": "sqlite", "redis": False},
}
MODES = {
    # benchmarks/profile.sh: one run under `perf record`
    "profile": {
        "rates": [2000],
        "duration": 20,
        "point3_duration": 20,
        "point3_repeats": 0,
        "point3_cold": 0,
        "warmup": 3,
        "probe_duration": 20,
        "probes": 0,
        "drain": 5,
        "idle_sizes": [],
        "idle_configs": [],
        "idle_hold": 0,
        "storm_sizes": [],
        "storm_configs": [],
        "storm_repeats": 0,
        "dashboards_counts": [],
        "dashboards_repeats": 0,
        "point5_repeats": 0,
    },
    # seconds of sending per matrix run, per search probe; probes per config
    "quick": {
        "rates": [500, 1000, 2000, 5000],
        "duration": 5,
        "warmup": 2,
        "point3_duration": 5,
        "point3_repeats": 1,
        "point3_cold": 0,
        "probe_duration": 5,
        "probes": 1,
        "drain": 3,
        "idle_sizes": [5000],
        "idle_configs": ["redis-pg"],
        "idle_hold": 15,
        "storm_sizes": [5000],
        "storm_configs": ["sqlite", "redis-pg"],
        "storm_repeats": 1,
        "dashboards_counts": [0, 50],
        "dashboards_repeats": 1,
        "point5_repeats": 1,
    },
    "full": {
        "rates": [500, 1000, 2000, 5000],
        "duration": 20,
        "warmup": 3,
        "point3_duration": 60,
        "point3_repeats": 3,
        "point3_cold": 1,
        "probe_duration": 20,
        "probes": 3,
        "drain": 5,
        "idle_sizes": [5000, 20000],
        "idle_configs": ["redis-pg", "sqlite"],
        "idle_hold": 25,
        "storm_sizes": [10000],
        "storm_configs": ["sqlite", "redis-pg"],
        "storm_repeats": 3,
        "dashboards_counts": [0, 50],
        "dashboards_repeats": 3,
        "point5_repeats": 3,
    },
}
TICKETS = 200
# Issue 20, point 2: dashboards open on two nodes at this rate cost at most
# DASHBOARDS_P99_COST of p99; point 5: two nodes at POINT5_RATE with
# POINT5_DASHBOARDS open.
DASHBOARDS_RATE = 5000
DASHBOARDS_P99_COST = 0.20
POINT5_RATE = 10000
POINT5_DASHBOARDS = 30
# The warm-up before each measured chat run sends at the run's rate, at most this.
WARMUP_MAX_RATE = 2000
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes


class Processes:
    """Every process this run started, stopped in reverse order at the end."""

    def __init__(self):
        self.procs = []
        self.cleanups = []

    def start(self, name, argv, env=None, log_path=None, stdout=None):
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=stdout if stdout is not None else out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        proc.bench_name = name
        self.procs.append(proc)
        return proc

    def stop(self, proc, timeout=15):
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:
                pass
        if proc in self.procs:
            self.procs.remove(proc)

    def on_exit(self, fn):
        self.cleanups.append(fn)

    def stop_all(self):
        for proc in reversed(list(self.procs)):
            self.stop(proc)
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as err:  # cleanup goes on whatever fails
                log(f"cleanup: {err}")
        self.cleanups = []


PROCS = Processes()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_ready(url, proc, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node {url} exited with {proc.returncode} while starting")
        try:
            status, _ = http_get(url + "/readyz", timeout=2)
            if status == 200:
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"node {url} not ready after {timeout} s")


def proc_cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def rss_kib(pid):
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True)
    return int(out.stdout.strip())


def median_rss(pid, samples=5):
    values = []
    for _ in range(samples):
        values.append(rss_kib(pid))
        time.sleep(0.4)
    return statistics.median(values)


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def postgres_pids():
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def system_cpu_ticks():
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts[:8]) - idle, sum(parts[:8])


# ---------------------------------------------------------------- services


class Redis:
    def __init__(self, binary, workdir):
        self.port = free_port()
        self.proc = PROCS.start(
            "redis",
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", workdir,
            ],
            log_path=os.path.join(workdir, "redis.log"),
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the private redis-server did not start")
        self.url = f"redis://127.0.0.1:{self.port}"
        log(f"redis-server (pid {self.proc.pid}) on port {self.port}")


class Postgres:
    def __init__(self, base_url):
        self.base = base_url.rstrip("/")
        self.created = []
        PROCS.on_exit(self.drop_all)

    def psql(self, sql, db="postgres"):
        return subprocess.run(
            ["psql", f"{self.base}/{db}", "-Atqc", sql],
            check=True, capture_output=True, text=True,
        ).stdout.strip()

    def create(self):
        name = f"lt_{int(time.time())}_{len(self.created)}_{os.getpid()}"
        self.psql(f"CREATE DATABASE {name}")
        self.created.append(name)
        return name, f"{self.base}/{name}"

    def drop(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if name in self.created:
            self.created.remove(name)

    def drop_all(self):
        for name in list(self.created):
            self.drop(name)

    def describe(self):
        settings = {}
        for key in ["server_version", "synchronous_commit", "fsync", "shared_buffers", "max_connections"]:
            try:
                settings[key] = self.psql(f"SHOW {key}")
            except subprocess.CalledProcessError:
                pass
        return settings


class Deployment:
    """The nodes of one configuration on a fresh database (and the shared Redis)."""

    def __init__(self, config, ctx, tag):
        self.config = config
        self.ctx = ctx
        self.tag = tag
        self.nodes = []
        self.db_name = None
        self.sqlite_dir = None

    def __enter__(self):
        cfg = self.config
        if cfg["db"] == "sqlite":
            self.sqlite_dir = tempfile.mkdtemp(prefix="lt-sqlite-", dir=self.ctx.workdir)
            database_url = f"sqlite://{self.sqlite_dir}/lt.db"
        else:
            self.db_name, database_url = self.ctx.pg.create()
        for n in range(cfg["nodes"]):
            port = free_port()
            env = dict(os.environ)
            for key in ["REDIS_URL", "REDIS_CLUSTER", "REDIS_CHANNEL_PREFIX", "DATABASE_DSN",
                        "SUPPORT_SERVICE_PORT", "PUBLIC_URL", "RUST_LOG"]:
                env.pop(key, None)
            env.update(LOAD_LIMITS)
            env.update({
                "ADMIN_EMAIL": AGENT_EMAIL,
                "ADMIN_PASSWORD": AGENT_PASSWORD,
                "TOKEN_SECRET": TOKEN_SECRET,
                "PORT": str(port),
                "BIND": "127.0.0.1",
                "NODE_ID": f"bench-{n + 1}",
                "DATABASE_URL": database_url,
                "RUST_LOG": "warn",
                "LOG_FORMAT": "json",
                "DRAIN_WINDOW_SECONDS": "1",
            })
            if cfg["redis"]:
                env["REDIS_URL"] = self.ctx.redis.url
                env["REDIS_CHANNEL_PREFIX"] = f"{self.tag}:"
            log_path = os.path.join(self.ctx.workdir, f"{self.tag}-node{n + 1}.log")
            proc = PROCS.start(f"node{n + 1}", [NODE_BIN, "serve"],
                               env=env, log_path=log_path)
            url = f"http://127.0.0.1:{port}"
            # Migrations run on the first node before the second one starts.
            wait_ready(url, proc)
            self.nodes.append((proc, url))
        return self

    def __exit__(self, *exc):
        for proc, _ in self.nodes:
            PROCS.stop(proc)
        if self.db_name:
            self.ctx.pg.drop(self.db_name)
        if self.sqlite_dir:
            shutil.rmtree(self.sqlite_dir, ignore_errors=True)

    @property
    def urls(self):
        return ",".join(url for _, url in self.nodes)

    @property
    def pids(self):
        return [proc.pid for proc, _ in self.nodes]

    def metrics(self):
        """Parsed Prometheus samples of every node, summed over nodes."""
        total = {}
        for _, url in self.nodes:
            try:
                _, text = http_get(url + "/metrics", timeout=5)
            except (urllib.error.URLError, OSError):
                continue
            for line in text.splitlines():
                if not line or line.startswith("#"):
                    continue
                key, _, value = line.rpartition(" ")
                try:
                    total[key] = total.get(key, 0.0) + float(value)
                except ValueError:
                    pass
        return total


# ---------------------------------------------------------------- metrics


def chat_stored(m):
    return sum(v for k, v in m.items()
               if k.startswith("livesupport_messages_stored_total")
               and 'sender_type="system"' not in k)


def histogram(m, name, label=None):
    """(count, sum, [(le, cumulative)]) of one histogram, label e.g. 'operation="append_message"'."""
    buckets = []
    count = total = 0.0
    for key, value in m.items():
        if not key.startswith(name):
            continue
        if label and label not in key:
            continue
        if key.startswith(name + "_bucket"):
            le = re.search(r'le="([^"]+)"', key).group(1)
            buckets.append((math.inf if le == "+Inf" else float(le), value))
        elif key.startswith(name + "_count"):
            count += value
        elif key.startswith(name + "_sum"):
            total += value
    buckets.sort()
    return count, total, buckets


def hist_summary(before, after, name, label=None):
    c0, s0, b0 = histogram(before, name, label)
    c1, s1, b1 = histogram(after, name, label)
    count = c1 - c0
    if count <= 0:
        return None
    prev = dict(b0)
    buckets = [(le, cum - prev.get(le, 0.0)) for le, cum in b1]

    def quantile(q):
        rank = q * count
        lower, below = 0.0, 0.0
        for le, cum in buckets:
            if cum >= rank:
                if math.isinf(le):
                    return lower * 1000
                share = (rank - below) / max(cum - below, 1e-9)
                return (lower + (le - lower) * share) * 1000
            lower, below = le, cum
        return lower * 1000

    return {
        "count": int(count),
        "mean_ms": round((s1 - s0) / count * 1000, 3),
        "p50_ms": round(quantile(0.5), 3),
        "p99_ms": round(quantile(0.99), 3),
    }


def batch_summary(before, after):
    """Statements and mean messages per statement of PostgreSQL's group commit."""
    c0, s0, _ = histogram(before, "livesupport_store_append_batch_size")
    c1, s1, _ = histogram(after, "livesupport_store_append_batch_size")
    if c1 - c0 <= 0:
        return None
    return {"statements": int(c1 - c0), "mean": round((s1 - s0) / (c1 - c0), 2)}


class Sampler(threading.Thread):
    """Once a second: CPU ticks of the nodes, PostgreSQL, Redis, the load
    generator and the whole machine, and the chat messages stored so far."""

    def __init__(self, deployment, ctx):
        super().__init__(daemon=True)
        self.deployment = deployment
        self.ctx = ctx
        self.samples = []
        self.loadtest_pids = []
        self.stop_event = threading.Event()

    def snapshot(self):
        groups = {
            "nodes": self.deployment.pids,
            "postgres": postgres_pids() if self.deployment.config["db"] == "pg" else [],
            "redis": [self.ctx.redis.proc.pid] if self.deployment.config["redis"] else [],
            "loadtest": list(self.loadtest_pids),
        }
        per_pid = {}
        for group, pids in groups.items():
            for pid in pids:
                ticks = proc_cpu_ticks(pid)
                if ticks is not None:
                    per_pid[pid] = (group, ticks)
        busy, total = system_cpu_ticks()
        metrics = self.deployment.metrics()
        return {
            "t": time.time(),
            "pids": per_pid,
            "busy": busy,
            "total": total,
            "stored": chat_stored(metrics),
            "delivery": {k: v for k, v in metrics.items()
                         if k.startswith("livesupport_delivery_latency_seconds")},
        }

    def p99_by_second(self):
        """The nodes' own store → socket-write p99 (ms) in each second of the run."""
        series = []
        for a, b in zip(self.samples, self.samples[1:]):
            summary = hist_summary(a["delivery"], b["delivery"], "livesupport_delivery_latency_seconds")
            if summary and summary["count"] >= 50:
                series.append(summary["p99_ms"])
        return series

    def run(self):
        while not self.stop_event.is_set():
            self.samples.append(self.snapshot())
            self.stop_event.wait(1.0)

    def stop(self):
        self.stop_event.set()
        self.join()
        self.samples.append(self.snapshot())

    def steady_cpu(self):
        """CPU use of each group while the chat messages were being stored
        (between 5 % and 95 % of the final count): cores busy, and CPU
        microseconds per stored message."""
        final = self.samples[-1]["stored"] if self.samples else 0
        inside = [s for s in self.samples if 0.05 * final <= s["stored"] <= 0.95 * final]
        if final <= 0 or len(inside) < 2:
            return None
        a, b = inside[0], inside[-1]
        seconds = b["t"] - a["t"]
        stored = b["stored"] - a["stored"]
        if seconds <= 0 or stored <= 0:
            return None
        used = {}
        for pid, (group, ticks) in b["pids"].items():
            start = a["pids"].get(pid, (group, 0))[1]
            used[group] = used.get(group, 0) + (ticks - start)
        busy = (b["busy"] - a["busy"]) / CLK_TCK
        ncpu = os.cpu_count() or 1
        result = {"window_s": round(seconds, 1), "messages": int(stored)}
        for group in ["nodes", "postgres", "redis", "loadtest"]:
            secs = used.get(group, 0) / CLK_TCK
            result[group] = {
                "cores": round(secs / seconds, 2),
                "us_per_msg": round(secs / stored * 1e6, 1),
            }
        named = sum(used.values()) / CLK_TCK
        result["other"] = {
            "cores": round(max(busy - named, 0) / seconds, 2),
            "us_per_msg": round(max(busy - named, 0) / stored * 1e6, 1),
        }
        result["machine_busy_pct"] = round(busy / (seconds * ncpu) * 100, 1)
        return result


# ---------------------------------------------------------------- runs


def start_loadtest(args, log_path):
    argv = [os.path.join(BIN, "loadtest")] + args + ["--json"]
    out = open(log_path + ".out", "wb")
    proc = PROCS.start("loadtest", argv, log_path=log_path, stdout=out)
    proc.out_path = log_path + ".out"
    return proc


def finish_loadtest(proc, timeout):
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        PROCS.stop(proc)
        raise RuntimeError("loadtest did not finish in time")
    if proc in PROCS.procs:
        PROCS.procs.remove(proc)
    with open(proc.out_path) as f:
        lines = [line for line in f.read().splitlines() if line.startswith("{")]
    return proc.returncode, (json.loads(lines[-1]) if lines else None)


def side_note(log_path):
    try:
        with open(log_path) as f:
            notes = [line.strip() for line in f if line.startswith(("loadtest:", "hint:"))]
        return notes[-3:]
    except OSError:
        return []


def chat_run(ctx, key, rate, duration, purpose, warmup=None, dashboards=0):
    config = CONFIGS[key]
    tag = f"{key}-{rate}-{purpose}-{len(ctx.runs)}"
    log_path = os.path.join(ctx.workdir, f"{tag}-loadtest.log")
    seen_by = f", {dashboards} dashboards" if dashboards else ""
    log(f"chat  {config['label']:<28} {rate:>6} msg/s for {duration:>3} s ({purpose}{seen_by})")
    with Deployment(config, ctx, tag) as dep:
        if warmup is None:
            warmup = ctx.mode.get("warmup", 0)
        if warmup:
            # A node that has served traffic: database pool connections open,
            # statements prepared, allocator grown. Its own tickets, not counted.
            start = start_loadtest([
                "--url", dep.urls,
                "--agent-email", AGENT_EMAIL,
                "--agent-password", AGENT_PASSWORD,
                "--tickets", str(TICKETS),
                "--rate", str(min(rate, WARMUP_MAX_RATE)),
                "--duration", str(warmup),
                "--drain", str(ctx.mode["drain"]),
            ], log_path + ".warmup")
            finish_loadtest(start, timeout=warmup + 300)
        before = dep.metrics()
        sampler = Sampler(dep, ctx)
        sampler.start()
        perf = None
        proc = start_loadtest([
            "--url", dep.urls,
            "--agent-email", AGENT_EMAIL,
            "--agent-password", AGENT_PASSWORD,
            "--tickets", str(TICKETS),
            "--rate", str(rate),
            "--duration", str(duration),
            "--drain", str(ctx.mode["drain"]),
            "--dashboards", str(dashboards),
        ], log_path)
        sampler.loadtest_pids.append(proc.pid)
        if ctx.perf_out:
            # Setup (tickets, sockets) takes a few seconds: sample the steady part.
            time.sleep(4)
            window = str(max(duration - 6, 2))
            if ctx.perf_nodes_only:
                # DWARF unwinding through libc, so that a send() is charged to
                # whoever called it (sqlx, fred, tungstenite): the nodes only.
                target = ["-p", ",".join(str(p) for p in dep.pids),
                          "--call-graph", "dwarf,16384", "-F", "250"]
            else:
                target = ["-a", "-g", "-F", "499"]
            perf = PROCS.start("perf", ["perf", "record", "-e", "cpu-clock", *target,
                                        "-o", ctx.perf_out, "--", "sleep", window],
                               log_path=os.path.join(ctx.workdir, "perf.log"))
        code, report = finish_loadtest(proc, timeout=duration + 300)
        if perf is not None:
            perf.wait(timeout=60)
            PROCS.procs.remove(perf)
        sampler.stop()
        after = dep.metrics()
    passed = bool(
        report
        and code == 0
        and report["lost"] == 0
        and report["duplicated"] == 0
        and report["out_of_order"] == 0
        and report["errors"] == 0
        and report["latency_ms"]["p99"] <= P99_TARGET_MS
    )
    run = {
        "config": key,
        "rate": rate,
        "duration_s": duration,
        "purpose": purpose,
        "dashboards": dashboards,
        "tickets": TICKETS,
        "exit_code": code,
        "passed": passed,
        "report": report,
        "notes": side_note(log_path),
        "node": {
            "append_message": hist_summary(before, after, "livesupport_store_operation_duration_seconds",
                                           'operation="append_message"'),
            "publish": hist_summary(before, after, "livesupport_broker_operation_duration_seconds",
                                    'operation="publish"'),
            "delivery": hist_summary(before, after, "livesupport_delivery_latency_seconds"),
            "append_batch": batch_summary(before, after),
            "gap_refills": after.get("livesupport_gap_refills_total", 0)
            - before.get("livesupport_gap_refills_total", 0),
            "slow_consumer_closes": after.get("livesupport_slow_consumer_closes_total", 0)
            - before.get("livesupport_slow_consumer_closes_total", 0),
        },
        "cpu": sampler.steady_cpu(),
        "warmup_s": warmup,
        "node_p99_by_second_ms": sampler.p99_by_second(),
    }
    if report:
        lat = report["latency_ms"]
        log(f"      sent {report['sent']} lost {report['lost']} dup {report['duplicated']} "
            f"ooo {report['out_of_order']} err {report['errors']} "
            f"p50 {lat['p50']:.1f} p99 {lat['p99']:.1f} max {lat['max']:.1f} ms "
            f"-> {'PASS' if passed else 'FAIL'}")
    else:
        log(f"      no report (exit {code}); see {log_path}")
    ctx.runs.append(run)
    ctx.save()
    return run


def search_max_rate(ctx, key):
    """Bisects between the highest passing and the lowest failing rate seen."""
    mode = ctx.mode
    seen = {}
    for run in ctx.runs:
        if run["config"] == key:
            seen.setdefault(run["rate"], []).append(run["passed"])
    passing = [r for r, ok in seen.items() if all(ok)]
    lo = max(passing) if passing else 0
    failing = [r for r, ok in seen.items() if not all(ok) and r > lo]
    hi = min(failing) if failing else None
    probes = []
    for _ in range(mode["probes"]):
        if hi is None:
            rate = int(round(max(lo, 250) * 1.5 / 50) * 50)
        else:
            if lo and (hi - lo) <= max(0.1 * lo, 100):
                break
            rate = int(round((lo + hi) / 2 / 50) * 50)
            if rate in (lo, hi):
                break
        run = chat_run(ctx, key, rate, mode["probe_duration"], "search")
        probes.append(rate)
        if run["passed"]:
            lo = rate
        else:
            hi = rate if hi is None else min(hi, rate)
    result = {"config": key, "max_passing_rate": lo, "lowest_failing_rate": hi, "probes": probes}
    ctx.searches.append(result)
    ctx.save()
    log(f"max   {CONFIGS[key]['label']:<28} {lo} msg/s held (lowest failing: {hi})")
    return result


def idle_run(ctx, key, sockets):
    config = IDLE_CONFIGS[key]
    tag = f"idle-{key}-{sockets}-{len(ctx.idle)}"
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    per_process = min(10000, hard - 200)
    procs_needed = math.ceil(sockets / per_process)
    log(f"idle  {config['label']:<28} {sockets} sockets")
    with Deployment(config, ctx, tag) as dep:
        pid = dep.pids[0]
        url = dep.nodes[0][1]
        warm_log = os.path.join(ctx.workdir, f"{tag}-warmup.log")
        warm = start_loadtest(["--url", url, "--idle", "200", "--duration", "1"], warm_log)
        finish_loadtest(warm, timeout=120)
        time.sleep(3)
        before = median_rss(pid)
        base_fds = open_fds(pid)
        # The node holds the sockets plus its own files plus the loadtests' HTTP
        # keep-alive connections (--concurrency each): it cannot go past its limit.
        concurrency = 32
        node_limit = hard - base_fds - procs_needed * (concurrency + 8) - 16
        target = min(sockets, node_limit)
        if target < sockets:
            log(f"      the open-file limit ({hard}) allows {target} sockets on one node, not {sockets}")
        shares = [target // procs_needed + (1 if i < target % procs_needed else 0)
                  for i in range(procs_needed)]
        hold = ctx.mode["idle_hold"]
        started = time.time()
        loads = [start_loadtest(["--url", url, "--idle", str(n), "--duration", str(hold),
                                 "--concurrency", str(concurrency)],
                                os.path.join(ctx.workdir, f"{tag}-loadtest{i}.log"))
                 for i, n in enumerate(shares)]
        open_now = 0
        peak = 0
        deadline = time.time() + 600
        while time.time() < deadline and any(p.poll() is None for p in loads):
            m = dep.metrics()
            open_now = int(m.get('livesupport_connections_open{role="user"}', 0))
            peak = max(peak, open_now)
            if open_now >= target:
                break
            time.sleep(0.5)
        setup_s = time.time() - started
        time.sleep(2)
        during = median_rss(pid)
        held = int(dep.metrics().get('livesupport_connections_open{role="user"}', 0))
        fds = open_fds(pid)
        reports = [finish_loadtest(p, timeout=hold + 600) for p in loads]
    result = {
        "config": key,
        "label": config["label"],
        "requested": sockets,
        "target": target,
        "held": held,
        "fd_limit": hard,
        "node_fds_before": base_fds,
        "node_fds_during": fds,
        "rss_before_kib": before,
        "rss_during_kib": during,
        "bytes_per_socket": round((during - before) * 1024 / held) if held else None,
        "setup_s": round(setup_s, 1),
        "loadtest": [{"exit_code": c, "report": r} for c, r in reports],
    }
    log(f"      held {held} sockets: RSS {before} -> {during} KiB, "
        f"{result['bytes_per_socket']} bytes/socket (setup {setup_s:.0f} s)")
    ctx.idle.append(result)
    ctx.save()
    return result


def storm_run(ctx, key, sockets):
    """Issue 20: `loadtest --storm N` against a fresh node (the deployments of
    the idle runs): N tickets primed, then N visitor sockets reconnecting at
    once with `since`; the time from the storm's start to each `ready`."""
    config = IDLE_CONFIGS[key]
    tag = f"storm-{key}-{sockets}-{len(ctx.storm)}"
    log(f"storm {config['label']:<28} {sockets} sockets")
    with Deployment(config, ctx, tag) as dep:
        url = dep.nodes[0][1]
        before = dep.metrics()
        log_path = os.path.join(ctx.workdir, f"{tag}-loadtest.log")
        # Setup and storm together make 2N connections to one port: two
        # source addresses keep them clear of the local port range.
        load = start_loadtest(["--url", url, "--storm", str(sockets), "--concurrency", "64",
                               "--source-ips", "127.0.0.1,127.0.0.2"], log_path)
        code, report = finish_loadtest(load, timeout=1200)
        after = dep.metrics()
    storm = (report or {}).get("storm") or {}
    ready_ms = storm.get("ready_ms") or {}
    store_ops = {}
    for name, value in after.items():
        if name.startswith("livesupport_store_operation_duration_seconds_count{"):
            grew = value - before.get(name, 0.0)
            if grew:
                store_ops[name.split("{", 1)[1].rstrip("}")] = int(grew)
    result = {
        "config": key,
        "label": config["label"],
        "sockets": sockets,
        "exit_code": code,
        "report": report,
        "ready": storm.get("ready"),
        "replay_ok": storm.get("replay_ok"),
        "ready_p50_ms": ready_ms.get("p50"),
        "ready_p99_ms": ready_ms.get("p99"),
        "ready_max_ms": ready_ms.get("max"),
        "all_ready_s": storm.get("all_ready_s"),
        "errors": (report or {}).get("errors"),
        # Store operations over the whole run (setup included), by label.
        "store_ops": store_ops,
        "notes": side_note(log_path),
    }
    all_ready = result["all_ready_s"]
    log(f"      {result['ready']}/{sockets} ready, p50 {ready_ms.get('p50')} ms, "
        f"p99 {ready_ms.get('p99')} ms, all ready in {all_ready if all_ready is not None else '-'} s")
    ctx.storm.append(result)
    ctx.save()
    return result


# ---------------------------------------------------------------- context


def machine_info(pg):
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return None

    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kib = None
    try:
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
    except OSError:
        pass
    # What the numbers depend on: the server, its migrations, the load generator.
    status = cmd(["git", "status", "--porcelain", "--untracked-files=no", "--",
                  "src", "migrations", "loadtest", "Cargo.lock"])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1) if mem_kib else None,
        "kernel": platform.release(),
        "os": cmd(["sh", "-c", ". /etc/os-release 2>/dev/null && echo \"$PRETTY_NAME\""]),
        "rustc": cmd(["rustc", "--version"]),
        "commit": cmd(["git", "rev-parse", "--short=12", "HEAD"]),
        "src_dirty": bool(status),
        "postgres": pg.describe() if pg else None,
        "redis": cmd(["redis-server", "--version"]),
        "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
        "load_average_at_start": os.getloadavg(),
    }


class Context:
    def __init__(self, mode_name, args):
        self.mode_name = mode_name
        self.mode = MODES[mode_name]
        self.workdir = tempfile.mkdtemp(prefix="livesupport-bench-")
        self.pg = Postgres(args.pg_url)
        self.redis = None
        self.runs = []
        self.searches = []
        self.idle = []
        self.storm = []
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.out = args.out or os.path.join(ROOT, "benchmarks", "results", f"{mode_name}.json")
        self.machine = machine_info(self.pg)
        self.perf_out = args.perf_out
        self.perf_nodes_only = args.perf_nodes_only

    def save(self):
        data = {
            "mode": self.mode_name,
            "started_utc": self.started.strftime("%Y-%m-%d %H:%M UTC"),
            "finished_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": self.machine,
            "settings": {
                "tickets": TICKETS,
                "message_bytes": 64,
                "p99_target_ms": P99_TARGET_MS,
                "dashboards_p99_cost": DASHBOARDS_P99_COST,
                "point5_rate": POINT5_RATE,
                "point5_dashboards": POINT5_DASHBOARDS,
                **{k: v for k, v in self.mode.items()},
            },
            "runs": self.runs,
            "searches": self.searches,
            "idle": self.idle,
            "storm": self.storm,
        }
        os.makedirs(os.path.dirname(self.out), exist_ok=True)
        tmp = self.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        os.replace(tmp, self.out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--only", default="sqlite,pg,redis-pg",
                        help="configurations to run (comma list of sqlite, pg, redis-pg)")
    parser.add_argument("--no-chat", action="store_true", help="skip the chat runs")
    parser.add_argument("--no-search", action="store_true", help="skip the max-rate search")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle-socket runs")
    parser.add_argument("--no-storm", action="store_true", help="skip the reconnect-storm runs")
    parser.add_argument("--no-dashboards", action="store_true",
                        help="skip the dashboards' runs (issue 20, points 2 and 5)")
    parser.add_argument("--dashboards-rate", type=int,
                        help=f"rate of the dashboards' runs (default {DASHBOARDS_RATE} msg/s)")
    parser.add_argument("--dashboards-repeats", type=int, help="pairs of dashboards' runs")
    parser.add_argument("--no-point5", action="store_true", help="skip the point 5 runs")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
                        help="PostgreSQL server (a fresh database is created for each run)")
    parser.add_argument("--redis-server", default=os.environ.get("BENCH_REDIS_SERVER", "redis-server"))
    parser.add_argument("--out", help="results file (default benchmarks/results/<mode>.json)")
    parser.add_argument("--perf-out", help="record each chat run with perf into this file (profile mode)")
    parser.add_argument("--perf-nodes-only", action="store_true",
                        help="with --perf-out: only the nodes, with DWARF call graphs")
    parser.add_argument("--rates", help="chat rates of the matrix (comma list, msg/s)")
    parser.add_argument("--idle-sizes", help="idle socket counts (comma list)")
    parser.add_argument("--idle-configs", help="idle deployments (comma list of redis-pg, sqlite)")
    parser.add_argument("--storm-sizes", help="reconnect-storm socket counts (comma list)")
    parser.add_argument("--storm-configs", help="storm deployments (comma list of redis-pg, sqlite)")
    args = parser.parse_args()
    only = [k.strip() for k in args.only.split(",") if k.strip()]
    for key in only:
        if key not in CONFIGS:
            parser.error(f"unknown configuration {key!r}")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    ctx = Context(args.mode, args)
    if args.rates:
        ctx.mode["rates"] = [int(r) for r in args.rates.split(",")]
    ctx.mode["dashboards_rate"] = args.dashboards_rate or DASHBOARDS_RATE
    if args.dashboards_repeats is not None:
        ctx.mode["dashboards_repeats"] = args.dashboards_repeats
    if args.no_point5:
        ctx.mode["point5_repeats"] = 0
    if args.idle_sizes:
        ctx.mode["idle_sizes"] = [int(n) for n in args.idle_sizes.split(",")]
    if args.idle_configs:
        ctx.mode["idle_configs"] = [k for k in args.idle_configs.split(",") if k in IDLE_CONFIGS]
    if args.storm_sizes:
        ctx.mode["storm_sizes"] = [int(n) for n in args.storm_sizes.split(",")]
    if args.storm_configs:
        ctx.mode["storm_configs"] = [k for k in args.storm_configs.split(",") if k in IDLE_CONFIGS]
    log(f"mode {args.mode}; logs in {ctx.workdir}; results to {ctx.out}")
    try:
        needs_redis = any(CONFIGS[k]["redis"] for k in only) or (
            not args.no_idle and any(IDLE_CONFIGS[k]["redis"] for k in ctx.mode["idle_configs"])) or (
            not args.no_storm and any(IDLE_CONFIGS[k]["redis"] for k in ctx.mode["storm_configs"]))
        if needs_redis:
            ctx.redis = Redis(args.redis_server, ctx.workdir)
        if not args.no_chat:
            for key in only:
                for rate in ctx.mode["rates"]:
                    chat_run(ctx, key, rate, ctx.mode["duration"], "matrix")
            if "redis-pg" in only:
                # Point 3: two nodes over Redis and PostgreSQL, 2,000 msg/s for 60 s.
                for _ in range(ctx.mode["point3_repeats"]):
                    chat_run(ctx, "redis-pg", 2000, ctx.mode["point3_duration"], "point3")
                # The same from a cold start: the first seconds open the database
                # pool and prepare the statements while the load is on.
                for _ in range(ctx.mode["point3_cold"]):
                    chat_run(ctx, "redis-pg", 2000, ctx.mode["point3_duration"], "point3-cold", warmup=0)
            if "redis-pg" in only and not args.no_dashboards:
                # Issue 20, point 2: the same run with and without dashboards open,
                # alternated so that drift on the machine falls on both.
                for _ in range(ctx.mode["dashboards_repeats"]):
                    for count in ctx.mode["dashboards_counts"]:
                        chat_run(ctx, "redis-pg", ctx.mode["dashboards_rate"], ctx.mode["duration"],
                                 "dashboards", dashboards=count)
                # Point 5: two nodes at 10,000 msg/s with 30 dashboards open.
                for _ in range(ctx.mode["point5_repeats"]):
                    chat_run(ctx, "redis-pg", POINT5_RATE, ctx.mode["duration"], "point5",
                             dashboards=POINT5_DASHBOARDS)
            if not args.no_search:
                for key in only:
                    search_max_rate(ctx, key)
        if not args.no_idle:
            for key in ctx.mode["idle_configs"]:
                for size in ctx.mode["idle_sizes"]:
                    # SQLite's 20,000 takes minutes of ticket creation: its
                    # smallest size only, unless sizes were given.
                    if key == "sqlite" and not args.idle_sizes and size != min(ctx.mode["idle_sizes"]):
                        continue
                    idle_run(ctx, key, size)
        if not args.no_storm:
            for key in ctx.mode["storm_configs"]:
                for size in ctx.mode["storm_sizes"]:
                    for _ in range(ctx.mode["storm_repeats"]):
                        storm_run(ctx, key, size)
        ctx.save()
        log(f"done: {ctx.out}")
    except KeyboardInterrupt as err:
        log(f"interrupted ({err}); stopping everything")
        ctx.save()
        ok = False
        code = 130
    except Exception:
        ctx.save()
        ok = False
        code = 1
        raise
    else:
        ok = True
        code = 0
    finally:
        PROCS.stop_all()
        if ok and os.environ.get("BENCH_KEEP_LOGS") != "1":
            shutil.rmtree(ctx.workdir, ignore_errors=True)
        else:
            log(f"logs kept in {ctx.workdir}")
    return code


if __name__ == "__main__":
    sys.exit(main())
