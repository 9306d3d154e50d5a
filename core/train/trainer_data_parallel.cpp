// Trainer, the data-parallel side: which rows of each global batch this rank trains on, and
// the sum over ranks that makes every rank take the same optimizer step.
//
// Why the whole global batch is drawn on every rank: batches are a pure function of (seed,
// step), so a rank's rows are exactly the rows a one-process run trains on, and a run with N
// ranks sees the same data as a 1-rank run with the same batch_size. Drawing a batch costs
// microseconds next to its forward and backward.
#include "common/errors.h"
#include "dist/gradient_reducer.h"
#include "train/trainer.h"

namespace headlab::train {

void Trainer::check_ranks(const TrainSettings& train, int ranks) {
  if (ranks > train.batch_size)
    throw InputError("train.batch_size (" + std::to_string(train.batch_size) + ") is smaller than the " +
                     std::to_string(ranks) + " ranks: each rank needs at least one row of every batch");
  // Bad HEADLAB_DIST_* values are exit 2 before anything is written, not at the first step.
  dist::overlap_enabled();
  dist::bucket_bytes_cap();
}

void Trainer::set_data_parallel(std::shared_ptr<dist::DataParallel> group) {
  if (group) check_ranks(config_.train, group->world_size());
  dp_ = std::move(group);
  ranks_overlap_.reset();
  reducer_.reset();
}

data::Batch Trainer::rank_share(const data::Batch& batch, double* token_share) const {
  const int64_t rows = batch.inputs.size(0);
  const auto [begin, count] = dp_->share_of(rows);
  data::Batch mine{batch.inputs.narrow(0, begin, count), batch.targets.narrow(0, begin, count),
                   batch.loss_mask.narrow(0, begin, count)};
  // backward_batch averages over the rows it is given; weighed by their share of the batch's
  // scored tokens, the ranks' losses and gradients add up to the whole batch's mean.
  const double all = batch.loss_mask.to(torch::kFloat64).sum().item<double>();
  const double own = mine.loss_mask.to(torch::kFloat64).sum().item<double>();
  *token_share = all > 0 ? own / all : static_cast<double>(count) / static_cast<double>(rows);
  return mine;
}

bool Trainer::begin_overlapped_step() {
  if (!ranks_overlap_) {
    // Every rank must take the same path, or their collectives would not pair up: one vote,
    // at the first step, on HEADLAB_DIST_OVERLAP. CUDA ranks keep the flat allreduce, which
    // stages the gradients through the CPU for Gloo: the Reducer would hand Gloo the CUDA
    // buckets themselves, a path no GPU has checked here (NCCL, its real partner, is still to
    // come).
    const bool can_overlap = dist::overlap_enabled() && device_.is_cpu();
    auto against = torch::tensor({can_overlap ? 0.0 : 1.0}, torch::kFloat64);
    dp_->allreduce_sum({against});
    ranks_overlap_ = against.item<double>() == 0;
    if (*ranks_overlap_) reducer_ = std::make_unique<dist::GradientReducer>(*dp_);
  }
  return *ranks_overlap_;
}

double Trainer::reduce_over_ranks(double local_loss, bool gradients_reduced) {
  std::vector<torch::Tensor> tensors;
  if (!gradients_reduced)
    for (auto& p : model_->parameters())
      if (p.grad().defined()) tensors.push_back(p.grad());
  // The loss and this rank's stop vote travel with the gradients (or alone, after a backward
  // that reduced them): one collective.
  const bool vote = stop_vote && stop_vote();
  auto scalars = torch::tensor({local_loss, vote ? 1.0 : 0.0}, torch::kFloat64);
  tensors.push_back(scalars);
  dp_->allreduce_sum(tensors);
  stop_agreed_ = scalars[1].item<double>() > 0;
  return scalars[0].item<double>();
}

}  // namespace headlab::train
