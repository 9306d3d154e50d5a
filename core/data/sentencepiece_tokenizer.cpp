#include "data/sentencepiece_tokenizer.h"

#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "common/errors.h"
#include "data/utf8.h"

namespace headlab::data {

struct SentencePieceTokenizer::Module {
  void* (*load)(const char*, char*, size_t) = nullptr;
  void (*free)(void*) = nullptr;
  int (*size)(void*) = nullptr;
  int (*piece)(void*, int, char*, int, int*) = nullptr;
  long (*encode)(void*, const char*, size_t, int*, long, char*, size_t) = nullptr;
  long (*decode)(void*, const int*, long, char*, long, char*, size_t) = nullptr;
};

namespace {

constexpr size_t kErrorSize = 512;

// Where the module may be: HEADLAB_SENTENCEPIECE_MODULE, then the build tree, then the
// install tree (both known when this file was compiled).
std::vector<std::string> module_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("HEADLAB_SENTENCEPIECE_MODULE"); env && *env) out.push_back(env);
#ifdef HEADLAB_SENTENCEPIECE_MODULE_BUILD
  out.push_back(HEADLAB_SENTENCEPIECE_MODULE_BUILD);
#endif
#ifdef HEADLAB_SENTENCEPIECE_MODULE_INSTALL
  out.push_back(HEADLAB_SENTENCEPIECE_MODULE_INSTALL);
#endif
  return out;
}

template <typename F>
void bind(void* library, const char* name, F* target) {
  *target = reinterpret_cast<F>(dlsym(library, name));
  if (!*target) throw InputError(std::string("the SentencePiece module lacks ") + name);
}

}  // namespace

namespace {
const SentencePieceTokenizer::Module* load_module_once();
}

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& file)
    : where_(file.string()), file_name_(file.filename().string()) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) {
    throw InputError(where_ + ": cannot read the tokenizer file (missing or not a file)");
  }
  module_ = load_module_once();
  char message[kErrorSize] = {0};
  processor_ = module_->load(file.string().c_str(), message, sizeof message);
  if (!processor_) throw InputError(where_ + ": not a SentencePiece model (" + message + ")");
  // A protobuf parser accepts many byte strings (an empty file is an empty message); a
  // model without pieces is what such a foreign file becomes.
  const int n = module_->size(processor_);
  if (n <= 0) {
    module_->free(processor_);
    throw InputError(where_ + ": not a SentencePiece model (no pieces)");
  }
  pieces_.resize(static_cast<size_t>(n));
  kinds_.resize(static_cast<size_t>(n));
  std::vector<char> buffer(256);
  for (int id = 0; id < n; ++id) {
    int length = module_->piece(processor_, id, buffer.data(), static_cast<int>(buffer.size()), &kinds_[static_cast<size_t>(id)]);
    if (length >= static_cast<int>(buffer.size())) {
      buffer.resize(static_cast<size_t>(length) + 1);
      length = module_->piece(processor_, id, buffer.data(), static_cast<int>(buffer.size()), &kinds_[static_cast<size_t>(id)]);
    }
    pieces_[static_cast<size_t>(id)].assign(buffer.data(), static_cast<size_t>(length));
  }
}

SentencePieceTokenizer::~SentencePieceTokenizer() {
  if (processor_) module_->free(processor_);
}

int64_t SentencePieceTokenizer::vocab_size() const { return static_cast<int64_t>(pieces_.size()); }

void SentencePieceTokenizer::check_id(int64_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw InputError("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                     std::to_string(vocab_size()) + ") of " + where_);
  }
}

std::vector<int64_t> SentencePieceTokenizer::encode(std::string_view utf8) const {
  validate_utf8(utf8, "text");
  char message[kErrorSize] = {0};
  std::vector<int> ids(utf8.size() + 16);  // never more ids than bytes (+ a dummy prefix)
  long n = module_->encode(processor_, utf8.data(), utf8.size(), ids.data(), static_cast<long>(ids.size()), message, sizeof message);
  if (n > static_cast<long>(ids.size())) {
    ids.resize(static_cast<size_t>(n));
    n = module_->encode(processor_, utf8.data(), utf8.size(), ids.data(), n, message, sizeof message);
  }
  if (n < 0) throw InputError(std::string("text: SentencePiece encode failed (") + message + ")");
  return std::vector<int64_t>(ids.begin(), ids.begin() + n);
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> narrow;
  narrow.reserve(ids.size());
  for (int64_t id : ids) {
    check_id(id);
    narrow.push_back(static_cast<int>(id));
  }
  char message[kErrorSize] = {0};
  std::string text(16 * narrow.size() + 16, '\0');
  long n = module_->decode(processor_, narrow.data(), static_cast<long>(narrow.size()), text.data(),
                           static_cast<long>(text.size()), message, sizeof message);
  if (n > static_cast<long>(text.size())) {
    text.resize(static_cast<size_t>(n));
    n = module_->decode(processor_, narrow.data(), static_cast<long>(narrow.size()), text.data(), n, message, sizeof message);
  }
  if (n < 0) throw InputError(std::string("SentencePiece decode failed (") + message + ")");
  text.resize(static_cast<size_t>(n));
  return text;
}

namespace {

const SentencePieceTokenizer::Module* load_module_once() {
  static std::mutex mutex;
  static std::unique_ptr<SentencePieceTokenizer::Module> module;
  std::lock_guard<std::mutex> lock(mutex);
  if (module) return module.get();
  std::string tried;
  for (const auto& path : module_candidates()) {
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!library) {
      tried += "\n  " + path + ": " + dlerror();
      continue;
    }
    auto m = std::make_unique<SentencePieceTokenizer::Module>();
    bind(library, "headlab_spm_load", &m->load);
    bind(library, "headlab_spm_free", &m->free);
    bind(library, "headlab_spm_size", &m->size);
    bind(library, "headlab_spm_piece", &m->piece);
    bind(library, "headlab_spm_encode", &m->encode);
    bind(library, "headlab_spm_decode", &m->decode);
    module = std::move(m);  // the library stays loaded for the life of the process
    return module.get();
  }
  throw InputError("SentencePiece tokenizers need the headlab_sentencepiece module (built with libsentencepiece-dev), "
                   "not found:" + (tried.empty() ? std::string(" no candidate path") : tried));
}

}  // namespace

std::string SentencePieceTokenizer::token_label(int64_t id) const {
  check_id(id);
  const auto n = static_cast<size_t>(id);
  const std::string& piece = pieces_[n];
  if (kinds_[n] == 1 && piece.size() == 6) {  // "<0xE6>"
    return BytesTokenizer().token_label(std::strtol(piece.c_str() + 3, nullptr, 16));
  }
  if (kinds_[n] == 2 || kinds_[n] == 3) return piece;
  static const std::string kSpaceMark = "\xE2\x96\x81";  // "▁" (U+2581), SentencePiece's space
  std::string label;
  for (std::size_t i = 0; i < piece.size();) {
    if (piece.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
      label += "\xE2\x90\xA3";  // "␣", as the other tokenizers label a space
      i += kSpaceMark.size();
    } else if (piece[i] == '\n' || piece[i] == '\t' || piece[i] == '\r') {
      label += piece[i] == '\n' ? "\\n" : piece[i] == '\t' ? "\\t" : "\\r";
      ++i;
    } else {
      label += piece[i++];
    }
  }
  return label;
}

nlohmann::json SentencePieceTokenizer::to_json() const {
  return {{"type", "sentencepiece"}, {"file", file_name_}};
}

}  // namespace headlab::data
