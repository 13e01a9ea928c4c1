// ringflow/processors/internal/processor.h
//
// Type erasure for the DSL: a `Processor` is a BatchEventProcessor or a
// WorkProcessor seen through a vtable. The virtual calls happen at start,
// shutdown and in checks, never per event: Run() enters the concrete
// processor's loop, which calls its handler on its static type.

#ifndef RINGFLOW_PROCESSORS_INTERNAL_PROCESSOR_H_
#define RINGFLOW_PROCESSORS_INTERNAL_PROCESSOR_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "ringflow/core/sequence.h"
#include "ringflow/core/sequence_barrier.h"

namespace ringflow::processors_internal {

class Processor {
 public:
  virtual ~Processor() = default;
  virtual void Run() = 0;
  virtual void Halt() noexcept = 0;
  virtual bool IsRunning() const noexcept = 0;
  virtual const Sequence& sequence() const noexcept = 0;
  virtual const SequenceBarrier& barrier() const noexcept = 0;
  virtual const std::string& name() const noexcept = 0;
  virtual absl::Status status() const = 0;
};

template <typename P>
class ProcessorAdapter final : public Processor {
 public:
  explicit ProcessorAdapter(std::unique_ptr<P> p) : p_(std::move(p)) {}
  void Run() override { p_->Run(); }
  void Halt() noexcept override { p_->Halt(); }
  bool IsRunning() const noexcept override { return p_->IsRunning(); }
  const Sequence& sequence() const noexcept override { return p_->sequence(); }
  const SequenceBarrier& barrier() const noexcept override {
    return p_->barrier();
  }
  const std::string& name() const noexcept override { return p_->name(); }
  absl::Status status() const override { return p_->status(); }
  P& get() noexcept { return *p_; }

 private:
  std::unique_ptr<P> p_;
};

}  // namespace ringflow::processors_internal

#endif  // RINGFLOW_PROCESSORS_INTERNAL_PROCESSOR_H_
