#pragma once
// A whole file's bytes, for the readers that need them all (corpora, tokenizer files, texts to
// tokenize), with the checks every reader owes the user: a FIFO or a device is refused (it
// would block or never end), and the message names the file.
#include <filesystem>
#include <string>

namespace headlab {

// InputError "PATH: ..." when it is not a regular file, cannot be opened or fails mid-read.
std::string read_file_bytes(const std::filesystem::path& path);

}  // namespace headlab
