#pragma once

#include <cstddef>

namespace certgate::edge {

// How many connections each worker may hold without running the process
// out of file descriptors (accept would fail with EMFILE for everyone).

// RaiseOpenFileLimit lifts the soft RLIMIT_NOFILE to the hard limit (as
// HAProxy and nginx's worker_rlimit_nofile do) and returns the result.
size_t RaiseOpenFileLimit();

// ConnectionsPerWorker: a proxied connection holds two descriptors (client
// and origin); a reserve is kept for listeners, the state file, the control
// plane stream, logs and pooled origin connections. At least 1.
size_t ConnectionsPerWorker(size_t open_file_limit, int workers);

}  // namespace certgate::edge
