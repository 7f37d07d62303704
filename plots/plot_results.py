#!/usr/bin/env python3
"""Plot an npusim run's results.json (written by `npusim run ... --out DIR`).

For every task in the results, three charts, one bar (group) per configuration:

  {task}_samples_per_s.{fmt}  throughput in samples/s, each bar labelled with its speedup over fp16 ("3.04x");
  {task}_time_split.{fmt}     mean time per request, stacked: prefill (mean TTFT) and decode (requests[].decode_ps);
  {task}_utilisation.{fmt}    DRAM bandwidth and MAC utilisation, in percent, side by side.

Usage: python3 plots/plot_results.py RESULTS_DIR_OR_JSON --out DIR [--format png,svg]

Needs only the standard library and matplotlib (Agg backend). Files are written atomically (temporary name,
then os.replace). Bad input prints one line on stderr and exits 2 without writing anything.
"""

import argparse
import json
import os
import re
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FORMAT = "npusim-results"
VERSION = 1
FORMATS = ("png", "svg", "pdf")
METRICS = ("samples_per_s", "speedup_over_fp16", "ttft_ms", "dram_utilisation", "mac_utilisation")
COLOURS = plt.get_cmap("tab10").colors
# No dates in the files, so the same input gives byte-identical output.
METADATA = {"png": {"Software": "npusim plot_results.py"}, "svg": {"Date": None, "Creator": None},
            "pdf": {"CreationDate": None, "ModDate": None, "Creator": None}}


class InputError(Exception):
    """Bad input; the message names the file and what was expected."""


def read_json(path, expected):
    """A JSON file's document; InputError naming the file and `expected` when it is missing or not JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; expected {expected}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not readable JSON ({e}); expected {expected}")


def ordered(values):
    """Distinct values in first-seen order."""
    return list(dict.fromkeys(values))


def load_results(path):
    """Read and check results.json (or DIR/results.json); return the parsed document."""
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    doc = read_json(path, "npusim's results.json or the folder holding it")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{path}: not an npusim results file; expected a JSON object with \"format\": \"{FORMAT}\"")
    if doc.get("version") != VERSION:
        raise InputError(f"{path}: results version {doc.get('version')!r}; expected version {VERSION}")
    results = doc.get("results")
    if not isinstance(results, list) or not results:
        raise InputError(f"{path}: expected a non-empty \"results\" list")
    for i, r in enumerate(results):
        ok = (isinstance(r, dict) and isinstance(r.get("task"), str) and isinstance(r.get("configuration"), str)
              and isinstance(r.get("metrics"), dict) and isinstance(r.get("requests"), list)
              and all(isinstance(r["metrics"].get(m), (int, float)) for m in METRICS)
              and all(isinstance(q, dict) and isinstance(q.get("decode_ps"), (int, float)) for q in r["requests"]))
        if not ok:
            raise InputError(f"{path}: results[{i}] lacks task, configuration, metrics ({', '.join(METRICS)}) "
                             "or requests[].decode_ps")
    return doc


def group_by_task(results):
    """{task: [result, ...]} in file order. Where one task has several traces, labels carry the trace name."""
    tasks = {}
    for r in results:
        tasks.setdefault(r["task"], []).append(r)
    for rows in tasks.values():
        several = len({r.get("trace") for r in rows}) > 1
        for r in rows:
            trace = os.path.splitext(os.path.basename(str(r.get("trace", ""))))[0]
            r["label"] = f"{r['configuration']}\n({trace})" if several else r["configuration"]
    return tasks


def mean_decode_ms(result):
    """Mean decode time per request in ms (requests[].decode_ps)."""
    reqs = result["requests"]
    return sum(q["decode_ps"] for q in reqs) / len(reqs) / 1e9 if reqs else 0.0


def new_axes(doc, task, what, rows):
    """A figure sized for the configurations, titled with model, NPU and task."""
    fig, ax = plt.subplots(figsize=(max(6.4, 1.3 * len(rows) + 2.5), 4.8), layout="constrained")
    npu = doc.get("npu", {})
    ax.set_title(f"{what}\n{doc.get('model', {}).get('name', '?')} on {npu.get('name', '?')} "
                 f"({npu.get('dram_preset', '?')}), task {task}")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_xlabel("configuration")
    return fig, ax


def plot_samples_per_s(doc, task, rows):
    """Bars of samples/s per configuration, labelled with the speedup over fp16."""
    fig, ax = new_axes(doc, task, "Throughput", rows)
    x = range(len(rows))
    values = [r["metrics"]["samples_per_s"] for r in rows]
    bars = ax.bar(x, values, width=0.6, color=[COLOURS[i % len(COLOURS)] for i in x])
    labels = [f"{r['metrics']['speedup_over_fp16']:.2f}x" if r["metrics"]["speedup_over_fp16"] > 0 else "-"
              for r in rows]
    ax.bar_label(bars, labels=labels, padding=3, fontweight="bold")
    ax.set_xticks(list(x), [r["label"] for r in rows])
    ax.set_ylabel("throughput (samples/s)")
    ax.set_ylim(0, max(values) * 1.15 or 1)
    ax.text(0.01, 0.98, "bar labels: speedup over fp16", transform=ax.transAxes, va="top", fontsize=8)
    return fig


def plot_time_split(doc, task, rows):
    """Stacked bars of mean prefill (TTFT) and decode time per request."""
    fig, ax = new_axes(doc, task, "Mean time per request", rows)
    x = list(range(len(rows)))
    prefill = [r["metrics"]["ttft_ms"] for r in rows]
    decode = [mean_decode_ms(r) for r in rows]
    ax.bar(x, prefill, width=0.6, label="prefill (mean TTFT)", color=COLOURS[1])
    top = ax.bar(x, decode, width=0.6, bottom=prefill, label="decode", color=COLOURS[0])
    ax.bar_label(top, labels=[f"{p + d:.1f} ms" for p, d in zip(prefill, decode)], padding=3)
    ax.set_xticks(x, [r["label"] for r in rows])
    ax.set_ylabel("time per request (ms)")
    ax.set_ylim(0, max(p + d for p, d in zip(prefill, decode)) * 1.3 or 1)
    ax.legend(loc="upper right")
    return fig


def plot_utilisation(doc, task, rows):
    """Side-by-side bars of DRAM bandwidth and MAC utilisation per configuration."""
    fig, ax = new_axes(doc, task, "Hardware utilisation", rows)
    width = 0.38
    for k, (key, name) in enumerate((("dram_utilisation", "DRAM bandwidth"), ("mac_utilisation", "MAC array"))):
        xs = [i + (k - 0.5) * width for i in range(len(rows))]
        values = [100 * r["metrics"][key] for r in rows]
        bars = ax.bar(xs, values, width=width, label=name, color=COLOURS[2 + k])
        ax.bar_label(bars, labels=[f"{v:.0f}%" for v in values], padding=2, fontsize=8)
    ax.set_xticks(list(range(len(rows))), [r["label"] for r in rows])
    ax.set_ylabel("utilisation (% of peak)")
    ax.set_ylim(0, 125)
    ax.legend(loc="upper right", ncol=2)
    return fig


CHARTS = (("samples_per_s", plot_samples_per_s), ("time_split", plot_time_split), ("utilisation", plot_utilisation))


def safe_name(task):
    """A file-name-safe form of a task name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", task).strip("._") or "task"


def save_atomic(fig, path, fmt):
    """Write the figure to a temporary file in the same folder, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=fmt, dpi=120, metadata=METADATA[fmt])
        umask = os.umask(0)  # mkstemp makes the file private; a chart gets the usual permissions
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def parse_formats(text):
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise argparse.ArgumentTypeError(f"unknown format {', '.join(bad) or text!r}; expected some of {','.join(FORMATS)}")
    return list(dict.fromkeys(formats))


def chart_main(argv, script, doc_text, input_help, load, charts):
    """The command line every plot script shares: INPUT --out DIR [--format ...]; `load(path)` reads the input
    (raising InputError), `charts(data)` lists (file stem, figure builder). Bad input: one line, exit 2, nothing
    written. Charts are written atomically, one file per format, and their paths printed."""
    parser = argparse.ArgumentParser(description=doc_text.splitlines()[0])
    parser.add_argument("input", help=input_help)
    parser.add_argument("--out", required=True, help="folder for the charts (created if missing)")
    parser.add_argument("--format", type=parse_formats, default=["png"], help="comma list of png,svg,pdf (default png)")
    args = parser.parse_args(argv)
    try:
        data = load(args.input)
    except InputError as e:
        print(f"{script}: error: {e}", file=sys.stderr)
        return 2
    plt.rcParams["svg.hashsalt"] = "npusim"  # stable SVG ids, so same input gives the same files
    os.makedirs(args.out, exist_ok=True)
    for stem, build in charts(data):
        fig = build()
        for fmt in args.format:
            path = os.path.join(args.out, f"{stem}.{fmt}")
            save_atomic(fig, path, fmt)
            print(path)
        plt.close(fig)
    return 0


def charts(doc):
    """(file stem, figure builder) for every task and chart."""
    return [(f"{safe_name(task)}_{name}", lambda d=draw, t=task, r=rows: d(doc, t, r))
            for task, rows in group_by_task(doc["results"]).items() for name, draw in CHARTS]


def main(argv=None):
    return chart_main(argv, "plot_results.py", __doc__, "npusim results folder or its results.json", load_results,
                      charts)


if __name__ == "__main__":
    sys.exit(main())
