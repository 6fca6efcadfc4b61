#include "pipelines/backbone_pool.h"

namespace strand::pipelines {

BackbonePool::BackbonePool(const model::ModelWeights& weights, ComputeScope& compute) {
  for (size_t i = 0; i < compute.backend_count(); ++i)
    backbones_.push_back(std::make_unique<model::Backbone>(weights, compute.backend(i)));
  shared_ = backbones_.size() == 1 && compute.backend().concurrent_calls();
  busy_.assign(backbones_.size(), false);
}

BackbonePool::Lease BackbonePool::acquire() {
  if (shared_) return Lease(*this, 0);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    for (size_t i = 0; i < busy_.size(); ++i) {
      if (!busy_[i]) {
        busy_[i] = true;
        return Lease(*this, i);
      }
    }
    freed_.wait(lock);
  }
}

void BackbonePool::give_back(size_t index) {
  if (shared_) return;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    busy_[index] = false;
  }
  freed_.notify_one();
}

BackbonePool::Lease::~Lease() {
  if (pool_) pool_->give_back(index_);
}

}  // namespace strand::pipelines
