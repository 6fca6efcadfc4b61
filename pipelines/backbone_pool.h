// One Backbone per backend of a ComputeScope (the weights uploaded to each GPU), lent to a
// pipeline's parallel workers: data parallelism over records, chunks or windows for
// --device cuda:0,cuda:1,... A GPU backbone is lent to two workers at a time (its calls are
// serialised inside Backbone, so one worker's host work, such as preparing inputs or reading
// scores, overlaps the other's GPU work), each to the least busy GPU; a worker waits while all
// are full. The CPU backbone is shared by every worker (its ops are thread-safe and use TBB).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "model/backbone.h"
#include "model/weights.h"
#include "pipelines/compute_scope.h"

namespace strand::pipelines {

class BackbonePool {
 public:
  // `weights` and `compute` must outlive the pool.
  BackbonePool(const model::ModelWeights& weights, ComputeScope& compute);

  // A backbone to use until the lease is destroyed.
  class Lease {
   public:
    Lease(BackbonePool& pool, size_t index) : pool_(&pool), index_(index) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), index_(other.index_) { other.pool_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    model::Backbone& operator*() const { return *pool_->backbones_[index_]; }
    model::Backbone* operator->() const { return pool_->backbones_[index_].get(); }

   private:
    BackbonePool* pool_;
    size_t index_;
  };
  Lease acquire();

  model::Backbone& front() { return *backbones_.front(); }
  size_t size() const { return backbones_.size(); }

 private:
  void give_back(size_t index);

  std::vector<std::unique_ptr<model::Backbone>> backbones_;
  bool shared_ = false;  // one backbone every worker may call at once (the CPU)
  static constexpr int kHoldersPerDevice = 2;
  std::vector<int> busy_;  // holders per backbone
  std::mutex mutex_;
  std::condition_variable freed_;
};

}  // namespace strand::pipelines
