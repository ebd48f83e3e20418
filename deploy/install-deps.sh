#!/usr/bin/env bash
# Installs what certgate needs to build, test and benchmark, from Debian's
# packages, and fetches BoringSSL from Debian's source package
# android-platform-external-boringssl into the build folder.
# Idempotent: when everything is present it only checks and exits.
#
#   deploy/install-deps.sh [BUILD_DIR]      (default: build)
set -euo pipefail

build_dir=${1:-build}
boringssl_dir="$build_dir/_deps/boringssl"

packages=(
  build-essential cmake ninja-build pkg-config dpkg-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libsqlite3-dev sqlite3 libevent-dev libhttp-parser-dev
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  curl openssl ca-certificates iproute2 jq golang-cfssl nginx gnuplot-nox clang python3
  # c-ares: hostname challenges and the edge's origin resolver; dnsmasq: the
  # challenge tests' DNS server; websockets: the WebSocket tests' client and origin.
  libc-ares-dev dnsmasq-base python3-websockets
  # RE2: access rules' regular expressions; cryptography: the selector tests'
  # independent computation of certificate hashes.
  libre2-dev python3-cryptography
  # nghttp2: the edge's HTTP/2 codecs; nghttp2-client and h2: HTTP/2 test clients.
  libnghttp2-dev nghttp2-client python3-h2
  # PostgreSQL: libpq for the shared-database store; the server for the tests'
  # private clusters (no system cluster is created, see below).
  libpq-dev postgresql-15
  # perf: tests/bench/run.sh --only keepalive --perf profiles both servers.
  linux-perf
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" -eq 0 ]; then
    as_root apt-get update -q
    apt_updated=1
  fi
}

# Installing postgresql-15 would create and start a "main" cluster; nothing of
# certgate uses one (the default install and the demo run on SQLite, the tests
# start their own), so none is kept: asked for none, and one created by this
# install anyway is stopped and dropped. A cluster that was there before stays.
drop_new_main_cluster=0
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [ ! -d /etc/postgresql/15/main ]; then
  drop_new_main_cluster=1
  as_root mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" |
    as_root tee /etc/postgresql-common/createcluster.d/certgate-no-main-cluster.conf >/dev/null
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt_update_once
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ "$drop_new_main_cluster" -eq 1 ] && [ -d /etc/postgresql/15/main ]; then
  as_root pg_dropcluster --stop 15 main
fi

# A deb-src entry mirroring the machine's own deb entries (same URIs, suites,
# components and keyring), in a file of its own; existing files are never
# edited.
has_deb_src() {
  grep -qsE '^[[:space:]]*(Types:.*deb-src|deb-src[[:space:]])' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources
}

add_deb_src() {
  local sources_out=/etc/apt/sources.list.d/certgate-deb-src.sources
  local list_out=/etc/apt/sources.list.d/certgate-deb-src.list
  local deb822 oneline
  deb822=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk 'BEGIN { RS=""; ORS="\n\n" }
         /(^|\n)Types:[^\n]*deb([ \t]|$|\n)/ && !/(^|\n)Enabled:[ \t]*no/ {
           sub(/Types:[^\n]*/, "Types: deb-src"); print }' || true)
  oneline=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -nE 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' || true)
  if [ -z "$deb822" ] && [ -z "$oneline" ]; then
    echo "install-deps: no deb entries found to mirror as deb-src" >&2
    exit 1
  fi
  if [ -n "$deb822" ]; then printf '%s\n' "$deb822" | as_root tee "$sources_out" >/dev/null; fi
  if [ -n "$oneline" ]; then printf '%s\n' "$oneline" | as_root tee "$list_out" >/dev/null; fi
  apt_updated=0
}

if [ ! -f "$boringssl_dir/android-sources.cmake" ]; then
  if ! has_deb_src; then
    echo "install-deps: adding a deb-src entry for Debian's source packages"
    add_deb_src
  fi
  apt_update_once
  work=$(mktemp -d)
  chmod 755 "$work"  # apt-get source downloads as the _apt user
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get source -q android-platform-external-boringssl >/dev/null)
  src=$(find "$work" -maxdepth 1 -type d -name 'android-platform-external-boringssl-*' | head -n 1)
  if [ -z "$src" ] || [ ! -f "$src/android-sources.cmake" ]; then
    echo "install-deps: apt-get source android-platform-external-boringssl gave no android-sources.cmake" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$boringssl_dir")"
  rm -rf "$boringssl_dir"
  mv "$src" "$boringssl_dir"
  echo "install-deps: BoringSSL $(cat "$boringssl_dir/BORINGSSL_REVISION" 2>/dev/null) in $boringssl_dir"
fi
echo "install-deps: all dependencies present"
