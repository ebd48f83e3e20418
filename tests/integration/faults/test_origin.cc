#include "tests/integration/faults/test_origin.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace certgate::faults {
namespace {

bool SendAll(int fd, const std::string& data) {
  size_t offset = 0;
  while (offset < data.size()) {
    ssize_t n = send(fd, data.data() + offset, data.size() - offset, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    offset += static_cast<size_t>(n);
  }
  return true;
}

void Reset(int fd) {
  linger lg{1, 0};  // close with RST, not FIN
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  shutdown(fd, SHUT_RD);
}

// RequestLength: bytes of the complete request at the start of `data`
// (Content-Length or chunked body), 0 when incomplete. `head` gets the head.
size_t RequestLength(const std::string& data, std::string* head) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) {
    return 0;
  }
  *head = data.substr(0, end + 4);
  size_t body = 0;
  bool chunked = false;
  for (absl::string_view line : absl::StrSplit(data.substr(0, end), "\r\n")) {
    if (absl::StartsWithIgnoreCase(line, "content-length:")) {
      (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(15)), &body);
    }
    if (absl::StartsWithIgnoreCase(line, "transfer-encoding:") &&
        absl::StrContains(absl::AsciiStrToLower(line), "chunked")) {
      chunked = true;
    }
  }
  if (chunked) {
    // Test bodies never hold "0\r\n\r\n" themselves.
    size_t last = data.find("0\r\n\r\n", end + 4);
    return last == std::string::npos ? 0 : last + 5;
  }
  return data.size() >= end + 4 + body ? end + 4 + body : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestOrigin>> TestOrigin::Start(Behavior behavior) {
  std::unique_ptr<TestOrigin> origin(new TestOrigin(behavior));
  auto server = LoopbackServer::Start([o = origin.get()](int fd) { o->Serve(fd); });
  if (!server.ok()) {
    return server.status();
  }
  origin->server_ = std::move(*server);
  return origin;
}

TestOrigin::~TestOrigin() = default;

std::string TestOrigin::last_head() {
  absl::MutexLock lock(&mu_);
  return last_head_;
}

void TestOrigin::Serve(int fd) {
  std::string data;
  char buf[16384];
  bool open = true;
  int answered = 0;
  while (open) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) {
      continue;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;
    }
    bytes_received_.fetch_add(static_cast<uint64_t>(n));
    data.append(buf, static_cast<size_t>(n));
    std::string head;
    size_t length = 0;
    while ((length = RequestLength(data, &head)) > 0) {
      data.erase(0, length);
      requests_.fetch_add(1);
      {
        absl::MutexLock lock(&mu_);
        last_head_ = head;
      }
      if (behavior_ == Behavior::kOneResponsePerConnection && answered == 1) {
        open = false;  // FIN, no answer
        break;
      }
      ++answered;
      switch (behavior_) {
        case Behavior::kOneResponsePerConnection:
        case Behavior::kEcho: {
          std::string response = absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n",
                                              "Content-Length: ", head.size(), "\r\n\r\n", head);
          open = SendAll(fd, response);
          break;
        }
        case Behavior::kResetBeforeResponse:
          Reset(fd);
          open = false;
          break;
        case Behavior::kResetMidResponse:
          SendAll(fd, absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n",
                                   std::string(1000, 'x')));
          usleep(100 * 1000);  // let the edge start relaying the response
          Reset(fd);
          open = false;
          break;
        case Behavior::kNeverAnswer:
          break;
      }
      if (!open) {
        break;
      }
    }
  }
}

}  // namespace certgate::faults
