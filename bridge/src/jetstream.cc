// ringflow/bridge/jetstream.h: the nats.c wrappers. Cold code: every call
// here allocates and talks to the server.

#include "ringflow/bridge/jetstream.h"

#include <nats/nats.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ringflow::bridge {
namespace {

int64_t Millis(absl::Duration d) {
  return std::max<int64_t>(1, absl::ToInt64Milliseconds(d));
}

// nats.c's thread-local detail of the last error ("" when none).
std::string LastErrorText() {
  natsStatus ignored = NATS_OK;
  const char* text = nats_GetLastError(&ignored);
  return text == nullptr ? std::string() : std::string(text);
}

absl::StatusCode CodeOf(natsStatus s) {
  switch (s) {
    case NATS_OK:
      return absl::StatusCode::kOk;
    case NATS_NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case NATS_TIMEOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_IO_ERROR:
    case NATS_NO_RESPONDERS:
    case NATS_NOT_YET_CONNECTED:
      return absl::StatusCode::kUnavailable;
    case NATS_CONNECTION_AUTH_FAILED:
      return absl::StatusCode::kUnauthenticated;
    case NATS_NOT_PERMITTED:
      return absl::StatusCode::kPermissionDenied;
    case NATS_MAX_PAYLOAD:
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_ADDRESS_MISSING:
    case NATS_INVALID_TIMEOUT:
      return absl::StatusCode::kInvalidArgument;
    case NATS_INSUFFICIENT_BUFFER:
    case NATS_NO_MEMORY:
      return absl::StatusCode::kResourceExhausted;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status JsStatus(natsStatus s, jsErrCode code, std::string_view what) {
  absl::Status status = NatsStatus(s, what);
  if (code == JSStreamNotFoundErr || code == JSConsumerNotFoundErr ||
      code == JSNoMessageFoundErr) {
    return absl::NotFoundError(status.message());
  }
  if (code != 0) {
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), " (JetStream error ",
                                     static_cast<int>(code), ")"));
  }
  return status;
}

}  // namespace

absl::Status NatsStatus(int status, std::string_view what) {
  const natsStatus s = static_cast<natsStatus>(status);
  if (s == NATS_OK) return absl::OkStatus();
  std::string message =
      absl::StrCat(std::string(what), ": ", natsStatus_GetText(s));
  const std::string detail = LastErrorText();
  if (!detail.empty() && detail != natsStatus_GetText(s)) {
    absl::StrAppend(&message, " (", detail, ")");
  }
  return absl::Status(CodeOf(s), message);
}

absl::Status ValidateBridgeOptions(const BridgeOptions& o, bool sink) {
  if (o.servers.empty()) {
    return absl::InvalidArgumentError(
        "servers is empty: name at least one "
        "nats:// URL");
  }
  if (o.stream.empty()) {
    return absl::InvalidArgumentError("stream is empty");
  }
  if (sink && o.subject.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("subject is empty: the sink publishes to one of stream '",
                     o.stream, "''s subjects"));
  }
  if (!sink && o.durable.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "durable is empty: the source needs a durable consumer name on "
        "stream '",
        o.stream, "'"));
  }
  if (o.window < 1 || (sink && (o.window & (o.window - 1)) != 0) ||
      o.window > (1 << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("window ", o.window,
                     sink ? " must be a power of two in [1, 2^20]"
                          : " must be in [1, 2^20]"));
  }
  for (const auto& [name, d] : {std::pair<const char*, absl::Duration>{
                                    "connect_timeout", o.connect_timeout},
                                {"request_timeout", o.request_timeout},
                                {"ack_timeout", o.ack_timeout},
                                {"fetch_timeout", o.fetch_timeout},
                                {"reconnect_wait", o.reconnect_wait}}) {
    if (d <= absl::ZeroDuration() || d > absl::Hours(1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, " ", absl::FormatDuration(d), " must be in (0, 1h]"));
    }
  }
  return absl::OkStatus();
}

// --- NatsConnection --------------------------------------------------------

absl::StatusOr<std::unique_ptr<NatsConnection>> NatsConnection::Connect(
    const BridgeOptions& options, BridgeCounters* counters) {
  if (options.servers.empty()) {
    return absl::InvalidArgumentError("servers is empty");
  }
  std::unique_ptr<NatsConnection> c(new NatsConnection());
  c->servers_ = options.servers;
  c->counters_ = counters;
  std::vector<std::string> urls = absl::StrSplit(options.servers, ',');
  std::vector<const char*> url_ptrs;
  for (const std::string& u : urls) url_ptrs.push_back(u.c_str());
  const std::string what = absl::StrCat("connect to ", options.servers);

  natsStatus s = natsOptions_Create(&c->options_);
  if (s != NATS_OK) return NatsStatus(s, what);
  natsOptions* o = c->options_;
  s = natsOptions_SetServers(o, url_ptrs.data(),
                             static_cast<int>(url_ptrs.size()));
  if (s == NATS_OK)
    s = natsOptions_SetTimeout(o, Millis(options.connect_timeout));
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);  // for ever
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectWait(o, Millis(options.reconnect_wait));
  }
  if (s == NATS_OK) s = natsOptions_SetReconnectJitter(o, 10, 10);
  // Publishes made while reconnecting are buffered up to this; beyond it
  // they fail, which the sink treats as backpressure.
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(o, 8 * 1024 * 1024);
  if (s == NATS_OK) s = natsOptions_SetName(o, "ringflow-bridge");
  if (s == NATS_OK && !options.user.empty()) {
    s = natsOptions_SetUserInfo(o, options.user.c_str(),
                                options.password.c_str());
  }
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectedCB(o, &NatsConnection::OnReconnected,
                                     c.get());
  }
  if (s != NATS_OK) return NatsStatus(s, what);
  s = natsConnection_Connect(&c->conn_, o);
  if (s != NATS_OK) {
    c->conn_ = nullptr;
    absl::Status status = NatsStatus(s, what);
    if (s == NATS_NO_SERVER || s == NATS_TIMEOUT) {
      return absl::UnavailableError(absl::StrCat(
          status.message(), "; no server answered within connect_timeout ",
          absl::FormatDuration(options.connect_timeout)));
    }
    if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED) {
      return absl::UnauthenticatedError(absl::StrCat(
          status.message(), "; the server refused user '", options.user, "'"));
    }
    return status;
  }
  return c;
}

NatsConnection::~NatsConnection() {
  if (conn_ != nullptr) {
    natsConnection_Close(conn_);
    natsConnection_Destroy(conn_);
  }
  if (options_ != nullptr) natsOptions_Destroy(options_);
}

void NatsConnection::OnReconnected(natsConnection* /*nc*/, void* closure) {
  auto* self = static_cast<NatsConnection*>(closure);
  if (self->counters_ != nullptr) self->counters_->AddReconnects();
  // Release: pairs with reconnect_epoch()'s acquire load.
  self->reconnect_epoch_.fetch_add(1, std::memory_order_release);
}

int64_t NatsConnection::max_payload() const noexcept {
  return natsConnection_GetMaxPayload(conn_);
}

bool NatsConnection::connected() const noexcept {
  return natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED;
}

// --- JetStream --------------------------------------------------------------

namespace {

void AckTrampoline(jsCtx* /*js*/, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                   void* closure) {
  const auto* h = static_cast<const PublishAckHandler*>(closure);
  if (pa != nullptr) {
    h->on_ack(h->closure, msg, pa->Duplicate, pa->Sequence);
  } else if (pae != nullptr) {
    h->on_error(h->closure, msg, static_cast<int>(pae->Err),
                static_cast<int>(pae->ErrCode),
                pae->ErrText != nullptr ? pae->ErrText : "");
  }
  natsMsg_Destroy(msg);
}

}  // namespace

absl::StatusOr<std::unique_ptr<JetStream>> JetStream::Create(
    NatsConnection& connection, absl::Duration request_timeout,
    const PublishAckHandler* acks) {
  std::unique_ptr<JetStream> j(new JetStream());
  j->connection_ = &connection;
  j->request_timeout_ = request_timeout;
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = Millis(request_timeout);
  if (acks != nullptr) {
    o.PublishAsync.MaxPending = acks->max_pending;
    o.PublishAsync.AckHandler = &AckTrampoline;
    o.PublishAsync.AckHandlerClosure = const_cast<PublishAckHandler*>(acks);
    // A full pending list makes js_PublishAsync fail after this long
    // instead of blocking the sink's loop.
    o.PublishAsync.StallWait = 1;
  }
  natsStatus s = natsConnection_JetStream(&j->js_, connection.get(), &o);
  if (s != NATS_OK) {
    j->js_ = nullptr;
    return NatsStatus(
        s, absl::StrCat("JetStream context on ", connection.servers()));
  }
  return j;
}

JetStream::~JetStream() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
}

absl::Status JetStream::EnsureStream(const StreamSpec& spec) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  std::vector<const char*> subjects;
  for (const std::string& s : spec.subjects) subjects.push_back(s.c_str());
  cfg.Name = spec.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Replicas = spec.replicas;
  cfg.Storage = spec.memory_storage ? js_MemoryStorage : js_FileStorage;
  cfg.Duplicates = absl::ToInt64Nanoseconds(spec.duplicate_window);
  cfg.MaxBytes = spec.max_bytes;
  cfg.MaxMsgSize = spec.max_msg_size;
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(&si, js_, &cfg, nullptr, &code);
  if (si != nullptr) jsStreamInfo_Destroy(si);
  if (s == NATS_OK) return absl::OkStatus();
  const std::string what =
      absl::StrCat("create stream '", spec.name, "' (subjects ",
                   absl::StrJoin(spec.subjects, ","), ", R", spec.replicas,
                   ") on ", connection_->servers());
  // Already there (JSStreamNameExistErr 10058): fine when it exists.
  if (code == 10058) {
    absl::StatusOr<StreamState> state = GetStream(spec.name);
    if (state.ok()) return absl::OkStatus();
    return state.status();
  }
  return JsStatus(s, code, what);
}

absl::StatusOr<StreamState> JetStream::GetStream(std::string_view stream) {
  const std::string name(stream);
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, name.c_str(), nullptr, &code);
  if (s != NATS_OK) {
    absl::Status status =
        JsStatus(s, code,
                 absl::StrCat("stream info of '", name, "' on ",
                              connection_->servers()));
    if (s == NATS_NOT_FOUND || absl::IsNotFound(status)) {
      return absl::NotFoundError(
          absl::StrCat("stream '", name, "' does not exist on ",
                       connection_->servers(), " (", status.message(), ")"));
    }
    return status;
  }
  StreamState out;
  out.name = name;
  out.messages = si->State.Msgs;
  out.first_sequence = si->State.FirstSeq;
  out.last_sequence = si->State.LastSeq;
  out.created_ns = si->Created;
  if (si->Cluster != nullptr) {
    if (si->Cluster->Leader != nullptr) out.leader = si->Cluster->Leader;
    for (int i = 0; i < si->Cluster->ReplicasLen; ++i) {
      if (si->Cluster->Replicas[i]->Name != nullptr) {
        out.replicas.emplace_back(si->Cluster->Replicas[i]->Name);
      }
    }
  }
  jsStreamInfo_Destroy(si);
  return out;
}

absl::Status JetStream::DeleteStream(std::string_view stream) {
  const std::string name(stream);
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteStream(js_, name.c_str(), nullptr, &code);
  return JsStatus(s, code, absl::StrCat("delete stream '", name, "'"));
}

absl::Status JetStream::PurgeStream(std::string_view stream) {
  const std::string name(stream);
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_PurgeStream(js_, name.c_str(), nullptr, &code);
  return JsStatus(s, code, absl::StrCat("purge stream '", name, "'"));
}

absl::StatusOr<std::optional<StoredMessageId>> JetStream::LastMessageId(
    std::string_view stream, std::string_view subject) {
  const std::string name(stream);
  const std::string subj(subject);
  natsMsg* msg = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s =
      js_GetLastMsg(&msg, js_, name.c_str(), subj.c_str(), nullptr, &code);
  if (s != NATS_OK) {
    if (code == JSNoMessageFoundErr) return std::optional<StoredMessageId>();
    if (code == JSStreamNotFoundErr) {
      return absl::NotFoundError(absl::StrCat(
          "stream '", name, "' does not exist on ", connection_->servers()));
    }
    // A stream that exists but has nothing on the subject: nats.c reports
    // NATS_NOT_FOUND without a code on some servers; tell them apart.
    if (s == NATS_NOT_FOUND) {
      absl::StatusOr<StreamState> state = GetStream(name);
      if (!state.ok()) return state.status();
      return std::optional<StoredMessageId>();
    }
    return JsStatus(
        s, code,
        absl::StrCat("last message on '", subj, "' in stream '", name, "'"));
  }
  StoredMessageId out;
  const char* id = nullptr;
  if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) {
    out.id = id;
  }
  out.stream_sequence = natsMsg_GetSequence(msg);
  natsMsg_Destroy(msg);
  return std::optional<StoredMessageId>(std::move(out));
}

absl::Status JetStream::DeleteConsumer(std::string_view stream,
                                       std::string_view consumer) {
  const std::string s_name(stream);
  const std::string c_name(consumer);
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s =
      js_DeleteConsumer(js_, s_name.c_str(), c_name.c_str(), nullptr, &code);
  if (s == NATS_OK || code == JSConsumerNotFoundErr) return absl::OkStatus();
  return JsStatus(
      s, code,
      absl::StrCat("delete consumer '", c_name, "' of stream '", s_name, "'"));
}

int JetStream::DropPendingPublishes() noexcept {
  natsMsgList pending;
  std::memset(&pending, 0, sizeof(pending));
  if (js_PublishAsyncGetPendingList(&pending, js_) != NATS_OK) return 0;
  const int n = pending.Count;
  natsMsgList_Destroy(&pending);
  return n;
}

}  // namespace ringflow::bridge
