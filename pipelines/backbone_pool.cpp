#include "pipelines/backbone_pool.h"

namespace strand::pipelines {

BackbonePool::BackbonePool(const model::ModelWeights& weights, ComputeScope& compute) {
  for (size_t i = 0; i < compute.backend_count(); ++i)
    backbones_.push_back(std::make_unique<model::Backbone>(weights, compute.backend(i)));
  shared_ = backbones_.size() == 1 && compute.backend().concurrent_calls();
  busy_.assign(backbones_.size(), 0);
}

BackbonePool::Lease BackbonePool::acquire() {
  if (shared_) return Lease(*this, 0);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    // The least busy backbone with room.
    size_t best = busy_.size();
    for (size_t i = 0; i < busy_.size(); ++i)
      if (busy_[i] < kHoldersPerDevice && (best == busy_.size() || busy_[i] < busy_[best])) best = i;
    if (best < busy_.size()) {
      ++busy_[best];
      return Lease(*this, best);
    }
    freed_.wait(lock);
  }
}

void BackbonePool::give_back(size_t index) {
  if (shared_) return;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    --busy_[index];
  }
  freed_.notify_one();
}

BackbonePool::Lease::~Lease() {
  if (pool_) pool_->give_back(index_);
}

}  // namespace strand::pipelines
