#!/bin/bash
# Runs every test: unit tests (normal and ASan+UBSan builds), the integration
# suite against build/husk-runtime, and a subset of it against the ASan build.
# Prints one closing line "N passed, N failed, N skipped"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
passed=0 failed=0 skipped=0
log=$(mktemp -d /tmp/husk-tests.XXXXXX)
trap 'rm -rf "$log"' EXIT

section() { printf '\n=== %s\n' "$*"; }

# count_unit BIN...: runs each unit binary, adds its closing counts.
count_unit() {
        for t in "$@"; do
                [ -x "$t" ] || continue
                out=$("$t" 2>&1)
                rc=$?
                echo "$out" | grep -v '^ok ' | sed "s|^|$(basename "$t"): |"
                line=$(echo "$out" | tail -n 1)
                p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
                f=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
                if [ -z "$p" ]; then
                        echo "$(basename "$t"): crashed or printed no summary (exit $rc)"
                        failed=$((failed + 1))
                        continue
                fi
                passed=$((passed + p))
                failed=$((failed + f))
                if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
                        echo "$(basename "$t"): exit $rc (sanitizer report?)"
                        failed=$((failed + 1))
                fi
        done
}

# run_pytest NAME ARGS...: runs pytest, adds its counts from the junit XML.
run_pytest() {
        name=$1
        shift
        xml="$log/$name.xml"
        "$PY" -m pytest -q -rfEs -p no:cacheprovider --junitxml="$xml" "$@"
        if [ ! -s "$xml" ]; then
                echo "$name: pytest produced no report"
                failed=$((failed + 1))
                return
        fi
        read -r t f e s < <("$PY" - "$xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r)
t = f = e = s = 0
for x in suites:
    t += int(x.get("tests", 0)); f += int(x.get("failures", 0))
    e += int(x.get("errors", 0)); s += int(x.get("skipped", 0))
print(t, f, e, s)
PYEOF
)
        passed=$((passed + t - f - e - s))
        failed=$((failed + f + e))
        skipped=$((skipped + s))
}

section "unit tests"
count_unit build/tests/test-*

section "unit tests under ASan+UBSan"
if make -s asan >"$log/asan-build.log" 2>&1; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
                count_unit build-asan/tests/test-*
else
        cat "$log/asan-build.log"
        echo "asan build failed"
        failed=$((failed + 1))
fi

if [ -d tests/integration ] && ls tests/integration/test_*.py >/dev/null 2>&1; then
        section "integration tests (RUNTIME=${RUNTIME:-build/husk-runtime})"
        run_pytest integration tests/integration

        section "integration subset under ASan+UBSan"
        RUNTIME="$PWD/build-asan/husk-runtime" HUSK="$PWD/build-asan/husk" \
                ASAN_OPTIONS=detect_leaks=1 run_pytest asan-integration -m asan tests/integration
fi

# --- image store and image commands (issue 3) ---
if [ -d tests/image ]; then
        section "image tests (HUSK=${HUSK:-build/husk})"
        run_pytest image tests/image
fi
# --- end image ---

# --- containers: run, ps, logs, exec, stop, rm ... (issue 4) ---
if [ -d tests/engine ]; then
        section "engine tests (HUSK=${HUSK:-build/husk})"
        run_pytest engine tests/engine

        section "engine subset under ASan+UBSan"
        HUSK="$PWD/build-asan/husk" run_pytest asan-engine -m asan tests/engine
fi
# --- end containers ---

# --- networks (issue 5): bridges, IPAM, nftables, husk network ---
if [ -d tests/network ]; then
        section "network tests (HUSK=${HUSK:-build/husk})"
        run_pytest network tests/network

        section "network tests under ASan+UBSan"
        HUSK="$PWD/build-asan/husk" ASAN_OPTIONS=detect_leaks=1 \
                run_pytest asan-network tests/network
fi
# --- end networks ---

# run_guest NAME SCRIPT: a script that prints "N passed, N failed" last and
# exits 77 when the QEMU guest can't start here (then counted as one skip).
run_guest() {
        name=$1
        shift
        out=$("$@" 2>&1)
        rc=$?
        echo "$out" | grep -v '^ok ' | tail -n 20
        if [ "$rc" -eq 77 ]; then
                echo "$name: skipped (no QEMU guest here)"
                skipped=$((skipped + 1))
                return
        fi
        line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
        if [ -z "$line" ]; then
                echo "$name: printed no summary (exit $rc)"
                failed=$((failed + 1))
                return
        fi
        p=${line%% passed*}
        f=${line#*passed, }
        f=${f%% failed*}
        passed=$((passed + p))
        failed=$((failed + f))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
                echo "$name: exit $rc"
                failed=$((failed + 1))
        fi
}

section "cgroup v2, for real, in a QEMU guest (../shared/tools/v2vm)"
run_guest cgroup-v2-unit tests/cgroup-v2/run.sh
run_guest cgroup-v2-runtime tests/cgroup-v2/runtime-smoke.sh
run_guest cgroup-v2-resources tests/cgroup-v2/runtime-v2.sh
run_guest cgroup-v2-rootless tests/cgroup-v2/runtime-rootless.sh

# ---- engines: Podman (conmon) and containerd (runc shim) driving the runtime
if [ -d tests/engines ]; then
        section "engine tests: podman, containerd (RUNTIME=${RUNTIME:-build/husk-runtime})"
        run_pytest engines tests/engines
fi
# ---- end engines

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
