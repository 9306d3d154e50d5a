#include "io/model_io.h"

#include <fstream>
#include <sstream>

#include "common/errors.h"
#include "common/json_file.h"
#include "common/read_file.h"
#include "io/atomic_file.h"
#include "io/hf_import.h"
#include "io/safetensors.h"
#include "model/model_size.h"

namespace headlab::io {
namespace fs = std::filesystem;
namespace {

std::string shape_string(c10::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

fs::path weights_path_of(const fs::path& path) {
  if (fs::is_directory(path)) return path / kWeightsFile;
  return path;
}

model::ModelConfig config_from(const fs::path& path, const SafetensorsContents* contents) {
  const fs::path config_file = fs::is_directory(path) ? path / kConfigFile : fs::path();
  try {
    if (!config_file.empty() && fs::exists(config_file)) {
      return model::ModelConfig::from_json(read_json_file(config_file));
    }
    if (contents) {
      auto it = contents->metadata.find(kConfigMetadataKey);
      if (it == contents->metadata.end())
        throw InputError(weights_path_of(path).string() + ": no config.json beside it and no '" +
                         kConfigMetadataKey + "' in its metadata");
      return model::ModelConfig::from_json(parse_json_text(it->second, weights_path_of(path).string() + " metadata"));
    }
  } catch (const InputError& e) {
    throw InputError(std::string(e.what()) + " (in " + path.string() + ")");
  }
  throw InputError(path.string() + ": no " + kConfigFile + " found");
}

}  // namespace

void write_model_files(model::Transformer& model, const fs::path& dir) {
  const auto& config = model->config();
  const std::string config_text = config.to_json().dump(2) + "\n";
  NamedTensors tensors;
  for (auto& [name, t] : model->named_tensors()) tensors.emplace_back(name, t.detach());
  write_safetensors(dir / kWeightsFile, tensors, {{kConfigMetadataKey, config.to_json().dump()}});
  write_file_atomic(dir / kConfigFile, config_text);
  // A tokenizer file (a pretrained model's tokenizer.json) travels with the model, so that the
  // saved directory is whole on its own.
  if (config.tokenizer.is_object() && config.tokenizer.contains("file")) {
    const std::string file = config.tokenizer["file"].get<std::string>();
    if (!config.tokenizer_file_bytes)
      throw InputError("the model's tokenizer file " + file + " was not loaded with it; cannot save the model without it");
    write_file_atomic(dir / file, *config.tokenizer_file_bytes);
  }
}

void attach_tokenizer_file(model::ModelConfig& config, const fs::path& dir) {
  config.files_dir = dir;
  if (!config.tokenizer.is_object() || !config.tokenizer.contains("file")) return;
  const fs::path file = dir / config.tokenizer["file"].get<std::string>();
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw InputError(file.string() + ": the tokenizer file that the model's config names is missing");
  config.tokenizer_file_bytes = std::make_shared<const std::string>(read_file_bytes(file));
}

void save_model(model::Transformer& model, const fs::path& dir) {
  AtomicDirectory target(dir);
  write_model_files(model, target.temp_path());
  target.commit();
}

model::ModelConfig load_model_config(const fs::path& path) {
  if (!fs::exists(path)) throw InputError(path.string() + ": no such file or directory");
  if (model::is_hf_model_dir(path)) {
    auto config = model::hf_model_config(read_json_file(path / kConfigFile), path).config;
    attach_tokenizer_file(config, path);
    return config;
  }
  model::ModelConfig config;
  if (fs::is_directory(path) && fs::exists(path / kConfigFile)) {
    config = config_from(path, nullptr);
  } else {
    auto contents = read_safetensors(weights_path_of(path));
    config = config_from(path, &contents);
  }
  attach_tokenizer_file(config, fs::is_directory(path) ? path : path.parent_path());
  return config;
}

model::Transformer load_model(const fs::path& path, const torch::Device& device) {
  if (!fs::exists(path)) throw InputError(path.string() + ": no such file or directory");
  if (model::is_hf_model_dir(path)) return import_hf_model(path, device).model;
  const fs::path weights = weights_path_of(path);
  if (!fs::exists(weights)) throw InputError(path.string() + ": no " + kWeightsFile + " in this directory");
  auto contents = read_safetensors(weights);
  auto config = config_from(path, &contents);
  attach_tokenizer_file(config, fs::is_directory(path) ? path : path.parent_path());
  // Shapes before allocation: a config that does not belong to these weights (vocab_size 1e12
  // next to a 1 MB file) is refused before the model is built, not by std::bad_alloc.
  double file_parameters = 0;
  for (const auto& [name, t] : contents.tensors) file_parameters += static_cast<double>(t.numel());
  const double described = model::parameter_count_lower_bound(config);
  if (described > file_parameters)
    throw InputError(path.string() + ": its config describes a model of at least " +
                     std::to_string(static_cast<long long>(described)) + " parameters, but " + weights.string() +
                     " holds " + std::to_string(static_cast<long long>(file_parameters)) +
                     ": the config and the weights do not belong together");
  model::check_fits_in_memory(described * 4, "the model in " + path.string());
  model::Transformer m(config);
  std::map<std::string, torch::Tensor> by_name(contents.tensors.begin(), contents.tensors.end());
  torch::NoGradGuard no_grad;
  for (auto& [name, param] : m->named_tensors()) {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw InputError(weights.string() + ": missing tensor '" + name + "'");
    if (it->second.sizes() != param.sizes())
      throw InputError(weights.string() + ": tensor '" + name + "' has shape " + shape_string(it->second.sizes()) +
                       ", expected " + shape_string(param.sizes()));
    param.copy_(it->second);
    by_name.erase(it);
  }
  if (!by_name.empty())
    throw InputError(weights.string() + ": unexpected tensor '" + by_name.begin()->first +
                     "' (not part of the model its config describes)");
  m->to(device);
  return m;
}

}  // namespace headlab::io
