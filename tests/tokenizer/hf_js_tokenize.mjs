// The JavaScript side of compare_with_hf_js.sh: Hugging Face's own tokenizer implementation
// (@huggingface/tokenizers, the one inside transformers.js) as the independent reference for
// HeadLab's C++ byte-level BPE. Needs HEADLAB_TOKCMP_CACHE: the folder the script installed
// the npm packages into (never the repository).
//
//   node hf_js_tokenize.mjs corpus OUT_TEXT            writes the mixed test corpus
//   node hf_js_tokenize.mjs random-corpus OUT_TEXT     random code points (informative only)
//   node hf_js_tokenize.mjs encode TOKENIZER_JSON TEXT OUT_IDS [--onig-space]
//   node hf_js_tokenize.mjs compare NAME TOKENIZER_JSON TEXT JS_IDS CPP_IDS
//   node hf_js_tokenize.mjs fixtures FIXTURE_DIR       fills expected ids into the fixtures
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const cache = process.env.HEADLAB_TOKCMP_CACHE;
if (!cache) throw new Error("HEADLAB_TOKCMP_CACHE is not set (run compare_with_hf_js.sh)");
const { Tokenizer } = await import(
  pathToFileURL(path.join(cache, "node_modules/@huggingface/tokenizers/dist/tokenizers.mjs")).href
);

// tokenizers.js rewrites \s to \p{White_Space} in the Split patterns it reads from
// tokenizer.json (to match Oniguruma, which the Rust crate uses), but its ByteLevel
// pre-tokenizer keeps GPT-2's pattern as a plain JS regex, whose \s misses U+0085 and adds
// U+FEFF. With `onigSpace` we give ByteLevel the same rewrite, which is what Rust runs.
const ONIG_BYTE_LEVEL =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

function patchByteLevel(step) {
  if (!step) return;
  if (step.byte_encoder && step.pattern instanceof RegExp && step.pattern.source.startsWith("'s|'t")) {
    step.pattern = ONIG_BYTE_LEVEL;
  }
  for (const inner of step.tokenizers ?? []) patchByteLevel(inner);
}

function load(tokenizerJson, onigSpace = false) {
  const json = JSON.parse(fs.readFileSync(tokenizerJson, "utf8"));
  const tokenizer = new Tokenizer(json, {});
  if (onigSpace) patchByteLevel(tokenizer.pre_tokenizer);
  return tokenizer;
}

// encode(text, add_special_tokens=False): raw ids, no BOS, as HeadLab's encode.
function encode(tokenizer, text) {
  return tokenizer.encode(text, { add_special_tokens: false }).ids;
}

// ---- the corpus -----------------------------------------------------------------------
// Hand-written fragments of every kind the pre-tokenizer regexes treat differently, then a
// seeded shuffle of them with random separators, so that unusual neighbours meet.

const prose = `The quick brown fox jumps over the lazy dog. It's a well-known pangram, isn't it?
I'm sure you'RE right; WE'LL see what THEY'D say. She'S here, he'd left, and you've got mail.
"Don't," she said -- 'twas the night before Christmas, and the cat's toys weren't found.
Attention heads in small transformers learn induction: they copy the token that followed the
previous occurrence of the current one. Researchers measure this with repeated random sequences,
where the loss on the second half drops sharply once the circuit forms (around step 1,500).
O'Neill's "rock 'n' roll" band played at 9:30pm on Jan. 3rd, 2024 -- tickets cost $12.50 (USD).
Mr. Smith's e-mail is john.smith+news@example.co.uk; visit https://example.org/path?q=1&lang=en#top.
THE END'S NEAR. I'LL BE BACK. YOU'VE BEEN WARNED. IT'S 'S 'T 'RE 'VE 'M 'LL 'D 'Ll 'lL.
Well... that's... unexpected!!! Really?! (Yes.) [No.] {Maybe.} <Perhaps> «Peut-être» „Vielleicht“.
The café's naïve coöperation with the façade's rôle was déjà vu — an über-cliché, señor.
`;

const cpp = `#include <vector>
#include <string_view>

namespace headlab::data {

// Returns the ids of \`text\`, one per byte; throws on invalid UTF-8.
std::vector<int64_t> encode(std::string_view text) {
  std::vector<int64_t> ids(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    ids[i] = static_cast<int64_t>(static_cast<unsigned char>(text[i]));
  }
  if (ids.empty() && !text.empty()) throw std::runtime_error("impossible");
  return ids;  // NRVO
}

template <typename T, int N = 42>
struct Matrix { T data[N][N]; auto operator[](int i) -> T (&)[N] { return data[i]; } };

}  // namespace headlab::data
\tint x = 0x7fffffff; x <<= 2; x >>= 1; x ^= ~x; bool b = x != 0 && x <= 10 || !b;
`;

const python = `def softmax(x: "np.ndarray", axis: int = -1) -> "np.ndarray":
    """Numerically stable softmax."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class Head(nn.Module):
    def __init__(self, d_model=512, d_head=64):
        super().__init__()
        self.q = nn.Linear(d_model, d_head, bias=False)  # query
        self.k = nn.Linear(d_model, d_head, bias=False)\t# key
\t\tself.v = nn.Linear(d_model, d_head, bias=False)

    def forward(self, x):
        att = (self.q(x) @ self.k(x).transpose(-2, -1)) * self.k.out_features ** -0.5
        return softmax(att) @ self.v(x)

if __name__ == "__main__":
    print(f"{len(sys.argv)=} {3.14159:.2f} {1e-9!r} {'a' * 3}")
    x = [i**2 for i in range(10) if i % 2 == 0]; y = {k: v for k, v in zip("abc", x)}
`;

const json = `{"model": {"d_model": 128, "n_layers": 2, "tokenizer": {"type": "hf", "file": "tokenizer.json"}},
 "lr": 3e-4, "betas": [0.9, 0.95], "ok": true, "none": null, "path": "C:\\\\Users\\\\x\\\\y.txt"}
$ cmake -S . -B build -G Ninja && ninja -C build -j2 2>&1 | tee log.txt; echo "rc=$?"
`;

const scripts = [
  "汉字是世界上最古老的文字之一。我们今天学习注意力机制：查询、键和值。北京欢迎你！",
  "人工智能（AI）的发展非常迅速，2024年的模型比2020年大了100倍。",
  "日本語のテキストです。ひらがな、カタカナ、漢字が混ざっています。東京タワーは333メートル。",
  "ｶﾀｶﾅ（半角）と全角ＡＢＣ１２３、そして「かぎかっこ」『二重』。",
  "한국어 문장입니다. 트랜스포머의 어텐션 헤드를 연구합니다.",
  "مرحبا بالعالم! هذه جملة باللغة العربية، وفيها أرقام ١٢٣٤٥٦٧٨٩٠ و 2024.",
  "שלום עולם, זה משפט בעברית.",
  "Привет, мир! Это предложение на русском языке. ЁЛКИ-ПАЛКИ, ёжик в тумане; 3-й раз.",
  "Γειά σου Κόσμε! Η αυτοπροσοχή (self-attention) είναι απλή.",
  "नमस्ते दुनिया! यह हिन्दी में एक वाक्य है। क्षत्रिय, श्रीमान्, १२३४५।",
  "স্বাগতম বাংলা ভাষায়। தமிழ் மொழி அழகானது. ภาษาไทยไม่มีช่องว่างระหว่างคำ",
  "Tiếng Việt có nhiều dấu: Nguyễn, đường, người, phở, cà phê sữa đá.",
  "Ελληνικά ᾅ ǅ ǈ ǋ ß ẞ ŉ ſt ﬁ ﬀ Ꭰ ꭰ İstanbul ıi Σίσυφος",
  "Emoji: 😀😃😄 👍🏽👍🏿 👨‍👩‍👧‍👦 👩🏽‍💻 🏳️‍🌈 🇫🇷🇯🇵🇺🇸 1️⃣#️⃣ ❤️‍🔥 🧑‍🤝‍🧑 😶‍🌫️ ✊🏾",
  "Math: ∀x∈ℝ, ∃y: x²+y²=z² ⇒ ∑ᵢ aᵢ ≤ ∫₀^∞ f(t) dt ≈ π/2; ½ + ¼ = ¾; Ⅻ ⅷ ① ⑳ ㊿",
  "Fullwidth：ＡＢＣ ａｂｃ ０１２３４５６７８９！ Ideographic　space　here.",
  // Combining sequences: NFD forms that NFC (Qwen's normalizer) composes.
  "Composed é ñ ü Å vs decomposed e\u0301 n\u0303 u\u0308 A\u030A; Hangul jamo \u1112\u1161\u11AB.",
  "Stacked marks: a\u0301\u0316\u0300 q\u0307\u0323 \u0301leading-mark \u0915\u094D\u0937.",
];

const whitespace = [
  " ", "  ", "   ", "    ", "        ", "\t", "\t\t", " \t ", "\n", "\n\n", "\n\n\n", "\r\n",
  "\r\n\r\n", " \n", "  \n  ", "\n \n", "\t\n", " \r\n ", "\u00A0", "\u00A0\u00A0", "\u2009",
  "\u3000", "\u0085", "\u2028", "\u200B", "\uFEFF", "\u000B", "\u000C", " \u00A0 ",
];

const specials = [
  "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|eot_id|>", "<think>",
  "</think>", "<tool_call>", "<|fim_prefix|>", "<|endoftext|", "<|reserved_special_token_7|>",
];

function digits(rand) {
  const n = 1 + Math.floor(rand() * 24);
  let s = "";
  for (let i = 0; i < n; ++i) s += String(Math.floor(rand() * 10));
  return s;
}

function mulberry32(seed) {
  return function () {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function buildCorpus() {
  const parts = [prose, cpp, python, json, scripts.join("\n"), "\n"];
  // Digits of every length 1..40, alone and in context.
  for (let n = 1; n <= 40; ++n) parts.push("1234567890".repeat(5).slice(0, n) + (n % 3 ? " " : "\n"));
  parts.push("3.14159 2,718,281 1e10 0.000001 -42 +7 12:30:45 2024-01-31 v1.2.3 #123 $4.99 50% ");
  parts.push("٠١٢٣٤٥٦٧٨٩ ０１２３ ¹²³ ⁴⁵ ₆₇ ½¾ ⅛\n");
  // Whitespace runs of every length 1..24 between words, tabs and newlines mixed.
  for (let n = 1; n <= 24; ++n) parts.push("w" + " ".repeat(n) + "x" + "\t".repeat(n % 5) + "y\n");
  for (const ws of whitespace) parts.push("a" + ws + "b" + ws + ws + "c" + ws + "\n");
  // Contractions in every case, at word starts and after punctuation.
  for (const c of ["s", "t", "re", "ve", "m", "ll", "d"]) {
    for (const v of [c, c.toUpperCase(), c[0].toUpperCase() + c.slice(1)]) {
      parts.push(`it'${v} (x'${v}) '${v} ''${v} 9'${v} ’${v} `);
    }
  }
  parts.push("\n");
  for (const sp of specials) parts.push(`before${sp}after ${sp} \n${sp}${sp}x `);
  // Seeded random mixtures of all the fragments with random separators.
  const rand = mulberry32(20240531);
  const pool = [...scripts, ...specials, ...prose.split(/(?<= )/), ...cpp.split(/(?<=\n)/),
                ...python.split(/(?<=[ \n])/), ...whitespace];
  let mixed = "";
  while (mixed.length < 30000) {
    const r = rand();
    if (r < 0.15) mixed += digits(rand);
    else if (r < 0.3) mixed += whitespace[Math.floor(rand() * whitespace.length)];
    else {
      const frag = pool[Math.floor(rand() * pool.length)];
      // Cut fragments at random code points so scripts, marks and emoji meet mid-sequence.
      const cps = Array.from(frag);
      const a = Math.floor(rand() * cps.length);
      const b = a + 1 + Math.floor(rand() * 40);
      mixed += cps.slice(a, b).join("");
    }
  }
  parts.push(mixed);
  return parts.join("");
}

// Random code points from every plane-0 and plane-1 block, with spaces between some. Not
// part of the verdict: here PCRE2's Unicode tables (Unicode 14 in Debian 12's 10.42) meet
// Node's ICU (a newer Unicode), so a letter or digit added since then (Nag Mundari digits,
// Egyptian hieroglyphs extended-A) is \p{L}/\p{N} on one side and unassigned on the other.
function buildRandomCodePoints() {
  const rand = mulberry32(7);
  let out = "";
  while (out.length < 30000) {
    const r = rand();
    let cp;
    if (r < 0.5) cp = 0x20 + Math.floor(rand() * (0x3000 - 0x20));
    else if (r < 0.7) cp = 0x3000 + Math.floor(rand() * (0xfffe - 0x3000));
    else if (r < 0.9) cp = 0x10000 + Math.floor(rand() * 0x10000);
    else cp = [0x20, 0x0a, 0x09, 0x85, 0xa0, 0x3000, 0x2028, 0x200b, 0x0d][Math.floor(rand() * 9)];
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    out += String.fromCodePoint(cp);
    if (rand() < 0.2) out += " ";
  }
  return out;
}

// ---- commands -----------------------------------------------------------------------------

// Byte offsets of each token in the (normalized) text: a byte-level token's characters are
// one byte each; an added token is its content.
function offsets(tokenizer, ids) {
  const added = tokenizer.get_added_tokens_decoder();
  const encoder = new TextEncoder();
  const out = new Array(ids.length);
  let at = 0;
  ids.forEach((id, i) => {
    out[i] = at;
    const a = added.get(id);
    at += a ? encoder.encode(a.content).length : Array.from(tokenizer.id_to_token(id) ?? "").length;
  });
  return out;
}

// Identical = the same id starting at the same byte of the text, so one difference costs a
// few tokens, not everything after it.
function compare(name, tokenizerJson, textFile, jsIdsFile, cppIdsFile) {
  const js = JSON.parse(fs.readFileSync(jsIdsFile, "utf8"));
  const cpp = JSON.parse(fs.readFileSync(cppIdsFile, "utf8"));
  const tok = load(tokenizerJson);
  const jsAt = offsets(tok, js);
  const cppAt = offsets(tok, cpp);
  const cppSet = new Set(cpp.map((id, i) => `${cppAt[i]}:${id}`));
  const same = js.filter((id, i) => cppSet.has(`${jsAt[i]}:${id}`)).length;
  const n = Math.max(js.length, cpp.length);
  let first = -1;
  for (let i = 0; i < n && first < 0; ++i) if (js[i] !== cpp[i]) first = i;
  const chars = Array.from(fs.readFileSync(textFile, "utf8")).length;
  const pct = n === 0 ? 100 : (100 * same) / n;
  let line = `${name}: ${first < 0 ? "100" : pct.toFixed(3)}% identical ids (${same}/${n} at the same text offset; JS ${js.length}, C++ ${cpp.length}) on ${chars} characters`;
  if (first >= 0) {
    const show = (ids) => JSON.stringify(ids.slice(Math.max(0, first - 3), first + 4).map((id) => tok.id_to_token(id)));
    line += `\n  first difference at id #${first}: JS ${show(js)} vs C++ ${show(cpp)}` +
            (first > 0 ? `\n  text before it: ${JSON.stringify(tok.decode(js.slice(Math.max(0, first - 8), first)))}` : "");
  }
  console.log(line);
  return first < 0;
}

// tests/data/tokenizers: each fixture tokenizer.json gets the ids of the fixture string.
function fixtures(dir) {
  const text = fs.readFileSync(path.join(dir, "mixed.txt"), "utf8");
  const expected = {};
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".tokenizer.json")).sort()) {
    expected[file] = encode(load(path.join(dir, file)), text);
  }
  const out = { text_file: "mixed.txt", source: "@huggingface/tokenizers (JS) encode(text, {add_special_tokens: false})", ids: expected };
  fs.writeFileSync(path.join(dir, "expected_ids.json"), JSON.stringify(out) + "\n");
  console.log(`wrote ${path.join(dir, "expected_ids.json")} (${Object.keys(expected).join(", ")})`);
}

const [command, ...args] = process.argv.slice(2);
if (command === "corpus") {
  fs.writeFileSync(args[0], buildCorpus());
} else if (command === "random-corpus") {
  fs.writeFileSync(args[0], buildRandomCodePoints());
} else if (command === "encode") {
  const text = fs.readFileSync(args[1], "utf8");
  fs.writeFileSync(args[2], JSON.stringify(encode(load(args[0], args[3] === "--onig-space"), text)) + "\n");
} else if (command === "compare") {
  process.exitCode = compare(...args) ? 0 : 1;
} else if (command === "fixtures") {
  fixtures(args[0]);
} else {
  console.error("usage: node hf_js_tokenize.mjs corpus|encode|compare|fixtures ...");
  process.exitCode = 2;
}
