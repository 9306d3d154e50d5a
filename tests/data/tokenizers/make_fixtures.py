#!/usr/bin/env python3
"""Writes the small tokenizer fixtures of tests/core/test_hf_tokenizer.cpp, deterministically,
with nothing but the standard library:

  gpt2_style.tokenizer.json    byte-level BPE with GPT-2's pre-tokenizer (ByteLevel regex)
  llama3_style.tokenizer.json  the same model with Llama 3's Split regex and ignore_merges
  qwen2_style.tokenizer.json   the same model with Qwen 2's NFC + Split regex, merges as pairs
  mixed.txt                    the text whose ids the tests check
  tiny_unigram.model           a SentencePiece unigram model with byte fallback

The BPE model is 256 byte tokens plus 300 merges learned here on TRAIN_TEXT, plus one word
("Ġheadlab") that no merge reaches, so that ignore_merges shows. The pre-tokenizer, decoder
and added-token settings are copied from the real tokenizer.json files of those models.

The expected ids (expected_ids.json) come from Hugging Face's JavaScript implementation, not
from this script: after running it, run
    tests/tokenizer/compare_with_hf_js.sh --update-fixtures
"""
import collections
import json
import pathlib
import re
import struct

HERE = pathlib.Path(__file__).resolve().parent
N_MERGES = 300

TRAIN_TEXT = """
The attention head reads the residual stream and writes back into it. In a small transformer
the induction head looks for the previous occurrence of the current token and copies what came
after it. We train the model on text, then we probe the heads one by one: the previous-token
head attends to the token before, the induction head attends to the token after the previous
match. Then the loss drops. There are many heads in the model; the interesting ones are rare.
It's the head's job, isn't it? They're trained, we've seen it, I'm sure they'll learn, you'd see.
def attention(query, key, value):
    scores = query @ key.transpose(-2, -1) / math.sqrt(key.size(-1))
    return torch.softmax(scores, dim=-1) @ value
for (int i = 0; i < n; ++i) { total += values[i] * weights[i]; }
注意力头读取残差流并写回。归纳头寻找当前词元的上一次出现。
注意機構のヘッドは残差ストリームを読み取ります。
Голова внимания читает остаточный поток и пишет в него.
1234567890 2024 365 100 42 3.14159 2,718
"""

MIXED_TEXT = (
    "Hello, world! It's HeadLab's 1st test: 12345 + 6789 = 19134 (ok?).\n"
    "\tThe induction head's attention; THEY'LL see, we'VE seen, I'M here, you'D know.\n"
    "caf\u00e9 vs cafe\u0301 (NFD), na\u00efve co\u00f6perate, \u00c5ngstr\u00f6m A\u030angstro\u0308m\n"
    "\u6ce8\u610f\u529b\u5934 \u65e5\u672c\u8a9e\u306e\u6587\u7ae0 \u041f\u0440\u0438\u0432\u0435\u0442 "
    "\u043c\u0438\u0440 \u0645\u0631\u062d\u0628\u0627 \u0928\u092e\u0938\u094d\u0924\u0947 "
    "\U0001F468\u200d\U0001F469\u200d\U0001F467 \U0001F1EB\U0001F1F7 \U0001F44D\U0001F3FD\n"
    "def f(x):\n        return x ** 2  # square\n\n\n"
    "<|endoftext|> headlab headlab's<|endoftext|>x <tool_call> <|begin_of_text|>end\n"
    "spaces:     five,\u00a0nbsp,\u3000ideographic, tab\t\ttab, crlf\r\n"
    "digits 1 22 333 4444 55555 666666 7777777 \uff11\uff12\uff13 \u0661\u0662\u0663 \u00bd\n"
)

# The pre-tokenizers of the real files (GPT-2, Llama 3, Qwen 2/2.5) word for word.
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def bytes_to_unicode():
    """GPT-2's table: printable bytes stand for themselves, the rest for U+0100 onwards."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_CHARS = bytes_to_unicode()


def spell(text):
    return "".join(BYTE_CHARS[b] for b in text.encode("utf-8"))


def learn_merges(text, n_merges):
    """Plain byte-level BPE training: the most frequent pair wins, ties to the smaller pair."""
    words = collections.Counter(re.findall(r" ?[^\W\d_]+| ?\d| ?[^\w\s]+|\s+", text))
    split = {tuple(spell(w)): c for w, c in words.items()}
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for symbols, count in split.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged = {}
        for symbols, count in split.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + count
        split = merged
    return merges


def added(content, token_id, special=True):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": special}


def byte_level(add_prefix_space, use_regex, trim_offsets=True):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space,
            "trim_offsets": trim_offsets, "use_regex": use_regex}


def split(regex):
    return {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}


def write_bpe_fixtures():
    merges = learn_merges(TRAIN_TEXT, N_MERGES)
    vocab = {BYTE_CHARS[b]: b for b in range(256)}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab[spell(" headlab")] = len(vocab)  # reachable only as a whole word (ignore_merges)
    n = len(vocab)

    def model(ignore_merges, pair_merges):
        m = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
             "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False}
        if ignore_merges is not None:
            m["ignore_merges"] = ignore_merges
        m["vocab"] = vocab
        m["merges"] = [[a, b] for a, b in merges] if pair_merges else [f"{a} {b}" for a, b in merges]
        return m

    files = {
        "gpt2_style.tokenizer.json": {
            "version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [added("<|endoftext|>", n)],
            "normalizer": None,
            "pre_tokenizer": byte_level(False, True),
            "post_processor": byte_level(True, True),
            "decoder": byte_level(True, True),
            "model": model(None, False),
        },
        "llama3_style.tokenizer.json": {
            "version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [added("<|begin_of_text|>", n), added("<|end_of_text|>", n + 1)],
            "normalizer": None,
            "pre_tokenizer": {"type": "Sequence",
                              "pretokenizers": [split(LLAMA3_REGEX), byte_level(False, False)]},
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                          {"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [], "special_tokens": {"<|begin_of_text|>": {
                                   "id": "<|begin_of_text|>", "ids": [n], "tokens": ["<|begin_of_text|>"]}}},
            "decoder": byte_level(True, True),
            "model": model(True, False),
        },
        "qwen2_style.tokenizer.json": {
            "version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [added("<|endoftext|>", n), added("<|im_start|>", n + 1),
                             added("<tool_call>", n + 2, special=False)],
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence",
                              "pretokenizers": [split(QWEN2_REGEX), byte_level(False, False, False)]},
            "post_processor": byte_level(False, False, False),
            "decoder": byte_level(False, False, False),
            "model": model(False, True),
        },
    }
    for name, content in files.items():
        (HERE / name).write_text(json.dumps(content, ensure_ascii=False, indent=1) + "\n",
                                 encoding="utf-8")
    (HERE / "mixed.txt").write_bytes(MIXED_TEXT.encode("utf-8"))


# ---- SentencePiece: the ModelProto written by hand (protobuf wire format) ---------------

def varint(n):
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def field_bytes(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def field_varint(number, value):
    return varint(number << 3) + varint(value & 0xFFFFFFFFFFFFFFFF)


def field_float(number, value):
    return varint(number << 3 | 5) + struct.pack("<f", value)


NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6
SP_PIECES = [  # (piece, score): unigram log-probabilities, higher wins the Viterbi path
    ("\u2581", -2.0), ("\u2581the", -3.0), ("\u2581cat", -4.0), ("\u2581sat", -4.5),
    ("\u2581on", -4.0), ("\u2581mat", -5.0), ("\u2581ca", -5.5), ("at", -5.0), ("s", -6.0),
    ("t", -6.0), ("h", -6.0), ("e", -6.0), ("c", -6.0), ("a", -6.0), ("m", -6.0), ("o", -6.0),
    ("n", -6.0), ("\u00e9", -6.5), ("\u2581caf\u00e9", -4.0), (".", -5.0),
]


def write_sentencepiece_fixture():
    pieces = [("<unk>", 0.0, UNKNOWN), ("<s>", 0.0, CONTROL), ("</s>", 0.0, CONTROL)]
    pieces += [(f"<0x{b:02X}>", 0.0, BYTE) for b in range(256)]
    pieces += [(p, s, NORMAL) for p, s in SP_PIECES]
    proto = b""
    for piece, score, kind in pieces:
        proto += field_bytes(1, field_bytes(1, piece.encode("utf-8")) + field_float(2, score) +
                             field_varint(3, kind))
    trainer = (field_varint(3, 1) +              # model_type: UNIGRAM
               field_varint(4, len(pieces)) +    # vocab_size
               field_varint(35, 1) +             # byte_fallback
               field_varint(40, 0) + field_varint(41, 1) + field_varint(42, 2) +
               field_varint(43, -1))             # unk, bos, eos, pad ids
    normalizer = (field_bytes(1, b"identity") + field_varint(3, 1) +  # add_dummy_prefix
                  field_varint(4, 0) + field_varint(5, 1))  # keep whitespace, escape it as U+2581
    proto += field_bytes(2, trainer) + field_bytes(3, normalizer)
    (HERE / "tiny_unigram.model").write_bytes(proto)


if __name__ == "__main__":
    write_bpe_fixtures()
    write_sentencepiece_fixture()
    print(f"wrote the fixtures in {HERE}; now run tests/tokenizer/compare_with_hf_js.sh "
          "--update-fixtures for expected_ids.json")
