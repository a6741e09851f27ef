#!/usr/bin/env python3
"""Compares quick-matrix results of two binaries, cell by cell.

    compare.py --before B1.json B2.json --after A1.json A2.json [--max-other 0.2]

Each cell (config, rate, purpose) takes the median over the runs of each side
whose `other` CPU (what else the machine did) stayed under --max-other cores;
if none did, all of that side's runs count. Prints the markdown table used in
docs/PERFORMANCE.md: throughput, p50, p99 and the nodes' CPU per message, with
the after/before ratios.
"""

import argparse
import json
import statistics

LABELS = {"sqlite": "1 node, SQLite", "pg": "1 node, PostgreSQL", "redis-pg": "2 nodes, Redis + PostgreSQL"}


def cells(paths):
    out = {}
    for path in paths:
        for run in json.load(open(path))["runs"]:
            if not run.get("report"):
                continue
            key = (run["config"], run["rate"], run.get("purpose", "matrix"))
            out.setdefault(key, []).append(run)
    return out


def pick(runs, max_other):
    quiet = [r for r in runs if r["cpu"]["other"]["cores"] < max_other]
    return quiet or runs


def med(runs, get):
    values = [v for v in (get(r) for r in runs) if v is not None]
    return statistics.median(values) if values else None


def num(v, digits=1):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", nargs="+", required=True)
    parser.add_argument("--after", nargs="+", required=True)
    parser.add_argument("--max-other", type=float, default=0.2)
    args = parser.parse_args()
    before, after = cells(args.before), cells(args.after)
    print("| cell | msg/s before → after | p50 ms before → after | p99 ms before → after (ratio) "
          "| node µs/msg before → after (ratio) | lost before/after | runs before/after |")
    print("|---|---|---|---|---|---|---|")
    ratios = []
    for key in sorted(set(before) & set(after), key=lambda k: (list(LABELS).index(k[0]), k[2] != "matrix", k[1])):
        b, a = pick(before[key], args.max_other), pick(after[key], args.max_other)
        get = {
            "tput": lambda r: r["report"]["throughput_per_s"],
            "p50": lambda r: r["report"]["latency_ms"]["p50"],
            "p99": lambda r: r["report"]["latency_ms"]["p99"],
            "cpu": lambda r: r["cpu"]["nodes"]["us_per_msg"] or None,
            "lost": lambda r: r["report"]["lost"],
        }
        row = {name: (med(b, f), med(a, f)) for name, f in get.items()}
        p99r = row["p99"][1] / row["p99"][0] if row["p99"][0] else None
        cpur = row["cpu"][1] / row["cpu"][0] if row["cpu"][0] and row["cpu"][1] else None
        if cpur:
            ratios.append(cpur)
        label = f"{LABELS[key[0]]}, {key[1]:,} msg/s" + ("" if key[2] == "matrix" else f" ({key[2]})")
        print(f"| {label} | {num(row['tput'][0])} → {num(row['tput'][1])} "
              f"| {num(row['p50'][0])} → {num(row['p50'][1])} "
              f"| {num(row['p99'][0])} → {num(row['p99'][1])} ({num(p99r, 2)}) "
              f"| {num(row['cpu'][0])} → {num(row['cpu'][1])} ({num(cpur, 2)}) "
              f"| {num(row['lost'][0], 0)}/{num(row['lost'][1], 0)} | {len(b)}/{len(a)} |")
    if ratios:
        print(f"\nnode CPU per message, after/before: {min(ratios):.2f}–{max(ratios):.2f} "
              f"(median {statistics.median(ratios):.2f})")


if __name__ == "__main__":
    main()
