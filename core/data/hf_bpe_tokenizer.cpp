#include "data/hf_bpe_tokenizer.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <optional>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "common/errors.h"
#include "data/hf_added_tokens.h"
#include "data/hf_pretokenizer.h"
#include "data/utf8.h"

namespace headlab::data {
namespace {

// Beyond this an id is a corrupt file, not a vocabulary: it would only make us allocate.
constexpr int64_t kMaxId = 16'000'000;

// Model tokens are spelled in GPT-2's byte-level alphabet; we keep the bytes they stand
// for. nullopt when a character is outside the alphabet (such a token can never come out
// of byte-level BPE; it is decoded as its own UTF-8, as the Rust ByteLevel decoder does).
std::optional<std::string> to_bytes(std::string_view spelled) {
  std::string bytes;
  bytes.reserve(spelled.size());
  std::size_t pos = 0;
  char32_t cp = 0;
  const char* reason = "";
  while (pos < spelled.size()) {
    if (!next_code_point(spelled, pos, cp, &reason)) return std::nullopt;
    const int byte = hf::char_to_byte(cp);
    if (byte < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(byte));
  }
  return bytes;
}

// The label of a token's bytes: whitespace and controls made visible, the bytes of a
// character split across tokens in hex.
std::string label_of_bytes(std::string_view bytes) {
  std::string label;
  std::size_t pos = 0;
  char32_t cp = 0;
  const char* reason = "";
  char buffer[16];
  while (pos < bytes.size()) {
    const std::size_t start = pos;
    if (!next_code_point(bytes, pos, cp, &reason)) {
      std::snprintf(buffer, sizeof buffer, "0x%02x", static_cast<unsigned char>(bytes[start]));
      label += buffer;
      pos = start + 1;
      continue;
    }
    switch (cp) {
      case U' ': label += "\xE2\x90\xA3"; break;  // "␣" (U+2423 OPEN BOX)
      case U'\n': label += "\\n"; break;
      case U'\t': label += "\\t"; break;
      case U'\r': label += "\\r"; break;
      default:
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
          label += code_point_name(cp);
        } else {
          append_utf8(label, cp);
        }
    }
  }
  return label;
}

const nlohmann::json& field(const nlohmann::json& object, const char* key,
                            const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) throw InputError(where + "." + key + " is missing");
  return *it;
}

// `where` is a callable that names the field: built only for the message, since vocabularies
// have 150k entries to check.
template <typename Where>
int32_t parse_id(const nlohmann::json& value, const Where& where) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > kMaxId) {
    throw InputError(where() + " must be a token id in [0, " + std::to_string(kMaxId) +
                     "], got " + value.dump());
  }
  return static_cast<int32_t>(value.get<int64_t>());
}

bool optional_flag(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw InputError(where + "." + key + " must be true or false");
  return it->get<bool>();
}

std::string optional_string(const nlohmann::json& object, const char* key,
                            const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (!it->is_string()) throw InputError(where + "." + key + " must be a string");
  return it->get<std::string>();
}

}  // namespace

struct HfBpeTokenizer::Impl {
  std::string where;
  std::string file_name;
  hf::Normalizer normalizer;
  hf::PreTokenizer pre_tokenizer;

  std::unordered_map<std::string, int32_t> vocab;  // the bytes a model token stands for
  std::array<int32_t, 256> byte_ids{};             // single-byte tokens, -1 when missing
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  std::unordered_map<uint64_t, Merge> merges;  // keyed by pair_key(left id, right id)
  bool ignore_merges = false;

  std::vector<hf::AddedToken> added;
  std::unordered_map<std::string, int32_t> added_ids;  // content -> id
  hf::TokenTrie raw_trie;          // added tokens matched on the text as given
  hf::TokenTrie normalized_trie;   // those with "normalized": true, matched after the normalizer

  // What decode() emits for each id, and whether the id is an added token (labels).
  enum class Kind : uint8_t { None, Model, Added };
  std::vector<std::string> id_bytes;
  std::vector<Kind> id_kind;

  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }

  void set_token(int32_t id, std::string bytes, Kind kind) {
    const auto index = static_cast<std::size_t>(id);
    if (index >= id_bytes.size()) {
      id_bytes.resize(index + 1);
      id_kind.resize(index + 1, Kind::None);
    }
    id_bytes[index] = std::move(bytes);
    id_kind[index] = kind;
  }

  // InputError for an id with no token (outside the range, or a hole in it).
  void check_id(int64_t id) const;
  void parse_model(const nlohmann::json& model);
  void parse_added(const nlohmann::json& list);
  void bpe(const std::string& word, std::vector<int32_t>& out) const;
  void encode_piece(std::string_view piece, std::vector<int64_t>& ids, hf::MatchScratch& scratch,
                    std::unordered_map<std::string, std::vector<int32_t>>& cache) const;
};

void HfBpeTokenizer::Impl::parse_model(const nlohmann::json& model) {
  const std::string at = where + ": model";
  if (!model.is_object()) throw InputError(at + " must be an object");
  const std::string type = optional_string(model, "type", at);
  if (type.empty() ? !model.contains("merges") : type != "BPE") {
    throw InputError(at + ".type \"" + type +
                     "\" is not supported: HeadLab reads byte-level BPE tokenizer.json files "
                     "(GPT-2, Llama 3, Qwen); for a SentencePiece model use its tokenizer.model");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (!optional_string(model, key, at).empty()) {
      throw InputError(at + "." + key + " is set: that is a word-piece style BPE, not byte-level");
    }
  }
  const auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    throw InputError(at + ".dropout is set: BPE dropout is for training, encode would be random");
  }
  ignore_merges = optional_flag(model, "ignore_merges", at);

  const auto& vocab_json = field(model, "vocab", at);
  if (!vocab_json.is_object()) throw InputError(at + ".vocab must be an object (token -> id)");
  vocab.reserve(vocab_json.size());
  for (const auto& [spelled, id_json] : vocab_json.items()) {
    const int32_t id = parse_id(id_json, [&] { return at + ".vocab[\"" + spelled + "\"]"; });
    auto bytes = to_bytes(spelled);
    if (bytes) vocab[*bytes] = id;
    set_token(id, bytes ? std::move(*bytes) : spelled, Kind::Model);
  }
  byte_ids.fill(-1);
  for (int b = 0; b < 256; ++b) {
    const auto it = vocab.find(std::string(1, static_cast<char>(b)));
    if (it != vocab.end()) byte_ids[b] = it->second;
  }

  const auto& merges_json = field(model, "merges", at);
  if (!merges_json.is_array()) throw InputError(at + ".merges must be an array");
  merges.reserve(merges_json.size());
  for (std::size_t rank = 0; rank < merges_json.size(); ++rank) {
    const auto& entry = merges_json[rank];
    const auto here = [&] { return at + ".merges[" + std::to_string(rank) + "]"; };
    // Two spellings exist: "a b" (older files) and ["a", "b"] (tokenizers >= 0.20).
    std::string left, right;
    if (entry.is_string()) {
      const std::string line = entry.get<std::string>();
      const std::size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        throw InputError(here() + " (\"" + line + "\") must be two tokens separated by one space");
      }
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() &&
               entry[1].is_string()) {
      left = entry[0].get<std::string>();
      right = entry[1].get<std::string>();
    } else {
      throw InputError(here() + " must be \"a b\" or [\"a\", \"b\"], got " + entry.dump());
    }
    const auto left_bytes = to_bytes(left);
    const auto right_bytes = to_bytes(right);
    const auto left_it = left_bytes ? vocab.find(*left_bytes) : vocab.end();
    const auto right_it = right_bytes ? vocab.find(*right_bytes) : vocab.end();
    const auto merged_it = left_bytes && right_bytes ? vocab.find(*left_bytes + *right_bytes)
                                                     : vocab.end();
    if (left_it == vocab.end() || right_it == vocab.end() || merged_it == vocab.end()) {
      const std::string& missing = left_it == vocab.end()    ? left
                                   : right_it == vocab.end() ? right
                                                             : left + right;
      throw InputError(here() + " uses \"" + missing + "\", which is not in model.vocab");
    }
    // A repeated pair takes its last rank, as the Rust HashMap it is collected into does.
    merges[pair_key(left_it->second, right_it->second)] = {static_cast<int32_t>(rank),
                                                           merged_it->second};
  }
}

void HfBpeTokenizer::Impl::parse_added(const nlohmann::json& list) {
  const std::string at = where + ": added_tokens";
  if (list.is_null()) return;
  if (!list.is_array()) throw InputError(at + " must be an array");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string here = at + "[" + std::to_string(i) + "]";
    const auto& entry = list[i];
    if (!entry.is_object()) throw InputError(here + " must be an object");
    const auto& content = field(entry, "content", here);
    if (!content.is_string() || content.get<std::string>().empty()) {
      throw InputError(here + ".content must be a non-empty string");
    }
    hf::AddedToken token;
    token.content = content.get<std::string>();
    validate_utf8(token.content, here + ".content");
    token.id = parse_id(field(entry, "id", here), [&] { return here + ".id"; });
    token.single_word = optional_flag(entry, "single_word", here);
    token.lstrip = optional_flag(entry, "lstrip", here);
    token.rstrip = optional_flag(entry, "rstrip", here);
    // Rust's AddedToken defaults "normalized" to true when the field is absent.
    const bool normalized =
        entry.contains("normalized") ? optional_flag(entry, "normalized", here) : true;
    const auto index = static_cast<int32_t>(added.size());
    if (normalized && !normalizer.is_identity()) {
      normalized_trie.insert(normalizer.apply(token.content), index);
    } else {
      raw_trie.insert(token.content, index);
    }
    // The ByteLevel decoder maps a token through the byte alphabet when every character is
    // in it ("<|endoftext|>" is plain ASCII), and emits its UTF-8 otherwise.
    auto bytes = to_bytes(token.content);
    set_token(token.id, bytes ? std::move(*bytes) : token.content, Kind::Added);
    added_ids[token.content] = token.id;
    added.push_back(std::move(token));
  }
}

// Rust's Word::merge_all: repeatedly merge the adjacent pair of lowest rank (leftmost
// first), through a heap of candidate merges that goes stale as its neighbours change.
void HfBpeTokenizer::Impl::bpe(const std::string& word, std::vector<int32_t>& out) const {
  if (ignore_merges) {
    const auto it = vocab.find(word);
    if (it != vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool removed;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  for (std::size_t i = 0; i < word.size(); ++i) {
    const auto byte = static_cast<unsigned char>(word[i]);
    if (byte_ids[byte] < 0) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "0x%02x", byte);
      throw InputError("text: byte " + std::string(buffer) + " has no token in " + where +
                       "'s model.vocab (not a complete byte-level vocabulary)");
    }
    const auto n = static_cast<int32_t>(i);
    symbols.push_back({byte_ids[byte], n - 1, i + 1 < word.size() ? n + 1 : -1, false});
  }
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator<(const Candidate& o) const {  // the heap pops the smallest rank, then pos
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate> queue;
  const auto push_pair = [&](int32_t pos) {
    const int32_t next = symbols[pos].next;
    if (next < 0) return;
    const auto it = merges.find(pair_key(symbols[pos].id, symbols[next].id));
    if (it != merges.end()) queue.push({it->second.rank, pos, it->second.new_id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_pair(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.removed || left.next < 0) continue;
    const Symbol right = symbols[left.next];
    // A stale entry: the pair at this position changed since it was pushed. Like Rust we
    // only compare the merged id.
    const auto it = merges.find(pair_key(left.id, right.id));
    if (it == merges.end() || it->second.new_id != top.new_id) continue;
    symbols[left.next].removed = true;
    left.id = top.new_id;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int32_t i = 0; i >= 0 && !symbols.empty(); i = symbols[i].next) out.push_back(symbols[i].id);
}

void HfBpeTokenizer::Impl::encode_piece(
    std::string_view piece, std::vector<int64_t>& ids, hf::MatchScratch& scratch,
    std::unordered_map<std::string, std::vector<int32_t>>& cache) const {
  std::vector<std::string> words;
  pre_tokenizer.split(piece, words, scratch);
  for (const auto& word : words) {
    auto it = cache.find(word);
    if (it == cache.end()) {
      std::vector<int32_t> word_ids;
      bpe(word, word_ids);
      it = cache.emplace(word, std::move(word_ids)).first;
    }
    ids.insert(ids.end(), it->second.begin(), it->second.end());
  }
}

// ---- the tokenizer ----------------------------------------------------------------------

HfBpeTokenizer::HfBpeTokenizer(const nlohmann::json& json, const std::string& where,
                               std::string file_name) {
  auto impl = std::make_unique<Impl>();
  impl->where = where;
  impl->file_name = std::move(file_name);
  if (!json.is_object()) throw InputError(where + " must hold a JSON object");
  impl->normalizer =
      hf::Normalizer::parse(json.value("normalizer", nlohmann::json()), where + ": normalizer");
  impl->pre_tokenizer = hf::PreTokenizer::parse(json.value("pre_tokenizer", nlohmann::json()),
                                                where + ": pre_tokenizer");
  const auto model_it = json.find("model");
  if (model_it == json.end()) {
    throw InputError(where + ": model is missing (not a Hugging Face tokenizer.json?)");
  }
  const auto& model = *model_it;
  impl->parse_model(model);
  if (!impl->pre_tokenizer.has_byte_level()) {
    const bool unk = model.contains("unk_token") && !model["unk_token"].is_null();
    throw InputError(where + ": pre_tokenizer has no ByteLevel step, so this BPE is not "
                     "byte-level" + std::string(unk ? " (it falls back on model.unk_token)" : "") +
                     "; HeadLab reads only byte-level BPE tokenizer.json files (GPT-2, Llama 3, "
                     "Qwen); for a SentencePiece model use its tokenizer.model");
  }
  impl->parse_added(json.value("added_tokens", nlohmann::json()));
  // decode() is the ByteLevel decoder; a file that asks for another one (Metaspace, ...) is
  // not the byte-level BPE its pre-tokenizer claims.
  const auto decoder = json.value("decoder", nlohmann::json());
  const std::string decoder_type = decoder.is_object() ? decoder.value("type", "") : "";
  if (!decoder.is_null() && decoder_type != "ByteLevel") {
    throw InputError(where + ": decoder.type \"" + decoder_type +
                     "\" is not supported (byte-level BPE decodes with ByteLevel)");
  }
  impl_ = std::move(impl);
}

namespace {

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in || std::filesystem::is_directory(file)) {
    throw InputError(file.string() + ": cannot read the tokenizer file (missing or not a file)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(file.string() + ": not valid JSON (" + e.what() + ")");
  }
}

}  // namespace

HfBpeTokenizer::HfBpeTokenizer(const std::filesystem::path& file)
    : HfBpeTokenizer(read_json_file(file), file.string(), file.filename().string()) {}

HfBpeTokenizer::~HfBpeTokenizer() = default;

int64_t HfBpeTokenizer::vocab_size() const {
  return static_cast<int64_t>(impl_->id_bytes.size());
}

std::vector<int64_t> HfBpeTokenizer::encode(std::string_view utf8) const {
  validate_utf8(utf8, "text");
  const Impl& m = *impl_;
  hf::MatchScratch scratch;
  // Per call, so encode stays const and thread-safe; on real text most words repeat.
  std::unordered_map<std::string, std::vector<int32_t>> cache;
  std::vector<int64_t> ids;
  ids.reserve(utf8.size() / 3);
  // Rust's AddedVocabulary::extract_and_normalize: added tokens on the raw text first, then
  // the normalizer on what lies between, then the normalized added tokens on that.
  for (const hf::Segment& raw : hf::split_on_added(utf8, m.raw_trie, m.added)) {
    if (raw.token >= 0) {
      ids.push_back(m.added[static_cast<std::size_t>(raw.token)].id);
      continue;
    }
    const std::string normalized = m.normalizer.apply(utf8.substr(raw.start, raw.end - raw.start));
    for (const hf::Segment& seg : hf::split_on_added(normalized, m.normalized_trie, m.added)) {
      if (seg.token >= 0) {
        ids.push_back(m.added[static_cast<std::size_t>(seg.token)].id);
      } else {
        m.encode_piece(std::string_view(normalized).substr(seg.start, seg.end - seg.start), ids,
                       scratch, cache);
      }
    }
  }
  return ids;
}

void HfBpeTokenizer::Impl::check_id(int64_t id) const {
  if (id < 0 || id >= static_cast<int64_t>(id_kind.size()) ||
      id_kind[static_cast<std::size_t>(id)] == Kind::None) {
    throw InputError("token id " + std::to_string(id) + " is not in the vocabulary of " + where +
                     " (ids [0, " + std::to_string(id_kind.size()) + "), holes excluded)");
  }
}

std::string HfBpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    impl_->check_id(id);
    out += impl_->id_bytes[static_cast<std::size_t>(id)];
  }
  return out;
}

std::string HfBpeTokenizer::token_label(int64_t id) const {
  impl_->check_id(id);
  const auto index = static_cast<std::size_t>(id);
  if (impl_->id_kind[index] == Impl::Kind::Added) {
    // As written, not through the byte alphabet: a special token is a name, not text.
    for (const auto& token : impl_->added) {
      if (token.id == id) return label_of_bytes(token.content);
    }
  }
  return label_of_bytes(impl_->id_bytes[index]);
}

nlohmann::json HfBpeTokenizer::to_json() const {
  return {{"type", "hf"}, {"file", impl_->file_name}};
}

int64_t HfBpeTokenizer::token_to_id(std::string_view token) const {
  const auto added = impl_->added_ids.find(std::string(token));
  if (added != impl_->added_ids.end()) return added->second;
  const auto bytes = to_bytes(token);
  if (!bytes) return -1;
  const auto it = impl_->vocab.find(*bytes);
  return it == impl_->vocab.end() ? -1 : it->second;
}

}  // namespace headlab::data
