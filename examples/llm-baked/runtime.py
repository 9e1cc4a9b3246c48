"""What the training and the inference container share.

llm-baked pins the training's thread count (CHALLENGE_CPU_THREADS, set by both Dockerfiles): the weights baked in
while the inference image builds (2 CPUs per build step on the CPU track) and the weights the platform trains from
Dockerfile.train (1 CPU on the CPU track) then come from the same arithmetic, not merely the same seeds.
"""
import math
import os


def cpu_quota():
    """CPUs the container may use (cgroup v2 cpu.max or v1 cfs quota); torch would otherwise start one thread per host core."""
    pinned = os.environ.get("CHALLENGE_CPU_THREADS")
    if pinned:
        return max(1, int(pinned))
    for path, parse in (("/sys/fs/cgroup/cpu.max", lambda s: s.split()), ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", None)):
        try:
            with open(path) as handle:
                text = handle.read().strip()
            if parse:
                quota, period = parse(text)
                if quota != "max":
                    return max(1, math.floor(int(quota) / int(period)))
            else:
                quota = int(text)
                with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as handle:
                    period = int(handle.read().strip())
                if quota > 0:
                    return max(1, math.floor(quota / period))
        except (OSError, ValueError):
            continue
    return os.cpu_count() or 1
