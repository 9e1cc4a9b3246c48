#!/usr/bin/env python3
"""'Training' that holds every batch it ever loads: memory grows without bound.

Each step keeps another 50 MB buffer (every page written, so it is resident),
writes $ARTIFACTS_DIR/progress.json and prints how much it holds. Under a 1 GiB
container memory limit the kernel OOM-kills it after about 20 steps.
With CHALLENGE_OOM_RETRY=1 (the pipeline's retry after an OOM kill) it "halves
the batch" to 25 MB per step - and still grows without bound, so the retry is
OOM-killed too.

OOM_SAFETY_CAP_MB (unset by default) stops it with exit code 3 once it holds that
much; set it only when running outside a memory-limited container.
"""
import json
import os
import sys
import time

ARTIFACTS_DIR = os.environ.get("ARTIFACTS_DIR", "/artifacts")
RETRY = os.environ.get("CHALLENGE_OOM_RETRY") == "1"
CHUNK_MB = 25 if RETRY else 50
CAP_MB = int(os.environ.get("OOM_SAFETY_CAP_MB") or 0)
TOTAL_STEPS = 1000


def write_progress(step):
    path = os.path.join(ARTIFACTS_DIR, "progress.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"step": step, "totalSteps": TOTAL_STEPS, "checkpoint": None}, f)
    os.replace(path + ".tmp", path)


def main():
    if RETRY:
        print("CHALLENGE_OOM_RETRY=1: retrying with half the batch size (%d MB per step)" % CHUNK_MB, flush=True)
    held = []
    step = 0
    while True:
        step += 1
        # b"x" * n writes every byte, so the pages are really resident.
        held.append(bytearray(b"x" * (CHUNK_MB * 1024 * 1024)))
        held_mb = CHUNK_MB * len(held)
        write_progress(step)
        print("step %d: holding %d MB of cached batches" % (step, held_mb), flush=True)
        if CAP_MB and held_mb >= CAP_MB:
            print("OOM_SAFETY_CAP_MB=%d reached without being killed; stopping" % CAP_MB, file=sys.stderr, flush=True)
            return 3
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
