"""Plots a benchmark's JSON (scripts/bench.sh writes it to .state/log/):
the freshness distribution (push against a 5 s ClickHouse poll) and the
pipeline's Kafka lag during the ingest ramp, as PNGs for BENCHMARKS.md.

Needs matplotlib; once:
  python3 -m venv ~/.cache/pmoc/bench-venv
  ~/.cache/pmoc/bench-venv/bin/pip install matplotlib
Usage:
  ~/.cache/pmoc/bench-venv/bin/python scripts/bench-plot.py BENCH.json OUT_DIR
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def cdf(values):
    values = sorted(values)
    n = len(values)
    return values, [(i + 1) / n for i in range(n)]


def freshness(report, out):
    runs = report.get("freshness") or []
    if isinstance(runs, dict):  # reports before the DOM timing held one run
        runs = [runs]
    if not runs or not runs[0]["samples"]:
        return None
    f = runs[0]

    def after(key):
        return [(p[key] - p["produced_ms"]) / 1000 for p in f["samples"] if p.get(key)]

    push, dom, poll = after("pushed_ms"), after("dom_ms"), after("polled_ms")
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for values, label in (
        (push, "server push (/api/stream)"),
        (dom, "wall's DOM (headless Chromium)"),
        (poll, "5 s ClickHouse poll"),
    ):
        if values:
            x, y = cdf(values)
            ax.step(x, y, where="post", label=f"{label}: p50 {x[len(x) // 2]:.2f} s")
    ax.set_xlabel("seconds from the event's production to its value on screen")
    ax.set_ylabel("share of probe events")
    ax.set_title(
        f"Freshness at {f['background_per_s']:.0f} events/s background load ({f['probes']} probes)"
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    path = os.path.join(out, "freshness.png")
    fig.tight_layout()
    fig.savefig(path)
    return path


def ramp(report, out):
    i = report.get("ingest")
    if not i or not i["steps"]:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    offset = 0.0
    for s in i["steps"]:
        xs = [offset + t for t, _ in s["lag_series"]]
        ys = [lag for _, lag in s["lag_series"]]
        verdict = "held" if s["held"] else "not held"
        ax.plot(xs, ys, label=f"{s['target_per_s']:.0f}/s asked, {s['accepted_per_s']:.0f}/s taken: {verdict}")
        offset = xs[-1] + 1 if xs else offset
    ax.set_xlabel("seconds (steps one after another)")
    ax.set_ylabel("pipeline Kafka lag (messages)")
    ax.set_title("Sustained ingest over HTTP: the pipeline's lag per step")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    path = os.path.join(out, "ingest-lag.png")
    fig.tight_layout()
    fig.savefig(path)
    return path


def main():
    report_path, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(report_path) as f:
        report = json.load(f)
    for made in (freshness(report, out), ramp(report, out)):
        if made:
            print(made)


if __name__ == "__main__":
    main()
