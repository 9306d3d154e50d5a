// Standalone driver for tests/tokenizer/compare_with_hf_js.sh: tokenizes a UTF-8 file with
// HeadLab's tokenizer for a tokenizer.json (or tokenizer.model) and prints the ids as one
// JSON array. Stands in for `headlab-cli tokenize` until that exists; built by the script
// with g++, outside the CMake build.
//
//   tokenize_main TOKENIZER_FILE TEXT_FILE        -> [id, id, ...]
//   tokenize_main TOKENIZER_FILE TEXT_FILE --decode  also checks the decode round trip
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "common/errors.h"
#include "data/hf_bpe_tokenizer.h"
#include "data/sentencepiece_tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: tokenize_main TOKENIZER_FILE TEXT_FILE [--decode]\n";
    return 2;
  }
  try {
    const std::string tokenizer_file = argv[1];
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) throw headlab::InputError(std::string(argv[2]) + ": cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<headlab::data::Tokenizer> tok;
    if (tokenizer_file.size() >= 6 && tokenizer_file.substr(tokenizer_file.size() - 6) == ".model") {
      tok = std::make_unique<headlab::data::SentencePieceTokenizer>(tokenizer_file);
    } else {
      tok = std::make_unique<headlab::data::HfBpeTokenizer>(tokenizer_file);
    }
    const auto t1 = std::chrono::steady_clock::now();
    const auto ids = tok->encode(text.str());
    const auto t2 = std::chrono::steady_clock::now();
    std::string out = "[";
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ',';
      out += std::to_string(ids[i]);
    }
    out += "]\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    const auto ms = [](auto a, auto b) {
      return std::chrono::duration<double, std::milli>(b - a).count();
    };
    std::fprintf(stderr, "tokenize_main: load %.0f ms, encode %.0f ms (%zu bytes -> %zu ids)\n",
                 ms(t0, t1), ms(t1, t2), text.str().size(), ids.size());
    if (argc > 3 && std::string(argv[3]) == "--decode") {
      // A normalizer (Qwen's NFC) changes the text, so the exact round trip holds only
      // without one; re-encoding the decoded text must give the same ids either way.
      const std::string decoded = tok->decode(ids);
      if (tok->encode(decoded) != ids) {
        std::fprintf(stderr, "tokenize_main: encode(decode(ids)) differs from ids\n");
        return 1;
      }
      std::fprintf(stderr, "tokenize_main: decode round trip %s\n",
                   decoded == text.str() ? "gives the text back"
                                         : "gives the normalized text, which re-encodes to the same ids");
    }
  } catch (const headlab::InputError& e) {
    std::fprintf(stderr, "tokenize_main: %s\n", e.what());
    return 2;
  }
  return 0;
}
