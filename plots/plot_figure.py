#!/usr/bin/env python3
"""Paper-style charts of an npusim run's results.json, across every model and task in it.

  figure_samples_per_s.{fmt}       grouped bars of samples/s: one panel per model, one group per task, one bar per
                                   configuration, labelled with the speedup over fp16; the published values (when
                                   the run names a reference) as black ticks
  timeline_{model}_{task}.{fmt}    per configuration, the first request's precision against token index: the
                                   prefill (the whole prompt at once) hatched left of 0, then each decode step
  roofline.{fmt}                   each configuration's prefill and decode as points (FLOP/byte, FLOP/s) under the
                                   NPU's roofline (peak MAC rate and peak DRAM bandwidth)
  stall_breakdown.{fmt}            per result, the share of time the compute waited for data, the DRAM waited for
                                   a free buffer, and the rest; DRAM and MAC utilisation beside

Usage: python3 plots/plot_figure.py RESULTS_DIR_OR_JSON --out DIR [--format png,svg]

Standard library and matplotlib only (Agg backend); files written atomically; the same input gives the same
files. Bad input prints one line on stderr and exits 2 without writing anything.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_results as common  # noqa: E402  (the loader, atomic saving and formats are shared)

plt = common.plt
COUNTERS = ("prefill_ps", "decode_ps", "macs", "prefill_macs", "dram_read_bytes", "dram_write_bytes",
            "decode_dram_bytes", "requests")


def check(doc, path):
    """The fields these charts need beyond what plot_results checks."""
    for i, r in enumerate(doc["results"]):
        counters = r.get("counters")
        ok = (isinstance(counters, dict) and all(isinstance(counters.get(c), (int, float)) for c in COUNTERS)
              and isinstance(r.get("model"), str)
              and all(isinstance(q.get("prefill_bits"), int) and isinstance(q.get("decode_bits"), list)
                      for q in r["requests"]))
        if not ok:
            raise common.InputError(f"{path}: results[{i}] lacks model, counters ({', '.join(COUNTERS)}) or "
                                    "requests[].prefill_bits and decode_bits (results of an older npusim?)")


def run_order(doc, key, field):
    """The run's order of models or configurations (results.json lists them), else first-seen order."""
    seen = common.ordered(r[field] for r in doc["results"])
    listed = [v for v in doc.get(key, []) if v in seen]
    return listed + [v for v in seen if v not in listed]


def colour_of(configurations):
    return {c: common.COLOURS[i % len(common.COLOURS)] for i, c in enumerate(configurations)}


def published(doc):
    """{(model, task, configuration): published samples/s} from the run's reference, if any."""
    out = {}
    for g in doc.get("reference", {}).get("groups", []):
        for b in g.get("bars", []):
            if b.get("samples_per_s", 0) > 0:
                out[(g["model"], g["task"], b["configuration"])] = b["samples_per_s"]
    return out


def plot_figure(doc):
    results = doc["results"]
    models = run_order(doc, "models", "model")
    configs = run_order(doc, "configurations", "configuration")
    colours = colour_of(configs)
    paper = published(doc)
    fig, axes = plt.subplots(1, len(models), figsize=(4.8 * len(models), 4.8), layout="constrained", squeeze=False)
    width = 0.8 / len(configs)
    for ax, model in zip(axes[0], models):
        rows = [r for r in results if r["model"] == model]
        tasks = common.ordered(r["task"] for r in rows)
        top = 0
        for k, config in enumerate(configs):
            xs, heights, labels, ticks = [], [], [], []
            for t, task in enumerate(tasks):
                for r in rows:
                    if r["task"] == task and r["configuration"] == config:
                        x = t + (k - (len(configs) - 1) / 2) * width
                        xs.append(x)
                        heights.append(r["metrics"]["samples_per_s"])
                        s = r["metrics"]["speedup_over_fp16"]
                        labels.append(f"{s:.1f}x" if s > 0 else "")
                        if (model, task, config) in paper:
                            ticks.append((x, paper[(model, task, config)]))
            if not xs:
                continue
            bars = ax.bar(xs, heights, width=width * 0.95, color=colours[config], label=config)
            ax.bar_label(bars, labels=labels, padding=2, fontsize=7, rotation=90)
            top = max([top] + heights + [v for _, v in ticks])
            for x, v in ticks:
                ax.plot([x - width * 0.45, x + width * 0.45], [v, v], color="black", linewidth=1.5)
        ax.set_xticks(range(len(tasks)), tasks)
        ax.set_title(model)
        ax.set_ylabel("throughput (samples/s)")
        ax.set_ylim(0, top * 1.25 or 1)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    handles, names = axes[0][0].get_legend_handles_labels()
    if paper:
        handles.append(plt.Line2D([], [], color="black", linewidth=1.5))
        names.append("published")
    axes[0][0].legend(handles, names, loc="upper left", fontsize=7, ncol=2)
    npu = doc.get("npu", {})
    fig.suptitle(f"Throughput at batch 1 on {npu.get('name', '?')} ({npu.get('dram_preset', '?')}); "
                 "labels: speedup over fp16")
    return fig


def plot_timeline(doc, model, task):
    rows = [r for r in doc["results"] if r["model"] == model and r["task"] == task and r["requests"]]
    fig, axes = plt.subplots(len(rows), 1, figsize=(8, 1.3 * len(rows) + 1.2), sharex=True, layout="constrained",
                             squeeze=False)
    colours = colour_of(run_order(doc, "configurations", "configuration"))
    order = run_order(doc, "configurations", "configuration")
    rows.sort(key=lambda r: order.index(r["configuration"]))
    for ax, r in zip(axes[:, 0], rows):
        q = r["requests"][0]
        colour = colours[r["configuration"]]
        prompt = q["prompt_tokens"]
        ax.fill_between([-prompt, 0], 0, q["prefill_bits"], step="post", color=colour, alpha=0.35, hatch="//",
                        label="prefill")
        xs, ys, step = [0], [q["decode_bits"][0][0] if q["decode_bits"] else q["prefill_bits"]], 0
        for bits, steps in q["decode_bits"]:
            xs += [step + 1, step + steps]
            ys += [bits, bits]
            step += steps
        ax.step(xs, ys, where="post", color=colour, linewidth=1.8)
        ax.axvline(0, color="grey", linewidth=0.8)
        bits_seen = sorted({q["prefill_bits"]} | {b for b, _ in q["decode_bits"]})
        ax.set_yticks(bits_seen)
        ax.set_ylim(0, max(bits_seen) * 1.25)
        ax.set_ylabel(r["configuration"], rotation=0, ha="right", va="center")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("token index (prompt left of 0, one decode step per token after it)")
    fig.suptitle(f"Precision (bits) per token: {model}, {task}, request {rows[0]['requests'][0]['id']}")
    return fig


def phase_points(r):
    """(prefill, decode) as (FLOP/byte, FLOP/s), or None where a phase moved no bytes or took no time."""
    c = r["counters"]
    total_bytes = c["dram_read_bytes"] + c["dram_write_bytes"]
    phases = ((2 * c["prefill_macs"], total_bytes - c["decode_dram_bytes"], c["prefill_ps"]),
              (2 * (c["macs"] - c["prefill_macs"]), c["decode_dram_bytes"], c["decode_ps"]))
    return [(flops / nbytes, flops / (ps * 1e-12)) if nbytes > 0 and ps > 0 and flops > 0 else None
            for flops, nbytes, ps in phases]


def plot_roofline(doc):
    npu = doc.get("npu", {})
    peak_flops = 2 * float(npu.get("peak_macs_per_s", 0))
    peak_bw = float(npu.get("peak_dram_bytes_per_s", 0))
    fig, ax = plt.subplots(figsize=(7.5, 5.2), layout="constrained")
    configs = run_order(doc, "configurations", "configuration")
    colours = colour_of(configs)
    points = [(r, p) for r in doc["results"] for p in [phase_points(r)]]
    xs = [pt[0] for _, p in points for pt in p if pt]
    lo, hi = (min(xs) / 4, max(xs) * 4) if xs else (0.1, 1e4)
    if peak_flops > 0 and peak_bw > 0:
        ridge = peak_flops / peak_bw
        lo, hi = min(lo, ridge / 10), max(hi, ridge * 10)
        ax.plot([lo, ridge, hi], [peak_bw * lo, peak_flops, peak_flops], color="black", linewidth=1.5,
                label=f"roofline ({peak_bw / 1e12:.2f} TB/s, {peak_flops / 1e15:.2f} PFLOP/s)")
    for marker, phase in (("o", 0), ("^", 1)):
        for config in configs:
            pts = [p[phase] for r, p in points if r["configuration"] == config and p[phase]]
            if pts:
                ax.scatter([x for x, _ in pts], [y for _, y in pts], marker=marker, color=colours[config],
                           alpha=0.8, s=28, label=f"{config} {'prefill' if phase == 0 else 'decode'}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (FLOP per DRAM byte)")
    ax.set_ylabel("achieved (FLOP/s)")
    ax.grid(which="both", alpha=0.25)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    ax.set_title(f"Roofline of {npu.get('name', '?')}: every result's prefill (o) and decode (^)")
    return fig


def plot_stalls(doc):
    rows = doc["results"]
    fig, (ax, ax_util) = plt.subplots(1, 2, figsize=(11, 0.28 * len(rows) + 1.8), sharey=True,
                                      gridspec_kw={"width_ratios": [3, 2]}, layout="constrained")
    labels = [f"{r['model']} {r['task']} {r['configuration']}" for r in rows]
    y = list(range(len(rows)))
    memory = [100 * r["metrics"]["memory_stall_share"] for r in rows]
    compute = [100 * r["metrics"]["compute_stall_share"] for r in rows]
    rest = [max(0.0, 100 - m - c) for m, c in zip(memory, compute)]
    ax.barh(y, memory, color=common.COLOURS[0], label="compute waits for data (memory stall)")
    ax.barh(y, compute, left=memory, color=common.COLOURS[1], label="DRAM waits for a free buffer (compute stall)")
    ax.barh(y, rest, left=[m + c for m, c in zip(memory, compute)], color=common.COLOURS[7], label="neither")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the run's time (%)")
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=1)
    width = 0.4
    for k, (key, name) in enumerate((("dram_utilisation", "DRAM bandwidth"), ("mac_utilisation", "MAC array"))):
        ax_util.barh([v + (k - 0.5) * width for v in y], [100 * r["metrics"][key] for r in rows], height=width,
                     color=common.COLOURS[2 + k], label=name)
    ax_util.set_xlim(0, 100)
    ax_util.set_xlabel("utilisation (% of peak)")
    ax_util.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    ax.grid(axis="x", alpha=0.3)
    ax_util.grid(axis="x", alpha=0.3)
    return fig


def charts(doc):
    """(file stem, figure builder) for every chart of the run."""
    out = [("figure_samples_per_s", lambda: plot_figure(doc))]
    for model in run_order(doc, "models", "model"):
        for task in common.ordered(r["task"] for r in doc["results"] if r["model"] == model):
            stem = f"timeline_{common.safe_name(model)}_{common.safe_name(task)}"
            out.append((stem, lambda m=model, t=task: plot_timeline(doc, m, t)))
    out += [("roofline", lambda: plot_roofline(doc)), ("stall_breakdown", lambda: plot_stalls(doc))]
    return out


def load(path):
    doc = common.load_results(path)
    check(doc, path)
    return doc


def main(argv=None):
    return common.chart_main(argv, "plot_figure.py", __doc__, "npusim results folder or its results.json", load,
                             charts)


if __name__ == "__main__":
    sys.exit(main())
