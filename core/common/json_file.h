#pragma once
// Reading JSON files with errors a person can act on (file, line and column), and the
// dotted `--set key=value` overrides of the CLI.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace headlab {

// Throws InputError: "FILE: no such file", "FILE:3:15: invalid JSON: ...".
nlohmann::json read_json_file(const std::filesystem::path& path);

// Throws InputError naming the path unless it is a regular file (symlinks followed): every
// reader checks first, because a FIFO blocks a read forever, a device such as /dev/zero never
// ends, and a directory or a symlink loop is not a file at all.
void require_regular_file(const std::filesystem::path& path);
// nlohmann's explanation of an error without its "[json.exception.parse_error.101] parse error
// at line 1, column 4:" prefix, whose words and positions mean nothing to a user (callers say
// which file, and line and column where they know them).
std::string json_error_text(const nlohmann::json::exception& e);

nlohmann::json parse_json_text(const std::string& text, const std::string& source_name);

// Applies "a.b.c=value" to `target`: value is parsed as JSON when it is valid JSON
// (numbers, true, [1,2]) and taken as a string otherwise. Throws InputError on a bad form.
void apply_override(nlohmann::json& target, const std::string& assignment);

}  // namespace headlab
