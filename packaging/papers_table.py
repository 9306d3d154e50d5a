#!/usr/bin/env python3
"""Prints the README's "papers in miniature" table from the files reproduce-papers.sh wrote.
Only formats: every number (means, 95% CIs, paired differences, verdicts) was computed by
headlab-cli (compare's summary.json, stats' JSON)."""
import json
import sys

out = sys.argv[1]


def interval(mean, lo, hi, signed=False):
    f = "{:+.4f}" if signed else "{:.4f}"
    if lo is None or hi is None:
        return f.format(mean)
    return (f + " [" + f + ", " + f + "]").format(mean, lo, hi)


print("| comparison | variant | seeds | final val loss, mean [95% CI] | vs baseline, paired [95% CI] | same sign | verdict |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for name, title in (("kha", "KHA vs baseline"), ("mea", "MEA, group norm on/off"), ("mea-lr", "MEA LR sweep")):
    summary = json.load(open(f"{out}/{name}/summary.json"))
    for v in summary["variants"]:
        e = v["final_val_loss"]
        row = [title, v["name"], str(e["n"]), interval(e["mean"], e["ci_low"], e["ci_high"])]
        b = v.get("vs_baseline")
        if b:
            d = b["difference"]
            row += [interval(d["mean"], d["ci_low"], d["ci_high"], True), f"{b['same_sign']}/{len(b['differences'])}", b["verdict"]]
        else:
            row += ["(baseline)", "", ""]
        print("| " + " | ".join(row) + " |")

virtual = json.load(open(f"{out}/virtual-heads.json"))
for column, label in (("trained", "MEA, 4 KV heads (trained)"), ("compressed", "compressed to 2 virtual KV heads"),
                      ("fine_tuned", "compressed + 100 fine-tuning steps")):
    c = virtual[column]
    row = ["Virtual heads", label, str(c["n"]), interval(c["mean"], c["ci_low"], c["ci_high"])]
    b = c.get("vs_baseline")
    if b:
        row += [interval(b["mean"], b["ci_low"], b["ci_high"], True), f"{b['same_sign']}/{c['n']}", b["verdict"]]
    else:
        row += ["(reference)", "", ""]
    print("| " + " | ".join(row) + " |")
