#!/bin/sh
# Static checks of the systemd units and the install layout, run before a release
# (docs/deployment.md lists what each step proves):
#   deploy/check.sh BUILD_DIR      e.g. deploy/check.sh build-deploy
# BUILD_DIR must have the boardsync binary built. Needs systemd-analyze (systemd
# >= 252 for --offline); shellcheck is used when present. Touches nothing outside
# a temporary directory.
set -eu
build=${1:?usage: deploy/check.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== cmake --install $build --prefix $tmp/prefix"
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
(cd "$tmp/prefix" && find . ! -type d | sort)

# Installed under a prefix other than /usr, the units point at that prefix, so
# verify finds the ExecStart= binary the build made.
echo "== systemd-analyze verify (installed units)"
units="$tmp/prefix/lib/systemd/system"
systemd-analyze verify "$units/boardsync.service" "$units/boardsync-sync.service" \
  "$units/boardsync-sync.timer"
echo "clean"

echo "== systemd-analyze security --offline=yes (threshold 1.5)"
for unit in boardsync.service boardsync-sync.service; do
  systemd-analyze security --offline=yes --threshold=15 "$here/$unit" | tail -n 1
done

echo "== the two services share one sandbox"
sandbox() {  # the settings from DynamicUser= on, without comments
  sed -n '/^DynamicUser=/,/^\[/p' "$1" | grep -v -e '^#' -e '^\[' -e '^$'
}
sandbox "$here/boardsync.service" >"$tmp/daemon"
sandbox "$here/boardsync-sync.service" >"$tmp/oneshot"
diff -u "$tmp/daemon" "$tmp/oneshot"
echo "same $(wc -l <"$tmp/daemon") settings"

if command -v shellcheck >/dev/null 2>&1; then
  echo "== shellcheck maintainer scripts"
  shellcheck "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$0"
  echo "clean"
fi
