#!/usr/bin/env bash
# boardsync benchmarks (issue 7): prints the figures, one a line.
#
#   bench/run.sh            # 100,000 issues, 1,000,000 for the RSS check,
#                           # 1,000 idle connections: a few minutes
#   QUICK=1 bench/run.sh    # 10,000 / 100,000 / 100: a smoke run in well under a minute
#   STAGE=side bench/run.sh # only the side-by-side stage (issue 15)
#   STAGE=postgres bench/run.sh # only PostgreSQL state and board beside SQLite (issue 19)
#   STAGE=main bench/run.sh # the stages of issue 7 alone
#
# The sample tracker runs as a separate process (tests/support/
# sample_tracker_main.cc, --generate N --control), so the figures for
# boardsync are boardsync's alone: /usr/bin/time measures the `boardsync
# sync` child; /proc/<pid> the daemon. Requests are counted by the tracker.
# The side-by-side stage runs boardsync and bench/peer_sync.py (the plain
# Python client a team would write instead) on the same tracker, directly and
# through bench/wan_proxy.py (latency, shared bandwidth, gzip when asked).
# Environment: BUILD_DIR (default build-bench), N, BIG, BIG_SECONDS, CONNS, IDLE_SECONDS,
# JOBS (build parallelism, default 2), KEEP=1 (keep the work folder); for the
# side-by-side stage N_SIDE, CONCURRENCY, PAGE_SIZE, WAN_LATENCY_MS, WAN_RATE_MBIT,
# WAN_GZIP_LEVEL; for the PostgreSQL stage N_PG, PG_BIN, PG_FSYNC.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-bench}
if [[ ${QUICK:-0} == 1 ]]; then
  N=${N:-10000}; BIG=${BIG:-100000}; CONNS=${CONNS:-100}; IDLE_SECONDS=${IDLE_SECONDS:-10}
  N_SIDE=${N_SIDE:-5000}; N_PG=${N_PG:-10000}
else
  N=${N:-100000}; BIG=${BIG:-1000000}; CONNS=${CONNS:-1000}; IDLE_SECONDS=${IDLE_SECONDS:-20}
  N_SIDE=${N_SIDE:-20000}; N_PG=${N_PG:-100000}
fi
STAGE=${STAGE:-all}
case $STAGE in
  all | main | side | postgres) ;;
  *) echo "STAGE must be all, main, side or postgres" >&2; exit 2 ;;
esac
# Debian's python3 has python3-requests (scripts/install-deps.sh).
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
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
  ! declare -F stop_postgres >/dev/null || stop_postgres
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

# write_config FILE STATE_DIR URL [CONNECTIONS] [INTERVAL] [EXTRA] [STORES]
# EXTRA: more lines for each connection, already indented; STORES: the
# `state:` and `board:` sections, when not the SQLite defaults.
write_config() {
  local file=$1 state=$2 url=$3 conns=${4:-1} interval=${5:-5m} extra=${6:-} stores=${7:-} i
  {
    echo "state_dir: $state"
    [[ -z $stores ]] || printf '%s\n' "$stores"
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
      [[ -z $extra ]] || printf '%s\n' "$extra"
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
note "STAGE=$STAGE N=$N BIG=$BIG CONNS=$CONNS N_SIDE=$N_SIDE N_PG=$N_PG boardsync=$BOARDSYNC"

# The stages of issue 7: first, no-change and 1% syncs, bytes per issue, peak
# RSS, idle connections.
main_stages() {
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
}

# ---- the side-by-side stage (issue 15) ----
# boardsync and bench/peer_sync.py, each into a fresh state directory or
# database, on one tracker of N_SIDE issues: (a) directly on loopback, for CPU
# per issue; (b) through bench/wan_proxy.py, for wall time and bytes on a real
# network. The script runs second each time; both pull every issue.

# timed_peer TAG [peer_sync.py args]: like timed_sync, for the script.
timed_peer() {
  local tag=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/$tag.time" \
    "$PY" "$ROOT/bench/peer_sync.py" "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err" || {
    cat "$WORK/$tag.out" "$WORK/$tag.err" >&2
    echo "bench/peer_sync.py failed ($tag)" >&2
    exit 1
  }
  note "$tag: $(cat "$WORK/$tag.out")"
  read -r WALL USER SYS MAXRSS < <(tail -n 1 "$WORK/$tag.time")
}
# met VALUE LIMIT: whether a ratio meets its target.
met() { calc "'met' if $1 <= $2 else 'not met'"; }
# The issues a summary line says were pulled ("…: pulled 20000, …").
pulled() { sed -n 's/.*pulled \([0-9]*\).*/\1/p' "$WORK/$1.out" | head -1; }

# start_proxy UPSTREAM: sets PROXY_URL and PROXY_PID.
start_proxy() {
  "$PY" "$ROOT/bench/wan_proxy.py" --upstream "$1" >"$WORK/proxy.out" 2>"$WORK/proxy.err" &
  PROXY_PID=$!
  PIDS+=($PROXY_PID)
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q 'listening on' "$WORK/proxy.out" 2>/dev/null && break
    sleep 0.1
  done
  PROXY_URL=$(sed -n 's/^wan proxy listening on \([^ ]*\).*/\1/p' "$WORK/proxy.out")
  [[ -n $PROXY_URL ]] || { cat "$WORK/proxy.err" >&2; echo "wan_proxy.py did not start" >&2; exit 1; }
  note "$(cat "$WORK/proxy.out")"
}
# proxy_stats reset|read FIELD...: the proxy's counters (reset: then zero).
proxy_stats() {
  local path=/__stats
  [[ $1 == reset ]] && path=/__stats/reset
  shift
  curl -s "$PROXY_URL$path" | "$PY" -c \
    'import json,sys; s=json.load(sys.stdin); print(*(s[k] for k in sys.argv[1:]))' "$@"
}

# The connection keys this stage adds: page_size from PAGE_SIZE, and
# concurrency (CONCURRENCY, default 4) once this boardsync's check accepts it.
side_connection_keys() {
  local keys=() concurrency=${CONCURRENCY:-}
  [[ -z ${PAGE_SIZE:-} ]] || keys+=("    page_size: $PAGE_SIZE")
  if [[ -z $concurrency ]]; then
    write_config "$WORK/probe.yaml" "$WORK/state-probe" "$1" 1 5m "    concurrency: 4"
    if "$BOARDSYNC" --config "$WORK/probe.yaml" check >"$WORK/probe.out" 2>&1; then
      concurrency=4
    else
      note "concurrency left out, boardsync check says: $(grep -m1 concurrency "$WORK/probe.out" || head -n 1 "$WORK/probe.out")"
    fi
  fi
  [[ -z $concurrency ]] || keys+=("    concurrency: $concurrency")
  ((${#keys[@]} == 0)) || printf '%s\n' "${keys[@]}"
}

side_stage() {
  "$PY" -c 'import requests' 2>/dev/null || {
    echo "the side-by-side stage needs $PY with requests (python3-requests, scripts/install-deps.sh)" >&2
    exit 1
  }
  start_tracker side "$N_SIDE"
  local keys
  keys=$(side_connection_keys "$URL_side")
  note "side-by-side: $N_SIDE issues; boardsync's added connection keys: $(sed 's/^ *//' <<<"${keys:-none}" | paste -sd, - | sed 's/,/, /g')"
  local py_args=(--token-file "$WORK/token" --connection bench0 --board bench)

  # (a) loopback
  write_config "$WORK/side-lo.yaml" "$WORK/state-side-lo" "$URL_side" 1 5m "$keys"
  ctl side reset >/dev/null
  timed_sync "$WORK/side-lo.yaml" side-lo-boardsync
  local bs_lo_wall=$WALL bs_lo_cpu bs_lo_n bs_lo_req target
  bs_lo_cpu=$(calc "$USER + $SYS")
  bs_lo_n=$(pulled side-lo-boardsync)
  bs_lo_req=$(ctl side requests | cut -d' ' -f2)
  # The script asks for the fields boardsync asked for.
  target=$(ctl side last-target | sed 's/^target //')
  ctl side reset >/dev/null
  timed_peer side-lo-script --base-url "$URL_side" --db "$WORK/side-lo-script.db" \
    --projection "$target" "${py_args[@]}"
  local py_lo_wall=$WALL py_lo_cpu py_lo_n py_lo_req
  py_lo_cpu=$(calc "$USER + $SYS")
  py_lo_n=$(pulled side-lo-script)
  py_lo_req=$(ctl side requests | cut -d' ' -f2)
  # The same mapping: every item the same fields (numbers compared as numbers).
  local same
  same=$("$PY" - "$WORK/state-side-lo/board.db" "$WORK/side-lo-script.db" <<'EOF'
import json, sqlite3, sys
def items(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    return {k: json.loads(f) for k, f in db.execute("select item_key, fields from items")}
ours, theirs = items(sys.argv[1]), items(sys.argv[2])
same = sum(1 for k, f in ours.items() if theirs.get(k) == f)
print(f"{same} of {len(ours)} boardsync items, {len(theirs)} script items")
EOF
)

  # (b) through the WAN-shaping proxy
  start_proxy "$URL_side"
  write_config "$WORK/side-wan.yaml" "$WORK/state-side-wan" "$PROXY_URL" 1 5m "$keys"
  local cpu0 bs_wan_wall bs_wan_cpu bs_wan_n bs_wan_req bs_wire bs_plain bs_proxy_cpu
  proxy_stats reset requests >/dev/null
  ctl side reset >/dev/null
  cpu0=$(cpu_seconds "$PROXY_PID")
  timed_sync "$WORK/side-wan.yaml" side-wan-boardsync
  bs_wan_wall=$WALL
  bs_wan_cpu=$(calc "$USER + $SYS")
  bs_wan_n=$(pulled side-wan-boardsync)
  bs_proxy_cpu=$(calc "round($(cpu_seconds "$PROXY_PID") - $cpu0, 2)")
  read -r bs_wan_req bs_wire bs_plain < <(proxy_stats reset requests wire_bytes upstream_bytes)
  note "side-wan-boardsync: the tracker served $(ctl side requests | cut -d' ' -f2) requests; proxy CPU ${bs_proxy_cpu}s"

  local py_wan_wall py_wan_cpu py_wan_n py_wan_req py_wire py_plain py_proxy_cpu
  ctl side reset >/dev/null
  cpu0=$(cpu_seconds "$PROXY_PID")
  timed_peer side-wan-script --base-url "$PROXY_URL" --db "$WORK/side-wan-script.db" \
    --projection "$target" "${py_args[@]}"
  py_wan_wall=$WALL
  py_wan_cpu=$(calc "$USER + $SYS")
  py_wan_n=$(pulled side-wan-script)
  py_proxy_cpu=$(calc "round($(cpu_seconds "$PROXY_PID") - $cpu0, 2)")
  read -r py_wan_req py_wire py_plain < <(proxy_stats reset requests wire_bytes upstream_bytes)
  note "side-wan-script: the tracker served $(ctl side requests | cut -d' ' -f2) requests; proxy CPU ${py_proxy_cpu}s"
  kill "$PROXY_PID" 2>/dev/null || true
  stop_tracker side

  local us="1e6 * " mb="1e-6 * " cpu_ratio wall_ratio
  cpu_ratio=$(calc "round(($bs_lo_cpu / $bs_lo_n) / ($py_lo_cpu / $py_lo_n), 3)")
  wall_ratio=$(calc "round($bs_wan_wall / $py_wan_wall, 3)")
  say "side_issues: $N_SIDE (pulled: boardsync $bs_lo_n, script $py_lo_n; same board fields: $same)"
  say "side_loopback_cpu_us_per_issue: boardsync $(calc "round($us$bs_lo_cpu / $bs_lo_n, 1)"), script $(calc "round($us$py_lo_cpu / $py_lo_n, 1)") (ratio $cpu_ratio; target <= 0.10: $(met "$cpu_ratio" 0.10))"
  say "side_loopback_wall_seconds: boardsync $bs_lo_wall, script $py_lo_wall"
  say "side_loopback_requests: boardsync $bs_lo_req, script $py_lo_req"
  say "side_loopback_mb: boardsync $(calc "round($mb$bs_plain, 1)"), script $(calc "round($mb$py_plain, 1)") (the tracker's answers, uncompressed: what the proxy read from it in the WAN run)"
  say "side_wan_wall_seconds: boardsync $bs_wan_wall, script $py_wan_wall (ratio $wall_ratio; target <= 0.33: $(met "$wall_ratio" 0.33))"
  say "side_wan_mb_on_the_wire: boardsync $(calc "round($mb$bs_wire, 2)"), script $(calc "round($mb$py_wire, 2)")"
  say "side_wan_requests: boardsync $bs_wan_req, script $py_wan_req"
  say "side_wan_cpu_us_per_issue: boardsync $(calc "round($us$bs_wan_cpu / $bs_wan_n, 1)"), script $(calc "round($us$py_wan_cpu / $py_wan_n, 1)")"
}


# ---- the PostgreSQL stage (issue 19) ----
# A throwaway PostgreSQL cluster of this script's own (initdb in a temp dir,
# as the user postgres when run as root: initdb refuses root), on a free
# port of 127.0.0.1, password (scram) login as in production, the server's
# defaults but for PG_FSYNC (default on). One tracker of N_PG issues; each
# client into a fresh state directory or database: SQLite state and board,
# PostgreSQL state and board (one database, as DESIGN §2's example), and
# SQLite state with a PostgreSQL board, to tell the two apart.

PGDIR=
as_postgres() {
  if (($(id -u) == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_postgres() {
  [[ -n $PGDIR && -d $PGDIR/data ]] || return 0
  as_postgres "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
  PGDIR=
}
# Sets PG_ADMIN_URL, PG_PORT, PG_PID; the role boardsync may create databases.
start_postgres() {
  PGDIR=$(mktemp -d /tmp/boardsync-bench-pg.XXXXXX)
  chmod 755 "$PGDIR"
  (($(id -u) != 0)) || chown postgres: "$PGDIR"
  local admin_pw user_pw
  admin_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  user_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  (umask 077; printf '%s\n' "$admin_pw" >"$PGDIR/pwfile")
  (($(id -u) != 0)) || chown postgres: "$PGDIR/pwfile"
  as_postgres "$PG_BIN/initdb" -D "$PGDIR/data" -U bench_admin --pwfile="$PGDIR/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C --no-instructions >"$PGDIR/initdb.log" 2>&1 || {
    cat "$PGDIR/initdb.log" >&2; echo "initdb failed" >&2; exit 1
  }
  rm -f "$PGDIR/pwfile"
  PG_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_postgres "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PGDIR -c fsync=${PG_FSYNC:-on}" \
    start >/dev/null || { tail -n 20 "$PGDIR/server.log" >&2; echo "postgres did not start" >&2; exit 1; }
  PG_PID=$(head -n 1 "$PGDIR/data/postmaster.pid")
  PG_ADMIN_URL="postgresql://bench_admin:$admin_pw@127.0.0.1:$PG_PORT/postgres"
  PG_USER_URL="postgresql://boardsync:$user_pw@127.0.0.1:$PG_PORT"
  psql -qX "$PG_ADMIN_URL" -c "CREATE ROLE boardsync LOGIN PASSWORD '$user_pw'" >/dev/null
  note "postgres: $("$PG_BIN/postgres" --version), port $PG_PORT, fsync=${PG_FSYNC:-on}, shared_buffers $(psql -qXAt "$PG_ADMIN_URL" -c 'show shared_buffers')"
}
# pg_database NAME: a fresh database owned by boardsync; leaves its URL
# (with the password) in $WORK/NAME.url, mode 600.
pg_database() {
  psql -qX "$PG_ADMIN_URL" -c "CREATE DATABASE $1 OWNER boardsync" >/dev/null
  install -m 600 /dev/null "$WORK/$1.url"
  printf '%s/%s\n' "$PG_USER_URL" "$1" >"$WORK/$1.url"
}
pg_sql() { psql -qXAt "$PG_ADMIN_URL" -c "$1"; }
pg_db_sql() { psql -qXAt "${PG_ADMIN_URL%/postgres}/$1" -c "$2"; }
# CPU seconds of the whole server: the postmaster with what it reaped
# (backends that ended), and the children alive now.
pg_cpu_seconds() {
  local pids
  pids=$(ps -o pid= --ppid "$PG_PID" | tr -d ' ' | paste -sd' ' -)
  awk -v t="$(getconf CLK_TCK)" -v pm="$PG_PID" '
    FILENAME ~ "/" pm "/stat$" { s += $14 + $15 + $16 + $17; next }
    { s += $14 + $15 }
    END { print s / t }' "/proc/$PG_PID/stat" $(for p in $pids; do [[ -r /proc/$p/stat ]] && echo "/proc/$p/stat"; done)
}
# timed_pg_sync CONFIG TAG [args]: timed_sync, and PG_CPU: the server's CPU
# seconds meanwhile.
timed_pg_sync() {
  local before
  before=$(pg_cpu_seconds)
  timed_sync "$@"
  PG_CPU=$(calc "round($(pg_cpu_seconds) - $before, 2)")
}

postgres_stage() {
  command -v psql >/dev/null || { echo "the PostgreSQL stage needs psql (postgresql-client)" >&2; exit 1; }
  [[ -x $PG_BIN/initdb ]] || { echo "the PostgreSQL stage needs the server ($PG_BIN/initdb; PG_BIN)" >&2; exit 1; }
  start_postgres
  start_tracker pg "$N_PG"
  pg_database bench_pg
  pg_database bench_split
  local pg_stores="state:
  type: postgres
  url_file: $WORK/bench_pg.url
board:
  type: postgres
  url_file: $WORK/bench_pg.url"
  local split_stores="board:
  type: postgres
  url_file: $WORK/bench_split.url"
  write_config "$WORK/pg-sqlite.yaml" "$WORK/state-pg-sqlite" "$URL_pg"
  write_config "$WORK/pg-pg.yaml" "$WORK/state-pg-pg" "$URL_pg" 1 5m "" "$pg_stores"
  write_config "$WORK/pg-split.yaml" "$WORK/state-pg-split" "$URL_pg" 1 5m "" "$split_stores"

  # First syncs, one store after the other on the same tracker.
  local kind
  local -A wall=() cpu=() user=() sys=() rss=() pgcpu=() req=() items=()
  for kind in sqlite pg split; do
    ctl pg reset >/dev/null
    timed_pg_sync "$WORK/pg-$kind.yaml" "pg-first-$kind"
    wall[$kind]=$WALL; user[$kind]=$USER; sys[$kind]=$SYS
    cpu[$kind]=$(calc "round($USER + $SYS, 2)")
    rss[$kind]=$(calc "round($MAXRSS / 1024, 1)")
    pgcpu[$kind]=$PG_CPU
    req[$kind]=$(ctl pg requests | cut -d' ' -f2)
  done
  items[sqlite]=$(sqlite3 "file:$WORK/state-pg-sqlite/board.db?mode=ro" 'select count(*) from items')
  items[pg]=$(pg_db_sql bench_pg 'select count(*) from items')
  items[split]=$(pg_db_sql bench_split 'select count(*) from items')
  local size
  size=$(calc "round($(pg_db_sql bench_pg 'select pg_database_size(current_database())') / 1e6, 1)")

  # Without changes, then with 1% changed.
  local -A nochange=() onepercent=()
  for kind in sqlite pg split; do
    timed_sync "$WORK/pg-$kind.yaml" "pg-nochange-$kind"
    nochange[$kind]=$(calc "round($WALL * 1000)")
  done
  ctl pg "change $((N_PG / 100))" >/dev/null
  for kind in sqlite pg split; do
    timed_sync "$WORK/pg-$kind.yaml" "pg-onepercent-$kind"
    onepercent[$kind]=$(calc "round($WALL * 1000)")
  done
  stop_tracker pg

  say "pg_first_sync_issues: $N_PG (board items: SQLite ${items[sqlite]}, PostgreSQL ${items[pg]}, SQLite state + PostgreSQL board ${items[split]}; requests ${req[sqlite]} / ${req[pg]} / ${req[split]})"
  for kind in sqlite pg split; do
    local label
    case $kind in
      sqlite) label="sqlite (state and board)" ;;
      pg) label="postgres (state and board)" ;;
      split) label="sqlite state, postgres board" ;;
    esac
    say "pg_first_sync_$kind: ${wall[$kind]} s wall, $(calc "round($N_PG / ${wall[$kind]})") issues/s; boardsync CPU ${cpu[$kind]} s (user ${user[$kind]}, sys ${sys[$kind]}), peak RSS ${rss[$kind]} MB; postgres server CPU ${pgcpu[$kind]} s  [$label]"
  done
  say "pg_first_sync_wall_ratio: postgres / sqlite $(calc "round(${wall[pg]} / ${wall[sqlite]}, 2)"), split / sqlite $(calc "round(${wall[split]} / ${wall[sqlite]}, 2)")"
  say "pg_nochange_sync_wall_ms: sqlite ${nochange[sqlite]}, postgres ${nochange[pg]}, split ${nochange[split]} (process)"
  say "pg_onepercent_sync_wall_ms: sqlite ${onepercent[sqlite]}, postgres ${onepercent[pg]}, split ${onepercent[split]} (process; $((N_PG / 100)) issues changed)"
  say "pg_database_mb: $size (state and board of $N_PG issues; SQLite: state.db $(calc "round($(stat -c %s "$WORK/state-pg-sqlite/state.db") / 1e6, 1)"), board.db $(calc "round($(stat -c %s "$WORK/state-pg-sqlite/board.db") / 1e6, 1)"))"
  stop_postgres
}

# The server's binaries: PG_BIN, else the newest of Debian's.
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
case $STAGE in
  main) main_stages ;;
  side) side_stage ;;
  postgres) postgres_stage ;;
  all)
    main_stages
    side_stage
    if [[ -x ${PG_BIN:-}/initdb ]] && command -v psql >/dev/null; then
      postgres_stage
    else
      note "PostgreSQL stage left out: no server binaries (PG_BIN) or no psql"
    fi
    ;;
esac
note "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
