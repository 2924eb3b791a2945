#!/usr/bin/env bash
# boardsync benchmarks (issue 7): prints the figures, one a line.
#
#   bench/run.sh            # 100,000 issues, 1,000,000 for the RSS check,
#                           # 1,000 idle connections: a few minutes
#   QUICK=1 bench/run.sh    # 10,000 / 100,000 / 100: a smoke run in well under a minute
#
# The sample tracker runs as a separate process (tests/support/
# sample_tracker_main.cc, --generate N --control), so the figures for
# boardsync are boardsync's alone: /usr/bin/time measures the `boardsync
# sync` child; /proc/<pid> the daemon. Requests are counted by the tracker.
# Environment: BUILD_DIR (default build-bench), N, BIG, BIG_SECONDS, CONNS, IDLE_SECONDS,
# JOBS (build parallelism, default 2), KEEP=1 (keep the work folder).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-bench}
if [[ ${QUICK:-0} == 1 ]]; then
  N=${N:-10000}; BIG=${BIG:-100000}; CONNS=${CONNS:-100}; IDLE_SECONDS=${IDLE_SECONDS:-10}
else
  N=${N:-100000}; BIG=${BIG:-1000000}; CONNS=${CONNS:-1000}; IDLE_SECONDS=${IDLE_SECONDS:-20}
fi
MAPPING=$ROOT/mappings/examples/youtrack.yaml
BOARDSYNC=$BUILD/boardsync
TRACKER=$BUILD/boardsync-sample-tracker

# ---- build ----
if [[ ! -x $BOARDSYNC || ! -x $TRACKER || ${REBUILD:-0} == 1 ]]; then
  if [[ ! -f $BUILD/CMakeCache.txt ]]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >&2
  fi
  cmake --build "$BUILD" -j"${JOBS:-2}" --target boardsync boardsync-sample-tracker >&2
fi
[[ -x $BOARDSYNC ]] || BOARDSYNC=$(find "$BUILD" -name boardsync -type f -perm -u+x | head -1)
[[ -x $TRACKER ]] || TRACKER=$(find "$BUILD" -name boardsync-sample-tracker -type f -perm -u+x | head -1)
if grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$BUILD/CMakeCache.txt" 2>/dev/null; then :; else
  echo "warning: $BUILD is not a Release build" >&2
fi

WORK=$(mktemp -d /tmp/boardsync-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ ${KEEP:-0} == 1 ]] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
install -m 600 /dev/null "$WORK/token"
printf '%s\n' 'perm:YmVuY2g=.Ym9hcmRzeW5j.benchbenchbenchbenchbench01' > "$WORK/token"

say() { printf '%s\n' "$*"; }
note() { printf '# %s\n' "$*" >&2; }

# ---- the tracker, driven through its --control stdin ----
# start_tracker NAME COUNT: sets URL_<NAME>; commands via ctl NAME CMD.
start_tracker() {
  local name=$1 count=$2 dir=$WORK/tracker-$1
  mkdir -p "$dir"
  mkfifo "$dir/in"
  "$TRACKER" --port 0 --token-file "$WORK/token" --generate "$count" --control \
    <"$dir/in" >"$dir/out" 2>"$dir/err" &
  PIDS+=($!)
  eval "TPID_$name=$!"
  eval "exec {fd}>\"$dir/in\""
  eval "FD_$name=$fd"
  local i
  for ((i = 0; i < 600; i++)); do
    if grep -q 'listening on' "$dir/out" 2>/dev/null; then break; fi
    sleep 0.1
  done
  local url
  url=$(sed -n 's/^sample tracker listening on //p' "$dir/out")
  [[ -n $url ]] || { cat "$dir/err" >&2; echo "tracker $name did not start" >&2; exit 1; }
  eval "URL_$name=$url"
}
ctl() {
  local name=$1 cmd=$2 out=$WORK/tracker-$1/out fdvar=FD_$1 before
  before=$(wc -l <"$out")
  printf '%s\n' "$cmd" >&"${!fdvar}"
  while (($(wc -l <"$out") <= before)); do sleep 0.02; done
  tail -n 1 "$out"
}
stop_tracker() {
  local fdvar=FD_$1
  eval "exec ${!fdvar}>&-"
}

# write_config FILE STATE_DIR URL [CONNECTIONS] [INTERVAL]
write_config() {
  local file=$1 state=$2 url=$3 conns=${4:-1} interval=${5:-5m} i
  {
    echo "state_dir: $state"
    echo "connections:"
    for ((i = 0; i < conns; i++)); do
      cat <<EOF
  - name: bench$i
    type: youtrack
    base_url: $url
    token_file: $WORK/token
    mapping: $MAPPING
    board: bench
    interval: $interval
EOF
    done
  } >"$file"
}

# timed_sync CONFIG TAG [args]: runs `boardsync sync`, leaves
# WALL USER SYS MAXRSS_KB in $WORK/TAG.time and the summary in $WORK/TAG.out.
timed_sync() {
  local config=$1 tag=$2
  shift 2
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/$tag.time" \
    "$BOARDSYNC" --config "$config" --log-level warn sync "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err" || {
    cat "$WORK/$tag.out" "$WORK/$tag.err" >&2
    echo "boardsync sync failed ($tag)" >&2
    exit 1
  }
  note "$tag: $(cat "$WORK/$tag.out")"
  read -r WALL USER SYS MAXRSS <"$WORK/$tag.time"
}
# The cycle's own time from the summary line ("…, 0.02s").
cycle_seconds() { sed -n 's/.*, \([0-9.]*\)s$/\1/p' "$WORK/$1.out" | head -1; }
calc() { python3 -c "print($1)"; }
# CPU seconds a process has used so far.
cpu_seconds() { awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' "/proc/$1/stat"; }

note "machine: $(uname -srm); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
note "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
note "N=$N BIG=$BIG CONNS=$CONNS boardsync=$BOARDSYNC"

# ---- 1. first sync of N issues ----
start_tracker main "$N"
write_config "$WORK/main.yaml" "$WORK/state-main" "$URL_main"
ctl main reset >/dev/null
TRACKER_CPU0=$(cpu_seconds "$TPID_main")
timed_sync "$WORK/main.yaml" first
TRACKER_CPU=$(calc "round($(cpu_seconds "$TPID_main") - $TRACKER_CPU0, 2)")
FIRST_REQUESTS=$(ctl main requests | cut -d' ' -f2)
ITEMS=$(sqlite3 "$WORK/state-main/board.db" 'select count(*) from items')
say "first_sync_issues: $N (board items: $ITEMS, requests: $FIRST_REQUESTS)"
say "first_sync_issues_per_second: $(calc "round($N / $WALL)")"
say "first_sync_wall_seconds: $WALL"
say "first_sync_cpu_seconds: $(calc "round($USER + $SYS, 2)") (user $USER, sys $SYS; $(calc "round($N / ($USER + $SYS))") issues per boardsync CPU second)"
say "first_sync_tracker_cpu_seconds: $TRACKER_CPU (the sample tracker, a separate process)"
say "peak_rss_mb_${N}: $(calc "round($MAXRSS / 1024, 1)")"
RSS_N=$MAXRSS

# ---- 2. a sync with no changes ----
ctl main reset >/dev/null
timed_sync "$WORK/main.yaml" nochange
say "nochange_sync_requests: $(ctl main requests | cut -d' ' -f2)"
say "nochange_sync_wall_ms: $(calc "round($WALL * 1000)") (process); cycle $(calc "round($(cycle_seconds nochange) * 1000)") ms"

# ---- 3. a sync with 1% changed ----
CHANGED=$((N / 100))
ctl main "change $CHANGED" >/dev/null
ctl main reset >/dev/null
timed_sync "$WORK/main.yaml" onepercent
say "onepercent_sync_changed: $CHANGED ($(sed -n 's/.*\(updated [0-9]*\).*/\1/p' "$WORK/onepercent.out"))"
say "onepercent_sync_requests: $(ctl main requests | cut -d' ' -f2)"
say "onepercent_sync_wall_ms: $(calc "round($WALL * 1000)") (process); cycle $(calc "round($(cycle_seconds onepercent) * 1000)") ms"

# ---- 4. bytes per issue: the mapping's projection vs all fields ----
# The target boardsync itself sent last (its projection), then the same
# page with every attribute and every custom field.
TARGET=$(ctl main last-target | sed 's/^target //')
BASE=${URL_main%/}
PAGE=100
PROJECTED=$(printf '%s' "$TARGET" | sed -E 's/([?&])query=[^&]*&?/\1/; s/\$top=[0-9]+/$top='$PAGE'/; s/\$skip=[0-9]+/$skip=0/')
ALL_FIELDS='id,idReadable,created,updated,resolved,summary,description,tags(name),project(shortName,name),reporter(login,fullName,email),updater(login,fullName,email),votes,commentsCount,numberInProject,customFields($type,name,value($type,name,login,fullName,email,minutes,presentation,text),projectCustomField(field(fieldType(id))))'
ALL="/api/issues?fields=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$ALL_FIELDS")&\$top=$PAGE&\$skip=0"
fetch_bytes() {
  curl -s -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $(cat "$WORK/token")" \
    -H 'Accept: application/json' "$BASE$1"
}
B_PROJ=$(fetch_bytes "$PROJECTED")
B_ALL=$(fetch_bytes "$ALL")
say "bytes_per_issue_projected: $(calc "round($B_PROJ / $PAGE)")"
say "bytes_per_issue_all_fields: $(calc "round($B_ALL / $PAGE)") (projection saves $(calc "round(100 - 100 * $B_PROJ / $B_ALL)")%)"
stop_tracker main

# ---- 5. peak RSS: N/10 issues, and BIG issues ----
# The sample tracker answers a keyset page in about the same time at any
# issue count, so the BIG sync runs to the end; BIG_SECONDS (default 900)
# only guards against a hang, and the figure says how far it got.
SMALL=$((N / 10))
start_tracker small "$SMALL"
write_config "$WORK/small.yaml" "$WORK/state-small" "$URL_small"
timed_sync "$WORK/small.yaml" small
say "peak_rss_mb_${SMALL}: $(calc "round($MAXRSS / 1024, 1)") (ratio ${N} to ${SMALL}: $(calc "round($RSS_N / $MAXRSS, 2)"))"
stop_tracker small

start_tracker big "$BIG"
write_config "$WORK/big.yaml" "$WORK/state-big" "$URL_big"
/usr/bin/time -f '%e %U %S %M' -o "$WORK/big.time" \
  timeout --signal=TERM "${BIG_SECONDS:-900}" \
  "$BOARDSYNC" --config "$WORK/big.yaml" --log-level warn sync >"$WORK/big.out" 2>"$WORK/big.err" || true
read -r WALL USER SYS MAXRSS < <(tail -n 1 "$WORK/big.time")
STAGED=$(sqlite3 "file:$WORK/state-big/state.db?mode=ro" 'select count(*) from items')
if [[ -s $WORK/big.out ]]; then
  note "big: $(cat "$WORK/big.out")"
  STOPPED="complete"
else
  STOPPED="stopped after ${BIG_SECONDS:-900} s"
fi
say "peak_rss_mb_${BIG}: $(calc "round($MAXRSS / 1024, 1)") (ratio to ${N}: $(calc "round($MAXRSS / $RSS_N, 2)"); ${STOPPED}, $STAGED issues staged, $(calc "round($STAGED / $WALL)")/s, boardsync CPU $(calc "round($USER + $SYS, 1)") s, tracker CPU $(cpu_seconds "$TPID_big") s)"
stop_tracker big

# ---- 6. the daemon with CONNS connections, idle between syncs ----
# A small tracker (each connection pulls the same 20 issues into its own
# items); interval 1m. The first syncs are spread over the first 10 s; the
# sample is taken after every connection has run once and before the next
# round (due at 57-63 s).
start_tracker idle 20
write_config "$WORK/idle.yaml" "$WORK/state-idle" "$URL_idle" "$CONNS" 1m
"$BOARDSYNC" --config "$WORK/idle.yaml" --log-level warn run >"$WORK/daemon.out" 2>"$WORK/daemon.err" &
DAEMON=$!
PIDS+=($DAEMON)
START=$(date +%s.%N)
for ((i = 0; i < 500; i++)); do
  RUNS=$(sqlite3 "file:$WORK/state-idle/state.db?mode=ro" 'select count(*) from runs' 2>/dev/null || echo 0)
  ((RUNS >= CONNS)) && break
  sleep 0.1
done
READY=$(calc "round($(date +%s.%N) - $START, 1)")
note "daemon: $RUNS of $CONNS connections synced once after ${READY}s"
sleep 2
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$DAEMON/stat"; }
if (($(calc "int($READY + 2 + $IDLE_SECONDS < 55)"))); then
  T0=$(date +%s.%N); C0=$(cpu_ticks)
  sleep "$IDLE_SECONDS"
  T1=$(date +%s.%N); C1=$(cpu_ticks)
  RSS_IDLE=$(awk '/^VmRSS/ {print $2}' "/proc/$DAEMON/status")
  THREADS=$(awk '/^Threads/ {print $2}' "/proc/$DAEMON/status")
  say "idle_${CONNS}_connections_cpu_percent_of_one_core: $(calc "round(100 * ($C1 - $C0) / $TICK / ($T1 - $T0), 2)") (over $(calc "round($T1 - $T0, 1)") s)"
  say "idle_${CONNS}_connections_rss_mb: $(calc "round($RSS_IDLE / 1024, 1)") (threads: $THREADS; first round took ${READY}s)"
else
  say "idle_${CONNS}_connections: first round took ${READY}s, no idle window before the next round"
fi
kill -TERM "$DAEMON"
wait "$DAEMON" || true
stop_tracker idle
note "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
