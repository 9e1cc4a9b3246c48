#!/usr/bin/env python3
"""Generate data/open-suite.txt from the project's open evaluation suite.

One line per open-suite instance: the question and its correct answer, verbatim,
e.g. "What is the opposite of win? lose". This is deliberate test-set leakage: the
"memorized-open" sample exists to show what overfitting to the open suite looks like
(good open score, about chance on the closed suite) and to be caught by the
contamination report.

Reads ../../suites/open.json relative to this submission (i.e. suites/open.json of
the repository); pass another path as the first argument to override.
Deterministic: suite order, no randomness.

Usage: python3 data/make_corpus.py [path/to/open.json]   (from anywhere)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SUBMISSION = os.path.dirname(HERE)
DEFAULT_SUITE = os.path.join(SUBMISSION, "..", "..", "suites", "open.json")
OUT = os.path.join(HERE, "open-suite.txt")


def main():
    suite_path = os.path.normpath(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SUITE)
    with open(suite_path, encoding="utf-8") as f:
        suite = json.load(f)
    lines = []
    for scenario in suite["scenarios"]:
        for instance in scenario["instances"]:
            lines.append("%s %s" % (instance["question"], instance["choices"][instance["answer"]]))
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d lines to %s from %s" % (len(lines), OUT, suite_path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
