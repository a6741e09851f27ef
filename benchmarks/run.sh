#!/usr/bin/env bash
# The livesupport benchmark matrix behind docs/PERFORMANCE.md.
#
#   benchmarks/run.sh quick          # ~4 min: short runs; results/quick.json, tables on stdout
#   benchmarks/run.sh full           # ~18-20 min: the published numbers; results/full.json and
#                                    # the tables of docs/PERFORMANCE.md regenerated
#   benchmarks/run.sh full --only redis-pg --no-idle     # a part of it (see --help)
#   benchmarks/run.sh report [FILE]  # only regenerate docs/PERFORMANCE.md from FILE
#                                    # (default benchmarks/results/full.json)
#
# Needs: cargo, python3 (3.8+), psql reaching a PostgreSQL server where the user
# may CREATE DATABASE (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432),
# and redis-server (BENCH_REDIS_SERVER) for a private Redis on a free port. It
# builds target/release/{livesupport,loadtest}, starts every node with the load
# limits of docs/LOADTEST.md on a fresh database per run, and stops everything it
# started (nodes, redis-server, loadtest) and drops its databases on exit or Ctrl-C.
# BENCH_SKIP_BUILD=1 uses the binaries as they are; BENCH_KEEP_LOGS=1 keeps the
# node and loadtest logs (their directory is printed; kept anyway on failure).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cd "$root"

mode=${1:-}
case "$mode" in
  quick|full) shift ;;
  report)
    shift
    exec python3 "$here/report.py" "${1:-$here/results/full.json}" "$root/docs/PERFORMANCE.md"
    ;;
  -h|--help|"")
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    [ -n "$mode" ] && python3 "$here/bench.py" --help | sed -n '/^options:/,$p'
    [ -n "$mode" ] && exit 0 || exit 2
    ;;
  *) echo "run.sh: unknown mode '$mode' (quick, full, report)" >&2; exit 2 ;;
esac

for tool in python3 psql; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed" >&2; exit 2; }
done
command -v "${BENCH_REDIS_SERVER:-redis-server}" >/dev/null \
  || { echo "run.sh: redis-server is needed (or set BENCH_REDIS_SERVER)" >&2; exit 2; }
psql "${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}/postgres" -Atqc 'SELECT 1' >/dev/null \
  || { echo "run.sh: cannot reach PostgreSQL at ${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}" >&2; exit 2; }

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "building release binaries…" >&2
  cargo build --release --quiet -p livesupport -p loadtest
fi

# Sockets are file descriptors on both ends: take the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

python3 "$here/bench.py" "$mode" "$@"
results="$here/results/$mode.json"
if [ "$mode" = full ]; then
  python3 "$here/report.py" "$results" "$root/docs/PERFORMANCE.md"
else
  python3 "$here/report.py" "$results" -
fi
