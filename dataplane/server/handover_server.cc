#include "dataplane/server/handover_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace certgate::edge {
namespace {

// How long a new edge may take between asking for the sockets and saying
// it serves on them (it loads its state before asking).
constexpr int kServeTimeoutMs = 60000;
// Fewer than SCM_MAX_FD (253) descriptors per packet.
constexpr size_t kFdsPerPacket = 200;

bool SendPacket(int fd, const std::string& data, const int* fds, size_t count) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (count > 0) {
    control.resize(CMSG_SPACE(sizeof(int) * count));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * count);
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(data.size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<HandoverServer>> HandoverServer::Create(
    const std::string& path, std::function<std::vector<HandedSocket>()> sockets,
    std::function<void(pid_t)> on_handed_over) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string temp = absl::StrCat(path, ".", getpid());
  if (temp.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("hand-over socket path is too long for a Unix socket: ", path));
  }
  memcpy(addr.sun_path, temp.c_str(), temp.size() + 1);
  std::unique_ptr<HandoverServer> server(new HandoverServer());
  server->path_ = path;
  server->sockets_ = std::move(sockets);
  server->on_handed_over_ = std::move(on_handed_over);
  server->listen_fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (server->listen_fd_ < 0) {
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  }
  unlink(temp.c_str());
  // Bound under a temporary name and renamed: a new edge never finds the
  // path missing, and the running edge's socket answers until the rename.
  // 0600 like every file of the state directory: only the edge's user may
  // ask for its sockets (the peer's uid is checked too).
  if (bind(server->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      chmod(temp.c_str(), 0600) != 0 || listen(server->listen_fd_, 4) != 0 ||
      rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(temp.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot offer the hand-over socket ", path, ": ", strerror(err)));
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    server->dev_ = st.st_dev;
    server->ino_ = st.st_ino;
  }
  if (pipe2(server->wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError("pipe2 failed");
  }
  return server;
}

HandoverServer::~HandoverServer() {
  Stop();
  for (int fd : wake_pipe_) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

void HandoverServer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void HandoverServer::Stop() {
  if (wake_pipe_[1] >= 0) {
    char byte = 1;
    (void)!write(wake_pipe_[1], &byte, 1);
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    // The path is a new edge's once it has put its own socket there.
    struct stat st {};
    if (stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
      unlink(path_.c_str());
    }
  }
}

bool HandoverServer::WaitReadable(int fd, int timeout_ms) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
  for (;;) {
    int n = poll(fds, 2, timeout_ms);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n > 0 && fds[1].revents == 0 && fds[0].revents != 0;
  }
}

void HandoverServer::Run() {
  while (WaitReadable(listen_fd_, -1)) {
    int connection = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) {
      continue;
    }
    pid_t peer = 0;
    bool handed_over = Serve(connection, &peer);
    close(connection);
    if (handed_over) {
      on_handed_over_(peer);
      return;
    }
  }
}

bool HandoverServer::Serve(int connection, pid_t* peer) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != geteuid()) {
    fprintf(stderr, "certgate-edge: hand-over refused to a process of another user\n");
    return false;
  }
  *peer = cred.pid;
  char buf[64];
  if (!WaitReadable(connection, kServeTimeoutMs)) {
    return false;
  }
  ssize_t n = recv(connection, buf, sizeof(buf), 0);
  if (n != static_cast<ssize_t>(strlen(kHandoverRequest)) ||
      memcmp(buf, kHandoverRequest, static_cast<size_t>(n)) != 0) {
    return false;
  }
  std::vector<HandedSocket> sockets = sockets_();
  for (size_t start = 0; start < sockets.size(); start += kFdsPerPacket) {
    size_t count = std::min(kFdsPerPacket, sockets.size() - start);
    std::string roles;
    std::vector<int> fds;
    for (size_t i = start; i < start + count; ++i) {
      roles.push_back(static_cast<char>(sockets[i].role));
      fds.push_back(sockets[i].fd);
    }
    if (!SendPacket(connection, roles, fds.data(), fds.size())) {
      return false;
    }
  }
  if (!SendPacket(connection, kHandoverEnd, nullptr, 0)) {
    return false;
  }
  fprintf(stderr,
          "certgate-edge: handed %zu listening sockets to pid %d, waiting for it to serve\n",
          sockets.size(), static_cast<int>(cred.pid));
  if (!WaitReadable(connection, kServeTimeoutMs)) {
    fprintf(stderr, "certgate-edge: pid %d did not take over; still serving\n",
            static_cast<int>(cred.pid));
    return false;
  }
  n = recv(connection, buf, sizeof(buf), 0);
  if (n != static_cast<ssize_t>(strlen(kHandoverServing)) ||
      memcmp(buf, kHandoverServing, static_cast<size_t>(n)) != 0) {
    fprintf(stderr, "certgate-edge: pid %d did not take over; still serving\n",
            static_cast<int>(cred.pid));
    return false;
  }
  return true;
}

}  // namespace certgate::edge
