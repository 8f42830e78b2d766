#!/bin/bash
# Runs the cgroup unit tests (build/tests/test-cgroup, built by `make unit`)
# inside a throwaway QEMU guest with pure cgroup v2, where the test process
# sits in the root cgroup. Builds nothing. Exits with the tests' status,
# 77 when the guest can't be started here.
#
#   tests/cgroup-v2/run.sh [TEST-FILTER]
#   BIN=build-asan/tests/test-cgroup tests/cgroup-v2/run.sh    # the ASan build
#   HUSK_UNIT_TIMING=1 tests/cgroup-v2/run.sh timing           # print timings
set -u
cd "$(dirname "$0")/../.."
VM=${V2VM:-$(cd .. && pwd)/shared/tools/v2vm/run-in-v2vm.sh}
BIN=${BIN:-build/tests/test-cgroup}

if [ ! -x "$BIN" ]; then
        echo "cgroup-v2: $BIN is missing; run 'make unit' first" >&2
        exit 2
fi
if [ ! -x "$VM" ]; then
        echo "cgroup-v2: skip: $VM not found" >&2
        exit 77
fi
dir=$(mktemp -d /tmp/husk-cgroup-v2.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp "$BIN" "$dir/test-cgroup"

envs=()
[ -n "${HUSK_UNIT_TIMING:-}" ] && envs+=(-e "HUSK_UNIT_TIMING=$HUSK_UNIT_TIMING")
[ -n "${ASAN_OPTIONS:-}" ] && envs+=(-e "ASAN_OPTIONS=$ASAN_OPTIONS")
# The guest must really be pure v2: check before trusting the results.
"$VM" -t "${V2VM_TIMEOUT:-300}" "${envs[@]}" "$dir" \
        'grep -q "^cgroup2 /sys/fs/cgroup " /proc/mounts && ! grep -q " cgroup " /proc/mounts || { echo "cgroup-v2: guest is not pure cgroup v2"; exit 3; }; ./test-cgroup' "$@"
rc=$?
case $rc in
126)
        echo "cgroup-v2: skip: the QEMU guest could not be started (exit 126)" >&2
        exit 77
        ;;
esac
exit "$rc"
