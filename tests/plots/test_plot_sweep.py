#!/usr/bin/env python3
"""Tests for plots/plot_sweep.py: the charts of a sweep folder (tests/plots/fixtures/sweep: sweep.json and
sweep.jsonl of `npusim sweep configs/sweeps/dram_precision.yaml`), the Pareto arithmetic, and bad input refused
with exit 2.

Run directly or through ctest (-R plot). Exits 77 (ctest's skip) when this interpreter has no matplotlib.
"""

import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_test_support as support  # noqa: E402

HERE = support.HERE
ROOT = support.ROOT
FIXTURE = os.path.join(HERE, "fixtures", "sweep")
PNG_SIGNATURE = support.PNG_SIGNATURE


def plot(*args):
    return support.run_script("plot_sweep.py", *args)


class DrawsCharts(unittest.TestCase):
    def test_heatmaps_pareto_and_speedup(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "charts")
            rc, _, err = plot(FIXTURE, "--out", out)
            self.assertEqual(rc, 0, err)
            # One heatmap per configuration of the default run, over the first two varying fields.
            expected = [f"heatmap_{c}.png" for c in ("fp16", "uniform", "pmpd", "gptq-3bit")] + \
                       ["pareto.png", "speedup.png"]
            self.assertEqual(sorted(os.listdir(out)), sorted(expected))
            for name in expected:
                with open(os.path.join(out, name), "rb") as f:
                    self.assertEqual(f.read(8), PNG_SIGNATURE, name)


class ParetoArithmetic(unittest.TestCase):
    def test_front_of_hand_made_points(self):
        sys.path.insert(0, os.path.join(ROOT, "plots"))
        import plot_sweep
        # (energy, samples/s): (1, 1) and (2, 3) and (4, 4) trade off; (3, 2) is beaten by (2, 3) in both; (2, 1)
        # by (1, 1) in energy at the same rate.
        points = [(1, 1), (2, 3), (3, 2), (4, 4), (2, 1)]
        self.assertEqual(plot_sweep.pareto_front(points), [(1, 1), (2, 3), (4, 4)])


class RefusesBadInput(unittest.TestCase):
    def test_not_a_sweep_folder(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "charts")
            rc, _, err = plot(tmp, "--out", out)
            self.assertEqual(rc, 2)
            self.assertIn("sweep.json: no such file", err)
            self.assertFalse(os.path.exists(out))

    def test_row_without_a_metric(self):
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(FIXTURE, "sweep.json"), tmp)
            with open(os.path.join(FIXTURE, "sweep.jsonl")) as f:
                lines = f.readlines()
            lines[2] = lines[2].replace('"samples_per_s"', '"samples"')
            with open(os.path.join(tmp, "sweep.jsonl"), "w") as f:
                f.writelines(lines)
            rc, _, err = plot(tmp, "--out", os.path.join(tmp, "charts"))
            self.assertEqual(rc, 2)
            self.assertIn("sweep.jsonl:3: lacks one of samples_per_s", err)


if __name__ == "__main__":
    support.main()
