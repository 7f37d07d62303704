#!/usr/bin/env python3
"""Tests for plots/plot_results.py: charts from a fixture results.json, and bad input refused with exit 2.

Run directly (python3 tests/plots/test_plot_results.py) or through ctest (-R plot). Exits 77 (ctest's skip) when
this interpreter has no matplotlib.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_test_support as support  # noqa: E402

HERE = support.HERE
ROOT = support.ROOT
FIXTURE = os.path.join(HERE, "fixtures", "results.json")
PNG_SIGNATURE = support.PNG_SIGNATURE
CHARTS = ("samples_per_s", "time_split", "utilisation")
TASKS = ("cnn_dm", "iwslt")  # the fixture's tasks


def plot(*args):
    return support.run_script("plot_results.py", *args)


class DrawsCharts(support.ChartDirCase):

    def test_png_per_task_and_chart(self):
        rc, _, err = plot(FIXTURE, "--out", self.out)
        self.assertEqual(rc, 0, err)
        expected = {f"{t}_{c}.png" for t in TASKS for c in CHARTS}
        self.assertEqual(set(os.listdir(self.out)), expected)  # no temporary files left behind
        for name in expected:
            with open(os.path.join(self.out, name), "rb") as f:
                self.assertEqual(f.read(8), PNG_SIGNATURE, name)

    def test_folder_input_and_svg(self):
        rc, _, err = plot(os.path.dirname(FIXTURE), "--out", self.out, "--format", "png,svg")
        self.assertEqual(rc, 0, err)
        for t in TASKS:
            for c in CHARTS:
                with open(os.path.join(self.out, f"{t}_{c}.svg"), "rb") as f:
                    self.assertIn(b"<svg", f.read(400))
                self.assertTrue(os.path.isfile(os.path.join(self.out, f"{t}_{c}.png")))

    def test_same_input_same_bytes(self):
        other = os.path.join(self.tmp.name, "again")
        self.assertEqual(plot(FIXTURE, "--out", self.out, "--format", "png,svg")[0], 0)
        self.assertEqual(plot(FIXTURE, "--out", other, "--format", "png,svg")[0], 0)
        for name in sorted(os.listdir(self.out)):
            with open(os.path.join(self.out, name), "rb") as a, open(os.path.join(other, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)


class RefusesBadInput(support.ChartDirCase):
    def setUp(self):
        super().setUp()
        with open(FIXTURE, encoding="utf-8") as f:
            self.doc = json.load(f)

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def assert_refused(self, path, named, expected_word="expected"):
        rc, out, err = plot(path, "--out", self.out)
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn(named, err)
        self.assertIn(expected_word, err)
        self.assertFalse(os.path.exists(self.out), "nothing may be written on bad input")

    def test_missing_file(self):
        path = os.path.join(self.tmp.name, "absent.json")
        self.assert_refused(path, path)

    def test_folder_without_results(self):
        empty = os.path.join(self.tmp.name, "empty")
        os.mkdir(empty)
        self.assert_refused(empty, os.path.join(empty, "results.json"))

    def test_not_json(self):
        path = self.write("garbage.json", "not json at all\n")
        self.assert_refused(path, path)

    def test_other_json(self):
        path = self.write("trace.json", json.dumps({"format": "pmpd-trace", "version": 1}))
        self.assert_refused(path, path, "npusim-results")

    def test_wrong_version(self):
        self.doc["version"] = 99
        path = self.write("v99.json", json.dumps(self.doc))
        self.assert_refused(path, path, "version 1")

    def test_result_without_metrics(self):
        del self.doc["results"][1]["metrics"]
        path = self.write("nometrics.json", json.dumps(self.doc))
        self.assert_refused(path, path, "results[1]")

    def test_bad_format_option(self):
        rc, _, err = plot(FIXTURE, "--out", self.out, "--format", "gif")
        self.assertEqual(rc, 2)
        self.assertIn("gif", err)
        self.assertFalse(os.path.exists(self.out))


if __name__ == "__main__":
    support.main()
