// Model commands: init, logits, fold, compress, inspect.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli_common.h"
#include "common/errors.h"
#include "common/json_file.h"
#include "common/runtime.h"
#include "data/tokenizer.h"
#include "data/model_tokenizer.h"
#include "io/hf_export.h"
#include "io/model_io.h"
#include "io/npy.h"
#include "model/fold.h"

namespace headlab::cli {
namespace fs = std::filesystem;
using model::ModuleKind;

std::vector<int64_t> parse_token_list(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    try {
      out.push_back(std::stoll(item, &used));
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size()) throw InputError("--tokens: '" + item + "' is not an integer");
  }
  if (out.empty()) throw InputError("--tokens: no tokens given");
  return out;
}

std::vector<int64_t> tokens_for(const model::ModelConfig& config, const std::string& tokens, const std::string& text) {
  if (!tokens.empty() == !text.empty()) throw InputError("give exactly one of --tokens and --text");
  std::vector<int64_t> ids;
  if (!tokens.empty()) {
    ids = parse_token_list(tokens);
  } else {
    if (config.tokenizer.is_null()) throw InputError("--text: this model's config has no tokenizer; use --tokens");
    ids = data::shared_model_tokenizer(config.tokenizer, config.files_dir)->encode(text);
    if (ids.empty()) throw InputError("--text: empty text");
  }
  for (int64_t id : ids)
    if (id < 0 || id >= config.vocab_size)
      throw InputError("token " + std::to_string(id) + " is outside the vocabulary [0, " +
                       std::to_string(config.vocab_size) + ")");
  return ids;
}

namespace {

void print_fold_report(const model::FoldReport& report) {
  std::cout << "folded " << report.folded.size() << " matrices";
  for (const auto& f : report.folded) std::cout << " " << f;
  std::cout << "\n";
  for (const auto& s : report.skipped) std::cout << "kept (cannot fold): " << s << "\n";
}

void inspect(const fs::path& dir) {
  auto m = io::load_model(dir);
  const auto& c = m->config();
  std::cout << "model " << dir.string() << "\n" << c.to_json().dump(2) << "\n\nparameters\n";
  std::map<std::string, int64_t> parts;
  int64_t total = 0;
  for (const auto& [name, t] : m->named_tensors()) {
    std::string part = "other";
    if (name.rfind("tok_emb", 0) == 0) part = "embeddings";
    else if (name.rfind("lm_head", 0) == 0) part = "lm_head";
    else if (name.find(".kha.") != std::string::npos) part = "kha";
    else if (name.find(".mea.") != std::string::npos) part = "mea";
    else if (name.find(".talking.") != std::string::npos) part = "talking_heads";
    else if (name.find("norm") != std::string::npos) part = "norms";
    else if (name.find(".attn.") != std::string::npos) part = "attention projections";
    else if (name.find(".mlp.") != std::string::npos) part = "mlp";
    parts[part] += t.numel();
    total += t.numel();
  }
  for (const auto& [part, n] : parts) std::cout << "  " << std::left << std::setw(24) << part << n << "\n";
  std::cout << "  " << std::left << std::setw(24) << "total" << total << "\n\nmodules (layer: kha mea talking_heads)\n";
  for (int64_t l = 0; l < c.n_layers; ++l) {
    std::cout << "  layer " << l << ":";
    for (ModuleKind k : model::kAllModuleKinds) std::cout << " " << to_string(m->module_state(l, k));
    std::cout << "\n";
  }
  std::cout << "\nKV cache per token: " << c.kv_cache_bytes_per_token() << " bytes (" << c.stored_kv_heads()
            << " stored kv heads)\n";
}

// An --out that exists is replaced only when the user asks (--force), and only when it is a
// model directory (config.json and model.safetensors, nothing HeadLab did not write there):
// a run directory, or any folder of the user's, is never replaced. Checked before any work.
void check_model_output(const std::string& out, bool force) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::symlink_status(out, ec);
  if (!fs::exists(status)) return;
  if (!force) throw InputError("--out " + out + " already exists: choose a new directory, or pass --force to replace a model directory");
  if (!fs::is_directory(status)) throw InputError("--out " + out + " exists and is not a directory: HeadLab replaces only model directories");
  static const std::set<std::string> model_files = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer.model"};
  bool has_weights = false;
  for (const auto& entry : fs::directory_iterator(out)) {
    const std::string name = entry.path().filename().string();
    if (!model_files.count(name))
      throw InputError("--out " + out + " is not a model directory (it holds '" + name + "'): HeadLab replaces only model directories, even with --force");
    has_weights = has_weights || name == "model.safetensors";
  }
  if (!has_weights) throw InputError("--out " + out + " is not a model directory (no model.safetensors): HeadLab replaces only model directories");
}

}  // namespace

void add_model_commands(CLI::App& app) {
  {
    auto* cmd = app.add_subcommand("init", "Write a freshly initialized model directory");
    auto config = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto seed = std::make_shared<uint64_t>(0);
    cmd->add_option("--config", *config, "Model config.json (MODEL.md §5), or a training config with a 'model' key")
        ->required();
    cmd->add_option("--seed", *seed, "Initialization seed");
    cmd->add_option("--out", *out, "Output model directory (must not exist, unless --force)")->required();
    auto force = std::make_shared<bool>(false);
    cmd->add_flag("--force", *force, "Replace --out when it is a model directory");
    cmd->callback([=] {
      check_model_output(*out, *force);
      auto j = read_json_file(*config);
      if (j.is_object() && j.contains("model") && !j.contains("format")) j = j["model"];
      auto c = model::ModelConfig::from_json(j);
      torch::manual_seed(*seed);
      model::Transformer m(c);
      io::save_model(m, *out);
      std::cout << "wrote " << *out << "\n";
    });
  }
  {
    auto* cmd = app.add_subcommand("logits", "Write the logits [T, V] of one sequence as float32 .npy");
    auto model_dir = std::make_shared<std::string>(), tokens = std::make_shared<std::string>(),
         text = std::make_shared<std::string>(), out = std::make_shared<std::string>(),
         device = std::make_shared<std::string>("cpu");
    cmd->add_option("--model", *model_dir, "Model directory or .safetensors file")->required();
    cmd->add_option("--tokens", *tokens, "Comma-separated token ids, e.g. 3,1,4,1,5");
    cmd->add_option("--text", *text, "Text, encoded with the model's tokenizer");
    cmd->add_option("--out", *out, "Output .npy file")->required();
    cmd->add_option("--device", *device, "cpu, cuda or auto");
    cmd->callback([=] {
      auto dev = torch::Device(resolve_device_name(*device));
      auto m = io::load_model(*model_dir, dev);
      auto ids = tokens_for(m->config(), *tokens, *text);
      torch::NoGradGuard no_grad;
      auto input = torch::tensor(ids, torch::kLong).view({1, -1}).to(dev);
      auto logits = m->logits(input)[0].to(torch::kCPU, torch::kFloat32).contiguous();
      io::write_npy(*out, logits);
      std::cout << "wrote " << *out << " [" << logits.size(0) << ", " << logits.size(1) << "]\n";
    });
  }
  {
    auto* cmd = app.add_subcommand("fold", "Fold KHA-linear and MEA mixing into the projections");
    auto model_dir = std::make_shared<std::string>(), out = std::make_shared<std::string>();
    auto modules = std::make_shared<std::vector<std::string>>();
    cmd->add_option("--model", *model_dir, "Model directory")->required();
    cmd->add_option("--out", *out, "Output model directory (must not exist, unless --force)")->required();
    cmd->add_option("--modules", *modules, "Limit to these modules (kha, mea)")->delimiter(',');
    auto force = std::make_shared<bool>(false);
    cmd->add_flag("--force", *force, "Replace --out when it is a model directory");
    cmd->callback([=] {
      check_model_output(*out, *force);
      auto m = io::load_model(*model_dir);
      std::vector<ModuleKind> kinds;
      for (const auto& name : *modules) kinds.push_back(model::module_kind_from_string(name));
      print_fold_report(model::fold_modules(m, kinds));
      io::save_model(m, *out);
      std::cout << "wrote " << *out << "\n";
    });
  }
  {
    auto* cmd = app.add_subcommand("compress", "Compress the KV cache to N virtual kv heads (MEA, SVD)");
    auto model_dir = std::make_shared<std::string>(), out = std::make_shared<std::string>();
    auto heads = std::make_shared<int64_t>(0);
    cmd->add_option("--model", *model_dir, "Model directory")->required();
    cmd->add_option("--kv-heads", *heads, "Virtual kv heads G' to keep")->required();
    cmd->add_option("--out", *out, "Output model directory (must not exist, unless --force)")->required();
    auto force = std::make_shared<bool>(false);
    cmd->add_flag("--force", *force, "Replace --out when it is a model directory");
    cmd->callback([=] {
      check_model_output(*out, *force);
      auto m = io::load_model(*model_dir);
      const int64_t before = m->config().kv_cache_bytes_per_token();
      const int64_t stored_before = m->config().stored_kv_heads();
      model::compress_kv_heads(m, *heads);
      const int64_t after = m->config().kv_cache_bytes_per_token();
      std::cout << "KV cache per token: " << before << " bytes (" << stored_before << " kv heads) -> " << after
                << " bytes (" << m->config().stored_kv_heads() << " kv heads)\n";
      io::save_model(m, *out);
      std::cout << "wrote " << *out << "\n";
    });
  }
  {
    auto* cmd = app.add_subcommand("export-hf", "Write a model as a Hugging Face folder (KHA-linear and MEA mixing folded in)");
    auto model_dir = std::make_shared<std::string>(), out = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    cmd->add_option("--model", *model_dir, "Model directory")->required();
    cmd->add_option("--out", *out, "Output folder (must not exist, unless --force)")->required();
    cmd->add_flag("--force", *force, "Replace --out when it is a model directory");
    cmd->callback([=] {
      check_model_output(*out, *force);
      auto m = io::load_model(*model_dir);
      const auto report = io::export_hf_model(m, *out);
      std::cout << "folded " << report.folded.size() << " matrices into the projections\n"
                << "wrote " << *out << " (" << report.architecture << ", float32)\n";
    });
  }
  {
    auto* cmd = app.add_subcommand("inspect", "Print a model's config, parameter counts and module states");
    auto model_dir = std::make_shared<std::string>();
    cmd->add_option("--model", *model_dir, "Model directory")->required();
    cmd->callback([=] { inspect(*model_dir); });
  }
}

}  // namespace headlab::cli
