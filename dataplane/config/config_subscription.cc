#include "dataplane/config/config_subscription.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "certgate/v1/edge_config.grpc.pb.h"
#include "common/control_endpoints.h"
#include "common/status_macros.h"
#include "dataplane/config/snapshot_assembler.h"
#include "dataplane/config/state_log.h"
#include "grpcpp/grpcpp.h"

namespace certgate::edge {

namespace {

constexpr absl::Duration kInitialBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(5);
constexpr absl::Duration kDrainTimeout = absl::Seconds(2);

using Stream = grpc::ClientReaderWriter<v1::EdgeMessage, v1::ControlMessage>;

// ReleaseFreeMemory hands the heap freed by a whole snapshot (the message,
// the config it replaced) back to the system, so resident memory shows the
// config held rather than the peak of applying it.
void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

// GrpcConfigSubscription: the reader thread owns the stream; the traffic
// thread only writes, under write_mu_, which also serializes the reader's
// Ack/Nack writes (gRPC allows one writer at a time).
class GrpcConfigSubscription : public ConfigSubscription {
 public:
  GrpcConfigSubscription(ConfigSubscriptionOptions options, ConfigSlot* slot,
                         std::vector<std::shared_ptr<grpc::Channel>> channels)
      : options_(std::move(options)), slot_(slot) {
    for (const std::shared_ptr<grpc::Channel>& channel : channels) {
      stubs_.push_back(v1::EdgeConfigService::NewStub(channel));
    }
    if (!options_.state_file.empty()) {
      state_log_ = std::make_unique<StateLog>(options_.state_file);
    }
  }

  ~GrpcConfigSubscription() override { Stop(); }

  void Start() override {
    absl::MutexLock lock(&mu_);
    if (started_) {
      return;
    }
    started_ = true;
    if (state_log_ != nullptr) {
      writer_ = std::thread([this] { WriterLoop(); });
    }
    reader_ = std::thread([this] { Run(); });
    if (options_.traffic_source || options_.late_failure_generation) {
      traffic_ = std::thread([this] { TrafficLoop(); });
    }
  }

  void Stop() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      if (context_ != nullptr) {
        context_->TryCancel();
      }
    }
    if (reader_.joinable()) {
      reader_.join();
    }
    if (writer_.joinable()) {
      {
        absl::MutexLock lock(&pending_mu_);
        writer_stop_ = true;  // after what is queued: an applied version is still recorded
      }
      writer_.join();
    }
    if (traffic_.joinable()) {
      traffic_.join();
    }
  }

  bool Connected() const override { return connected_.load(); }

 private:
  // Sleep for `duration` unless Stop comes first; true when stopping.
  bool SleepUnlessStopping(absl::Duration duration) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), duration);
    return stopping_;
  }

  bool Stopping() {
    absl::MutexLock lock(&mu_);
    return stopping_;
  }

  void Run() {
    std::mt19937_64 random(std::random_device{}());
    absl::Duration backoff = kInitialBackoff;
    // Several replicas: each edge starts at a random one (spreading the
    // fleet) and moves to the next whenever its stream ends; its Hello
    // carries its version, so any replica resumes it with a delta.
    size_t endpoint = std::uniform_int_distribution<size_t>(0, stubs_.size() - 1)(random);
    while (!Stopping()) {
      bool received = RunStream(*stubs_[endpoint]);
      endpoint = (endpoint + 1) % stubs_.size();
      if (received) {
        backoff = kInitialBackoff;
      }
      // Jitter spreads a fleet's reconnects after a control-plane restart.
      double factor = std::uniform_real_distribution<double>(0.5, 1.0)(random);
      if (SleepUnlessStopping(backoff * factor)) {
        break;
      }
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  }

  bool Write(const v1::EdgeMessage& message) {
    absl::MutexLock lock(&write_mu_);
    return stream_ != nullptr && stream_->Write(message);
  }

  // RunStream runs one Subscribe stream until it breaks, Stop is called, or
  // a delta shows the edge is out of step. True when anything was received.
  bool RunStream(v1::EdgeConfigService::Stub& stub) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        return false;
      }
      context_ = &context;
    }
    // The Hello names the version held, which must be on disk by then (the
    // control plane may count it as acknowledged), and no Ack of the last
    // stream may follow it.
    WaitWritten();
    std::unique_ptr<Stream> stream = stub.Subscribe(&context);
    v1::EdgeMessage hello;
    hello.mutable_hello()->set_node_id(options_.node_id);
    std::shared_ptr<const EdgeConfig> current = slot_->Get();
    hello.mutable_hello()->set_version(current ? current->version() : 0);
    hello.mutable_hello()->set_software_version(options_.software_version);
    if (current != nullptr) {
      // The control plane learns again which zones this edge does not serve
      // as sent: it keeps that in memory only.
      AddFailures(*current, hello.mutable_hello()->mutable_failures());
      absl::MutexLock lock(&write_mu_);
      acked_ = current;
    }
    bool received = false;
    // Hello goes out before the stream is shared with the traffic thread,
    // so it is always the first message.
    if (stream->Write(hello)) {
      {
        absl::MutexLock lock(&write_mu_);
        stream_ = stream.get();
      }
      connected_.store(true);
      // A fresh message per read: a reused one would keep a whole
      // snapshot's strings allocated until the next snapshot.
      auto message = std::make_unique<v1::ControlMessage>();
      // Per stream: a snapshot cut off by the stream's end is never applied.
      SnapshotAssembler assembler(options_.max_message_bytes);
      while (stream->Read(message.get())) {
        received = true;
        bool in_step = Handle(*message, assembler);
        bool was_snapshot = message->has_snapshot() || message->has_snapshot_chunk();
        message = std::make_unique<v1::ControlMessage>();
        if (was_snapshot && !assembler.InProgress()) {
          ReleaseFreeMemory();
        }
        if (!in_step) {
          // Out of step: a new Hello makes the control plane send what the
          // edge lacks (a snapshot when needed). Half-close rather than
          // cancel, so the Nack reaches the control plane; cancel only if
          // it does not end the stream soon.
          {
            absl::MutexLock lock(&write_mu_);
            stream_ = nullptr;
            stream->WritesDone();
          }
          absl::Notification drained;
          std::thread watchdog([&] {
            if (!drained.WaitForNotificationWithTimeout(kDrainTimeout)) {
              context.TryCancel();
            }
          });
          while (stream->Read(message.get())) {
          }
          drained.Notify();
          watchdog.join();
          break;
        }
      }
      if (assembler.InProgress()) {
        std::fprintf(stderr,
                     "certgate-edge: config stream ended after %llu of %llu bytes of snapshot "
                     "version %llu; discarded it, keeping config version %llu\n",
                     static_cast<unsigned long long>(assembler.received_bytes()),
                     static_cast<unsigned long long>(assembler.total_bytes()),
                     static_cast<unsigned long long>(assembler.version()),
                     static_cast<unsigned long long>(HeldVersion()));
        assembler.Discard();
      }
    }
    connected_.store(false);
    {
      absl::MutexLock lock(&write_mu_);
      stream_ = nullptr;
    }
    grpc::Status finished = stream->Finish();
    if (finished.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
        absl::StrContains(finished.error_message(), "larger than max")) {
      // gRPC refused a message above --max-config-message-bytes before
      // allocating it; the held config keeps serving.
      std::fprintf(stderr,
                   "certgate-edge: config stream ended: a config message exceeded the limit of "
                   "%lld bytes (--max-config-message-bytes); keeping config version %llu: %s\n",
                   static_cast<long long>(options_.max_message_bytes),
                   static_cast<unsigned long long>(slot_->Get() ? slot_->Get()->version() : 0),
                   finished.error_message().c_str());
    }
    {
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
    }
    return received;
  }

  uint64_t HeldVersion() {
    std::shared_ptr<const EdgeConfig> current = slot_->Get();
    return current ? current->version() : 0;
  }

  // RefuseSnapshot reports a chunked snapshot that will not be applied (one
  // line through on_config_event, and a Nack); the caller reconnects, so the
  // control plane starts over from the version held.
  void RefuseSnapshot(uint64_t version, const absl::Status& why) {
    std::string error = absl::StrCat(why.message(), "; discarded the partial snapshot, keeping ",
                                     "config version ", HeldVersion());
    if (options_.on_config_event) {
      options_.on_config_event(version, false, true, error);
    }
    v1::EdgeMessage answer;
    answer.mutable_nack()->set_version(version);
    answer.mutable_nack()->set_error(error);
    Write(answer);
  }

  // Handle applies one message and answers it; false asks for a reconnect.
  // The zones of a snapshot are taken from `message`, not copied.
  bool Handle(v1::ControlMessage& message, SnapshotAssembler& assembler) {
    if (message.has_snapshot_chunk()) {
      uint64_t version = message.snapshot_chunk().version();
      absl::StatusOr<std::optional<std::string>> assembled =
          assembler.AddSerialized(message.snapshot_chunk());
      if (!assembled.ok()) {
        RefuseSnapshot(version, assembled.status());
        return false;
      }
      if (!assembled->has_value()) {
        return true;
      }
      // Built zone by zone from the bytes: the whole parsed snapshot (larger
      // than its bytes) never exists beside them.
      std::shared_ptr<const EdgeConfig> current = slot_->Get();
      absl::StatusOr<std::shared_ptr<const EdgeConfig>> config =
          EdgeConfig::FromSerializedSnapshot(std::move(**assembled), current.get());
      current.reset();
      if (absl::IsDataLoss(config.status())) {
        RefuseSnapshot(
            version, absl::InvalidArgumentError(absl::StrCat(
                         "snapshot of version ", version, " is not a readable Snapshot message")));
        return false;
      }
      if (config.ok() && (*config)->version() != version) {
        RefuseSnapshot(version, absl::InvalidArgumentError(absl::StrCat(
                                    "snapshot chunks say version ", version,
                                    " but the snapshot is version ", (*config)->version())));
        return false;
      }
      return Answer(version, std::move(config), false);
    }
    if (assembler.InProgress()) {
      uint64_t version = assembler.version();
      absl::Status why = absl::InvalidArgumentError(
          absl::StrCat(message.has_delta()      ? "a delta"
                       : message.has_snapshot() ? "a whole snapshot"
                                                : "a message of an unknown kind",
                       " arrived before the last chunk of snapshot version ", version));
      assembler.Discard();
      RefuseSnapshot(version, why);
      return false;
    }
    absl::StatusOr<std::shared_ptr<const EdgeConfig>> config;
    uint64_t version = 0;
    bool out_of_step = false;
    if (message.has_snapshot()) {
      version = message.snapshot().version();
      // A zone that fails to build keeps the build held now.
      std::shared_ptr<const EdgeConfig> current = slot_->Get();
      config = EdgeConfig::FromSnapshot(std::move(*message.mutable_snapshot()), current.get());
    } else if (message.has_delta()) {
      version = message.delta().version();
      std::shared_ptr<const EdgeConfig> current = slot_->Get();
      if (current == nullptr) {
        config = absl::FailedPreconditionError(absl::StrCat(
            "delta from version ", message.delta().from_version(), " but no config is held"));
      } else {
        config = current->ApplyDelta(message.delta());
      }
      out_of_step = absl::IsFailedPrecondition(config.status());
    } else {
      return true;
    }
    return Answer(version, std::move(config), out_of_step);
  }

  // Answer publishes `config` (made for `version`) and has it recorded and
  // acknowledged, or answers its refusal; false asks for a reconnect.
  bool Answer(uint64_t version, absl::StatusOr<std::shared_ptr<const EdgeConfig>> config,
              bool out_of_step) {
    if (!config.ok()) {
      std::string error(config.status().message());
      // The event comes first so that metrics and logs show the refusal by
      // the time the control plane sees the Nack.
      if (options_.on_config_event) {
        options_.on_config_event(version, false, true, error);
      }
      WaitWritten();  // the Acks of the versions before go first
      v1::EdgeMessage answer;
      answer.mutable_nack()->set_version(version);
      answer.mutable_nack()->set_error(error);
      Write(answer);
      return !out_of_step;
    }

    if (!(*config)->new_failures().empty() && options_.on_zone_failures) {
      options_.on_zone_failures(version, (*config)->new_failures());
    }
    slot_->Publish(*config);
    if (state_log_ == nullptr) {
      RecordAndAck(*config);
      return true;
    }
    // Served from now on; the writer records it and then acknowledges it,
    // while the next message is applied (a snapshot's state file is hundreds
    // of MB at 100,000 zones: a change must not wait behind it).
    absl::MutexLock lock(&pending_mu_);
    pending_.push_back(*std::move(config));
    return true;
  }

  // RecordAndAck writes `config` to the state directory (when there is one)
  // and then acknowledges it: an acknowledged version is always on disk.
  void RecordAndAck(const std::shared_ptr<const EdgeConfig>& config) {
    std::string state_error;
    bool state_ok = true;
    if (state_log_ != nullptr) {
      // O(change): one record appended for a delta (a whole snapshot only
      // for a snapshot, after a failed write, or to compact the log).
      int64_t before = state_log_->bytes_written();
      absl::Status written = state_log_->Record(*config);
      if (options_.on_state_written) {
        options_.on_state_written(state_log_->bytes_written() - before);
      }
      if (!written.ok()) {
        // The config is applied and served; only the restart copy is stale.
        state_ok = false;
        state_error = std::string(written.message());
      }
    }
    if (options_.on_config_event) {
      options_.on_config_event(config->version(), true, state_ok, state_error);
    }
    v1::EdgeMessage answer;
    answer.mutable_ack()->set_version(config->version());
    AddFailures(*config, answer.mutable_ack()->mutable_failures());
    {
      absl::MutexLock lock(&write_mu_);
      acked_ = config;
    }
    Write(answer);
  }

  // WriterLoop records and acknowledges the applied versions in order, until
  // Stop and all queued are done.
  void WriterLoop() {
    while (true) {
      std::shared_ptr<const EdgeConfig> config;
      {
        absl::MutexLock lock(&pending_mu_);
        pending_mu_.Await(absl::Condition(this, &GrpcConfigSubscription::WriterHasWork));
        if (pending_.empty()) {
          return;  // stopping, nothing left
        }
        config = std::move(pending_.front());
        pending_.pop_front();
        writing_ = true;
      }
      RecordAndAck(config);
      absl::MutexLock lock(&pending_mu_);
      writing_ = false;
    }
  }

  bool WriterHasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(pending_mu_) {
    return !pending_.empty() || writer_stop_;
  }
  bool AllWritten() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(pending_mu_) {
    return pending_.empty() && !writing_;
  }

  // WaitWritten returns once every applied version is recorded and
  // acknowledged (at once without a state directory).
  void WaitWritten() {
    absl::MutexLock lock(&pending_mu_);
    pending_mu_.Await(absl::Condition(this, &GrpcConfigSubscription::AllWritten));
  }

  void AddFailures(const EdgeConfig& config,
                   google::protobuf::RepeatedPtrField<v1::ZoneBuildFailure>* out) {
    std::vector<ZoneFailure> failures = config.Failures();
    if (options_.late_failures) {
      for (ZoneFailure& late : options_.late_failures(config)) {
        bool known = std::any_of(failures.begin(), failures.end(),
                                 [&](const ZoneFailure& f) { return f.zone_id == late.zone_id; });
        if (!known) {
          failures.push_back(std::move(late));
        }
      }
    }
    for (const ZoneFailure& failure : failures) {
      v1::ZoneBuildFailure* added = out->Add();
      added->set_zone_id(failure.zone_id);
      added->set_error(failure.error);
    }
  }

  // ReportLateFailures acknowledges the version acknowledged last again, now
  // with the failures found since, when there are new ones.
  void ReportLateFailures() {
    if (!options_.late_failure_generation) {
      return;
    }
    uint64_t generation = options_.late_failure_generation();
    if (generation == reported_generation_) {
      return;
    }
    std::shared_ptr<const EdgeConfig> acked;
    {
      absl::MutexLock lock(&write_mu_);
      acked = acked_;
    }
    if (acked == nullptr) {
      return;
    }
    std::vector<ZoneFailure> late = options_.late_failures(*acked);
    if (!late.empty() && options_.on_zone_failures) {
      options_.on_zone_failures(acked->version(), late);
    }
    v1::EdgeMessage answer;
    answer.mutable_ack()->set_version(acked->version());
    AddFailures(*acked, answer.mutable_ack()->mutable_failures());
    if (Write(answer)) {
      reported_generation_ = generation;
    }
  }

  void TrafficLoop() {
    while (!SleepUnlessStopping(absl::Milliseconds(std::max(10, options_.traffic_interval_ms)))) {
      if (!connected_.load()) {
        continue;
      }
      if (options_.traffic_source) {
        v1::EdgeMessage report;
        *report.mutable_traffic() = options_.traffic_source();
        Write(report);
      }
      ReportLateFailures();
    }
  }

  const ConfigSubscriptionOptions options_;
  ConfigSlot* const slot_;
  // One per control-plane replica (--control A,B,C).
  std::vector<std::unique_ptr<v1::EdgeConfigService::Stub>> stubs_;
  std::unique_ptr<StateLog> state_log_;  // the writer thread only (reader without one)
  std::atomic<bool> connected_{false};

  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;

  absl::Mutex write_mu_;
  Stream* stream_ ABSL_GUARDED_BY(write_mu_) = nullptr;
  // The config acknowledged last (or announced in Hello).
  std::shared_ptr<const EdgeConfig> acked_ ABSL_GUARDED_BY(write_mu_);
  uint64_t reported_generation_ = 0;  // traffic thread only

  // Applied versions waiting to be recorded and acknowledged, oldest first.
  mutable absl::Mutex pending_mu_;
  std::deque<std::shared_ptr<const EdgeConfig>> pending_ ABSL_GUARDED_BY(pending_mu_);
  bool writing_ ABSL_GUARDED_BY(pending_mu_) = false;
  bool writer_stop_ ABSL_GUARDED_BY(pending_mu_) = false;
  std::thread writer_;

  std::thread reader_;
  std::thread traffic_;
};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConfigSubscription>> ConfigSubscription::Create(
    ConfigSubscriptionOptions options, ConfigSlot* slot) {
  if (slot == nullptr) {
    return absl::InvalidArgumentError("config subscription needs a slot");
  }
  if (options.control_address.empty()) {
    return absl::InvalidArgumentError("control plane address is empty");
  }
  if (options.node_id.empty()) {
    return absl::InvalidArgumentError("node id is empty");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.insecure) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    if (!options.control_ca_file.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadWholeFile(options.control_ca_file));
    }
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  // gRPC's own reconnect backoff grows to two minutes by default; keep it
  // within ours so a returning control plane is found within seconds.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  if (options.max_message_bytes < 1 || options.max_message_bytes > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("max config message bytes must be 1 to ", INT32_MAX));
  }
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  ASSIGN_OR_RETURN(ControlEndpoints endpoints, ControlEndpoints::Parse(options.control_address));
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (const std::string& address : endpoints.addresses()) {
    channels.push_back(grpc::CreateCustomChannel(address, credentials, args));
  }
  return std::unique_ptr<ConfigSubscription>(
      new GrpcConfigSubscription(std::move(options), slot, std::move(channels)));
}

absl::StatusOr<std::shared_ptr<const EdgeConfig>> LoadStateFile(const std::string& path) {
  absl::StatusOr<std::shared_ptr<const EdgeConfig>> config = StateLog::Load(path);
  ReleaseFreeMemory();  // the snapshot read is gone
  return config;
}

}  // namespace certgate::edge
