#include "controlplane/api/edge_config_service.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/snapshot_chunk_limits.h"
#include "controlplane/api/grpc_status.h"

namespace certgate::controlplane {

namespace v1 = certgate::v1;

// EdgeStream is one edge's Subscribe call. It lives until OnDone.
class EdgeStream final : public grpc::ServerBidiReactor<v1::EdgeMessage, v1::ControlMessage> {
 public:
  explicit EdgeStream(EdgeConfigServiceImpl* service) : service_(service) {
    service_->Register(this);
    StartRead(&in_);
  }

  // Send writes `message`; the caller guarantees no other write is pending.
  void Send(std::shared_ptr<const v1::ControlMessage> message) {
    out_ = std::move(message);
    StartWrite(out_.get());
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      service_->CloseStream(this, absl::OkStatus());
      return;
    }
    absl::Status handled = service_->HandleMessage(this, in_);
    if (!handled.ok()) {
      service_->CloseStream(this, handled);
      return;
    }
    StartRead(&in_);
  }

  // SendSnapshot writes `snapshot` as its chunks, one write at a time; the
  // service sees a single write in flight until the last one completes.
  // Only the chunk being written is copied; the bytes stay shared.
  void SendSnapshot(std::shared_ptr<const SerializedSnapshot> snapshot, size_t chunk_bytes) {
    snapshot_ = std::move(snapshot);
    chunk_bytes_ = chunk_bytes;
    chunk_count_ = snapshot_->ChunkCount(chunk_bytes_);
    next_chunk_ = 0;
    WriteNextChunk();
  }

  void OnWriteDone(bool ok) override {
    out_.reset();
    if (snapshot_ != nullptr) {
      // A closing stream stops between chunks; the edge discards the part.
      if (ok && next_chunk_ < chunk_count_ && !service_->Closing(this)) {
        WriteNextChunk();
        return;
      }
      snapshot_.reset();
      chunk_ = v1::ControlMessage();
    }
    service_->WriteDone(this, ok);
  }

  void OnDone() override {
    service_->Unregister(this);
    delete this;
  }

 private:
  void WriteNextChunk() {
    chunk_ = snapshot_->Chunk(next_chunk_++, chunk_bytes_);
    StartWrite(&chunk_);
  }

  EdgeConfigServiceImpl* service_;
  v1::EdgeMessage in_;
  std::shared_ptr<const v1::ControlMessage> out_;
  // The snapshot being sent, and where.
  std::shared_ptr<const SerializedSnapshot> snapshot_;
  size_t chunk_bytes_ = 0;
  uint32_t chunk_count_ = 0;
  uint32_t next_chunk_ = 0;
  v1::ControlMessage chunk_;
};

namespace {

// RejectedStream answers an unauthenticated Subscribe and ends.
class RejectedStream final : public grpc::ServerBidiReactor<v1::EdgeMessage, v1::ControlMessage> {
 public:
  explicit RejectedStream(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

int64_t NowUnix() { return absl::ToUnixSeconds(absl::Now()); }

}  // namespace

EdgeConfigServiceImpl::EdgeConfigServiceImpl(const Authenticator* auth, SqliteStore* store,
                                             SnapshotBuilder* builder, FleetStatus* fleet,
                                             uint64_t current_version, int64_t chunk_bytes,
                                             bool trace_changes)
    : auth_(auth),
      store_(store),
      builder_(builder),
      fleet_(fleet),
      chunk_bytes_(static_cast<size_t>(
          std::clamp<int64_t>(chunk_bytes, 1, certgate::kMaxSnapshotChunkBytes))),
      current_version_(current_version),
      trace_changes_(trace_changes) {
  pusher_ = std::thread([this] { PushLoop(); });
}

EdgeConfigServiceImpl::~EdgeConfigServiceImpl() { Stop(); }

void EdgeConfigServiceImpl::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (pusher_.joinable()) {
    pusher_.join();
  }
}

grpc::ServerBidiReactor<v1::EdgeMessage, v1::ControlMessage>* EdgeConfigServiceImpl::Subscribe(
    grpc::CallbackServerContext* context) {
  absl::Status allowed = auth_->AuthenticateEdge(AuthorizationOf(*context));
  if (!allowed.ok()) {
    return new RejectedStream(allowed);
  }
  return new EdgeStream(this);
}

void EdgeConfigServiceImpl::OnCommit(uint64_t version) {
  absl::MutexLock lock(&mu_);
  if (version > current_version_) {
    current_version_ = version;
    dirty_ = true;
    if (trace_changes_) {
      ReportTraceLocked();
      trace_ = ChangeTrace();
      trace_.version = version;
      trace_.committed = absl::Now();
    }
  }
}

void EdgeConfigServiceImpl::ReportTraceLocked() {
  if (trace_.version == 0 || trace_.reported || trace_.streams == 0) {
    return;  // nothing was sent: no edge to trace it to
  }
  trace_.reported = true;
  auto ms = [](absl::Duration d) { return absl::ToDoubleMilliseconds(d); };
  std::fprintf(stderr,
               "certgate-control: trace version %llu: delta built %.2f ms, handed %.2f ms (%zu "
               "streams), written %.2f ms (%zu), acknowledged %.2f ms (%zu) after the commit\n",
               static_cast<unsigned long long>(trace_.version), ms(trace_.built), ms(trace_.handed),
               trace_.streams, ms(trace_.written), trace_.writes_done, ms(trace_.acked),
               trace_.acks);
}

void EdgeConfigServiceImpl::CloseAllStreams() {
  std::vector<EdgeStream*> to_finish;
  absl::Status status = absl::UnavailableError("control plane shutting down");
  {
    absl::MutexLock lock(&mu_);
    for (auto& [stream, state] : streams_) {
      if (!state.closing) {
        state.closing = true;
        state.finish_status = status;
      }
      if (MaybeFinishLocked(state)) {
        to_finish.push_back(stream);
      }
    }
  }
  // A stream with a write in flight finishes when the write completes.
  for (EdgeStream* stream : to_finish) {
    stream->Finish(ToGrpcStatus(status));
  }
}

bool EdgeConfigServiceImpl::Closing(EdgeStream* stream) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(stream);
  return it == streams_.end() || it->second.closing;
}

void EdgeConfigServiceImpl::Register(EdgeStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.emplace(stream, StreamState());
}

absl::Status EdgeConfigServiceImpl::HandleMessage(EdgeStream* stream,
                                                  const v1::EdgeMessage& message) {
  std::string node_id;
  bool hello_done = false;
  {
    absl::MutexLock lock(&mu_);
    const StreamState& state = streams_[stream];
    node_id = state.node_id;
    hello_done = state.hello_done;
  }
  int64_t now = NowUnix();
  switch (message.kind_case()) {
    case v1::EdgeMessage::kHello: {
      if (hello_done) {
        return absl::InvalidArgumentError("hello sent twice");
      }
      const v1::Hello& hello = message.hello();
      if (hello.node_id().empty() || hello.node_id().size() > 128) {
        return absl::InvalidArgumentError("hello needs a node_id of 1 to 128 characters");
      }
      absl::Status recorded = store_->WriteStatus([&](StoreTransaction& txn) {
        return txn.RecordEdgeSeen(hello.node_id(), hello.software_version(), now);
      });
      if (!recorded.ok()) {
        return recorded;
      }
      fleet_->EdgeConnected(hello.node_id());
      // What the edge still fails to build survives its restarts and ours.
      fleet_->SetZoneFailures(hello.node_id(), hello.version(), hello.failures());
      absl::MutexLock lock(&mu_);
      StreamState& state = streams_[stream];
      state.node_id = hello.node_id();
      state.hello_done = true;
      // An edge at version 0 always needs the snapshot, even of an empty
      // config; UINT64_MAX makes the pusher treat it as behind.
      state.edge_version = hello.version() == 0 ? UINT64_MAX : hello.version();
      dirty_ = true;
      return absl::OkStatus();
    }
    case v1::EdgeMessage::kAck:
      if (!hello_done) {
        return absl::InvalidArgumentError("the first message must be hello");
      }
      if (trace_changes_) {
        absl::MutexLock lock(&mu_);
        if (trace_.version != 0 && message.ack().version() >= trace_.version) {
          trace_.acked = absl::Now() - trace_.committed;
          if (++trace_.acks == trace_.streams && trace_.handing_done) {
            ReportTraceLocked();
          }
        }
      }
      if (fleet_->SetZoneFailures(node_id, message.ack().version(), message.ack().failures())) {
        // The operator's log, once per change: zone ids (the edge logs names).
        for (const v1::ZoneBuildFailure& failure : message.ack().failures()) {
          std::fprintf(stderr, "edge %s applied version %llu but not zone id %llu: %s\n",
                       node_id.c_str(), static_cast<unsigned long long>(message.ack().version()),
                       static_cast<unsigned long long>(failure.zone_id()), failure.error().c_str());
        }
      }
      return store_->WriteStatus([&](StoreTransaction& txn) {
        return txn.RecordAck(node_id, message.ack().version(), now);
      });
    case v1::EdgeMessage::kNack:
      if (!hello_done) {
        return absl::InvalidArgumentError("the first message must be hello");
      }
      std::fprintf(stderr, "edge %s refused version %llu: %s\n", node_id.c_str(),
                   static_cast<unsigned long long>(message.nack().version()),
                   message.nack().error().c_str());
      return store_->Write([&](StoreTransaction& txn) {
        return txn.RecordNack(node_id, message.nack().version(), message.nack().error(), now);
      });
    case v1::EdgeMessage::kTraffic:
      if (!hello_done) {
        return absl::InvalidArgumentError("the first message must be hello");
      }
      fleet_->AddTraffic(message.traffic(), absl::Now());
      return store_->WriteStatus(
          [&](StoreTransaction& txn) { return txn.RecordEdgeSeen(node_id, "", now); });
    default:
      return absl::InvalidArgumentError("empty edge message");
  }
}

bool EdgeConfigServiceImpl::MaybeFinishLocked(StreamState& state) {
  if (state.closing && !state.in_flight && !state.finished) {
    state.finished = true;
    return true;
  }
  return false;
}

void EdgeConfigServiceImpl::CloseStream(EdgeStream* stream, absl::Status status) {
  bool finish = false;
  {
    absl::MutexLock lock(&mu_);
    StreamState& state = streams_[stream];
    if (!state.closing) {
      state.closing = true;
      state.finish_status = status;
    }
    finish = MaybeFinishLocked(state);
  }
  if (finish) {
    stream->Finish(ToGrpcStatus(status));
  }
}

void EdgeConfigServiceImpl::WriteDone(EdgeStream* stream, bool ok) {
  bool finish = false;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    StreamState& state = streams_[stream];
    state.in_flight = false;
    if (trace_changes_ && ok && state.edge_version == trace_.version && trace_.version != 0) {
      trace_.written = absl::Now() - trace_.committed;
      ++trace_.writes_done;
    }
    if (!ok) {
      // The call is broken; its pending read fails too and closes it.
      state.closing = true;
    }
    dirty_ = true;
    finish = MaybeFinishLocked(state);
    status = state.finish_status;
  }
  if (finish) {
    stream->Finish(ToGrpcStatus(status));
  }
}

void EdgeConfigServiceImpl::Unregister(EdgeStream* stream) {
  std::string node_id;
  {
    absl::MutexLock lock(&mu_);
    auto it = streams_.find(stream);
    if (it == streams_.end()) {
      return;
    }
    if (it->second.hello_done) {
      node_id = it->second.node_id;
    }
    streams_.erase(it);
  }
  if (!node_id.empty()) {
    fleet_->EdgeDisconnected(node_id);
  }
}

void EdgeConfigServiceImpl::PushLoop() {
  uint64_t refreshed_version = 0;
  while (true) {
    std::vector<std::pair<EdgeStream*, uint64_t>> work;
    bool refresh = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return dirty_ || stopping_; };
      // The timeout is a safety net only; every state change sets dirty_.
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(1));
      if (stopping_) {
        return;
      }
      dirty_ = false;
      refresh = refreshed_version != current_version_;
      refreshed_version = current_version_;
      for (auto& [stream, state] : streams_) {
        if (state.hello_done && !state.in_flight && !state.closing &&
            state.edge_version != current_version_) {
          state.in_flight = true;
          work.emplace_back(stream, state.edge_version == UINT64_MAX ? 0 : state.edge_version);
        }
      }
    }
    // Edges at the same version (after a change: all of them) share one
    // build, so a change reaches the whole fleet after one read of the store.
    std::map<uint64_t, absl::StatusOr<EdgeUpdate>> built;
    for (const auto& [stream, from_version] : work) {
      // in_flight keeps the stream alive: it is never finished while set.
      auto found = built.find(from_version);
      if (found == built.end()) {
        found = built.emplace(from_version, builder_->Build(from_version)).first;
        if (trace_changes_ && found->second.ok() && found->second->delta != nullptr) {
          absl::MutexLock lock(&mu_);
          if (found->second->delta->delta().version() == trace_.version) {
            trace_.built = absl::Now() - trace_.committed;
          }
        }
      }
      absl::StatusOr<EdgeUpdate> update = found->second;
      bool send = update.ok() && (update->delta != nullptr || update->snapshot != nullptr);
      bool finish = false;
      absl::Status status;
      {
        absl::MutexLock lock(&mu_);
        StreamState& state = streams_[stream];
        if (!send) {
          if (!update.ok()) {
            std::fprintf(stderr, "building config for edge %s failed: %s\n", state.node_id.c_str(),
                         update.status().ToString().c_str());
          } else {
            state.edge_version = from_version;
          }
          state.in_flight = false;
          finish = MaybeFinishLocked(state);
          status = state.finish_status;
        } else {
          state.edge_version = update->snapshot != nullptr ? update->snapshot->version()
                                                           : update->delta->delta().version();
          if (trace_changes_ && update->delta != nullptr && state.edge_version == trace_.version) {
            ++trace_.streams;
          }
        }
      }
      if (send && update->snapshot != nullptr) {
        stream->SendSnapshot(std::move(update->snapshot), chunk_bytes_);
      } else if (send) {
        stream->Send(std::move(update->delta));
      } else if (finish) {
        stream->Finish(ToGrpcStatus(status));
      }
    }
    if (trace_changes_ && !work.empty()) {
      absl::MutexLock lock(&mu_);
      if (trace_.streams > 0 && !trace_.handing_done) {
        trace_.handing_done = true;
        trace_.handed = absl::Now() - trace_.committed;
        if (trace_.acks >= trace_.streams) {
          ReportTraceLocked();  // the fleet answered before the loop ended
        }
      }
    }
    if (refresh) {
      // After the edges were sent the change: keeps the next snapshot cheap.
      absl::Status refreshed = builder_->Refresh();
      if (!refreshed.ok()) {
        std::fprintf(stderr, "keeping zone pieces current failed: %s\n",
                     refreshed.ToString().c_str());
      }
    }
  }
}

}  // namespace certgate::controlplane
