#!/usr/bin/env bash
# Installs the Debian 12 packages boardsync needs to build, test, fuzz and run.
# Does nothing when they are all present already.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcpprest-dev libssl-dev zlib1g-dev libboost-dev libboost-program-options-dev
  libsqlitecpp-dev libsqlite3-dev sqlite3
  libyaml-cpp-dev
  libcctz-dev tzdata  # Jira reads query dates in the token user's IANA zone
  libpq-dev  # the PostgreSQL board and state stores (found through pkg-config)
  postgresql-15  # the tests' throwaway clusters (tests/support/pg_cluster.h)
  libgtest-dev libgmock-dev
  python3 python3-requests  # bench/run.sh's side-by-side stage (peer script, WAN proxy)
  # scripts/fuzz.sh: libFuzzer and the sanitizer runtimes. Clang 19, not
  # Debian's default 14, which cannot compile std::expected from libstdc++ 12.
  clang-19 libclang-rt-19-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
