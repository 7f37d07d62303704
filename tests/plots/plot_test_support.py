"""What the plot tests share: running a plot script as a process, and the entry point that skips (exit 77, ctest's
skip code) when this interpreter has no matplotlib."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_script(name, *args):
    """Run plots/NAME with ARGS; return (exit code, stdout, stderr)."""
    p = subprocess.run([sys.executable, os.path.join(ROOT, "plots", name), *args], capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


class ChartDirCase(unittest.TestCase):
    """A test case with a fresh temporary folder (self.tmp) and a charts folder inside it (self.out)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "charts")

    def tearDown(self):
        self.tmp.cleanup()


def main():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f"skipped: {sys.executable} has no matplotlib", file=sys.stderr)
        sys.exit(77)
    result = unittest.main(module="__main__", exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
