// certgate-echo-origin: a test and demo origin. Every request gets 200 and a
// JSON body {"method","path","headers":{name:value},"body_bytes","peer"}
// (repeated headers joined with ", "; peer: the connection's remote
// "address:port", which tells connections apart). Extra paths:
//   /stream?chunks=N&interval_ms=M   N chunked pieces, M ms apart
//   /sleep?ms=N                      answers after N ms
//   /status?code=N                   answers with that status
//   /bytes?n=N                       N bytes of 'x' with a Content-Length
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace {

std::string JsonQuote(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      out.append(absl::StrFormat("\\u%04x", c));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

const char* MethodName(evhttp_cmd_type cmd) {
  switch (cmd) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_TRACE:
      return "TRACE";
    case EVHTTP_REQ_CONNECT:
      return "CONNECT";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
  }
  return "OTHER";
}

std::string EchoJson(evhttp_request* req) {
  std::map<std::string, std::string> headers;  // sorted: stable output
  evkeyvalq* in = evhttp_request_get_input_headers(req);
  for (evkeyval* h = in->tqh_first; h != nullptr; h = h->next.tqe_next) {
    std::string& value = headers[h->key];
    absl::StrAppend(&value, value.empty() ? "" : ", ", h->value);
  }
  std::string out =
      absl::StrCat("{\"method\":", JsonQuote(MethodName(evhttp_request_get_command(req))),
                   ",\"path\":", JsonQuote(evhttp_request_get_uri(req)), ",\"headers\":{");
  bool first = true;
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&out, first ? "" : ",", JsonQuote(name), ":", JsonQuote(value));
    first = false;
  }
  absl::StrAppend(&out,
                  "},\"body_bytes\":", evbuffer_get_length(evhttp_request_get_input_buffer(req)));
  char* peer_host = nullptr;
  ev_uint16_t peer_port = 0;
  evhttp_connection* conn = evhttp_request_get_connection(req);
  if (conn != nullptr) {
    evhttp_connection_get_peer(conn, &peer_host, &peer_port);
  }
  absl::StrAppend(&out, ",\"peer\":",
                  JsonQuote(absl::StrCat(peer_host != nullptr ? peer_host : "", ":", peer_port)),
                  "}\n");
  return out;
}

int QueryInt(evhttp_request* req, const char* name, int fallback) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* query = uri ? evhttp_uri_get_query(uri) : nullptr;
  if (query == nullptr) {
    return fallback;
  }
  evkeyvalq params;
  if (evhttp_parse_query_str(query, &params) != 0) {
    return fallback;
  }
  int value = fallback;
  const char* text = evhttp_find_header(&params, name);
  if (text == nullptr || !absl::SimpleAtoi(text, &value)) {
    value = fallback;
  }
  evhttp_clear_headers(&params);
  return value;
}

std::string PathOf(evhttp_request* req) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* path = uri ? evhttp_uri_get_path(uri) : nullptr;
  return path ? path : "/";
}

void SendJson(evhttp_request* req, int code, const std::string& body) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
  evbuffer* buf = evbuffer_new();
  evbuffer_add(buf, body.data(), body.size());
  evhttp_send_reply(req, code, code == 200 ? "OK" : "Status", buf);
  evbuffer_free(buf);
}

// A request whose answer waits on a timer. When the client goes away first,
// the connection's close callback cancels the timer (evhttp frees the
// request with the connection).
struct Pending {
  evhttp_request* req;
  evhttp_connection* conn;
  event* timer;
  int chunks_left;
  int interval_ms;
  bool streaming;
  std::string body;
};

absl::flat_hash_map<evhttp_connection*, Pending*>* pending_by_conn =
    new absl::flat_hash_map<evhttp_connection*, Pending*>();

void FreePending(Pending* p) {
  pending_by_conn->erase(p->conn);
  event_free(p->timer);
  delete p;
}

void OnConnectionClosed(evhttp_connection* conn, void*) {
  auto it = pending_by_conn->find(conn);
  if (it != pending_by_conn->end()) {
    FreePending(it->second);
  }
}

void OnTimer(evutil_socket_t, short, void* arg) {
  auto* p = static_cast<Pending*>(arg);
  if (!p->streaming) {
    evhttp_request* req = p->req;
    std::string body = p->body;
    FreePending(p);
    SendJson(req, 200, body);
    return;
  }
  evbuffer* buf = evbuffer_new();
  std::string chunk = absl::StrCat("chunk ", p->chunks_left, "\n");
  evbuffer_add(buf, chunk.data(), chunk.size());
  evhttp_send_reply_chunk(p->req, buf);
  evbuffer_free(buf);
  if (--p->chunks_left <= 0) {
    evhttp_request* req = p->req;
    FreePending(p);
    evhttp_send_reply_end(req);
    return;
  }
  timeval tv{p->interval_ms / 1000, (p->interval_ms % 1000) * 1000};
  evtimer_add(p->timer, &tv);
}

void Defer(event_base* base, evhttp_request* req, int ms, bool streaming, int chunks,
           std::string body) {
  auto* p = new Pending{
      req, evhttp_request_get_connection(req), nullptr, chunks, ms, streaming, std::move(body)};
  p->timer = evtimer_new(base, &OnTimer, p);
  (*pending_by_conn)[p->conn] = p;
  evhttp_connection_set_closecb(p->conn, &OnConnectionClosed, nullptr);
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  evtimer_add(p->timer, &tv);
}

// NoDelay turns Nagle off on the request's connection: evhttp writes the head
// and the body separately, and on a kept-alive connection the body's last
// short segment would otherwise wait for the client's delayed ACK (~40 ms).
void NoDelay(evhttp_request* req) {
  evhttp_connection* conn = evhttp_request_get_connection(req);
  bufferevent* bev = conn != nullptr ? evhttp_connection_get_bufferevent(conn) : nullptr;
  evutil_socket_t fd = bev != nullptr ? bufferevent_getfd(bev) : -1;
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
}

void OnRequest(evhttp_request* req, void* arg) {
  auto* base = static_cast<event_base*>(arg);
  NoDelay(req);
  std::string path = PathOf(req);
  std::string body = EchoJson(req);
  if (path == "/stream") {
    int chunks = QueryInt(req, "chunks", 5);
    int interval = QueryInt(req, "interval_ms", 100);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evhttp_send_reply_start(req, 200, "OK");
    if (chunks <= 0) {
      evhttp_send_reply_end(req);
      return;
    }
    Defer(base, req, interval, /*streaming=*/true, chunks, "");
    return;
  }
  if (path == "/sleep") {
    Defer(base, req, QueryInt(req, "ms", 1000), /*streaming=*/false, 0, body);
    return;
  }
  if (path == "/status") {
    SendJson(req, QueryInt(req, "code", 200), body);
    return;
  }
  if (path == "/bytes") {
    // A large body with a Content-Length, for streaming and backpressure.
    int n = std::max(0, QueryInt(req, "n", 1024));
    evbuffer* buf = evbuffer_new();
    std::string block(64 * 1024, 'x');
    for (int left = n; left > 0; left -= static_cast<int>(block.size())) {
      evbuffer_add(buf, block.data(), std::min<size_t>(block.size(), left));
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/octet-stream");
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
    return;
  }
  SendJson(req, 200, body);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"certgate-echo-origin: answers every HTTP request with what it received"};
  std::string listen = "127.0.0.1:8080";
  app.add_option("--listen", listen, "HOST:PORT to listen on");
  CLI11_PARSE(app, argc, argv);
  size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    fprintf(stderr, "certgate-echo-origin: bad --listen %s (want HOST:PORT)\n", listen.c_str());
    return 1;
  }
  std::string host = listen.substr(0, colon);
  signal(SIGPIPE, SIG_IGN);
  event_base* base = event_base_new();
  evhttp* http = evhttp_new(base);
  evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                       EVHTTP_REQ_PATCH);
  evhttp_set_gencb(http, &OnRequest, base);
  if (evhttp_bind_socket(http, host.c_str(), static_cast<uint16_t>(port)) != 0) {
    fprintf(stderr, "certgate-echo-origin: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  printf("certgate-echo-origin listening on %s\n", listen.c_str());
  fflush(stdout);
  event_base_dispatch(base);
  evhttp_free(http);
  event_base_free(base);
  return 0;
}
