#include "data/model_tokenizer.h"

#include <map>
#include <mutex>
#include <string>

#include "common/errors.h"
#include "common/json_file.h"
#include "model/hf_config.h"
#include "data/hf_bpe_tokenizer.h"
#include "data/sentencepiece_tokenizer.h"

namespace headlab::data {
namespace {

// The file a tokenizer object names, checked to be a bare name inside the model directory.
std::filesystem::path tokenizer_file(const nlohmann::json& json, const std::string& type,
                                     const std::filesystem::path& model_dir) {
  for (const auto& item : json.items()) {
    if (item.key() != "type" && item.key() != "file") {
      throw InputError("tokenizer." + item.key() + " is not a known key for a " + type +
                       " tokenizer");
    }
  }
  const auto it = json.find("file");
  const char* example = type == "hf" ? "tokenizer.json" : "tokenizer.model";
  if (it == json.end()) {
    throw InputError("tokenizer.file is missing (the " + type + " tokenizer's file name, e.g. \"" +
                     example + "\")");
  }
  if (!it->is_string()) throw InputError("tokenizer.file must be a string");
  const std::string name = it->get<std::string>();
  const bool plain = !name.empty() && name != "." && name != ".." &&
                     name.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
  if (!plain) {
    throw InputError("tokenizer.file (\"" + name + "\") must be a plain file name in the model "
                     "directory, like \"" + example + "\" (no directory part, no \"..\")");
  }
  const std::filesystem::path path = model_dir / name;
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw InputError("tokenizer.file: " + path.string() + " does not exist or is not a file");
  }
  return path;
}

}  // namespace

std::unique_ptr<Tokenizer> load_model_tokenizer(const nlohmann::json& tokenizer_json,
                                                const std::filesystem::path& model_dir) {
  if (tokenizer_json.is_object()) {
    const auto type_it = tokenizer_json.find("type");
    if (type_it != tokenizer_json.end() && type_it->is_string()) {
      const std::string type = type_it->get<std::string>();
      if (type == "hf") {
        return std::make_unique<HfBpeTokenizer>(tokenizer_file(tokenizer_json, type, model_dir));
      }
      if (type == "sentencepiece") {
        return std::make_unique<SentencePieceTokenizer>(
            tokenizer_file(tokenizer_json, type, model_dir));
      }
      if (type != "bytes" && type != "chars") {
        throw InputError("tokenizer.type (\"" + type +
                         "\") must be \"bytes\", \"chars\", \"hf\" or \"sentencepiece\"");
      }
    }
  }
  return Tokenizer::from_json(tokenizer_json);
}

std::unique_ptr<Tokenizer> tokenizer_of_model_dir(const std::filesystem::path& dir) {
  const auto config_file = dir / "config.json";
  const nlohmann::json config = read_json_file(config_file);
  const nlohmann::json tokenizer = model::is_hf_model_dir(dir) ? model::hf_model_config(config, dir).config.tokenizer
                                   : config.is_object() && config.contains("tokenizer") ? config["tokenizer"]
                                                                                        : nlohmann::json();
  if (tokenizer.is_null()) throw InputError(dir.string() + ": the model has no tokenizer (no tokenizer in its config.json, no tokenizer.json or tokenizer.model beside it)");
  return load_model_tokenizer(tokenizer, dir);
}

std::shared_ptr<const Tokenizer> shared_model_tokenizer(const nlohmann::json& tokenizer_json,
                                                        const std::filesystem::path& model_dir) {
  const bool has_file = tokenizer_json.is_object() && tokenizer_json.contains("file") && tokenizer_json["file"].is_string();
  if (!has_file) return load_model_tokenizer(tokenizer_json, model_dir);  // bytes, chars: nothing to read
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Tokenizer>> by_path;    // the newest version of each file
  static std::map<std::string, std::string> version_of;                     // path -> "size:mtime"
  std::error_code ec;
  const auto path = std::filesystem::absolute(model_dir / tokenizer_json["file"].get<std::string>(), ec).lexically_normal();
  const std::string key = path.string() + "|" + tokenizer_json.dump();
  std::string version;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec) {
    const auto mtime = std::filesystem::last_write_time(path, ec).time_since_epoch().count();
    version = std::to_string(size) + ":" + std::to_string(mtime);
  }
  std::lock_guard<std::mutex> lock(mutex);
  auto it = by_path.find(key);
  if (it != by_path.end() && (version.empty() || version_of[key] == version)) return it->second;
  std::shared_ptr<const Tokenizer> loaded = load_model_tokenizer(tokenizer_json, model_dir);
  if (by_path.size() >= 8) by_path.clear(), version_of.clear();  // a handful of models at most
  by_path[key] = loaded;
  version_of[key] = version;
  return loaded;
}

}  // namespace headlab::data
