"""
Runs crfm-helm's own runner, `helm-run` (helm.benchmark.run.main, the version scripts/ensure-helm.sh pins), with
its `neurips/local` model against a participant's inference server, offline, and reports what it asked, what the
server answered and how HELM scored it, per instance. test/integration/helm-run.test.ts compares this with the
harness on the same instances against the same server.

  neurips/local   HELM's HTTPModelClient: POST {base}/process and /tokenize; the base URL comes from the
                  HELM_HTTP_MODEL_BASE_URL environment variable (set here from "baseUrl")
  scenario data   the project's data files (suites/data) laid where each scenario looks under
                  <output>/scenarios/<scenario>, so nothing is downloaded (scripts/helm/layout.py)

Input (stdin, JSON): {"dataDir": "suites/data", "baseUrl": "http://127.0.0.1:PORT", "outputPath": "...",
"entries": [{"description": "mmlu:subject=anatomy,model=neurips/local", "maxEvalInstances": 1}]}.
Output (stdout, JSON): {"helm": version, "runs": [{"description", "runSpec", "instances": [{"id", "prompt",
"completion", "request", "stats": {name: value}}]}]}, one run per entry in order. HELM's log goes to stderr.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import absent  # noqa: E402

# HELM's HTTP client needs requests (and urllib3 under it, which probes for zstandard and does without it);
# everything else stays a placeholder.
absent.install(keep=("requests", "urllib3", "zstandard", "pyhocon", "sqlitedict"))

from helm.benchmark import run as helm_run  # noqa: E402
from helm.benchmark.metrics import basic_metrics, bias_metrics, toxicity_metrics  # noqa: E402
from helm.benchmark.run_specs import construct_run_specs  # noqa: E402
from helm.benchmark.scenarios.scenario import create_scenario  # noqa: E402
from helm.common.object_spec import parse_object_spec  # noqa: E402

import layout  # noqa: E402

HELM_VERSION = "0.2.4"
SUITE = "harness-check"


def _rouge_not_installed(rouge_type):
    def rouge(*_args, **_kwargs):
        raise absent.AbsentLibraryError(f"ROUGE ({rouge_type}) needs rouge_score, which scripts/ensure-helm.sh does not install")

    return rouge


# BasicMetric.compute_reference_metrics builds every metric function, ROUGE scorers included, before it looks up
# the few it computes; no NeurIPS 2023 run spec scores ROUGE, so the scorer is made only if it is called.
basic_metrics.get_rouge_function = _rouge_not_installed
# The calibration errors (ECE, from the uncertainty-calibration package and its scikit-learn) are run-level
# aggregates of the top log-probabilities that the comparison does not read: HELM reports none here.
basic_metrics.compute_calibration_metrics = lambda _per_instance_stats: []
# GSM8K's run spec adds the generative-harms metrics: the demographic-word bias (nltk's punkt tokenizer, a
# download) and Perspective API toxicity (a Google service). Both are run-level, not scored by the challenge.
bias_metrics.BiasMetric.evaluate_instances = lambda _self, _request_states: []
toxicity_metrics.ToxicityMetric.evaluate_generation = lambda _self, _adapter_spec, _request_state, _service, _eval_cache_path: []


def lay_out_data(entries, data_dir, output_path):
    """Links the data files of every entry's scenario where helm-run's Runner sets scenario.output_path."""
    for entry in entries:
        for run_spec in construct_run_specs(parse_object_spec(entry["description"])):
            scenario = create_scenario(run_spec.scenario_spec)
            path = os.path.join(output_path, "scenarios", scenario.name)
            layout.lay_out(scenario.name, run_spec.scenario_spec.args, data_dir, os.path.join(output_path, "scenarios"), path=path)


def helm_cli(entries, output_path, max_eval_instances):
    """helm-run exactly as its console script runs it, with these arguments."""
    argv = [
        "helm-run",
        "--run-specs", *[e["description"] for e in entries],
        "--suite", SUITE,
        "--output-path", output_path,
        "--local-path", os.path.join(output_path, "prod_env"),
        "--max-eval-instances", str(max_eval_instances),
        "--num-threads", "1",
        "--exit-on-error",
    ]
    saved = sys.argv
    sys.argv = argv
    try:
        helm_run.main()
    finally:
        sys.argv = saved


def read_run(output_path, description):
    """The scenario state and per-instance stats helm-run wrote for the run spec of `description`."""
    run_spec = construct_run_specs(parse_object_spec(description))[0]
    run_dir = os.path.join(output_path, "runs", SUITE, run_spec.name)
    with open(os.path.join(run_dir, "scenario_state.json")) as f:
        state = json.load(f)
    with open(os.path.join(run_dir, "per_instance_stats.json")) as f:
        per_instance = json.load(f)
    stats = {}  # {instance id: {stat name: value}}, the unperturbed instance's own stats
    for entry in per_instance:
        if entry.get("perturbation") is not None:
            continue
        stats[entry["instance_id"]] = {s["name"]["name"]: s["mean"] for s in entry["stats"] if s["name"].get("perturbation") is None and s["count"] > 0}
    instances = []
    for request_state in state["request_states"]:
        instance = request_state["instance"]
        if instance.get("perturbation") is not None:
            continue
        request = request_state["request"]
        completions = request_state["result"]["completions"]
        instances.append({
            "id": instance["id"],
            "prompt": request["prompt"],
            "completion": completions[0]["text"] if completions else None,
            "request": {k: request[k] for k in ("temperature", "num_completions", "max_tokens", "top_p", "echo_prompt", "top_k_per_token", "stop_sequences")},
            "stats": stats.get(instance["id"], {}),
        })
    return {"description": description, "runSpec": run_spec.name, "instances": instances}


def main():
    request = json.load(sys.stdin)
    output_path = os.path.abspath(request["outputPath"])
    os.environ["HELM_HTTP_MODEL_BASE_URL"] = request["baseUrl"]
    entries = request["entries"]
    result_stream = sys.stdout
    sys.stdout = sys.stderr  # HELM's hierarchical logger prints to stdout
    lay_out_data(entries, request["dataDir"], output_path)
    # --max-eval-instances applies to every run spec of one call: one call per distinct budget
    for budget in sorted({e["maxEvalInstances"] for e in entries}):
        helm_cli([e for e in entries if e["maxEvalInstances"] == budget], output_path, budget)
    runs = [read_run(output_path, e["description"]) for e in entries]
    json.dump({"helm": HELM_VERSION, "runs": runs}, result_stream, ensure_ascii=False)


if __name__ == "__main__":
    main()
