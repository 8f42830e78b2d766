#!/bin/bash
# Runs husk-runtime for real on a pure cgroup v2 host: a throwaway QEMU guest
# (../shared/tools/v2vm). Checks that containers land in their cgroup (nested
# under the caller's), that ps and kill --all read it, and that delete leaves
# no cgroup, state or process. Prints "ok NAME" / "FAIL NAME" lines and a last
# line "N passed, N failed"; exits 77 when the guest can't be started here.
set -u
cd "$(dirname "$0")/../.."
VM=${V2VM:-$(cd .. && pwd)/shared/tools/v2vm/run-in-v2vm.sh}
RT=${RUNTIME_BIN:-build/husk-runtime}
[ -x "$RT" ] || { echo "runtime-smoke: $RT missing: run make" >&2; exit 2; }
[ -x "$VM" ] || { echo "runtime-smoke: skip: $VM not found" >&2; exit 77; }
dir=$(mktemp -d /tmp/husk-v2-smoke.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp "$RT" "$dir/husk-runtime"
scripts/make-busybox-rootfs.sh "$dir/rootfs" >/dev/null || exit 2
cat > "$dir/guest.sh" <<'GUEST'
cd /t
pass=0 fail=0
check() { if eval "$2"; then echo "ok $1"; pass=$((pass+1)); else echo "FAIL $1"; fail=$((fail+1)); fi; }
R="./husk-runtime --root /run/hr"
mkdir -p b && mv rootfs b/ && (cd b && ../husk-runtime spec)
# terminal off, our own command; sed keeps the guest free of jq
sed -i 's/"terminal": true/"terminal": false/; s/^\(\s*\)"sh"$/\1"sh", "-c", "cat \/proc\/self\/cgroup; sleep 0"/' b/config.json
grep -q '^cgroup2 /sys/fs/cgroup ' /proc/mounts && ! grep -q ' cgroup ' /proc/mounts
check pure_v2 '[ $? = 0 ]'
out=$($R run --bundle b v1 2>/dev/null); rc=$?
check run_exit_0 '[ $rc = 0 ]'
check run_in_own_cgroup 'echo "$out" | grep -q "^0::/husk-v1$"'
check run_leaves_no_cgroup '! ls -d /sys/fs/cgroup/husk-v1 2>/dev/null'
sed -i 's/cat \/proc\/self\/cgroup; sleep 0/sleep 60/' b/config.json
$R run -d --bundle b d1 2>/dev/null
pid=$($R state d1 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
check detached_in_cgroup 'grep -qx "$pid" /sys/fs/cgroup/husk-d1/cgroup.procs'
check ps_json_lists_init '[ "$($R ps --format json d1)" = "[$pid]" ]'
$R kill --all d1 KILL
sleep 0.3
check kill_all_stops '$R state d1 | grep -q stopped'
$R delete d1
check delete_removes_cgroup '! ls -d /sys/fs/cgroup/husk-d1 2>/dev/null'
check delete_removes_state '! ls /run/hr/d1 2>/dev/null'
check no_process_left '! kill -0 $pid 2>/dev/null'
echo "$pass passed, $fail failed"
GUEST
"$VM" -t "${V2VM_TIMEOUT:-300}" "$dir" 'bash /t/guest.sh'
rc=$?
if [ "$rc" = 126 ] || [ "$rc" = 125 ]; then
        echo "runtime-smoke: skip: the QEMU guest could not be started (exit $rc)" >&2
        exit 77
fi
exit "$rc"
