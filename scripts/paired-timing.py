#!/usr/bin/env python3
"""Paired whole-process timing (issue 12), for machines without hyperfine or with other work on
them: each round runs every case once, in a fresh random order, so load that comes and goes hits
all cases alike; the ratios are medians of per-round ratios. Each run is os.posix_spawn ->
waitpid, stdout and stderr to /dev/null. Results are in BENCHMARKS.md.

Usage: scripts/paired-timing.py ROUNDS CASES_JSON [RATIOS_JSON]
  CASES_JSON:  {"label": ["/abs/path/binary", "arg", ...], ...}
  RATIOS_JSON: [["label-a", "label-b"], ...] (prints median of a/b per round)
Example:
  scripts/paired-timing.py 500 '{"true": ["/bin/true"],
      "version": ["target/release/cnpgtp", "--version"],
      "render": ["target/release/cnpgtp", "render"]}' '[["render", "version"]]'
"""
import json
import os
import random
import statistics
import sys
import time

WARMUP_ROUNDS = 20


def main():
    rounds = int(sys.argv[1])
    cases = json.loads(sys.argv[2])
    ratios = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]

    def run(argv):
        start = time.perf_counter_ns()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        _, status = os.waitpid(pid, 0)
        elapsed = (time.perf_counter_ns() - start) / 1e6
        if status != 0:
            sys.exit(f"{argv} failed with status {status}")
        return elapsed

    labels = list(cases)
    for _ in range(WARMUP_ROUNDS):
        for label in labels:
            run(cases[label])
    samples = {label: [] for label in labels}
    for _ in range(rounds):
        order = labels[:]
        random.shuffle(order)
        for label in order:
            samples[label].append(run(cases[label]))
    print(f"{rounds} rounds, load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    for label in labels:
        s = sorted(samples[label])
        print(f"{label:16} median {statistics.median(s):.3f} ms  p10 {s[len(s) // 10]:.3f}"
              f"  p90 {s[len(s) * 9 // 10]:.3f}  min {s[0]:.3f}")
    for a, b in ratios:
        ratio = statistics.median(x / y for x, y in zip(samples[a], samples[b]))
        print(f"median per-round ratio {a}/{b}: {ratio:.3f}")


if __name__ == "__main__":
    main()
