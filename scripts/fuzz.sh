#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang in build-fuzz/, replays the
# inputs of past findings (fuzz/regressions/<name>/), then runs each target
# for FUZZ_SECONDS (default 60) of wall time, all at once, starting from its
# seed corpus fuzz/corpus/<name>/. Fails when any target crashes, leaks,
# hangs or trips ASan/UBSan; the input that did it is kept in
# build-fuzz/crashes/<name>/ and printed in base64, so a CI log alone
# reproduces it. What the fuzzers learn accumulates in build-fuzz/corpus/.
#   FUZZ_SECONDS=600 scripts/fuzz.sh                # longer
#   FUZZ_TARGETS="mapping config" scripts/fuzz.sh   # some only
#   build-fuzz/fuzz/mapping_fuzz FILE               # replay one input
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

seconds=${FUZZ_SECONDS:-60}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
read -r -a targets <<<"${FUZZ_TARGETS:-json youtrack_decode jira_decode github_decode gitlab_decode mapping config}"
# Debian 12's default clang 14 cannot compile std::expected from libstdc++ 12
# (it needs __cpp_concepts 202002); clang 19 can.
cxx=${FUZZ_CXX:-clang++-19}
command -v "$cxx" >/dev/null || { echo "fuzz: $cxx not found; run scripts/install-deps.sh" >&2; exit 1; }
# Readable stacks: llvm-symbolizer when there is one, else binutils' addr2line.
symbolizer=$(command -v llvm-symbolizer-19 || echo /usr/bin/addr2line)
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$symbolizer}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

echo "fuzz: building ${targets[*]/%/_fuzz} with $cxx in $build_dir/"
cmake -S . -B "$build_dir" -DCMAKE_CXX_COMPILER="$cxx" -DBOARDSYNC_FUZZ=ON \
  -DBOARDSYNC_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g" >/dev/null
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target "${targets[@]/%/_fuzz}"

failed=0
for t in "${targets[@]}"; do
  mkdir -p "$build_dir/corpus/$t" "$build_dir/crashes/$t" "$build_dir/logs"
  regressions=(fuzz/regressions/"$t"/*)
  [ -e "${regressions[0]}" ] || continue
  if "$build_dir/fuzz/${t}_fuzz" "${regressions[@]}" >"$build_dir/logs/$t-regressions.log" 2>&1; then
    echo "fuzz: $t replayed ${#regressions[@]} inputs of past findings: fine"
  else
    failed=1
    echo "fuzz: $t FAILED on an input of a past finding (fuzz/regressions/$t/):"
    tail -n 60 "$build_dir/logs/$t-regressions.log" | sed 's/^/  | /'
  fi
done
[ "$failed" -eq 0 ] || { echo "fuzz: FAILED (see above)" >&2; exit 1; }

stamp=$build_dir/.fuzz-start
touch "$stamp"
echo "fuzz: running ${#targets[@]} targets for ${seconds}s each, in parallel"
pids=()
for t in "${targets[@]}"; do
  # The first corpus folder receives new inputs; the seeds stay untouched.
  "$build_dir/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="fuzz/$t.dict" -artifact_prefix="$build_dir/crashes/$t/" \
    "$build_dir/corpus/$t" "fuzz/corpus/$t" >"$build_dir/logs/$t.log" 2>&1 &
  pids+=($!)
done

for i in "${!targets[@]}"; do
  t=${targets[$i]}
  log=$build_dir/logs/$t.log
  if wait "${pids[$i]}"; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [^ ]+' || true)
    echo "fuzz: $t passed: ${runs:-?} inputs in ${seconds}s, $last"
  else
    failed=1
    echo "fuzz: $t FAILED; its log ($log) ends:"
    tail -n 60 "$log" | sed 's/^/  | /'
    while IFS= read -r crash; do
      echo "fuzz: $t kept $crash ($(stat -c %s "$crash") bytes); replay: $build_dir/fuzz/${t}_fuzz $crash"
      echo "fuzz: base64 of it: $(head -c 65536 "$crash" | base64 -w0)"
    done < <(find "$build_dir/crashes/$t" -type f -newer "$stamp")
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED (see above)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a finding"
