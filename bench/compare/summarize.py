#!/usr/bin/env python3
"""Medians and ratios of a bench/compare/run.sh run, the goals of issue 7,
a TSV of the medians, and (with --plots DIR) the gnuplot PNGs.

    python3 bench/compare/summarize.py RESULTS.jsonl --out DIR [--plots docs]

RESULTS.jsonl has one line per run, as cairn-compare --json prints it plus
"round", "load1", "busy_before", "foreign_cores" and "stolen_cores" (run.sh).
Ratios are Cairn's figure divided by the other system's, for throughput and
latency alike: above 1 is better for Cairn in events/s, below 1 is better
for Cairn in milliseconds.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

SYSTEMS = ["cairn", "postgres", "redis"]
NAMES = {"cairn": "Cairn", "postgres": "PostgreSQL", "redis": "Redis"}

# (workload label, metric, unit, what it is)
ROWS = [
    ("append-1", "events_per_s", "events/s", "single-event appends, 1 client"),
    ("append-8", "events_per_s", "events/s", "single-event appends, 8 clients"),
    ("append-64", "events_per_s", "events/s", "single-event appends, 64 clients"),
    ("batch-100", "events_per_s", "events/s", "100-event batches, 4 clients"),
    ("batch-1000", "events_per_s", "events/s", "1,000-event batches, 4 clients"),
    ("preload", "events_per_s", "events/s", "preload, 1,000-event batches, 4 clients (one run)"),
    ("read-stream", "events_per_s", "events/s", "read a 1,000-event stream, 8 clients"),
    ("read-log", "events_per_s", "events/s", "read the whole log, 1 client"),
    ("append-1", "p99_ms", "ms", "append p99, 1 client"),
    ("append-8", "p50_ms", "ms", "append p50, 8 clients"),
    ("append-8", "p99_ms", "ms", "append p99, 8 clients"),
    ("append-64", "p99_ms", "ms", "append p99, 64 clients"),
    ("batch-1000", "p99_ms", "ms", "1,000-event batch p99, 4 clients"),
    ("read-stream", "p99_ms", "ms", "stream read p99, 8 clients"),
    ("subscribe", "p50_ms", "ms", "subscription: ack -> delivery p50"),
    ("subscribe", "p99_ms", "ms", "subscription: ack -> delivery p99"),
    ("subscribe", "send_p99_ms", "ms", "subscription: send -> delivery p99"),
]


def load(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    # Where every try of a (run, system, round) was disturbed (run.sh gives
    # up after 3), the least disturbed one stands in, marked "fallback".
    groups = {}
    for r in runs:
        groups.setdefault((r.get("label"), r.get("system"), r.get("round")), []).append(r)
    for tries in groups.values():
        if any(valid(r) for r in tries):
            continue
        ok = [r for r in tries if r.get("ok")]
        if ok:
            best = min(ok, key=lambda r: r.get("foreign_cores", 0) + r.get("stolen_cores", 0))
            best["disturbed"] = False
            best["fallback"] = True
    return runs


def disturbance(r):
    """What took the CPU from a disturbed run, for the summary."""
    parts = [f"{r.get('foreign_cores')} cores to other processes"]
    if "stolen_cores" in r:
        parts.append(f"{r['stolen_cores']} stolen")
    return ", ".join(parts)


def valid(r):
    """A run that succeeded and that no other job disturbed."""
    return r.get("ok") and not r.get("disturbed")


def values(runs, label, system, metric):
    return [r.get(metric) for r in runs
            if r.get("label") == label and r.get("system") == system
            and valid(r) and r.get(metric) is not None]


def failed(runs, label, system):
    return [r for r in runs if r.get("label") == label
            and r.get("system") == system and not r.get("ok")]


def median(v):
    return statistics.median(v) if v else None


def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "ms":
        return f"{v:.3f}" if v < 10 else f"{v:.1f}"
    return f"{v:,.0f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}"


def by_round(runs, label, system, metric):
    return {r["round"]: r[metric] for r in runs
            if r.get("label") == label and r.get("system") == system
            and valid(r) and r.get(metric) is not None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--out", required=True)
    ap.add_argument("--plots", help="directory for the PNGs (e.g. docs)")
    a = ap.parse_args()
    runs = load(a.results)

    med = {}
    lines = []
    tsv = ["workload\tmetric\tunit\tcairn\tpostgres\tredis\tcairn_over_postgres"
           "\tcairn_over_redis\truns"]
    lines.append("| what | unit | Cairn | PostgreSQL | Redis | Cairn/PG | Cairn/Redis | per round (Cairn; PG; Redis) |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for label, metric, unit, what in ROWS:
        m = {s: median(values(runs, label, s, metric)) for s in SYSTEMS}
        med[(label, metric)] = m
        rp = ratio(m["cairn"], m["postgres"])
        rr = ratio(m["cairn"], m["redis"])
        per = "; ".join(
            " / ".join(fmt(v, unit) for v in values(runs, label, s, metric))
            + ("" if not failed(runs, label, s) else
               f" ({len(failed(runs, label, s))} failed)")
            for s in SYSTEMS)
        lines.append(f"| {what} | {unit} | {fmt(m['cairn'], unit)} | "
                     f"{fmt(m['postgres'], unit)} | {fmt(m['redis'], unit)} | "
                     f"{fmt_ratio(rp)} | {fmt_ratio(rr)} | {per} |")
        tsv.append("\t".join([label, metric, unit] +
                             ["" if m[s] is None else f"{m[s]:.6g}" for s in SYSTEMS] +
                             ["" if rp is None else f"{rp:.4f}",
                              "" if rr is None else f"{rr:.4f}",
                              str(len(values(runs, label, "cairn", metric)))]))

    # What the servers cost: their CPU over the run (the script's process
    # trees less the client's own), per event, scaled to the measured part
    # of the run; and the client's, the same way.
    cpu_rows = ["append-1", "append-8", "append-64", "batch-100", "batch-1000",
                "read-stream", "read-log"]
    def per_event(r, which):
        if not valid(r) or not r.get("wall_s") or not r.get("events"):
            return None
        client = r.get("client_cpu_s", 0)
        cpu = r["ours_cpu_s"] - client if which == "server" else client
        return 1e6 * cpu * (r["seconds"] / r["wall_s"]) / r["events"]
    if any("ours_cpu_s" in r for r in runs):
        lines.append("")
        lines.append("| CPU per event, µs (median; ≈: the run's CPU scaled to its measured part) | Cairn server | PostgreSQL server | Redis server | Cairn's client | PostgreSQL's client | Redis's client |")
        lines.append("|---|---|---|---|---|---|---|")
        for label in cpu_rows:
            cells = []
            for which in ("server", "client"):
                for sy in SYSTEMS:
                    v = [per_event(r, which) for r in runs
                         if r.get("label") == label and r.get("system") == sy and "ours_cpu_s" in r]
                    v = [x for x in v if x is not None]
                    cells.append("—" if not v else f"{statistics.median(v):.2f}")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")

    # Issue 7's goals.
    goals = []
    c64 = med[("append-64", "events_per_s")]
    r = ratio(c64["cairn"], c64["postgres"])
    goals.append(("single-event appends, 64 clients: Cairn >= 3x PostgreSQL",
                  r is not None and r >= 3, f"{fmt_ratio(r)}x"))
    rounds_c = by_round(runs, "append-64", "cairn", "events_per_s")
    rounds_r = by_round(runs, "append-64", "redis", "events_per_s")
    pairs = [(rounds_c[k], rounds_r[k]) for k in sorted(rounds_c) if k in rounds_r]
    above = all(c > x for c, x in pairs) and bool(pairs)
    goals.append(("single-event appends, 64 clients: Cairn above Redis in every round",
                  above, ", ".join(f"{c / x:.2f}x" for c, x in pairs) or "—"))
    b = ratio(med[("batch-1000", "events_per_s")]["cairn"],
              med[("batch-100", "events_per_s")]["postgres"])
    goals.append(("Cairn 1,000-event batches >= 2x PostgreSQL 100-event transactions",
                  b is not None and b >= 2, f"{fmt_ratio(b)}x"))
    rl = med[("read-log", "events_per_s")]
    r = ratio(rl["cairn"], rl["postgres"])
    goals.append(("reading the log: Cairn >= 2.5x PostgreSQL",
                  r is not None and r >= 2.5, f"{fmt_ratio(r)}x"))
    p = med[("append-8", "p99_ms")]
    goals.append(("append p99 at 8 clients: Cairn <= PostgreSQL",
                  p["cairn"] is not None and p["postgres"] is not None
                  and p["cairn"] <= p["postgres"],
                  f"{fmt(p['cairn'], 'ms')} vs {fmt(p['postgres'], 'ms')} ms"))
    lines.append("")
    lines.append("| goal | measured | met |")
    lines.append("|---|---|---|")
    for what, ok, measured in goals:
        lines.append(f"| {what} | {measured} | {'yes' if ok else '**no**'} |")
    bad = [r for r in runs if not r.get("ok")]
    if bad:
        lines.append("")
        lines.append(f"{len(bad)} run(s) failed and are left out of the medians: " +
                     ", ".join(f"{r.get('label')}/{r.get('system')}/round {r.get('round')}"
                               f" ({r.get('errors_by_kind') or r.get('errors')})" for r in bad))
    disturbed = [r for r in runs if r.get("disturbed")]  # tries run again
    if disturbed:
        lines.append("")
        lines.append(f"{len(disturbed)} run(s) were disturbed (more than 0.15 cores used by "
                     "other processes, or more than 0.10 cores stolen by the hypervisor) and "
                     "run again; left out: " +
                     ", ".join(f"{r.get('label')}/{r.get('system')}/round {r.get('round')}"
                               f" ({disturbance(r)})" for r in disturbed))
    fallback = [r for r in runs if r.get("fallback")]
    if fallback:
        lines.append("")
        lines.append("Disturbed in all 3 tries, the least disturbed try kept: " +
                     ", ".join(f"{r.get('label')}/{r.get('system')}/round {r.get('round')}"
                               f" ({disturbance(r)})" for r in fallback))
    foreign = [r["foreign_cores"] for r in runs if "foreign_cores" in r and not r.get("disturbed")]
    if foreign:
        lines.append("")
        lines.append(f"Other processes during the runs kept: {min(foreign):.3f}–{max(foreign):.3f} cores.")
    stolen = [r["stolen_cores"] for r in runs if "stolen_cores" in r and not r.get("disturbed")]
    if stolen:
        lines.append("")
        lines.append(f"CPU stolen by the hypervisor during the runs kept: "
                     f"{min(stolen):.3f}–{max(stolen):.3f} cores.")
    loads = [r["load1"] for r in runs if "load1" in r]
    busy = [r["busy_before"] for r in runs if "busy_before" in r]
    if loads:
        lines.append("")
        lines.append(f"Load average (1 min) before the runs: {min(loads):.2f}–{max(loads):.2f}; "
                     f"CPU busy in the 0.5 s before a run: {min(busy)}–{max(busy)}%.")

    os.makedirs(a.out, exist_ok=True)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "summary.tsv"), "w") as f:
        f.write("\n".join(tsv) + "\n")
    print(text)

    if a.plots:
        plot(med, a.out, a.plots)


def plot(med, out, plots):
    def data(name, rows):
        """Writes the plot's TSV; returns how many of its rows were run."""
        written = 0
        with open(os.path.join(out, name), "w") as f:
            f.write("# what\tcairn\tpostgres\tredis\n")
            for title, label, metric in rows:
                m = med[(label, metric)]
                if all(m[s] is None for s in SYSTEMS):
                    continue  # not run (--only)
                f.write(f"\"{title}\"\t" + "\t".join(
                    "NaN" if m[s] is None else f"{m[s]:.6g}" for s in SYSTEMS) + "\n")
                written += 1
        return written
    rows = data("plot-appends.tsv", [
        ("1 client", "append-1", "events_per_s"),
        ("8 clients", "append-8", "events_per_s"),
        ("64 clients", "append-64", "events_per_s"),
        ("batches of 100", "batch-100", "events_per_s"),
        ("batches of 1,000", "batch-1000", "events_per_s"),
    ])
    rows = min(rows, data("plot-reads.tsv", [
        ("a 1,000-event stream, 8 clients", "read-stream", "events_per_s"),
        ("the whole log, 1 client", "read-log", "events_per_s"),
    ]))
    rows = min(rows, data("plot-latency.tsv", [
        ("append p99, 1 cl.", "append-1", "p99_ms"),
        ("append p50, 8 cl.", "append-8", "p50_ms"),
        ("append p99, 8 cl.", "append-8", "p99_ms"),
        ("append p99, 64 cl.", "append-64", "p99_ms"),
        ("delivery p50", "subscribe", "p50_ms"),
        ("delivery p99", "subscribe", "p99_ms"),
    ]))
    if rows == 0:
        print("no plots: a plot would have no data (a partial run, --only)")
        return
    here = os.path.dirname(os.path.abspath(__file__))
    result = subprocess.run(["gnuplot", "-e", f"data='{out}'; plots='{plots}'",
                             os.path.join(here, "plot.gp")])
    if result.returncode != 0:
        print("gnuplot failed (a plot with no data?)")
        return
    print(f"plots: {plots}/compare-appends.png, compare-reads.png, compare-latency.png")


if __name__ == "__main__":
    sys.exit(main())
