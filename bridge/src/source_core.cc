#include "ringflow/bridge/internal/source_core.h"

#include <nats/nats.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "ringflow/core/internal/status_macros.h"

namespace ringflow::bridge_internal {

absl::StatusOr<std::unique_ptr<SourceCore>> SourceCore::Create(
    const bridge::BridgeOptions& options) {
  RINGFLOW_RETURN_IF_ERROR(bridge::ValidateBridgeOptions(options, false));
  std::unique_ptr<SourceCore> core(new SourceCore(options));
  RINGFLOW_ASSIGN_OR_RETURN(core->connection_, bridge::NatsConnection::Connect(
                                                   options, &core->counters_));
  RINGFLOW_ASSIGN_OR_RETURN(
      core->js_,
      bridge::JetStream::Create(*core->connection_, options.request_timeout));
  RINGFLOW_ASSIGN_OR_RETURN(const bridge::StreamState state,
                            core->js_->GetStream(options.stream));
  // FNV-1a of the name, mixed with the creation time: a stream deleted and
  // created again under the same name is another stream.
  uint64_t h = 1469598103934665603ULL;
  for (const char c : options.stream) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  h ^= static_cast<uint64_t>(state.created_ns) * 0x9e3779b97f4a7c15ULL;
  core->stream_id_ = h == 0 ? 1 : h;
  return core;
}

SourceCore::~SourceCore() {
  Release();
  Unsubscribe();
  js_.reset();
  connection_.reset();
}

void SourceCore::Unsubscribe() noexcept {
  if (sub_ != nullptr) {
    natsSubscription_Destroy(sub_);
    sub_ = nullptr;
  }
}

absl::StatusOr<uint64_t> SourceCore::FirstSequence() {
  RINGFLOW_ASSIGN_OR_RETURN(const bridge::StreamState state,
                            js_->GetStream(options_.stream));
  return state.first_sequence;
}

absl::StatusOr<uint64_t> SourceCore::LastSequence() {
  RINGFLOW_ASSIGN_OR_RETURN(const bridge::StreamState state,
                            js_->GetStream(options_.stream));
  return state.last_sequence;
}

absl::Status SourceCore::Bind(uint64_t start) {
  Release();
  Unsubscribe();
  RINGFLOW_RETURN_IF_ERROR(
      js_->DeleteConsumer(options_.stream, options_.durable));
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = options_.durable.c_str();
  cc.DeliverPolicy = js_DeliverByStartSequence;
  cc.OptStartSeq = std::max<uint64_t>(start, 1);
  cc.AckPolicy = js_AckExplicit;
  cc.AckWait = absl::ToInt64Nanoseconds(options_.ack_timeout);
  cc.MaxAckPending = std::max<int64_t>(4 * options_.window, 1024);
  jsConsumerInfo* ci = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_AddConsumer(&ci, js_->get(), options_.stream.c_str(), &cc,
                                nullptr, &code);
  if (ci != nullptr) jsConsumerInfo_Destroy(ci);
  if (s != NATS_OK) {
    absl::Status st = bridge::NatsStatus(
        s, absl::StrCat("create durable consumer '", options_.durable,
                        "' on stream '", options_.stream, "' at sequence ",
                        start));
    return absl::Status(st.code(), absl::StrCat(st.message(),
                                                " (JetStream "
                                                "error ",
                                                static_cast<int>(code), ")"));
  }
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options_.stream.c_str();
  so.Consumer = options_.durable.c_str();
  s = js_PullSubscribe(&sub_, js_->get(), nullptr, options_.durable.c_str(),
                       nullptr, &so, &code);
  if (s != NATS_OK) {
    sub_ = nullptr;
    return bridge::NatsStatus(
        s, absl::StrCat("pull subscribe to durable '", options_.durable,
                        "' of stream '", options_.stream, "'"));
  }
  return absl::OkStatus();
}

absl::Status SourceCore::Fetch(int max) {
  Release();
  natsMsgList list;
  std::memset(&list, 0, sizeof(list));
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = natsSubscription_Fetch(
      &list, sub_, max,
      std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.fetch_timeout)),
      &code);
  if (s == NATS_TIMEOUT && list.Count == 0) {
    natsMsgList_Destroy(&list);
    return absl::OkStatus();
  }
  if (s != NATS_OK && list.Count == 0) {
    natsMsgList_Destroy(&list);
    counters_.AddErrors();
    return bridge::NatsStatus(
        s, absl::StrCat("fetch from durable '", options_.durable,
                        "' of stream '", options_.stream, "'"));
  }
  for (int i = 0; i < list.Count; ++i) {
    natsMsg* m = list.Msgs[i];
    list.Msgs[i] = nullptr;  // ours now
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
      natsMsg_Destroy(m);
      counters_.AddErrors();
      continue;
    }
    FetchedMessage f;
    f.data = natsMsg_GetData(m);
    f.size = natsMsg_GetDataLength(m);
    f.stream_sequence = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    raw_.push_back(m);
    messages_.push_back(f);
  }
  natsMsgList_Destroy(&list);
  if (!messages_.empty()) empty_fetches_ = 0;
  return absl::OkStatus();
}

bool SourceCore::BindingLooksStale(uint64_t applied) {
  if (++empty_fetches_ < kStaleFetches) return false;
  empty_fetches_ = 0;
  const absl::StatusOr<uint64_t> last = LastSequence();
  return last.ok() && *last > applied;
}

void SourceCore::Ack(int i) noexcept {
  if (natsMsg_Ack(raw_[static_cast<size_t>(i)], nullptr) != NATS_OK) {
    counters_.AddErrors();
    return;
  }
  counters_.AddAcked();
}

SourceCore::Run SourceCore::NextRun(uint64_t applied) noexcept {
  Run run;
  uint64_t expect = applied + 1;
  for (int i = 0; i < size(); ++i) {
    const uint64_t seq = messages_[static_cast<size_t>(i)].stream_sequence;
    if (seq < expect) {
      Ack(i);  // redelivered: already in the ring
      counters_.AddRedeliveredSkipped();
      continue;
    }
    if (seq != expect) {
      run.gap = true;
      break;
    }
    if (run.begin < 0) run.begin = i;
    run.end = i;
    ++expect;
  }
  return run;
}

void SourceCore::Release() noexcept {
  for (natsMsg* m : raw_) natsMsg_Destroy(m);
  raw_.clear();
  messages_.clear();
}

}  // namespace ringflow::bridge_internal
