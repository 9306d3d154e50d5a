// probe: attention maps, head statistics and roles, head similarity, cross-head matrices and
// module ablations of a model on a text or token sequence.
#include <filesystem>
#include <iostream>

#include "cli_common.h"
#include "common/errors.h"
#include "data/tokenizer.h"
#include "data/model_tokenizer.h"
#include "io/atomic_file.h"
#include "io/model_io.h"
#include "io/npy.h"
#include "probe/probe_json.h"
#include "probe/probe_runner.h"

namespace headlab::cli {
namespace fs = std::filesystem;

void add_probe_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("probe", "Probe a model's heads: statistics, roles, similarity, matrices, ablations");
  auto model_dir = std::make_shared<std::string>(), text = std::make_shared<std::string>(),
       tokens = std::make_shared<std::string>(), out = std::make_shared<std::string>(),
       maps = std::make_shared<std::string>();
  auto inline_maps = std::make_shared<bool>(false);
  cmd->add_option("--model", *model_dir, "Model directory or checkpoint")->required();
  cmd->add_option("--text", *text, "Probe text, encoded with the model's tokenizer");
  cmd->add_option("--tokens", *tokens, "Comma-separated token ids");
  cmd->add_option("--out", *out, "Output JSON file")->required();
  cmd->add_option("--maps", *maps, "Also write the attention maps as DIR/attention.npy [L, H, T, T]");
  cmd->add_flag("--inline-maps", *inline_maps, "Put the attention maps into the JSON too");
  cmd->callback([=] {
    auto m = io::load_model(*model_dir);
    const auto& cfg = m->config();
    const auto ids = tokens_for(cfg, *tokens, *text);
    std::shared_ptr<const data::Tokenizer> tok;
    if (!cfg.tokenizer.is_null()) tok = data::shared_model_tokenizer(cfg.tokenizer, cfg.files_dir);
    std::vector<std::string> labels;
    for (int64_t id : ids) labels.push_back(tok ? tok->token_label(id) : std::to_string(id));
    auto snapshot = probe::run_probe(m, ids, labels, 0);
    io::write_file_atomic(*out, probe::full_json(snapshot, *inline_maps).dump(1) + "\n");
    std::cout << "wrote " << *out << "\n";
    if (!maps->empty()) {
      fs::create_directories(*maps);
      const auto path = fs::path(*maps) / "attention.npy";
      io::write_npy(path, snapshot.attention, {snapshot.n_layers, snapshot.n_heads, snapshot.seq_len, snapshot.seq_len});
      std::cout << "wrote " << path.string() << "\n";
    }
    for (const auto& h : snapshot.heads)
      std::printf("layer %d head %d: %-14s induction %.2f previous %.2f sink %.2f entropy %.2f\n", h.layer, h.head,
                  h.role.c_str(), h.induction, h.previous_token, h.sink, h.entropy);
  });
}

}  // namespace headlab::cli
