#!/usr/bin/env python3
"""Writes build/symbol-order.txt: the functions of a release binary that the everyday commands
run, in the order they first run them (issue 12). build.rs hands the file to the linker, which
places those functions first and side by side, so a run maps a few pages of code instead of
touching pages all over a 12 MB binary (BENCHMARKS.md, round 6).

How: builds the release binary with a link map (CNPGTP_LINK_MAP), runs each command below under
valgrind's lackey tool to list the code blocks it executes, and names each block by the input
section (one function each) the map places around it. Run it after changes that move a lot of
code; names that no longer exist are skipped by the linker, so a stale list only lays out less.

Usage: scripts/symbol-order.py   (from anywhere; needs cargo and valgrind)
"""
import bisect
import glob
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release",
                      "cnpgtp")
OUTPUT = os.path.join(ROOT, "build", "symbol-order.txt")


def commands():
    """The runs whose code is laid out, most frequent first: start-up and the default render,
    then every shipped values file, JSON output and the help texts."""
    runs = [["--version"], ["render"], ["render", "--format", "json"]]
    runs += [["render", path] for path in sorted(glob.glob(os.path.join(ROOT, "values", "*.yaml")))]
    runs += [["values"], ["--help"], ["render", "--help"]]
    return runs


def text_sections(map_path):
    """(start, end, section name) of every input section in the output .text, sorted."""
    sections = []
    in_text = False
    line_re = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s(\s*)(\S.*)$")
    for line in open(map_path):
        m = line_re.match(line)
        if not m:
            continue
        vma, size, pad, what = int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)
        if not pad:  # an output section
            in_text = what == ".text"
            continue
        if in_text and len(pad) < 16:  # an input section, not a symbol line
            inner = re.search(r":\((\.text\.[^)]+)\)$", what)
            if inner and size:
                # `.text.<symbol>`, or `.text.unlikely.<symbol>` for code LLVM deems cold.
                name = inner.group(1)[len(".text."):]
                sections.append((vma, vma + size, name.removeprefix("unlikely.")))
    sections.sort()
    return sections


def entry_point(binary):
    header = subprocess.run(["readelf", "-h", binary], capture_output=True, text=True, check=True)
    return int(re.search(r"Entry point address:\s+0x([0-9a-f]+)", header.stdout).group(1), 16)


def executed_blocks(binary, args):
    """Addresses of the code blocks one run executes, in first-run order, relative to the
    binary's own addresses."""
    with tempfile.NamedTemporaryFile(suffix=".lackey") as log:
        # ld.so prints the auxiliary vector first (valgrind's launcher prints its own before):
        # the last AT_ENTRY is where the run's entry point was mapped.
        run = subprocess.run(
            ["valgrind", "--tool=lackey", "--trace-superblocks=yes", f"--log-file={log.name}",
             binary, *args],
            env=dict(os.environ, LD_SHOW_AUXV="1"), capture_output=True, text=True, check=False)
        mapped_entry = int(re.findall(r"^AT_ENTRY:\s+0x([0-9a-f]+)", run.stdout, re.M)[-1], 16)
        blocks = re.findall(r"^SB ([0-9a-f]+)", open(log.name).read(), re.M)
    base = mapped_entry - entry_point(binary)
    return [int(block, 16) - base for block in blocks]


def main():
    # Kept beside the binary, to name addresses in profiles of the stripped release build.
    link_map = BINARY + ".map"
    env = dict(os.environ, CNPGTP_LINK_MAP=link_map)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, env=env, check=True)
    sections = text_sections(link_map)
    starts = [s[0] for s in sections]
    order, seen, size = [], set(), 0
    for args in commands():
        for address in executed_blocks(BINARY, args):
            i = bisect.bisect_right(starts, address) - 1
            if i >= 0 and address < sections[i][1] and sections[i][2] not in seen:
                seen.add(sections[i][2])
                order.append(sections[i][2])
                size += sections[i][1] - sections[i][0]
        shown = " ".join(args).replace(ROOT + "/", "")
        print(f"{shown:40} {len(order):5} functions, {size:8} bytes", file=sys.stderr)
    with open(OUTPUT, "w") as out:
        out.write("\n".join(order) + "\n")


if __name__ == "__main__":
    main()
