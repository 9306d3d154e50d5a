#pragma once
// Shared pieces of headlab-cli's commands. Exit codes: 0 success, 2 bad usage or bad input
// (an InputError, message on stderr), 1 anything else.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "model/model_config.h"

namespace headlab::cli {

// This process's command line, as main() received it (train --nproc starts its ranks with it).
void remember_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

// Each command file adds its subcommands to the app.
void add_model_commands(CLI::App& app);
void add_tokenize_command(CLI::App& app);
// Commands that may end with a code other than 0 (e.g. 130 after Ctrl-C) set exit_code.
void add_train_commands(CLI::App& app, int& exit_code);
void add_eval_commands(CLI::App& app);
void add_probe_commands(CLI::App& app);
void add_compare_commands(CLI::App& app);

// Control characters as visible escapes ("\x1b"), for text printed to a terminal.
std::string escape_control_characters(const std::string& text);

// "3,1,4" -> {3, 1, 4}; throws InputError naming the bad entry.
std::vector<int64_t> parse_token_list(const std::string& text);
// The token ids of exactly one of --tokens / --text, checked against the vocabulary.
std::vector<int64_t> tokens_for(const model::ModelConfig& config, const std::string& tokens, const std::string& text);

}  // namespace headlab::cli
