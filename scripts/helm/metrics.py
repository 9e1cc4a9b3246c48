"""
Scores (gold, prediction) pairs with crfm-helm's own metric functions (helm/benchmark/metrics/basic_metrics.py),
for the check that the harness's metrics agree with HELM's. stdin: {"pairs": [[gold, pred], ...]};
stdout: {"exact_match": [...], "quasi_exact_match": [...], "exact_match_indicator": [...]}.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import absent  # noqa: E402

absent.install()
from helm.benchmark.metrics import basic_metrics as m  # noqa: E402

pairs = json.load(sys.stdin)["pairs"]
names = ("exact_match", "quasi_exact_match", "exact_match_indicator")
json.dump({name: [getattr(m, name)(gold, pred) for gold, pred in pairs] for name in names}, sys.stdout)
