#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test; then runs the whole
# suite again under AddressSanitizer and UndefinedBehaviorSanitizer
# (scripts/sanitizers.sh) and fuzzes each parser for a bounded time
# (scripts/fuzz.sh). Stops at the first stage that fails.
# TEST_STAGES picks stages, e.g. TEST_STAGES=tests for the quick one.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a stages <<<"${TEST_STAGES:-tests sanitizers fuzz}"

tests() {
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
    tests) what="build/: build and the test suite" ;;
    sanitizers) what="build-asan/: the test suite under ASan and UBSan (scripts/sanitizers.sh)" ;;
    fuzz) what="build-fuzz/: libFuzzer targets, ${FUZZ_SECONDS:-60}s each (scripts/fuzz.sh)" ;;
    *) echo "test.sh: unknown stage \"$stage\" (known: tests sanitizers fuzz)" >&2; exit 2 ;;
  esac
  echo
  echo "======== stage $stage: $what ========"
  start=$SECONDS
  set +e
  (
    set -e
    case $stage in
      tests) tests ;;
      sanitizers) scripts/sanitizers.sh ;;
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
