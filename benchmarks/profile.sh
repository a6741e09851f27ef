#!/usr/bin/env bash
# Where the time goes: two nodes over Redis and PostgreSQL at 2,000 msg/s for 20 s
# (after a 3 s warm-up), sampled with `perf record -e cpu-clock` over the steady part,
# twice: the whole machine (which process) and the nodes alone with DWARF call
# graphs (which part of a message's path). About 2 minutes after the build.
#
#   benchmarks/profile.sh   # writes benchmarks/results/profile/{system,nodes}/profile.{md,json},
#                           # nodes/profile.folded.gz (folded stacks for a flame graph)
#
# Builds the node with frame pointers into target/profiling (so perf can walk the
# stacks; a few minutes the first time), then runs benchmarks/bench.py in its
# `profile` mode with that binary. Needs perf (Debian: linux-perf) allowed to
# sample the whole machine (root, or kernel.perf_event_paranoid <= -1), plus what
# benchmarks/run.sh needs. A flame graph: `zcat profile.folded.gz | inferno-flamegraph > flame.svg`
# (cargo install inferno).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cd "$root"
command -v perf >/dev/null || { echo "profile.sh: perf is needed (apt-get install linux-perf)" >&2; exit 2; }

echo "building the node with frame pointers (target/profiling)…" >&2
RUSTFLAGS="-C force-frame-pointers=yes" CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  cargo build --release --quiet --target-dir target/profiling -p livesupport
cargo build --release --quiet -p loadtest

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
out="$here/results/profile"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export BENCH_NODE_BIN="$root/target/profiling/release/livesupport"
# 1. The whole machine, frame-pointer call graphs: which process takes the CPU.
python3 "$here/bench.py" profile --only redis-pg --no-search --no-idle \
  --perf-out "$work/system.data" --out "$out/system-run.json"
python3 "$here/profile.py" "$work/system.data" "$out/system-run.json" "$out/system" > /dev/null
# 2. The nodes only, DWARF call graphs (through libc, so each send() and recv()
#    is charged to its caller): where the nodes' CPU goes.
python3 "$here/bench.py" profile --only redis-pg --no-search --no-idle \
  --perf-out "$work/nodes.data" --perf-nodes-only --out "$out/nodes-run.json"
python3 "$here/profile.py" "$work/nodes.data" "$out/nodes-run.json" "$out/nodes" > /dev/null
rm -f "$out/system/profile.folded"
if command -v inferno-flamegraph >/dev/null; then
  inferno-flamegraph --title "livesupport nodes: 2 nodes, Redis + PostgreSQL, 2,000 msg/s" \
    < "$out/nodes/profile.folded" > "$out/nodes/flame.svg"
  echo "flame graph: $out/nodes/flame.svg" >&2
fi
gzip -9f "$out/nodes/profile.folded"
echo "by process: $out/system/profile.md; inside the nodes: $out/nodes/profile.md" >&2
echo "folded stacks: $out/nodes/profile.folded.gz (zcat … | inferno-flamegraph > flame.svg)" >&2
