#!/usr/bin/env python3
"""Summarises a system-wide `perf record -g` of a benchmark run.

    profile.py perf.data RESULTS.json OUT_DIR

Writes OUT_DIR/profile.json and OUT_DIR/profile.md (where the CPU went: by
process, and inside the livesupport nodes by part of a message's path), and
OUT_DIR/profile.folded (folded stacks of the nodes, for any flame graph tool,
e.g. `inferno-flamegraph < profile.folded > flame.svg`).

Each node sample is put in the category of the innermost frame that names one
(walking from the leaf towards the root), so allocator and kernel time count
for the code that called them: a `send` syscall under the socket writer is
"socket write", one under sqlx is "store".
"""

import collections
import json
import os
import re
import subprocess
import sys

# (category, pattern on a frame's symbol), tried in this order on each frame.
CATEGORIES = [
    ("JSON (serde_json)", re.compile(r"serde_json|serde::ser|serde::de|_serde::")),
    ("store: sqlx, SQL round trips", re.compile(r"sqlx|livesupport::store")),
    ("broker: fred, Redis publish and receive", re.compile(r"\bfred::|redis_protocol|livesupport::broker")),
    ("hub: ordering and fan-out", re.compile(r"livesupport::realtime::hub")),
    ("socket write: tungstenite, writer loop", re.compile(
        r"realtime::connection::write_loop|realtime::connection::write_frame|realtime::connection::send"
        r"|realtime::connection::close|tungstenite::protocol::WebSocketContext::(write|flush|_write|send)"
        r"|SplitSink|futures_sink|tokio_tungstenite::.*(start_send|poll_flush|poll_ready)"
        r"|FrameCodec::(buffer_frame|write)|tungstenite::protocol::WebSocketContext::(write|flush)")),
    ("socket read: tungstenite, reader, frame parse", re.compile(
        r"realtime::connection::read|realtime::session::TicketReader|tungstenite::protocol::WebSocketContext::read"
        r"|parse_client_frame|SplitStream|tungstenite::protocol::frame|tokio_tungstenite::.*poll_next"
        r"|realtime::session")),
    ("chat layer: validation, events, metrics", re.compile(
        r"livesupport::chat|livesupport::realtime::events|livesupport::metrics|prometheus|governor")),
    ("HTTP: hyper, axum", re.compile(r"\bhyper::|hyper_util|axum::|tower_http|tower::")),
    ("logging: tracing", re.compile(r"tracing_subscriber|tracing_core")),
    ("tokio runtime: scheduling, parking, timers, epoll", re.compile(r"tokio::runtime|tokio::time|epoll_wait")),
]
# Layers a sample passes through on its way to the code it works for: skipped,
# so that a send() under sqlx counts for the store, a wake-up under the hub's
# try_send for the hub.
TRANSPARENT = re.compile(
    r"^\[|^_|^(std|core|alloc|futures_util|futures_core|futures_channel|bytes|hashbrown|mio|pin_project|async_trait)::"
    r"|^<(std|core|alloc|futures_util|futures_core|bytes|hashbrown|mio|tracing::instrument)::"
    r"|tokio::net::|tokio::io::|tokio::sync::|tokio_util::|tokio::runtime::io::registration|tokio::runtime::io::scheduled_io"
    r"|tokio::runtime::task::(waker|raw|state|harness::Harness<T,S>::wake)|tokio::runtime::park|tokio::runtime::driver"
    r"|schedule_task|::schedule\b|::unpark|notify_parked|tracing::instrument|^[a-z_0-9]+$"
    r"|hyper::upgrade|hyper::rt::io|hyper_util::rt|Rewind|TokioIo|tokio_tungstenite::compat|with_context"
)
ALLOCATOR = re.compile(r"\b(malloc|free|realloc|calloc|_int_malloc|_int_free|cfree|__libc_malloc|__libc_free|sdallocx|mallocx)\b")
KERNEL = re.compile(r"\[kernel|entry_SYSCALL|do_syscall|__x64_sys")


def demangle(symbols):
    """Demangles Rust symbols with rustfilt or c++filt when perf did not."""
    for tool in (["rustfilt"], ["c++filt"]):
        try:
            out = subprocess.run(tool, input="\n".join(symbols), capture_output=True, text=True, check=True)
            lines = out.stdout.split("\n")
            if len(lines) >= len(symbols):
                return dict(zip(symbols, lines))
        except (OSError, subprocess.CalledProcessError):
            continue
    return {s: s for s in symbols}


def clean(symbol):
    symbol = re.sub(r"::h[0-9a-f]{16}$", "", symbol)
    symbol = re.sub(r"\+0x[0-9a-f]+$", "", symbol)
    return symbol


def read_samples(perf_data):
    proc = subprocess.run(
        ["perf", "script", "-i", perf_data, "-F", "comm,pid,tid,ip,sym,dso"],
        capture_output=True, text=True, errors="replace",
    )
    if proc.returncode != 0:
        raise SystemExit(f"perf script failed: {proc.stderr[-2000:]}")
    samples = []
    current = None
    for line in proc.stdout.splitlines():
        if not line.strip():
            if current:
                samples.append(current)
            current = None
            continue
        if not line.startswith((" ", "\t")):
            m = re.match(r"\s*(.+?)\s+(\d+)/(\d+)", line)
            if m:
                current = {"comm": m.group(1), "pid": int(m.group(2)), "frames": [], "dsos": set()}
            continue
        if current is None:
            continue
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        dso = ""
        m = re.match(r"(.*) \((.*)\)$", rest)
        if m:
            rest, dso = m.group(1), m.group(2)
        sym = rest.strip()
        current["dsos"].add(os.path.basename(dso))
        if sym == "[unknown]" and dso:
            sym = f"[{os.path.basename(dso)}]"
        current["frames"].append(sym)
    if current:
        samples.append(current)
    return samples


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    perf_data, results_path, out_dir = sys.argv[1:]
    with open(results_path) as f:
        results = json.load(f)
    run = results["runs"][-1]
    samples = read_samples(perf_data)
    mangled = sorted({fr for s in samples for fr in s["frames"] if fr.startswith(("_ZN", "_R"))})
    names = demangle(mangled) if mangled else {}
    for s in samples:
        s["frames"] = [clean(names.get(fr, fr)) for fr in s["frames"]]

    total = len(samples)
    # Tokio names the threads of both binaries alike: tell them by their code.
    kind_of_pid = {}
    for s in samples:
        if "livesupport" in s["dsos"]:
            kind_of_pid[s["pid"]] = "livesupport node"
        elif "loadtest" in s["dsos"]:
            kind_of_pid[s["pid"]] = "loadtest"
    by_comm = collections.Counter()
    for s in samples:
        comm = s["comm"]
        if s["pid"] in kind_of_pid:
            comm = kind_of_pid[s["pid"]]
        elif comm.startswith("postgres"):
            comm = "postgres"
        elif comm.startswith("redis"):
            comm = "redis-server"
        elif comm == "swapper":
            comm = "idle"
        s["kind"] = comm
        by_comm[comm] += 1

    node = [s for s in samples if s["kind"] == "livesupport node"]
    categories = collections.Counter()
    allocator = 0
    kernel = 0
    folded = collections.Counter()
    leaf_symbols = collections.Counter()
    for s in node:
        frames = s["frames"]
        if frames and ALLOCATOR.search(frames[0]):
            allocator += 1
        if frames and KERNEL.search(" ".join(frames[:1])) or any(f.startswith("[kernel") for f in frames[:1]):
            kernel += 1
        chosen = "other"
        for frame in frames:
            if TRANSPARENT.search(frame) and not frame.startswith("epoll_wait"):
                continue
            for name, pattern in CATEGORIES:
                if pattern.search(frame):
                    chosen = name
                    break
            if chosen != "other":
                break
        categories[chosen] += 1
        folded[";".join(reversed([f.replace(";", ":") for f in frames]))] += 1
        if frames:
            leaf_symbols[frames[0]] += 1

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "profile.folded"), "w") as f:
        for stack, n in folded.most_common():
            f.write(f"{stack} {n}\n")

    cpu = run.get("cpu") or {}
    node_us = (cpu.get("nodes") or {}).get("us_per_msg")
    summary = {
        "run": {k: run[k] for k in ("config", "rate", "duration_s")},
        "report": run.get("report"),
        "samples": total,
        "by_process": {k: round(v / total * 100, 1) for k, v in by_comm.most_common()},
        "node_samples": len(node),
        "node_categories_pct": {k: round(v / max(len(node), 1) * 100, 1) for k, v in categories.most_common()},
        "node_us_per_message": node_us,
        "node_allocator_leaf_pct": round(allocator / max(len(node), 1) * 100, 1),
        "node_top_leaf_symbols": [(k, round(v / max(len(node), 1) * 100, 1)) for k, v in leaf_symbols.most_common(25)],
    }
    with open(os.path.join(out_dir, "profile.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")

    lines = [
        f"perf: {total} samples (cpu-clock, 499 Hz per CPU, whole machine) during "
        f"{run['config']} at {run['rate']} msg/s.",
        "",
        "| process | share of all samples |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} % |" for k, v in summary["by_process"].items()]
    lines += [
        "",
        f"Inside the nodes ({len(node)} samples"
        + (f"; {node_us:.0f} CPU µs per message over both nodes" if node_us else "")
        + "):",
        "",
        "| part of the path | share of node CPU | ≈ CPU µs per message |",
        "|---|---|---|",
    ]
    for k, v in summary["node_categories_pct"].items():
        per = f"{node_us * v / 100:.0f}" if node_us else "–"
        lines.append(f"| {k} | {v} % | {per} |")
    lines += [
        "",
        f"Allocator (malloc/free as the leaf frame): {summary['node_allocator_leaf_pct']} % of node samples.",
        "",
        "Hottest leaf functions in the nodes:",
        "",
        "| function | share of node CPU |",
        "|---|---|",
    ]
    lines += [f"| `{k[:110]}` | {v} % |" for k, v in summary["node_top_leaf_symbols"][:15]]
    with open(os.path.join(out_dir, "profile.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
