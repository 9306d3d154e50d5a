#!/usr/bin/env python3
"""A mutational fuzzer of HeadLab's inputs: bit flips, insertions, deletions and truncations
of a valid model (weights and config), a training config and a checkpoint's trainer state,
each fed to the command that reads it. Every run must end, within a timeout, in exit 0 (the
mutation was harmless, e.g. a flipped bit inside a weight) or exit 2 with no library text
and nothing written; never exit 1, a signal or a hang.

usage: fuzz_inputs.py HEADLAB_CLI [--cases N] [--seed S] [--keep DIR]
`make test` runs 120 cases; a longer run: `fuzz_inputs.py build/app/cli/headlab-cli --cases 5000`.
A failing case is reported with its seed and index, and with --keep its input is saved."""
import argparse
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from badinput_lib import LIBRARY_TEXT, changes, copy_tree, make_fixture, run, snapshot  # noqa: E402

TIMEOUT_S = 30

# (file mutated, relative to the case folder; command run in that folder)
TARGETS = [
    ("run/model/model.safetensors", ["logits", "--model", "run/model", "--tokens", "1,2,3", "--out", "out.npy"]),
    ("run/model/config.json", ["logits", "--model", "run/model", "--tokens", "1,2,3", "--out", "out.npy"]),
    ("tiny.json", ["train", "--config", "tiny.json", "--steps", "2", "--out", "new-run", "--quiet"]),
    ("run/checkpoints/step-4/trainer_state.json", ["train", "--resume", "run", "--steps", "5", "--quiet"]),
    ("run/checkpoints/step-4/optimizer.safetensors", ["train", "--resume", "run", "--steps", "5", "--quiet"]),
]


def mutate(data, rng):
    """One to three edits of the kinds a disk, a transfer or a careless editor makes."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["flip", "flip", "insert", "delete", "truncate", "digit"])
        at = rng.randrange(max(1, len(data)))
        if kind == "flip" and data:
            data[at] ^= 1 << rng.randrange(8)
        elif kind == "insert":
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == "delete":
            del data[at:at + rng.randint(1, 16)]
        elif kind == "truncate":
            del data[at:]
        elif kind == "digit":
            # Headers and configs are JSON: a digit turned into another one reaches the
            # number checks (offsets, shapes, sizes) rather than the parser.
            digits = [i for i, b in enumerate(data[:4096]) if 48 <= b <= 57]
            if digits:
                data[rng.choice(digits)] = rng.choice(b"0123456789")
    return bytes(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("--cases", type=int, default=120)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--keep", help="save the inputs of failing cases here")
    a = ap.parse_args()
    cli = os.path.abspath(a.cli)
    rng = random.Random(a.seed)
    failures, outcomes = 0, {0: 0, 2: 0}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="headlab-fuzz-") as tmp:
        base = os.path.join(tmp, "base")
        make_fixture(cli, base)
        originals = {rel: open(os.path.join(base, rel), "rb").read() for rel, _ in TARGETS}
        for i in range(a.cases):
            rel, argv = TARGETS[i % len(TARGETS)]
            w = os.path.join(tmp, "case")
            shutil.rmtree(w, ignore_errors=True)
            copy_tree(base, w)
            with open(os.path.join(w, rel), "wb") as f:
                f.write(mutate(originals[rel], rng))
            before = snapshot(w)
            rc, out = run([cli, *argv], w, TIMEOUT_S)
            problems = []
            if rc not in (0, 2):
                problems.append("no answer within %d s" % TIMEOUT_S if rc is None else f"exit {rc}")
            leaked = [t for t in LIBRARY_TEXT if t in out]
            if leaked:
                problems.append(f"library text: {leaked}")
            if rc == 2:
                added, removed, modified = changes(before, snapshot(w))
                if added or removed or modified:
                    problems.append(f"refused, yet wrote {added[:3]} removed {removed[:3]} touched {modified[:3]}")
            if rc in outcomes:
                outcomes[rc] += 1
            if problems:
                failures += 1
                print(f"FAIL case {i} (seed {a.seed}, {rel}): {'; '.join(problems)}\n      {out.strip()[:300]}")
                if a.keep:
                    os.makedirs(a.keep, exist_ok=True)
                    shutil.copy(os.path.join(w, rel), os.path.join(a.keep, f"case-{i}-{os.path.basename(rel)}"))
    print(f"{a.cases} mutated inputs in {time.monotonic() - start:.0f} s: {outcomes[0]} accepted, "
          f"{outcomes[2]} refused with exit 2, {failures} failures (seed {a.seed})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
