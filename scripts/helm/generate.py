"""
Builds the HELM side of the NeurIPS 2023 suites with crfm-helm's own code (the version scripts/ensure-helm.sh
pins): for each run entry it runs what `helm-run` runs before it sends a request, on the project's data files:

  construct_run_specs(description)      run_specs.py + run expanders (data_augmentation, max_eval_instances, model)
  scenario.get_instances()              HELM's scenario readers, on files laid where each scenario looks
  with_instance_ids                     "id{i}" over every split, in the reader's order
  adapter.get_run_instances             the eval draw: np.random.seed(0); np.random.choice(..., replace=False)
  adapter.adapt                         sample_examples(seed=0) for the in-context examples, prompts, requests
  DataPreprocessor (optional)           the canonical perturbations, to check the harness's run-time port

Input (stdin, JSON): {"dataDir": "suites/data", "entries": [{"description": "...", "maxEvalInstances": 10}],
"perturb": false}. Output (stdout, JSON): one object per entry, in order (see `run_entry`). HELM's own log goes to
stderr. No network: every file a scenario would download is already in place, and a window service that never
truncates stands in for the model's (the harness fits prompts to the participant's window at run time, as HELM).
"""
import json
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import absent  # noqa: E402

absent.install()

from dataclasses import replace  # noqa: E402

import helm.benchmark.adaptation.adapters.adapter as helm_adapter  # noqa: E402
from helm.benchmark.adaptation.adapters.adapter_factory import AdapterFactory  # noqa: E402
from helm.benchmark.data_preprocessor import DataPreprocessor  # noqa: E402
from helm.benchmark.run_specs import construct_run_specs  # noqa: E402
from helm.benchmark.scenarios.scenario import CORRECT_TAG, EVAL_SPLITS, TRAIN_SPLIT, create_scenario, with_instance_ids  # noqa: E402
from helm.common.object_spec import parse_object_spec  # noqa: E402

import layout  # noqa: E402

HELM_VERSION = "0.2.4"


class NoTruncationWindowService:
    """Every prompt fits: suites are model-independent; the harness fits prompts into the model's window."""

    def fits_within_context_window(self, text, expected_completion_token_length=0):
        return True

    def truncate_from_right(self, text, expected_completion_token_length=0):
        return text


helm_adapter.WindowServiceFactory.get_window_service = staticmethod(lambda model, service: NoTruncationWindowService())


def references_of(instance):
    return [{"text": r.output.text, "correct": CORRECT_TAG in r.tags, "tags": [t for t in r.tags if t != CORRECT_TAG]} for r in instance.references]


def instance_json(instance):
    return {"id": instance.id, "split": instance.split, "input": instance.input.text, "references": references_of(instance)}


def http_body(request):
    """The /process body of HELM's HTTPModelClient.make_request (helm/proxy/clients/http_model_client.py), without the prompt."""
    return {
        "temperature": 1e-7 if request.temperature == 0 else request.temperature,
        "num_return_sequences": request.num_completions,
        "max_new_tokens": request.max_tokens,
        "top_p": request.top_p,
        "echo_prompt": request.echo_prompt,
        "top_k_per_token": request.top_k_per_token,
        "stop_sequences": request.stop_sequences,
    }


def run_entry(entry, data_dir, work_dir, perturb):
    description = entry["description"]
    run_specs = construct_run_specs(parse_object_spec(description))
    if len(run_specs) != 1:
        raise SystemExit(f"{description}: expected one run spec, HELM made {len(run_specs)}")
    run_spec = run_specs[0]
    adapter_spec = replace(run_spec.adapter_spec, max_eval_instances=entry["maxEvalInstances"])
    scenario = create_scenario(run_spec.scenario_spec)
    scenario.output_path = layout.lay_out(scenario.name, run_spec.scenario_spec.args, data_dir, os.path.join(work_dir, "scenarios"))
    read = scenario.get_instances()
    instances = with_instance_ids(read)
    pool = [i for i in instances if i.split in EVAL_SPLITS]
    adapter = AdapterFactory.get_adapter(adapter_spec, None)
    run_instances = adapter.get_run_instances(instances)
    state = adapter.adapt(run_instances, parallelism=1)
    train = adapter.train_instances
    eval_instances = [i for i in run_instances if i.split in EVAL_SPLITS]
    if len(state.request_states) != len(eval_instances):
        raise SystemExit(f"{description}: {len(state.request_states)} requests for {len(eval_instances)} instances")
    bodies = {json.dumps(http_body(rs.request), sort_keys=True) for rs in state.request_states}
    if len(bodies) != 1:
        raise SystemExit(f"{description}: the requests differ in more than the prompt: {sorted(bodies)}")
    spec = adapter_spec
    out = {
        "description": description,
        "maxEvalInstances": entry["maxEvalInstances"],
        "runSpec": run_spec.name,
        "scenario": scenario.name,
        "adapter": {
            "method": spec.method,
            "instructions": spec.instructions,
            "inputPrefix": spec.input_prefix,
            "inputSuffix": spec.input_suffix,
            "outputPrefix": spec.output_prefix,
            "outputSuffix": spec.output_suffix,
            "instancePrefix": spec.instance_prefix,
            "maxTrainInstances": spec.max_train_instances,
        },
        "request": json.loads(next(iter(bodies))),
        "metrics": [m.class_name + ":" + json.dumps(m.args, sort_keys=True) for m in run_spec.metric_specs],
        "read": len(read),
        "trainPool": sum(1 for i in instances if i.split == TRAIN_SPLIT),
        "evalPool": len(pool),
        "train": [instance_json(i) for i in train],
        "eval": [dict(instance_json(rs.instance), prompt=rs.request.prompt) for rs in state.request_states],
    }
    if scenario.name == "bbq":
        out["records"] = layout.bbq_records(scenario, instances, [i.id for i in train] + [i.id for i in eval_instances])
    if perturb:
        out["perturbed"] = perturbed(run_spec, eval_instances, work_dir)
    return out


# The canonical perturbations whose word lists ship inside the wheel (or need none). HELM downloads the dialect map
# and the name list of the other two at run time; the harness's port of those is checked against HELM's classes
# run on the project's lists (test/fixtures/metrics/perturbation-vectors.json).
SELF_CONTAINED_PERTURBATIONS = ("MildMixPerturbation", "GenderPerturbation")


def perturbed(run_spec, eval_instances, work_dir):
    """HELM's canonical augmentation (its self-contained part) of the eval instances: {id: {name: {input, references}}}."""
    spec = run_spec.data_augmenter_spec
    kept = [p for p in spec.perturbation_specs if p.class_name.rsplit(".", 1)[-1] in SELF_CONTAINED_PERTURBATIONS]
    cwd = os.getcwd()
    os.chdir(work_dir)
    try:
        augmented = DataPreprocessor(replace(spec, perturbation_specs=kept)).preprocess(eval_instances, 1)
    finally:
        os.chdir(cwd)
    result = {}
    for instance in augmented:
        if instance.perturbation is None:
            continue
        result.setdefault(instance.id, {})[instance.perturbation.name] = {
            "input": instance.input.text,
            "references": [r.output.text for r in instance.references],
        }
    return result


def main():
    request = json.load(sys.stdin)
    result_stream = sys.stdout
    sys.stdout = sys.stderr  # HELM's hierarchical logger prints to stdout
    random.seed(0)
    with tempfile.TemporaryDirectory(prefix="helm-suites-") as work_dir:
        if request.get("perturb"):
            layout.fairness_lists(work_dir, request.get("fairnessLists"))
        results = [run_entry(entry, request["dataDir"], work_dir, request.get("perturb", False)) for entry in request["entries"]]
    json.dump({"helm": HELM_VERSION, "runs": results}, result_stream, ensure_ascii=False)


if __name__ == "__main__":
    main()
