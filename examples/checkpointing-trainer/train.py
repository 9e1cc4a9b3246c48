"""Training that takes a while and checkpoints every step, so an interrupted run can resume.

Honours CHALLENGE_RESUME_FROM (a checkpoint path relative to /artifacts, set by the pipeline when a
stage is retried or handed over) and appends every executed step to /artifacts/steps.log, so tests can
tell a resumed run (no step twice) from a restarted one.
"""
import json
import os
import sys
import time

ARTIFACTS = os.environ.get("ARTIFACTS_DIR", "/artifacts")
TOTAL_STEPS = int(os.environ.get("TRAIN_STEPS", "24"))
STEP_SECONDS = float(os.environ.get("STEP_SECONDS", "0.5"))


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(value, handle)
    os.replace(tmp, path)


def main():
    os.makedirs(os.path.join(ARTIFACTS, "checkpoints"), exist_ok=True)
    start = 0
    resume = os.environ.get("CHALLENGE_RESUME_FROM")
    if resume:
        with open(os.path.join(ARTIFACTS, resume)) as handle:
            start = json.load(handle)["step"]
        print(f"resumed from {resume} at step {start}", flush=True)
    for step in range(start + 1, TOTAL_STEPS + 1):
        time.sleep(STEP_SECONDS)
        checkpoint = f"checkpoints/step-{step}.json"
        write_json(os.path.join(ARTIFACTS, checkpoint), {"step": step, "weights": [step * 0.1]})
        with open(os.path.join(ARTIFACTS, "steps.log"), "a") as log:
            log.write(f"{step}\n")
        write_json(os.path.join(ARTIFACTS, "progress.json"), {"step": step, "totalSteps": TOTAL_STEPS, "checkpoint": checkpoint})
        print(f"step {step}/{TOTAL_STEPS}", flush=True)
    write_json(os.path.join(ARTIFACTS, "model.json"), {"steps": TOTAL_STEPS})
    return 0


if __name__ == "__main__":
    sys.exit(main())
