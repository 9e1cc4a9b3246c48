#!/usr/bin/env python3
"""Quick 'training': writes a tiny model to $ARTIFACTS_DIR (default /artifacts)."""
import json
import os
import sys
import time

ARTIFACTS_DIR = os.environ.get("ARTIFACTS_DIR", "/artifacts")


def write_json(name, obj):
    path = os.path.join(ARTIFACTS_DIR, name)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(obj, f)
    os.replace(path + ".tmp", path)


def main():
    total = 3
    for step in range(1, total + 1):
        time.sleep(0.2)
        write_json("progress.json", {"step": step, "totalSteps": total, "checkpoint": None})
        print("step %d/%d" % (step, total), flush=True)
    write_json("model.json", {"letter": "A", "completion": " Paris."})
    write_json("progress.json", {"step": total, "totalSteps": total, "checkpoint": "model.json"})
    print("wrote model.json", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
