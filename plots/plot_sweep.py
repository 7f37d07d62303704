#!/usr/bin/env python3
"""Charts of an npusim sweep folder (written by `npusim sweep SPEC.yaml`): sweep.json and sweep.jsonl.

  heatmap_{configuration}.{fmt}   samples/s over the first two swept fields with more than one value, one panel
                                  per (model, task); where other fields vary too, each cell is their mean
  pareto.{fmt}                    samples/s against DRAM energy per decode token, every row of the table, one
                                  colour per configuration, the Pareto front of each drawn as a line
  speedup.{fmt}                   speedup over fp16 against the last numeric swept field (else the first), a line
                                  per configuration (mean over the other fields)

Usage: python3 plots/plot_sweep.py SWEEP_DIR --out DIR [--format png,svg]

Standard library and matplotlib only; files written atomically; the same input gives the same files. Bad input
prints one line on stderr and exits 2 without writing anything.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_results as common  # noqa: E402  (atomic saving, formats and colours are shared)

plt = common.plt
METRICS = ("samples_per_s", "speedup_over_fp16", "dram_energy_per_token_mj")


def load_sweep(path):
    """(description, rows) of a sweep folder; raises common.InputError naming the file and what was expected."""
    description_file = os.path.join(path, "sweep.json")
    table_file = os.path.join(path, "sweep.jsonl")
    description = common.read_json(description_file, "a sweep folder written by npusim sweep")
    if not isinstance(description, dict) or description.get("format") != "npusim-sweep":
        raise common.InputError(f"{description_file}: expected a JSON object with \"format\": \"npusim-sweep\"")
    if not isinstance(description.get("fields"), list):
        raise common.InputError(f"{description_file}: expected a \"fields\" list")
    rows = []
    try:
        with open(table_file, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise common.InputError(f"{table_file}:{n}: not JSON ({e})")
                if not all(isinstance(row.get(m), (int, float)) for m in METRICS):
                    raise common.InputError(f"{table_file}:{n}: lacks one of {', '.join(METRICS)}")
                rows.append(row)
    except FileNotFoundError:
        raise common.InputError(f"{table_file}: no such file; the sweep has not finished a run")
    if not rows:
        raise common.InputError(f"{table_file}: no finished point to draw")
    return description, rows


def sort_key(text):
    """Numbers in numeric order, then text."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def varying_fields(description, rows):
    return [f for f in description["fields"] if len({r.get(f) for r in rows}) > 1]


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def plot_heatmaps(description, rows, configuration, x_field, y_field):
    mine = [r for r in rows if r["configuration"] == configuration]
    groups = common.ordered((r["model"], r["task"]) for r in mine)
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4.5), layout="constrained", squeeze=False)
    xs = sorted({r[x_field] for r in mine}, key=sort_key)
    ys = sorted({r[y_field] for r in mine}, key=sort_key)
    for ax, (model, task) in zip(axes[0], groups):
        grid = [[mean([r["samples_per_s"] for r in mine if r["model"] == model and r["task"] == task
                       and r[x_field] == x and r[y_field] == y]) for x in xs] for y in ys]
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                if v == v:  # not NaN: a cell the sweep has
                    ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8, color="white")
        ax.set_xticks(range(len(xs)), xs)
        ax.set_yticks(range(len(ys)), ys)
        ax.set_xlabel(x_field)
        ax.set_ylabel(y_field)
        ax.set_title(f"{model}, {task}")
        fig.colorbar(image, ax=ax, label="samples/s")
    others = [f for f in varying_fields(description, rows) if f not in (x_field, y_field)]
    note = f"\n(mean over {', '.join(others)})" if others else ""
    fig.suptitle(f"samples/s of {configuration}{note}")
    return fig


def pareto_front(points):
    """Of (energy, samples/s) pairs, those no other beats in both (less energy, more samples/s), by energy."""
    front = [p for p in points
             if not any(q[0] <= p[0] and q[1] >= p[1] and (q[0] < p[0] or q[1] > p[1]) for q in points)]
    return sorted(set(front))


def plot_pareto(description, rows):
    fig, ax = plt.subplots(figsize=(7.5, 5.2), layout="constrained")
    for k, configuration in enumerate(common.ordered(r["configuration"] for r in rows)):
        colour = common.COLOURS[k % len(common.COLOURS)]
        points = [(r["dram_energy_per_token_mj"], r["samples_per_s"]) for r in rows
                  if r["configuration"] == configuration]
        ax.scatter([p[0] for p in points], [p[1] for p in points], color=colour, alpha=0.5, s=20, label=configuration)
        front = pareto_front(points)
        ax.plot([p[0] for p in front], [p[1] for p in front], color=colour, linewidth=1.5)
    ax.set_xlabel("DRAM energy per decode token (mJ)")
    ax.set_ylabel("throughput (samples/s)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"Sweep {description.get('name', '?')}: throughput against energy (lines: Pareto fronts)")
    return fig


def plot_speedup(description, rows, x_field):
    fig, ax = plt.subplots(figsize=(7.5, 5.0), layout="constrained")
    xs = sorted({r[x_field] for r in rows}, key=sort_key)
    for k, configuration in enumerate(common.ordered(r["configuration"] for r in rows)):
        ys = [mean([r["speedup_over_fp16"] for r in rows if r["configuration"] == configuration and r[x_field] == x])
              for x in xs]
        ax.plot(range(len(xs)), ys, marker="o", color=common.COLOURS[k % len(common.COLOURS)], label=configuration)
    ax.set_xticks(range(len(xs)), xs)
    ax.set_xlabel(x_field)
    ax.set_ylabel("speedup over fp16 (samples/s)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    others = [f for f in varying_fields(description, rows) if f != x_field]
    ax.set_title(f"Speedup over fp16 against {x_field}" + (f"\n(mean over {', '.join(others)})" if others else ""))
    return fig


def charts(description, rows):
    fields = varying_fields(description, rows)
    out = []
    if len(fields) >= 2:
        for configuration in common.ordered(r["configuration"] for r in rows):
            out.append((f"heatmap_{common.safe_name(configuration)}",
                        lambda c=configuration: plot_heatmaps(description, rows, c, fields[1], fields[0])))
    out.append(("pareto", lambda: plot_pareto(description, rows)))
    if fields:
        # Against the last numeric field (a precision, a size), else the first.
        numeric = [f for f in fields if all(sort_key(r[f])[0] == 0 for r in rows)]
        x_field = numeric[-1] if numeric else fields[0]
        out.append(("speedup", lambda: plot_speedup(description, rows, x_field)))
    return out


def main(argv=None):
    return common.chart_main(argv, "plot_sweep.py", __doc__, "a sweep folder (holding sweep.json and sweep.jsonl)",
                             load_sweep, lambda data: charts(*data))


if __name__ == "__main__":
    sys.exit(main())
