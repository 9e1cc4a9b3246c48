"""
Lays the project's data files (suites/data) where crfm-helm's scenario readers look for them, so that their
`ensure_file_downloaded` finds every file and downloads nothing. Files are linked one by one into real
directories of a scratch folder: HELM writes `<file>.lock` next to each target, and none may land in suites/data.
"""
import json
import os
import random

# BBQ subject=all reads these 11 categories; the project has 4 (suites/data/README.md). The others are laid as
# empty files: HELM's reader then sees exactly the 4 available categories, in its own order.
BBQ_CATEGORIES = [
    "Age", "Disability_status", "Gender_identity", "Nationality", "Physical_appearance", "Race_ethnicity",
    "Race_x_SES", "Race_x_gender", "Religion", "SES", "Sexual_orientation",
]


def _link(source, target):
    if not os.path.exists(source):
        raise SystemExit(f"{source}: missing (HELM's {os.path.basename(target)} is read from it)")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if not os.path.lexists(target):
        os.symlink(os.path.abspath(source), target)


def lay_out(name, args, data_dir, root, path=None):
    """The scenario's output_path under `root` (or `path`: helm-run shares one folder per scenario name), with its data in place."""
    path = path or os.path.join(root, name if name != "mmlu" else f"mmlu-{args['subject']}")
    if name == "mmlu":
        subject = args["subject"]
        # MMLUScenario reads data/{auxiliary_train,dev,val,test}/<subject>_<split>.csv and skips missing files;
        # the project has dev and test (no val).
        for split in ("dev", "test"):
            _link(os.path.join(data_dir, "mmlu", split, f"{subject}_{split}.csv"), os.path.join(path, "data", split, f"{subject}_{split}.csv"))
    elif name == "truthful_qa":
        _link(os.path.join(data_dir, "truthfulqa", "TruthfulQA.csv"), os.path.join(path, "data", "TruthfulQA.csv"))
    elif name == "gsm":
        for split in ("train", "test"):
            _link(os.path.join(data_dir, "gsm8k", f"{split}.jsonl"), os.path.join(path, f"gsm_data_{split}"))
    elif name == "bbq":
        if args.get("subject") != "all":
            raise SystemExit(f"bbq:subject={args.get('subject')}: only subject=all is laid out")
        for category in BBQ_CATEGORIES:
            source = os.path.join(data_dir, "bbq", f"{category}.jsonl")
            target = os.path.join(path, "data", category)
            if os.path.exists(source):
                _link(source, target)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "w").close()
    else:
        raise SystemExit(f"no data layout for HELM scenario {name}")
    return path


def bbq_records(scenario, instances, wanted_ids):
    """
    The BBQ record behind each wanted instance ({id: record fields the bias metric reads}). BBQScenario keeps only
    text and tags; its reader's order is reproduced here (same files, same `random.seed(0); random.shuffle`) and
    checked against HELM's instance texts, so a change in HELM's reader fails instead of mislabelling.
    """
    loaded = []
    for category in BBQ_CATEGORIES:
        with open(os.path.join(scenario.output_path, "data", category)) as f:
            loaded.extend((json.loads(line), category) for line in f)
    random.seed(0)
    random.shuffle(loaded)
    if len(loaded) != len(instances):
        raise SystemExit(f"BBQ: {len(loaded)} records but HELM read {len(instances)} instances")
    by_id = {instance.id: (instance, loaded[index]) for index, instance in enumerate(instances)}
    out = {}
    for wanted in wanted_ids:
        instance, (record, category) = by_id[wanted]
        if instance.input.text != f"{record['context']}\nQuestion: {record['question']}":
            raise SystemExit(f"BBQ {wanted}: HELM's instance is not record {category}/{record['example_id']}")
        out[wanted] = {"category": category, "record": record}
    return out


def fairness_lists(work_dir, lists):
    """Not laid out: HELM downloads its dialect map and name list; the caller only asks for perturbations that need none."""
    if lists:
        raise SystemExit("fairness word lists are not laid out for HELM (see docs/suites.md)")
