// A C interface to Debian's libsentencepiece, loaded by core/data/sentencepiece_tokenizer.cpp
// with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) instead of being linked into the programs.
//
// Why: Debian 12's libsentencepiece exports the protobuf-lite code (3.14) it was built with.
// Linked like any library it sits ahead of libprotobuf 3.21 in the global symbol search, and
// LibTorch's ONNX descriptors then register through its copies and crash before main; put
// behind libprotobuf instead, its own generated code fails protobuf's version check. Loaded
// on its own with DEEPBIND, it binds to its own copies and LibTorch to libprotobuf.
// Plain C types only cross the boundary, so nothing depends on the two sides' C++ layouts.
#include <sentencepiece_processor.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

void copy_error(const std::string& text, char* error, size_t error_size) {
  if (!error || error_size == 0) return;
  std::strncpy(error, text.c_str(), error_size - 1);
  error[error_size - 1] = '\0';
}

sentencepiece::SentencePieceProcessor* processor(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle);
}

}  // namespace

extern "C" {

// The processor for `path`, or null with the library's message in `error`.
__attribute__((visibility("default"))) void* headlab_spm_load(const char* path, char* error, size_t error_size) {
  auto* p = new sentencepiece::SentencePieceProcessor();
  const auto status = p->Load(path);
  if (!status.ok()) {
    copy_error(status.ToString(), error, error_size);
    delete p;
    return nullptr;
  }
  return p;
}

__attribute__((visibility("default"))) void headlab_spm_free(void* handle) { delete processor(handle); }

__attribute__((visibility("default"))) int headlab_spm_size(void* handle) { return processor(handle)->GetPieceSize(); }

// Piece `id` into out (cap bytes, NUL-terminated when it fits); returns its length. kind: 0 a
// normal piece, 1 a byte piece ("<0xE6>"), 2 a control piece, 3 the unknown piece.
__attribute__((visibility("default"))) int headlab_spm_piece(void* handle, int id, char* out, int cap, int* kind) {
  auto* p = processor(handle);
  const std::string& piece = p->IdToPiece(id);
  *kind = p->IsByte(id) ? 1 : p->IsControl(id) ? 2 : p->IsUnknown(id) ? 3 : 0;
  if (cap > 0) {
    const size_t n = std::min(piece.size(), static_cast<size_t>(cap - 1));
    std::memcpy(out, piece.data(), n);
    out[n] = '\0';
  }
  return static_cast<int>(piece.size());
}

// Encodes text[0, size) into ids (room for cap); returns how many ids there are (call again
// with more room when that exceeds cap), or -1 with the message in `error`.
__attribute__((visibility("default"))) long headlab_spm_encode(void* handle, const char* text, size_t size, int* ids,
                                                              long cap, char* error, size_t error_size) {
  std::vector<int> out;
  const auto status = processor(handle)->Encode(std::string(text, size), &out);
  if (!status.ok()) {
    copy_error(status.ToString(), error, error_size);
    return -1;
  }
  for (long i = 0; i < static_cast<long>(out.size()) && i < cap; ++i) ids[i] = out[static_cast<size_t>(i)];
  return static_cast<long>(out.size());
}

// Decodes ids into text (room for cap bytes); returns its length (call again with more room
// when that exceeds cap), or -1 with the message in `error`.
__attribute__((visibility("default"))) long headlab_spm_decode(void* handle, const int* ids, long n, char* text, long cap,
                                                              char* error, size_t error_size) {
  std::string out;
  const auto status = processor(handle)->Decode(std::vector<int>(ids, ids + n), &out);
  if (!status.ok()) {
    copy_error(status.ToString(), error, error_size);
    return -1;
  }
  if (cap > 0) std::memcpy(text, out.data(), std::min(out.size(), static_cast<size_t>(cap)));
  return static_cast<long>(out.size());
}

}  // extern "C"
