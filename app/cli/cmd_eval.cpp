// eval and sample.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <unistd.h>

#include "cli_common.h"
#include "common/errors.h"
#include "common/read_file.h"
#include "common/json_file.h"
#include "data/data_source.h"
#include "data/tokenizer.h"
#include "data/model_tokenizer.h"
#include "io/model_io.h"
#include "train/sampler.h"

namespace headlab::cli {

// Control characters (C0 but tab and newline, DEL, C1 in UTF-8) as visible escapes: \x1b.
namespace {
std::vector<std::string> g_command_line;
}  // namespace

void remember_command_line(int argc, char** argv) { g_command_line.assign(argv, argv + argc); }
const std::vector<std::string>& command_line() { return g_command_line; }

std::string escape_control_characters(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool c1 = c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) < 0xa0;
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || c1) {
      const unsigned code = c1 ? static_cast<unsigned char>(text[++i]) : c;
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", code);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

namespace {

std::shared_ptr<const data::Tokenizer> tokenizer_of(const model::ModelConfig& c) {
  if (c.tokenizer.is_null()) throw InputError("this model's config has no tokenizer");
  return data::shared_model_tokenizer(c.tokenizer, c.files_dir);
}

struct EvalArgs {
  std::string model, data, task, text;
  int64_t batches = 8, batch_size = 8, seq_len = 0;
  uint64_t seed = 1234;
};

// Loss over non-overlapping windows of a text file encoded with the model's own tokenizer.
void eval_text(model::Transformer& m, const EvalArgs& a) {
  // A FIFO or a folder is refused (exit 2) before anything waits on it.
  const std::string text = read_file_bytes(a.text);
  auto ids = tokenizer_of(m->config())->encode(text);
  const int64_t T = a.seq_len > 0 ? a.seq_len : m->config().max_seq_len;
  const int64_t windows = std::min<int64_t>(a.batches * a.batch_size, (static_cast<int64_t>(ids.size()) - 1) / T);
  if (windows <= 0) throw InputError(a.text + ": shorter than one window of " + std::to_string(T + 1) + " tokens");
  torch::NoGradGuard g;
  double nats = 0;
  for (int64_t w = 0; w < windows; ++w) {
    std::vector<int64_t> chunk(ids.begin() + w * T, ids.begin() + w * T + T + 1);
    auto t = torch::tensor(chunk, torch::kLong).view({1, -1});
    auto logits = m->logits(t.narrow(1, 0, T));
    nats += torch::nn::functional::cross_entropy(logits.view({T, -1}), t.narrow(1, 1, T).reshape({-1}),
                                                 torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .item<double>();
  }
  const double tokens = static_cast<double>(windows * T);
  const double bytes_per_token = static_cast<double>(text.size()) / static_cast<double>(ids.size());
  std::printf("tokens %.0f\nloss %.6f\nbits_per_token %.6f\nbits_per_byte %.6f\n", tokens, nats / tokens,
              nats / tokens / std::log(2.0), nats / tokens / std::log(2.0) / bytes_per_token);
}

// The config.json of the run a model was trained in (RUN/model, RUN/checkpoints/step-N);
// null when the model lies elsewhere.
nlohmann::json run_config_of(const std::string& model_path) {
  namespace fs = std::filesystem;
  fs::path dir = fs::absolute(model_path);
  if (!fs::is_directory(dir)) dir = dir.parent_path();
  for (const fs::path& run : {dir.parent_path(), dir.parent_path().parent_path()})
    if (fs::is_regular_file(run / "config.json") && fs::is_regular_file(run / "metrics.jsonl")) {
      try {
        return read_json_file(run / "config.json");
      } catch (const std::exception&) {
        return nullptr;
      }
    }
  return nullptr;
}

void eval_task(model::Transformer& m, const EvalArgs& a) {
  nlohmann::json cfg = !a.data.empty() ? read_json_file(a.data) : nlohmann::json{{"task", a.task}};
  // A task's options (n_symbols, ...) decide its tokenizer. --task alone means the task as
  // the model was trained on it, when the model's run says how that was.
  if (a.data.empty()) {
    const auto run = run_config_of(a.model);
    if (run.is_object() && run.contains("data") && run["data"].is_object() && run["data"].value("task", "") == a.task)
      cfg = run["data"];
  }
  auto source = data::make_data_source(cfg, a.seed);
  if (source->tokenizer().to_json() != m->config().tokenizer)
    throw InputError("the data's tokenizer " + source->tokenizer().to_json().dump() + " differs from the model's " +
                     m->config().tokenizer.dump() +
                     "; give the task options the model was trained with: --data FILE with the 'data' block of its "
                     "training config (e.g. {\"task\": \"" + cfg.value("task", a.task) + "\", \"n_symbols\": ...})");
  const int64_t T = a.seq_len > 0 ? a.seq_len : std::min<int64_t>(64, m->config().max_seq_len);
  torch::NoGradGuard g;
  double nats = 0, scored = 0;
  for (int64_t i = 0; i < a.batches; ++i) {
    auto b = source->batch(data::Split::Validation, static_cast<uint64_t>(i), a.batch_size, T);
    auto logits = m->logits(b.inputs);
    auto ce = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), b.targets.reshape({-1}),
                                                   torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    nats += (ce * b.loss_mask.reshape({-1})).sum().item<double>();
    scored += b.loss_mask.sum().item<double>();
  }
  if (scored == 0) throw InputError("no scored positions in the evaluation batches");
  std::printf("scored_tokens %.0f\nloss %.6f\nbits_per_token %.6f\n", scored, nats / scored, nats / scored / std::log(2.0));
}

}  // namespace

void add_eval_commands(CLI::App& app) {
  {
    auto* cmd = app.add_subcommand("eval", "Loss and bits per token (or byte) of a model on a corpus or task");
    auto a = std::make_shared<EvalArgs>();
    cmd->add_option("--model", a->model, "Model directory")->required();
    cmd->add_option("--data", a->data, "A data config JSON (the 'data' block of a training config)");
    cmd->add_option("--task", a->task, "A synthetic task name (validation split)");
    cmd->add_option("--text", a->text, "A UTF-8 text file, encoded with the model's tokenizer");
    cmd->add_option("--batches", a->batches, "Number of batches");
    cmd->add_option("--batch-size", a->batch_size, "Sequences per batch");
    cmd->add_option("--seq-len", a->seq_len, "Tokens per sequence (default: max_seq_len for text, 64 for tasks)");
    cmd->add_option("--seed", a->seed, "Seed of the task's data");
    cmd->callback([a] {
      if ((!a->data.empty()) + (!a->task.empty()) + (!a->text.empty()) != 1)
        throw InputError("give exactly one of --data, --task and --text");
      if (a->batches <= 0 || a->batch_size <= 0) throw InputError("--batches and --batch-size must be positive");
      auto m = io::load_model(a->model);
      if (!a->text.empty()) eval_text(m, *a);
      else eval_task(m, *a);
    });
  }
  {
    auto* cmd = app.add_subcommand("sample", "Generate text from a model");
    auto model_dir = std::make_shared<std::string>(), prompt = std::make_shared<std::string>();
    auto opts = std::make_shared<train::SampleOptions>();
    cmd->add_option("--model", *model_dir, "Model directory")->required();
    cmd->add_option("--prompt", *prompt, "Prompt text")->required();
    cmd->add_option("--max-tokens", opts->max_tokens, "Tokens to generate");
    cmd->add_option("--temperature", opts->temperature, "Sampling temperature (0: greedy)");
    cmd->add_option("--top-k", opts->top_k, "Sample among the k most likely tokens (0: all)");
    cmd->add_option("--seed", opts->seed, "Sampling seed");
    cmd->callback([=] {
      auto m = io::load_model(*model_dir);
      auto tok = tokenizer_of(m->config());
      auto generated = train::sample(m, tok->encode(*prompt), *opts);
      std::vector<int64_t> ids;
      for (const auto& t : generated) ids.push_back(t.id);
      const std::string text = *prompt + tok->decode(ids);
      // A model's alphabet may hold ESC or BEL: on a terminal they would act, not show.
      std::cout << (isatty(STDOUT_FILENO) ? escape_control_characters(text) : text) << "\n";
    });
  }
}

}  // namespace headlab::cli
