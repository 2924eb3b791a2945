#!/usr/bin/env bash
# Installs what is needed, builds once with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs every test on that build
# (scripts/sanitizers.sh), then fuzzes each parser for a bounded time
# (scripts/fuzz.sh). Stops at the first stage that fails.
# TEST_STAGES picks stages, e.g. TEST_STAGES=tests for the suite alone, or
# TEST_STAGES=plain for the suite on the optimised build in build/ (quicker
# to build, finds less).
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a stages <<<"${TEST_STAGES:-tests fuzz}"

plain() {
  scripts/install-deps.sh
  scripts/build.sh
  cd "${BUILD_DIR:-build}"
  ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 300
}

summary=()
print_summary() {
  echo
  echo "======== test.sh summary ========"
  printf '%s\n' "${summary[@]}"
}
trap print_summary EXIT

passed=0
for stage in "${stages[@]}"; do
  case $stage in
    tests) what="build-asan/: build once, the whole test suite under ASan and UBSan (scripts/sanitizers.sh)" ;;
    plain) what="build/: the optimised build and the test suite, no sanitizers" ;;
    fuzz) what="build-fuzz/: libFuzzer targets, ${FUZZ_SECONDS:-60}s each (scripts/fuzz.sh)" ;;
    *) echo "test.sh: unknown stage \"$stage\" (known: tests plain fuzz)" >&2; exit 2 ;;
  esac
  echo
  echo "======== stage $stage: $what ========"
  start=$SECONDS
  set +e
  (
    set -e
    case $stage in
      tests) scripts/sanitizers.sh ;;
      plain) plain ;;
      fuzz) scripts/fuzz.sh ;;
    esac
  )
  status=$?
  set -e
  took=$((SECONDS - start))
  if [ "$status" -ne 0 ]; then
    summary+=("stage $stage: FAILED after ${took}s (exit $status)")
    echo "======== stage $stage: FAILED after ${took}s ========"
    summary+=("stages: $passed passed, 1 failed")
    exit "$status"
  fi
  passed=$((passed + 1))
  summary+=("stage $stage: passed in ${took}s")
  echo "======== stage $stage: passed in ${took}s ========"
done
summary+=("stages: $passed passed, 0 failed")
