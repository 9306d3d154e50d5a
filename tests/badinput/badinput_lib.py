"""Shared pieces of the bad-input suite and the fuzzer: the fixture run, running one command
under a timeout, and the checks every bad input must pass (exit 2, a message naming the
file or field, nothing written, nothing touched)."""
import hashlib
import json
import os
import shutil
import signal
import subprocess

# Text of the libraries that must never reach the user: nlohmann's exceptions, torch's,
# CLI11's own stack-trace-ish output, the C++ runtime's terminate message.
LIBRARY_TEXT = ("[json.exception", "c10::Error", "Exception raised from", "terminate called",
                "std::bad_alloc", "basic_string", "stoll", "stoul", "Segmentation fault")

TINY_RUN = {
    "model": {"d_model": 16, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "head_dim": 4, "d_ff": 32,
              "attention": "gqa", "max_seq_len": 32,
              "interaction": {"kha": {"q": "linear", "k": "linear", "v": "linear"},
                              "mea": {"enabled": True, "group_norm": False}}},
    "data": {"task": "grammar"},
    "train": {"steps": 4, "batch_size": 2, "seq_len": 16, "eval_every": 2, "checkpoint_every": 2,
              "warmup_steps": 1, "seed": 1, "device": "cpu"},
}


def child_env():
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "QT_QPA_PLATFORM": "offscreen"})
    return env


def run(argv, cwd, timeout):
    """(returncode, output); returncode None when it ran past the timeout (killed)."""
    proc = subprocess.Popen([str(a) for a in argv], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=child_env(), start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out.decode("utf-8", "replace")


def make_fixture(cli, where):
    """A finished tiny run (checkpoints at steps 2 and 4, a final model) in where/run."""
    os.makedirs(where, exist_ok=True)
    config = os.path.join(where, "tiny.json")
    with open(config, "w") as f:
        json.dump(TINY_RUN, f)
    rc, out = run([cli, "train", "--config", config, "--out", os.path.join(where, "run"), "--quiet"], where, 300)
    if rc != 0:
        raise SystemExit(f"could not make the fixture run (exit {rc}):\n{out}")
    return os.path.join(where, "run")


def snapshot(root):
    """path -> (kind, size, mtime_ns, sha1) of everything under root. Lock files are left out:
    a writer's lock file is created by design (io/run_lock.h) and holds no data."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if name == ".lock":
                continue
            st = os.lstat(path)
            digest = ""
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha1(f.read()).hexdigest()
            kind = "link" if os.path.islink(path) else "dir" if os.path.isdir(path) else "file"
            state[os.path.relpath(path, root)] = (kind, st.st_size if kind == "file" else 0,
                                                  st.st_mtime_ns if kind == "file" else 0, digest)
    return state


def changes(before, after):
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    modified = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    return added, removed, modified


def copy_tree(src, dst):
    shutil.copytree(src, dst, symlinks=True)
