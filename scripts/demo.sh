#!/usr/bin/env bash
# From a fresh Debian 12 machine to a populated board: installs what is
# needed, builds, starts the bundled sample YouTrack tracker on loopback,
# runs one `boardsync sync` into the embedded SQLite board, and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/install-deps.sh
scripts/build.sh

demo=$root/build/demo
rm -rf "$demo"
mkdir -p "$demo"
# The tracker and boardsync share a token, kept in a private file as a real
# one would be (boardsync refuses token files others can read).
(umask 077 && printf 'perm:ZGVtbw==.c2FtcGxl.demo0sample0tracker0token000000\n' >"$demo/tracker.token")

build/boardsync-sample-tracker --port 0 --token-file "$demo/tracker.token" >"$demo/tracker.log" 2>&1 &
tracker=$!
trap 'kill $tracker 2>/dev/null || true' EXIT
url=""
for _ in $(seq 100); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$demo/tracker.log" || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$demo/tracker.log" >&2; echo "the sample tracker did not start" >&2; exit 1; }

cat >"$demo/boardsync.yaml" <<YAML
state_dir: state
connections:
  - name: sample
    type: youtrack
    base_url: $url
    token_file: tracker.token
    mapping: $root/mappings/examples/youtrack.yaml
    board: roadmap
YAML

run() { echo "\$ boardsync $*"; build/boardsync --config "$demo/boardsync.yaml" "$@"; }
run check
run test-connection
run sync
echo
echo "board store $demo/state/board.db, table items:"
sqlite3 -header -column "$demo/state/board.db" "
  SELECT source_key AS issue,
         substr(json_extract(fields, '$.title'), 1, 38) AS title,
         json_extract(fields, '$.state') AS state,
         json_extract(fields, '$.urgency') AS urgency,
         json_extract(fields, '$.assignee') AS assignee,
         json_extract(fields, '$.effort_days') AS effort_days,
         archived_at IS NOT NULL AS archived
  FROM items ORDER BY board, source_key"
