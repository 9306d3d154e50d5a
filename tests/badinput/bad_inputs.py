#!/usr/bin/env python3
"""The bad-input suite: every malformed file, impossible setting and hostile path that the
input audit (issue #16) found, run against the real binaries. Each case must end within its
timeout with exit 2, a message that names the file or field at fault and no library text,
and must leave every file that was there untouched and write nothing new.

usage: bad_inputs.py HEADLAB_CLI [HEADLAB_GUI] [-k SUBSTRING]"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from badinput_lib import LIBRARY_TEXT, TINY_RUN, changes, copy_tree, make_fixture, run, snapshot  # noqa: E402

TIMEOUT_S = 30


class Case:
    def __init__(self, name, argv, phrase, setup=None, tool="cli", lock=None):
        self.name, self.argv, self.phrase, self.setup, self.tool = name, argv, phrase, setup, tool
        self.lock = lock  # a run directory that another writer holds while the command runs


HOLD_LOCK = ("import fcntl, sys, time\n"
             "f = open(sys.argv[1], 'a')\n"
             "fcntl.flock(f, fcntl.LOCK_EX)\n"
             "print('held', flush=True)\n"
             "time.sleep(120)\n")


def hold_lock(run_dir):
    """Another writer of run_dir, as the engine's own lock (io/run_lock.h) would be held."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, os.path.join(run_dir, ".lock")],
                              stdout=subprocess.PIPE)
    holder.stdout.readline()
    return holder


# --- setup helpers: each takes the case directory w (holding run/ = the fixture run) ----------

def edit_json(rel, change):
    def setup(w):
        path = os.path.join(w, rel)
        with open(path) as f:
            data = json.load(f)
        change(data)
        with open(path, "w") as f:
            json.dump(data, f)
    return setup


def write_text(rel, text, mode="w"):
    def setup(w):
        with open(os.path.join(w, rel), mode) as f:
            f.write(text)
    return setup


def replace_with_fifo(rel):
    def setup(w):
        path = os.path.join(w, rel)
        if os.path.exists(path):
            os.remove(path)
        os.mkfifo(path)
    return setup


def replace_with_link(rel, target):
    def setup(w):
        path = os.path.join(w, rel)
        if os.path.lexists(path):
            os.remove(path)
        os.symlink(target if target.startswith("/") else os.path.join(w, target), path)
    return setup


def symlink_loop(rel):
    def setup(w):
        path = os.path.join(w, rel)
        os.remove(path)
        os.symlink(path + ".b", path)
        os.symlink(path, path + ".b")
    return setup


class NeedsRoot(Exception):
    pass


def full_disk(rel):
    """A 12 KiB tmpfs at w/rel, smaller than the fixture's model (needs root to mount)."""
    def setup(w):
        path = os.path.join(w, rel)
        os.makedirs(path)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12k", "tmpfs", path], capture_output=True).returncode != 0:
            raise NeedsRoot("cannot mount a small tmpfs here (not root)")
    return setup


def unmount_all(w):
    with open("/proc/mounts") as f:
        mounts = [line.split()[1] for line in f if line.split()[1].startswith(w + "/")]
    for m in sorted(mounts, reverse=True):
        subprocess.run(["umount", m], capture_output=True)


def both(*setups):
    def setup(w):
        for s in setups:
            s(w)
    return setup


def config_with(change):
    """w/exp.json: the tiny run's config with `change` applied."""
    def setup(w):
        data = json.loads(json.dumps(TINY_RUN))
        change(data)
        with open(os.path.join(w, "exp.json"), "w") as f:
            json.dump(data, f)
    return setup


def model_field(key, value):
    return edit_json("run/model/config.json", lambda c: c.__setitem__(key, value))


def state_field(key, value):
    return edit_json("run/checkpoints/step-4/trainer_state.json", lambda s: s.__setitem__(key, value))


def truncate(rel, keep_fraction):
    def setup(w):
        path = os.path.join(w, rel)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(int(size * keep_fraction))
    return setup


M, R, STATE = "run/model", "run", "run/checkpoints/step-4/trainer_state.json"
INSPECT = ["inspect", "--model", M]
RESUME = ["train", "--resume", R, "--steps", "6", "--quiet"]
TRAIN_EXP = ["train", "--config", "exp.json", "--out", "new-run", "--quiet"]


def cases():
    c = []
    add = lambda *a, **k: c.append(Case(*a, **k))  # noqa: E731
    # 1. an existing --out is never replaced unless asked, and a non-model never at all
    add("fold --out an existing run", ["fold", "--model", M, "--out", R], "run", None)
    add("fold --out an existing file", ["fold", "--model", M, "--out", "keep.txt"], "keep.txt",
        write_text("keep.txt", "precious\n"))
    add("fold --force --out a run directory", ["fold", "--model", M, "--out", R, "--force"], "run")
    add("compress --out an existing folder", ["compress", "--model", M, "--kv-heads", "1", "--out", "run/checkpoints"],
        "checkpoints")
    add("init --out an existing run", ["init", "--config", "tiny.json", "--out", R], "run")
    # 2. a second writer of a run directory is refused while the first holds it
    add("resume a run another writer holds", RESUME, "run", lock=R)
    add("train --out a run another writer holds", ["train", "--config", "tiny.json", "--out", R, "--quiet"], "run", lock=R)
    # 5. FIFOs and devices are refused before anything opens them
    add("FIFO as model.safetensors", INSPECT, "FIFO", replace_with_fifo(M + "/model.safetensors"))
    add("FIFO as model config.json", INSPECT, "FIFO", replace_with_fifo(M + "/config.json"))
    add("FIFO as --model", ["logits", "--model", "pipe", "--tokens", "1,2", "--out", "x.npy"], "pipe",
        replace_with_fifo("pipe"))
    add("FIFO as --config", ["train", "--config", "pipe", "--out", "new-run"], "FIFO", replace_with_fifo("pipe"))
    add("FIFO as metrics.jsonl on resume", RESUME, "metrics.jsonl", replace_with_fifo(R + "/metrics.jsonl"))
    add("/dev/zero as weights", INSPECT, "device", replace_with_link(M + "/model.safetensors", "/dev/zero"))
    add("FIFO as corpus", TRAIN_EXP, "pipe",
        both(replace_with_fifo("pipe"), config_with(lambda d: d.__setitem__("data", {"task": "text", "path": "pipe"}))))
    # 6. absurd sizes are refused from the config, before allocating
    for key, value in [("vocab_size", 10 ** 12), ("d_ff", 2 ** 40), ("vocab_size", 10 ** 8), ("n_layers", 10 ** 9),
                       ("max_seq_len", 10 ** 12)]:
        # vocab_size is checked against the tokenizer, the other sizes against the weights file
        add(f"model {key} {value}", INSPECT, key if key in ("vocab_size", "max_seq_len") else "model.safetensors",
            model_field(key, value))
    add("train batch 1e9", TRAIN_EXP, "memory", config_with(lambda d: d["train"].__setitem__("batch_size", 10 ** 9)))
    add("train n_layers 1e6", TRAIN_EXP, "memory", config_with(lambda d: d["model"].__setitem__("n_layers", 10 ** 6)))
    # 7. library text never reaches the user: the file or field is named instead
    add("symlink loop as config.json", INSPECT, "config.json", symlink_loop(M + "/config.json"))
    add("tokenizer.type a number", INSPECT, "tokenizer.type", model_field("tokenizer", {"type": 5}))
    add("max_seq_len a string", INSPECT, "max_seq_len", model_field("max_seq_len", "64"))
    add("lr 1e999", TRAIN_EXP, "exp.json", write_text("exp.json", json.dumps(TINY_RUN).replace('"seed": 1', '"lr": 1e999, "seed": 1')))
    add("checkpoint step out of range", RESUME, "step-99999999999999999999",
        lambda w: os.makedirs(os.path.join(w, R, "checkpoints", "step-99999999999999999999")))
    add("trainer_state step a string", RESUME, "step", state_field("step", "four"))
    add("trainer_state rng_state not hex", RESUME, "rng_state", state_field("rng_state", "zz" * 8))
    add("trainer_state rng_state wrong size", RESUME, "rng_state", state_field("rng_state", "00" * 7))
    add("trainer_state frozen entry malformed", RESUME, "frozen", state_field("frozen", {"kha@x": "frozen"}))
    add("trainer_state frozen module absent", RESUME, "talking_heads@0", state_field("frozen", {"talking_heads@0": "frozen"}))
    add("trainer_state optimizer step a string", RESUME, "optimizer.steps",
        edit_json(STATE, lambda s: s["optimizer"]["steps"].__setitem__(next(iter(s["optimizer"]["steps"])), "x")))
    add("trainer_state anomalies mistyped", RESUME, "anomalies", state_field("anomalies", {"recent": "x", "bad_streak": 0}))
    add("trainer_state an array", RESUME, "trainer_state.json", write_text(STATE, "[1, 2]\n"))
    add("metrics.jsonl non-object line", RESUME, "metrics.jsonl", write_text(R + "/metrics.jsonl", "[1, 2]\n", "a"))
    add("events.jsonl non-object line", RESUME, "events.jsonl", write_text(R + "/events.jsonl", "5\n{}\n", "a"))
    # 8. crafted state is not trusted
    add("trainer_state step -100", RESUME, "step", state_field("step", -100))
    add("trainer_state step 2^62", RESUME, "step", state_field("step", 2 ** 62))
    add("resume with --steps below the checkpoint", ["train", "--resume", R, "--steps", "3", "--quiet"], "train.steps")
    add("run config.json model edited", RESUME, "model.d_model", edit_json(R + "/config.json", lambda d: d["model"].__setitem__("d_model", 32)))
    # 9. impossible schedules and settings are refused at load time
    add("schedule layer 99", TRAIN_EXP, "layer 99",
        config_with(lambda d: d.__setitem__("schedule", [{"step": 1, "action": "freeze", "module": "kha", "layers": [99]}])))
    add("schedule on an absent module", TRAIN_EXP, "talking_heads",
        config_with(lambda d: d.__setitem__("schedule", [{"step": 1, "action": "freeze", "module": "talking_heads"}])))
    add("schedule step beyond train.steps", TRAIN_EXP, "never reached",
        config_with(lambda d: d.__setitem__("schedule", [{"step": 100, "action": "bypass", "module": "kha"}])))
    add("probe.text unencodable", TRAIN_EXP, "probe.text",
        config_with(lambda d: d.__setitem__("probe", {"text": "\u00ff\u00fe not in the alphabet"})))
    # 11. bounded options, names not paths, resolved fields
    add("--threads 100000", ["--threads", "100000", *INSPECT], "--threads")
    add("sample --temperature nan", ["sample", "--model", M, "--prompt", "the", "--temperature", "nan"], "temperature")
    add("--preset a path", ["train", "--preset", "../../x", "--out", "new-run"], "preset")
    add("rope_dim -2", INSPECT, "rope_dim", model_field("rope_dim", -2))
    add("chars alphabet with a duplicate", INSPECT, "alphabet", model_field("tokenizer", {"type": "chars", "alphabet": "abca"}))
    # corpora and model files that are not what they claim
    add("non-UTF-8 corpus with chars", TRAIN_EXP, "UTF-8",
        both(write_text("corpus.txt", b"abc\xff\xfe def " * 200, "wb"),
             config_with(lambda d: d.__setitem__("data", {"task": "text", "path": "corpus.txt", "tokenizer": "chars"}))))
    add("empty corpus", TRAIN_EXP, "corpus.txt",
        both(write_text("corpus.txt", ""), config_with(lambda d: d.__setitem__("data", {"task": "text", "path": "corpus.txt"}))))
    add("truncated weights", INSPECT, "model.safetensors", truncate(M + "/model.safetensors", 0.5))
    add("weights cut inside the header", INSPECT, "model.safetensors", truncate(M + "/model.safetensors", 0.001))
    add("config.json not JSON", INSPECT, "config.json", write_text(M + "/config.json", "{\"d_model\": 16,,}"))
    add("a directory as --config", ["train", "--config", R, "--out", "new-run"], "directory")
    add("an unknown preset", ["train", "--preset", "no-such-preset", "--out", "new-run"], "no-such-preset")
    # a full disk: the output is refused whole, and nothing is left half-written on it
    add("fold onto a full disk", ["fold", "--model", M, "--out", "full/folded"], "No space left", full_disk("full"))
    add("compress onto a full disk", ["compress", "--model", M, "--kv-heads", "1", "--out", "full/small"],
        "No space left", full_disk("full"))
    # the GUI's headless figure export reads the same files
    add("export-figures: mistyped metric line", ["--export-figures", R, "--out", "figs"], "metrics.jsonl",
        write_text(R + "/metrics.jsonl", '{"step": "x", "loss": 1}\n', "a"), tool="gui")
    add("export-figures: FIFO as metrics.jsonl", ["--export-figures", R, "--out", "figs"], "metrics.jsonl",
        replace_with_fifo(R + "/metrics.jsonl"), tool="gui")
    return c


def check(case, rc, out, before, after):
    problems = []
    if rc is None:
        problems.append(f"no answer within {TIMEOUT_S} s (killed)")
    elif rc != 2:
        problems.append(f"exit {rc}, expected 2")
    if case.phrase.lower() not in out.lower():
        problems.append(f"message does not name '{case.phrase}'")
    leaked = [t for t in LIBRARY_TEXT if t in out]
    if leaked:
        problems.append(f"library text reached the user: {leaked}")
    added, removed, modified = changes(before, after)
    if added:
        problems.append(f"wrote {added[:4]}")
    if removed:
        problems.append(f"removed {removed[:4]}")
    if modified:
        problems.append(f"touched {modified[:4]}")
    return problems


def run_case(case, w, binary):
    """(problems, output, seconds) of one case, run in its own copy w of the fixture."""
    holder = hold_lock(os.path.join(w, case.lock)) if case.lock else None
    try:
        before = snapshot(w)
        start = time.monotonic()
        rc, out = run([binary, *case.argv], w, TIMEOUT_S)
        elapsed = time.monotonic() - start
        return check(case, rc, out, before, snapshot(w)), out, elapsed
    finally:
        unmount_all(w)
        if holder:
            holder.kill()
            holder.wait()


def main():
    args = list(sys.argv[1:])
    only = None
    if "-k" in args:
        i = args.index("-k")
        only = args[i + 1]
        del args[i:i + 2]
    cli = os.path.abspath(args[0])
    gui = os.path.abspath(args[1]) if len(args) > 1 and os.path.exists(args[1]) else None
    failures = ran = 0
    with tempfile.TemporaryDirectory(prefix="headlab-badinput-") as tmp:
        try:
            base = os.path.join(tmp, "base")
            make_fixture(cli, base)
            for i, case in enumerate(c for c in cases() if only is None or only in c.name):
                if case.tool == "gui" and gui is None:
                    print(f"skip: {case.name} (no GUI binary)")
                    continue
                w = os.path.join(tmp, f"case-{i}")
                copy_tree(base, w)
                try:
                    if case.setup:
                        case.setup(w)
                except NeedsRoot as e:
                    print(f"skip: {case.name} ({e})")
                    continue
                problems, out, elapsed = run_case(case, w, gui if case.tool == "gui" else cli)
                ran += 1
                if problems:
                    failures += 1
                    print(f"FAIL: {case.name}: {'; '.join(problems)}\n      output: {out.strip()[:400]}")
                else:
                    last_line = out.strip().splitlines()[-1] if out.strip() else ""
                    print(f"ok: {case.name} ({elapsed:.1f} s): {last_line[:140]}")
        finally:
            unmount_all(tmp)
    print(f"{ran - failures}/{ran} bad inputs refused cleanly")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
