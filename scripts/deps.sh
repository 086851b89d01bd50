#!/usr/bin/env bash
# scripts/deps.sh — installs what Parley needs to build, test and benchmark on
# Debian 12, and nothing when it is all there already. Idempotent; runs as
# root or through sudo. libraft must be >= 0.22, which Debian ships only in
# the bookworm-backports suite (as it does libhiredict-dev): this script
# enables that suite on the same archive mirror the machine already uses
# (read from its apt sources).
set -euo pipefail

packages=(
  build-essential pkg-config
  libuv1-dev libssl-dev libhiredis-dev libcmocka-dev libxxhash-dev zlib1g-dev liblz4-dev liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
  redis-server redis-tools
  python3-pytest python3-redis python3-celery python3-rq iproute2 iptables openssl tcl8.6
  clang libclang-rt-14-dev
  libhiredict-dev
)
raft_min=0.22
# `scripts/deps.sh etcd` (make bench-etcd) also installs etcd and the gRPC
# client bench/etcd.py measures it with; make test and make bench do not
# need them.
extra_services=()
if [ "${1:-}" = etcd ]; then
  packages+=(etcd-server etcd-client python3-grpcio)
  extra_services+=(etcd)
elif [ $# -gt 0 ]; then
  echo "deps.sh: unknown argument '$1' (only 'etcd')" >&2
  exit 2
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install packages" >&2; exit 1; }
  SUDO=sudo
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
raft_version=$(dpkg-query -W -f='${Version}' libraft-dev 2>/dev/null || true)
raft_ok=0
if [ -n "$raft_version" ] && dpkg --compare-versions "$raft_version" ge "$raft_min"; then
  raft_ok=1
fi
# Node.js clients the integration tests run (tests/node: BullMQ), pinned by
# its package-lock.json, installed into that folder. The machine's own node
# and npm are used; Debian's are installed when there are none.
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
  for p in nodejs npm; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
fi
node_clients() {
  local dir="$root/tests/node"
  [ -f "$dir/package-lock.json" ] || return 0
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "deps.sh: npm ci in tests/node"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

if [ ${#missing[@]} -eq 0 ] && [ $raft_ok -eq 1 ]; then node_clients; exit 0; fi

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
backports_list=/etc/apt/sources.list.d/parley-backports.list

# The first Debian archive URI the machine already uses (deb822 or one-line
# format); the security archive is a different tree and is skipped.
archive_uri() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }' "$f"
  done
}

# libhiredict-dev (a hiredis with TLS, for the TLS tests' C client) is also
# only in backports.
want_backports=0
[ $raft_ok -eq 1 ] || want_backports=1
if printf '%s\n' "${missing[@]:-}" | grep -qx libhiredict-dev; then want_backports=1; fi
if [ $want_backports -eq 1 ] && ! apt-cache policy 2>/dev/null | grep -q "${codename}-backports"; then
  uri=$(archive_uri | grep -v -e security -e '^$' | grep -i debian | head -n 1)
  [ -n "$uri" ] || { echo "deps.sh: no Debian archive found in the apt sources" >&2; exit 1; }
  echo "deps.sh: enabling ${codename}-backports from $uri (for libraft >= $raft_min, libhiredict-dev)"
  echo "deb $uri ${codename}-backports main" | $SUDO tee "$backports_list" >/dev/null
fi

want=("${missing[@]}"); [ $raft_ok -eq 1 ] || want+=(libraft-dev)
echo "deps.sh: installing ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ $raft_ok -eq 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends -t "${codename}-backports" libraft-dev >/dev/null
  raft_version=$(dpkg-query -W -f='${Version}' libraft-dev)
  dpkg --compare-versions "$raft_version" ge "$raft_min" ||
    { echo "deps.sh: libraft-dev $raft_version installed, need >= $raft_min" >&2; exit 1; }
fi
# redis-server is only a benchmark peer: the package starts its own daemon on
# 6379, where parley-server serves by default. Stop the packaged service.
if printf '%s\n' "${missing[@]:-}" | grep -qx redis-server; then
  if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/redis-server ]; then
    $SUDO /etc/init.d/redis-server stop >/dev/null 2>&1 || true
  fi
fi
# etcd-server, like redis-server, starts a daemon of its own on install
# (ports 2379, 2380); bench/etcd.py starts its own members. Stop it.
if [ ${#extra_services[@]} -gt 0 ] && printf '%s\n' "${missing[@]:-}" | grep -qx etcd-server; then
  if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then
    $SUDO systemctl disable --now etcd >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/etcd ]; then
    $SUDO /etc/init.d/etcd stop >/dev/null 2>&1 || true
  fi
fi
node_clients
