#!/usr/bin/env python3
"""Tests for plots/plot_figure.py: the paper-style charts from a fixture results.json (the PMPD paper run cut to
one request per trace: `npusim run configs/runs/pmpd_paper.yaml --set max_requests=1`, its per-channel DRAM list
cut to two entries), the roofline arithmetic on a hand-made result, determinism, and bad input refused with exit 2.

Run directly or through ctest (-R plot). Exits 77 (ctest's skip) when this interpreter has no matplotlib.
"""

import copy
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_test_support as support  # noqa: E402

HERE = support.HERE
ROOT = support.ROOT
FIXTURE = os.path.join(HERE, "fixtures", "pmpd_paper_results.json")
PNG_SIGNATURE = support.PNG_SIGNATURE
# The fixture's (model, task) groups: Phi-1.5 has no IWSLT bar.
GROUPS = [("vicuna-7b", t) for t in ("cnn_dm", "dialogsum", "iwslt")] + \
         [("mobilellama-1.4b", t) for t in ("cnn_dm", "dialogsum", "iwslt")] + \
         [("phi-1.5", t) for t in ("cnn_dm", "dialogsum")]


def plot(*args):
    return support.run_script("plot_figure.py", *args)


class DrawsCharts(support.ChartDirCase):

    def test_every_chart_as_png(self):
        rc, out, err = plot(FIXTURE, "--out", self.out)
        self.assertEqual(rc, 0, err)
        expected = ["figure_samples_per_s.png"] + [f"timeline_{m}_{t}.png" for m, t in GROUPS] + \
                   ["roofline.png", "stall_breakdown.png"]
        self.assertEqual(sorted(os.listdir(self.out)), sorted(expected))
        self.assertEqual(out.split(), [os.path.join(self.out, name) for name in expected])
        for name in expected:
            with open(os.path.join(self.out, name), "rb") as f:
                self.assertEqual(f.read(8), PNG_SIGNATURE, name)

    def test_same_input_same_svg(self):
        first, second = os.path.join(self.tmp.name, "a"), os.path.join(self.tmp.name, "b")
        for d in (first, second):
            rc, _, err = plot(FIXTURE, "--out", d, "--format", "svg")
            self.assertEqual(rc, 0, err)
        for name in os.listdir(first):
            with open(os.path.join(first, name), "rb") as a, open(os.path.join(second, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)


class RooflineArithmetic(unittest.TestCase):
    def test_points_of_a_hand_made_result(self):
        sys.path.insert(0, os.path.join(ROOT, "plots"))
        import plot_figure
        # Prefill: 1e9 MACs = 2e9 FLOP over 1e6 bytes (1.5e6 moved in all, 0.5e6 of them by decode) in 1e9 ps
        # = 1 ms: 2000 FLOP/byte at 2e12 FLOP/s. Decode: 3e9 - 1e9 = 2e9 MACs = 4e9 FLOP over 0.5e6 bytes in
        # 4 ms: 8000 FLOP/byte at 1e12 FLOP/s.
        r = {"counters": {"macs": 3e9, "prefill_macs": 1e9, "dram_read_bytes": 1.4e6, "dram_write_bytes": 0.1e6,
                          "decode_dram_bytes": 0.5e6, "prefill_ps": 1e9, "decode_ps": 4e9}}
        (pi, pf), (di, df) = plot_figure.phase_points(r)
        self.assertAlmostEqual(pi, 2000)
        self.assertAlmostEqual(pf, 2e12)
        self.assertAlmostEqual(di, 8000)
        self.assertAlmostEqual(df, 1e12)
        # A phase that moved nothing has no point.
        r["counters"]["decode_dram_bytes"] = 0
        self.assertIsNone(plot_figure.phase_points(r)[1])


class RefusesBadInput(unittest.TestCase):
    def test_result_without_the_per_phase_counters(self):
        with open(FIXTURE) as f:
            doc = json.load(f)
        bad = copy.deepcopy(doc)
        del bad["results"][3]["counters"]["prefill_macs"]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "results.json")
            with open(path, "w") as f:
                json.dump(bad, f)
            out = os.path.join(tmp, "charts")
            rc, _, err = plot(path, "--out", out)
            self.assertEqual(rc, 2)
            self.assertIn("results[3] lacks model, counters", err)
            self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    support.main()
