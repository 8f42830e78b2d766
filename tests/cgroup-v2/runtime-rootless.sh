#!/bin/bash
# Rootless husk-runtime on a pure cgroup v2 host: runs inside the throwaway
# QEMU guest of /work/shared/tools/v2vm, as an unprivileged user (uid 1000,
# via setpriv), with a single uid/gid mapping, and checks the cgroup rules:
#
#  - not delegated (the user sits in root's cgroup): the container runs in
#    the caller's cgroup, with one warning; a limit is an error naming it;
#  - a subtree delegated the way systemd does it (Delegate=yes: the directory
#    and its cgroup.procs, cgroup.subtree_control, cgroup.threads chowned to
#    the user, the user's shell in a leaf below it): an absolute cgroupsPath
#    in it gets its own cgroup, pids.max and memory.max set and seen from
#    inside, ps and kill --all through it, and delete removes it; a relative
#    path nests under the user's own cgroup.
#
#   tests/cgroup-v2/runtime-rootless.sh          # needs `make all` first
#
# Prints "ok NAME" / "FAIL NAME" and a last line "N passed, N failed"; exits
# 0 when every check passes, 1 on a failure, 77 when the guest can't start.
set -u

if [ "${1:-}" != --in-guest ]; then
        cd "$(dirname "$0")/../.."
        VM=${V2VM:-$(cd .. && pwd)/shared/tools/v2vm/run-in-v2vm.sh}
        RUNTIME=${RUNTIME:-build/husk-runtime}
        [ -x "$RUNTIME" ] || { echo "runtime-rootless: $RUNTIME missing: run make" >&2; exit 2; }
        [ -x "$VM" ] || { echo "runtime-rootless: skip: $VM not found" >&2; exit 77; }
        dir=$(mktemp -d /tmp/husk-v2-rootless.XXXXXX)
        trap 'rm -rf "$dir"' EXIT
        cp "$RUNTIME" "$dir/husk-runtime"
        cp "$0" "$dir/runtime-rootless.sh"
        scripts/make-busybox-rootfs.sh "$dir/rootfs" >/dev/null || exit 2
        # The configs are made here (the guest has no python or jq): the
        # rootless spec, mapping uid/gid 1000 of the guest.
        "$RUNTIME" spec --rootless --bundle "$dir" || exit 2
        /usr/bin/python3 - "$dir" <<'PY' || exit 2
import json, sys
d = sys.argv[1]
base = json.load(open(d + "/config.json"))
base["process"]["terminal"] = False
base["process"]["args"] = ["sh", "-c", "cat /proc/self/cgroup /proc/self/uid_map"]
base["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
base["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]
def write(name, **linux):
    c = json.loads(json.dumps(base))
    c["linux"].update(linux)
    json.dump(c, open("%s/%s.json" % (d, name), "w"), indent=1)
write("plain")
write("limited", resources={"pids": {"limit": 20}})
write("deleg", cgroupsPath="/deleg/ctr1",
      resources={"pids": {"limit": 20}, "memory": {"limit": 33554432}})
c = json.loads(json.dumps(base))
c["process"]["args"] = ["sh", "-c", "cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max"]
c["linux"]["cgroupsPath"] = "/deleg/ctr1"
c["linux"]["resources"] = {"pids": {"limit": 20}, "memory": {"limit": 33554432}}
json.dump(c, open(d + "/deleg-limits.json", "w"), indent=1)
c["process"]["args"] = ["sh", "-c", "sleep 60 & sleep 60 & wait"]
c["linux"]["cgroupsPath"] = "/deleg/ctr2"
json.dump(c, open(d + "/deleg-detached.json", "w"), indent=1)
PY
        rm "$dir/config.json"
        "$VM" -t "${V2VM_TIMEOUT:-300}" -w /usr/bin/setpriv "$dir" \
                'grep -q "^cgroup2 /sys/fs/cgroup " /proc/mounts && ! grep -q " cgroup " /proc/mounts || { echo "runtime-rootless: guest is not pure cgroup v2"; exit 3; }; bash ./runtime-rootless.sh --in-guest'
        rc=$?
        if [ "$rc" = 126 ] || [ "$rc" = 125 ]; then
                echo "runtime-rootless: skip: the QEMU guest could not be started (exit $rc)" >&2
                exit 77
        fi
        exit "$rc"
fi

# ---- in the guest, as root
cd /t
pass=0 fail=0
check() { if eval "$2"; then echo "ok $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi; }
echo 'rl:x:1000:1000:rl:/t:/bin/sh' >>/etc/passwd
echo 'rl:x:1000:' >>/etc/group
chmod 755 /t
mkdir -p /run/user/1000 b && chown 1000:1000 /run/user/1000 b && chmod 700 /run/user/1000
mv rootfs b/ && chown -R 1000:1000 b/rootfs
CG=/sys/fs/cgroup
# as_user CGROUP CMD...: runs CMD as uid 1000, moved into CGROUP first (as root).
as_user() {
        local cg=$1
        shift
        bash -c 'echo $$ > "$0/cgroup.procs" && exec setpriv --reuid=1000 --regid=1000 --clear-groups -- env XDG_RUNTIME_DIR=/run/user/1000 PATH=/bin:/usr/bin "$@"' "$cg" "$@"
}
R=/t/husk-runtime
use() { cp "/t/$1.json" b/config.json; }

# 1. Not delegated: the user is in the root cgroup, which is root's.
use plain
out=$(as_user $CG $R run --bundle b p1 2>err); rc=$?
check plain_runs '[ $rc = 0 ] && echo "$out" | grep -q "^ *0 *1000 *1$"'
check plain_stays_in_callers_cgroup 'echo "$out" | grep -qx "0::/"'
check plain_warns_once '[ "$(grep -c "no cgroup was created" err)" = 1 ]'
check plain_state_under_xdg '[ -d /run/user/1000/husk-runtime ] && [ -z "$(ls /run/user/1000/husk-runtime)" ]'
use limited
out=$(as_user $CG $R run --bundle b p2 2>&1); rc=$?
check limit_without_cgroup_fails '[ $rc != 0 ] && echo "$out" | grep -q "linux.resources.pids.limit"'
check limit_failure_leaves_nothing '[ -z "$(ls /run/user/1000/husk-runtime)" ] && ! ls -d $CG/husk-p2 2>/dev/null'

# 2. Delegated as systemd does it: /deleg is the user's, its shell in /deleg/shell.
mkdir $CG/deleg
echo "+pids +memory" >$CG/deleg/cgroup.subtree_control
mkdir $CG/deleg/shell
for d in $CG/deleg $CG/deleg/shell; do
        chown 1000:1000 $d $d/cgroup.procs $d/cgroup.subtree_control $d/cgroup.threads
done
use deleg
out=$(as_user $CG/deleg/shell $R run --bundle b d1 2>err); rc=$?
check deleg_runs_in_its_cgroup '[ $rc = 0 ] && echo "$out" | grep -qx "0::/deleg/ctr1"'
check deleg_no_warning '! grep -q "no cgroup was created" err'
check deleg_delete_removes_cgroup '! ls -d $CG/deleg/ctr1 2>/dev/null'
use deleg-limits
out=$(as_user $CG/deleg/shell $R run --bundle b d2 2>err); rc=$?
check deleg_limits_seen_inside '[ $rc = 0 ] && [ "$(echo $out)" = "20 33554432" ]'
use deleg-detached
as_user $CG/deleg/shell $R run -d --bundle b d3 >/dev/null 2>err </dev/null
pid=$(as_user $CG/deleg/shell $R state d3 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
check deleg_detached_in_cgroup '[ -n "$pid" ] && grep -qx "$pid" $CG/deleg/ctr2/cgroup.procs'
check deleg_pids_max_set '[ "$(cat $CG/deleg/ctr2/pids.max)" = 20 ]'
check deleg_owned_by_user '[ "$(stat -c %u $CG/deleg/ctr2)" = 1000 ]'
# The two sleeps start a moment after run -d returns.
for _ in $(seq 30); do
        n=$(as_user $CG/deleg/shell $R ps --format json d3 | tr ',' '\n' | grep -c '[0-9]')
        [ "$n" = 3 ] && break
        sleep 0.1
done
check deleg_ps_lists_three '[ "$n" = 3 ]'
as_user $CG/deleg/shell $R kill --all d3 KILL
sleep 0.3
check deleg_kill_all_stops 'as_user $CG/deleg/shell $R state d3 | grep -q stopped'
as_user $CG/deleg/shell $R delete d3
check deleg_delete_cleans '! ls -d $CG/deleg/ctr2 2>/dev/null && [ -z "$(ls /run/user/1000/husk-runtime)" ] && ! kill -0 $pid 2>/dev/null'
# A relative path nests under the user's own cgroup (no controllers there:
# /deleg/shell holds processes), and still runs.
use plain
out=$(as_user $CG/deleg/shell $R run --bundle b r1 2>err); rc=$?
check relative_nests_under_own '[ $rc = 0 ] && echo "$out" | grep -qx "0::/deleg/shell/husk-r1"'
check relative_cleaned '! ls -d $CG/deleg/shell/husk-r1 2>/dev/null'
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
