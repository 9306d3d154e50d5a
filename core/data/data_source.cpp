#include "data/data_source.h"

#include <cstring>

#include "common/errors.h"
#include "data/rng.h"
#include "data/row_task.h"

namespace headlab::data {
namespace {

// The only torch-aware part of data/: turns a RowTask's rows into [B, T] tensors.
class TaskDataSource final : public DataSource {
 public:
  TaskDataSource(std::unique_ptr<RowTask> task, uint64_t seed)
      : task_(std::move(task)), seed_(seed) {}

  const Tokenizer& tokenizer() const override { return task_->tokenizer(); }

  Batch batch(Split split, uint64_t index, int64_t batch_size, int64_t seq_len) const override {
    if (batch_size < 1) {
      throw InputError("batch_size (" + std::to_string(batch_size) + ") must be at least 1");
    }
    check_seq_len(seq_len);
    const auto options = torch::TensorOptions().dtype(torch::kInt64);
    Batch batch{torch::empty({batch_size, seq_len}, options),
                torch::empty({batch_size, seq_len}, options),
                torch::empty({batch_size, seq_len}, torch::TensorOptions().dtype(torch::kFloat32))};
    int64_t* inputs = batch.inputs.data_ptr<int64_t>();
    int64_t* targets = batch.targets.data_ptr<int64_t>();
    float* mask = batch.loss_mask.data_ptr<float>();
    Row row;
    for (int64_t b = 0; b < batch_size; ++b) {
      // One stream per row: a row does not depend on the batch size or on the other rows.
      Rng rng(split == Split::Validation ? kValidationSeed : seed_, batch_stream(split), index, static_cast<uint64_t>(b));
      row.reset(seq_len + 1);
      task_->fill_row(split, rng, seq_len + 1, row);
      if (row.size() != seq_len + 1) {
        throw std::logic_error("data task wrote " + std::to_string(row.size()) +
                               " tokens instead of " + std::to_string(seq_len + 1));
      }
      for (int64_t t = 0; t < seq_len; ++t) {
        inputs[b * seq_len + t] = row.tokens[t];
        targets[b * seq_len + t] = row.tokens[t + 1];
        mask[b * seq_len + t] = row.scored[t + 1] ? 1.0f : 0.0f;
      }
    }
    return batch;
  }

  std::vector<int64_t> probe_tokens(int64_t seq_len) const override {
    if (seq_len < 1) {
      throw InputError("seq_len (" + std::to_string(seq_len) + ") must be at least 1");
    }
    Rng rng(seed_, Stream::Probe);
    Row row;
    row.reset(seq_len);
    task_->fill_probe_row(rng, seq_len, row);
    return row.tokens;
  }

  std::string describe() const override { return task_->describe(); }
  nlohmann::json config() const override { return task_->config(); }

 private:
  void check_seq_len(int64_t seq_len) const { check_sequence_length(*task_, seq_len); }

  std::unique_ptr<RowTask> task_;
  uint64_t seed_;
};

uint64_t hash_tensor(uint64_t h, const torch::Tensor& tensor, uint64_t kind) {
  h = mix64(h ^ kind);
  if (!tensor.defined()) return mix64(h ^ 0xDEADULL);
  h = mix64(h ^ static_cast<uint64_t>(tensor.dim()));
  for (int64_t d = 0; d < tensor.dim(); ++d) h = mix64(h ^ static_cast<uint64_t>(tensor.size(d)));
  if (tensor.is_floating_point()) {
    const torch::Tensor values = tensor.to(torch::kCPU, torch::kFloat32).contiguous();
    const float* data = values.data_ptr<float>();
    for (int64_t i = 0; i < values.numel(); ++i) {
      uint32_t bits = 0;
      std::memcpy(&bits, &data[i], sizeof bits);
      h = mix64(h ^ bits);
    }
  } else {
    const torch::Tensor values = tensor.to(torch::kCPU, torch::kInt64).contiguous();
    const int64_t* data = values.data_ptr<int64_t>();
    for (int64_t i = 0; i < values.numel(); ++i) h = mix64(h ^ static_cast<uint64_t>(data[i]));
  }
  return h;
}

}  // namespace

uint64_t batch_hash(const Batch& batch) {
  uint64_t h = 0x6865616462617463ULL;  // "headbatc"
  h = hash_tensor(h, batch.inputs, 1);
  h = hash_tensor(h, batch.targets, 2);
  h = hash_tensor(h, batch.loss_mask, 3);
  return h;
}

std::unique_ptr<DataSource> make_data_source(const nlohmann::json& data_config, uint64_t seed) {
  return std::make_unique<TaskDataSource>(make_row_task(data_config, seed), seed);
}

}  // namespace headlab::data
