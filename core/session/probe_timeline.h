#pragma once
// A bounded history of probe snapshots over a whole run, for scrubbing how attention and the
// cross-head matrices evolved. When full, every other entry is dropped (the newest is always
// kept) and new entries are admitted only every `stride` steps, which doubles each time:
// memory stays bounded over a 100k-step run while the history still spans all of it.
#include <cstdint>
#include <memory>
#include <vector>

#include "probe/snapshot.h"

namespace headlab::session {

class ProbeTimeline {
 public:
  explicit ProbeTimeline(size_t capacity = 64) : capacity_(capacity < 2 ? 2 : capacity) {}

  void add(std::shared_ptr<const ProbeSnapshot> snapshot) {
    if (!entries_.empty() && snapshot->step < entries_.back()->step + stride_ && snapshot->step != entries_.back()->step) {
      pending_ = std::move(snapshot);  // too close to the last kept one: keep it only as "newest"
      return;
    }
    if (!entries_.empty() && snapshot->step == entries_.back()->step) entries_.pop_back();
    entries_.push_back(std::move(snapshot));
    pending_.reset();
    if (entries_.size() > capacity_) {
      std::vector<std::shared_ptr<const ProbeSnapshot>> kept;
      for (size_t i = 0; i < entries_.size(); ++i)
        if (i % 2 == 0 || i + 1 == entries_.size()) kept.push_back(entries_[i]);
      entries_.swap(kept);
      stride_ *= 2;
    }
  }
  // Oldest first; the newest probe is always the last element.
  std::vector<std::shared_ptr<const ProbeSnapshot>> entries() const {
    auto out = entries_;
    if (pending_) out.push_back(pending_);
    return out;
  }
  // The newest entry at or before `step`, or null.
  std::shared_ptr<const ProbeSnapshot> at(int64_t step) const {
    std::shared_ptr<const ProbeSnapshot> best;
    for (const auto& e : entries())
      if (e->step <= step) best = e;
    return best;
  }
  size_t capacity() const { return capacity_; }
  int64_t stride() const { return stride_; }

 private:
  size_t capacity_;
  int64_t stride_ = 1;
  std::vector<std::shared_ptr<const ProbeSnapshot>> entries_;
  std::shared_ptr<const ProbeSnapshot> pending_;
};

}  // namespace headlab::session
