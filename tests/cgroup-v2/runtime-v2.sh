#!/bin/bash
# linux.resources on a pure cgroup v2 host: runs husk-runtime inside the
# throwaway QEMU guest of /work/shared/tools/v2vm and checks every limit in
# the v2 files (memory.max, memory.swap.max, memory.low, pids.max, cpu.max,
# cpu.weight, io.weight, cpuset, hugetlb, unified), and that the kernel
# enforces them: the eBPF device filter (a denied device -> EPERM), freeze
# via pause/resume, an OOM kill reported by `events`, pids.max, cpu
# throttling, update, and a 4 MiB / 1 pid container.
#
#   tests/cgroup-v2/runtime-v2.sh          # needs `make all` first
#   RUNTIME=build-asan/husk-runtime tests/cgroup-v2/runtime-v2.sh
#
# Exits 0 when every check passes, 1 on a failure, 77 when the guest can't
# be started here. The guest has no python: the checks are bash + busybox.
set -u

if [ "${1:-}" != --in-guest ]; then
        cd "$(dirname "$0")/../.."
        VM=${V2VM:-$(cd .. && pwd)/shared/tools/v2vm/run-in-v2vm.sh}
        RUNTIME=${RUNTIME:-build/husk-runtime}
        PROBE=build/tests/probe
        for f in "$RUNTIME" "$PROBE"; do
                if [ ! -x "$f" ]; then
                        echo "runtime-v2: $f is missing; run 'make all' first" >&2
                        exit 2
                fi
        done
        if [ ! -x "$VM" ]; then
                echo "runtime-v2: skip: $VM not found" >&2
                exit 77
        fi
        dir=$(mktemp -d /tmp/husk-runtime-v2.XXXXXX)
        trap 'rm -rf "$dir"' EXIT
        cp "$RUNTIME" "$dir/husk-runtime"
        cp "$PROBE" "$dir/probe"
        cp "$0" "$dir/runtime-v2.sh"
        envs=()
        [ -n "${ASAN_OPTIONS:-}" ] && envs+=(-e "ASAN_OPTIONS=$ASAN_OPTIONS")
        "$VM" -t "${V2VM_TIMEOUT:-600}" -k loop "${envs[@]}" "$dir" \
                'grep -q "^cgroup2 /sys/fs/cgroup " /proc/mounts && ! grep -q " cgroup " /proc/mounts || { echo "runtime-v2: guest is not pure cgroup v2"; exit 3; }; bash ./runtime-v2.sh --in-guest'
        rc=$?
        if [ "$rc" -eq 126 ]; then
                echo "runtime-v2: skip: the QEMU guest could not be started (exit 126)" >&2
                exit 77
        fi
        exit "$rc"
fi

# ---- in the guest, in /t ----
R="/t/husk-runtime --root /run/husk-v2"
ROOTFS=/tmp/rootfs
CG=/sys/fs/cgroup
pass=0
fail=0
MiB=1048576

ok() {
        echo "ok $1"
        pass=$((pass + 1))
}
bad() {
        echo "FAIL $1: $2"
        fail=$((fail + 1))
}
# expect NAME WANT GOT
expect() {
        if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "want '$2', got '$3'"; fi
}

mkdir -p $ROOTFS/bin $ROOTFS/proc $ROOTFS/sys $ROOTFS/dev $ROOTFS/tmp
cp "$(command -v busybox)" $ROOTFS/bin/busybox
for a in sh true cat sleep; do ln -sf busybox $ROOTFS/bin/$a; done
cp /t/probe $ROOTFS/probe

# bundle NAME RESOURCES-JSON DEVICES-JSON ARG... : writes /tmp/b/NAME/config.json
bundle() {
        local name=$1 res=$2 devs=$3
        shift 3
        local args="" a
        for a in "$@"; do args="$args${args:+,}\"$a\""; done
        mkdir -p /tmp/b/$name
        cat >/tmp/b/$name/config.json <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": [$args],
    "env": ["PATH=/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID"],
      "effective": ["CAP_KILL", "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID"],
      "permitted": ["CAP_KILL", "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID"]
    },
    "noNewPrivileges": true
  },
  "root": {"path": "$ROOTFS", "readonly": true},
  "hostname": "v2",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755", "size=1024k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],
    "cgroupsPath": "husk-v2/$name",
    "devices": $devs,
    "resources": $res
  }
}
EOF
}

# start NAME: run -d, output to /tmp/b/NAME/out; sets PID and DIR
start() {
        if ! $R run -d --bundle /tmp/b/$1 $1 >/tmp/b/$1/out 2>&1; then
                bad "$1: run -d" "$(cat /tmp/b/$1/out)"
                PID=0
                DIR=/nonexistent
                return 1
        fi
        PID=$($R state $1 | grep '"pid"' | tr -dc 0-9)
        DIR=$CG$(sed -n 's/^0:://p' /proc/$PID/cgroup)
}
# wait_out NAME TEXT
wait_out() {
        for _ in $(seq 1 300); do
                grep -q "$2" /tmp/b/$1/out && return 0
                sleep 0.1
        done
        return 1
}
status() { $R state $1 | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
rd() { tr -d '\n' <"$1"; }

echo "# guest: $(uname -r), controllers: $(cat $CG/cgroup.controllers)"

# 1. every limit read back from the v2 files
res='{"memory": {"limit": 268435456, "reservation": 134217728, "swap": 402653184},
      "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
      "pids": {"limit": 50}, "blockIO": {"weight": 500},
      "unified": {"memory.high": "200000000"}}'
t0=${EPOCHREALTIME/./}
bundle limits "$res" '[]' /probe sleep 60
if start limits; then
        t1=${EPOCHREALTIME/./}
        echo "# run -d with limits (TCG guest): $(((t1 - t0) / 1000)) ms"
        expect "memory.max" 268435456 "$(rd $DIR/memory.max)"
        expect "memory.low" 134217728 "$(rd $DIR/memory.low)"
        expect "memory.swap.max = swap - limit" 134217728 "$(rd $DIR/memory.swap.max)"
        expect "memory.high (unified)" 199999488 "$(rd $DIR/memory.high)"
        expect "cpu.max" "50000 100000" "$(rd $DIR/cpu.max)"
        # crun's shares -> weight: 1 + (1024 - 2) * 9999 / 262142 = 39
        expect "cpu.weight from shares" 39 "$(rd $DIR/cpu.weight)"
        expect "cpuset.cpus" 0 "$(rd $DIR/cpuset.cpus)"
        expect "pids.max" 50 "$(rd $DIR/pids.max)"
        if [ -e $DIR/io.bfq.weight ]; then
                expect "io.bfq.weight" "default 500" "$(head -1 $DIR/io.bfq.weight)"
        elif [ -e $DIR/io.weight ]; then
                # runc: 1 + (500 - 10) * 9999 / 990 = 4950
                expect "io.weight from blkio weight" "default 4950" "$(head -1 $DIR/io.weight)"
        else
                echo "# no io.weight here (no weight-capable I/O scheduler)"
        fi
        $R delete -f limits
        [ -d "$DIR" ] && bad "delete removes the cgroup" "$DIR left" || ok "delete removes the cgroup"
fi

# 2. the eBPF device filter
devs='[{"path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237, "fileMode": 438}]'
if [ -e /dev/loop-control ]; then
        bundle devdeny '{"devices": [{"allow": false, "access": "rwm"}]}' "$devs" \
                /probe open /dev/loop-control open /dev/null
        out=$($R run --bundle /tmp/b/devdeny devdeny 2>&1)
        echo "$out" | grep -q "open:" || echo "$out"
        expect "denied device -> EPERM" "open:/dev/loop-control=EPERM" "$(echo "$out" | grep loop-control)"
        expect "default rules keep /dev/null" "open:/dev/null=OK" "$(echo "$out" | grep dev/null)"
        bundle devallow '{"devices": [{"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 10, "minor": 237, "access": "rw"}]}' "$devs" \
                /probe open /dev/loop-control
        out=$($R run --bundle /tmp/b/devallow devallow 2>&1)
        expect "allowed device opens" "open:/dev/loop-control=OK" "$(echo "$out" | grep loop-control)"
        bundle devro '{"devices": [{"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 10, "minor": 237, "access": "r"}]}' "$devs" \
                /probe open /dev/loop-control
        out=$($R run --bundle /tmp/b/devro devro 2>&1)
        expect "read-only rule refuses O_RDWR" "open:/dev/loop-control=EPERM" "$(echo "$out" | grep loop-control)"
else
        bad "device filter" "no /dev/loop-control in the guest (-k loop)"
fi

# 3. pause / resume through cgroup.freeze
bundle freeze '{}' '[]' /probe tick 120
if start freeze && wait_out freeze tick=3; then
        $R pause freeze || bad "pause" "exit $?"
        expect "state paused" paused "$(status freeze)"
        expect "cgroup.freeze" 1 "$(rd $DIR/cgroup.freeze)"
        expect "cgroup.events frozen" "frozen 1" "$(grep frozen $DIR/cgroup.events)"
        n1=$(grep -c tick= /tmp/b/freeze/out)
        sleep 1
        n2=$(grep -c tick= /tmp/b/freeze/out)
        expect "no progress while paused" "$n1" "$n2"
        $R resume freeze || bad "resume" "exit $?"
        expect "state running" running "$(status freeze)"
        sleep 1
        n3=$(grep -c tick= /tmp/b/freeze/out)
        [ "$n3" -gt "$n2" ] && ok "progress after resume" || bad "progress after resume" "$n2 -> $n3"
        $R pause freeze
        $R delete -f freeze && ok "delete -f of a paused container" || bad "delete -f paused" "exit $?"
        [ -d "$DIR" ] && bad "paused cgroup removed" "$DIR left"
fi

# 4. OOM kill, seen by events
bundle oom '{"memory": {"limit": 16777216, "swap": 16777216}}' '[]' /probe ready sleep 2 alloc 64 sleep 30
if start oom && wait_out oom ready=1; then
        expect "memory.swap.max = 0" 0 "$(rd $DIR/memory.swap.max)"
        $R events --interval 1s oom >/tmp/b/oom/events 2>&1 &
        evpid=$!
        for _ in $(seq 1 300); do [ "$(status oom)" = stopped ] && break; sleep 0.1; done
        expect "OOM-killed container stops" stopped "$(status oom)"
        oomk=$(sed -n 's/^oom_kill //p' $DIR/memory.events)
        [ "${oomk:-0}" -ge 1 ] && ok "memory.events oom_kill" || bad "memory.events oom_kill" "$(cat $DIR/memory.events)"
        for _ in $(seq 1 50); do kill -0 $evpid 2>/dev/null || break; sleep 0.1; done
        kill $evpid 2>/dev/null && bad "events exits when the container stops" "still running"
        wait $evpid 2>/dev/null
        grep -q '"type":"oom"' /tmp/b/oom/events && ok "events reports the oom" ||
                bad "events reports the oom" "$(cat /tmp/b/oom/events)"
        $R delete oom
fi

# 5. pids.max
bundle pids '{"pids": {"limit": 5}}' '[]' /probe try-fork 10
out=$($R run --bundle /tmp/b/pids pids 2>&1)
expect "fork past pids.max" "forked=4 fork.errno=EAGAIN" "$(echo "$out" | grep -E '^(forked|fork.errno)=' | sort | tr '\n' ' ' | sed 's/ $//;s/\(fork.errno=[A-Z0-9]*\) \(forked=[0-9]*\)/\2 \1/')"

# 6. cpu.max throttles
bundle cpu '{"cpu": {"quota": 10000, "period": 100000}}' '[]' /probe spin 1 sleep 60
if start cpu && wait_out cpu spun=1; then
        thr=$(sed -n 's/^nr_throttled //p' $DIR/cpu.stat)
        [ "${thr:-0}" -gt 0 ] && ok "cpu.max throttles (nr_throttled $thr)" || bad "cpu throttling" "$(cat $DIR/cpu.stat)"
        $R delete -f cpu
fi

# 7. update a running container
bundle upd '{"memory": {"limit": 268435456}, "pids": {"limit": 100}}' "$devs" /probe sleep 60
if start upd; then
        if [ -e /dev/loop-control ]; then
                expect "exec: device denied before update" "open:/dev/loop-control=EPERM" \
                        "$($R exec upd /probe open /dev/loop-control 2>&1)"
                echo '{"devices": [{"allow": true, "type": "c", "major": 10, "minor": 237, "access": "rw"}]}' |
                        $R update -r - upd || bad "update -r devices" "exit $?"
                # the old program must be gone: attached programs are ANDed
                expect "exec: device allowed after update" "open:/dev/loop-control=OK" \
                        "$($R exec upd /probe open /dev/loop-control 2>&1)"
        fi
        $R update --memory 128m --pids-limit 20 --cpu-quota 20000 --cpu-period 100000 upd ||
                bad "update" "exit $?"
        expect "update memory.max" 134217728 "$(rd $DIR/memory.max)"
        expect "update pids.max" 20 "$(rd $DIR/pids.max)"
        expect "update cpu.max" "20000 100000" "$(rd $DIR/cpu.max)"
        echo '{"unified": {"pids.max": "33"}}' | $R update -r - upd || bad "update -r -" "exit $?"
        expect "update -r unified" 33 "$(rd $DIR/pids.max)"
        $R events --stats upd >/tmp/b/upd/stats 2>&1
        grep -q '"limit":134217728' /tmp/b/upd/stats && ok "events --stats memory limit" ||
                bad "events --stats" "$(cat /tmp/b/upd/stats)"
        $R delete -f upd
fi

# 8. a tiny container: 4 MiB, one pid
bundle tiny '{"memory": {"limit": 4194304}, "pids": {"limit": 1}}' '[]' /bin/true
out=$($R run --bundle /tmp/b/tiny tiny 2>&1)
rc=$?
expect "4 MiB + pids.max 1 runs /bin/true" 0 "$rc"
[ "$rc" -ne 0 ] && echo "$out"

# 9. hugetlb and a bad unified key
if ls $CG/husk-v2 >/dev/null 2>&1 && [ -e "$(ls -d $CG/husk-v2 2>/dev/null)/hugetlb.2MB.max" ]; then
        bundle huge '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}' '[]' /probe sleep 30
        if start huge; then
                expect "hugetlb.2MB.max" 4194304 "$(rd $DIR/hugetlb.2MB.max)"
                $R delete -f huge
        fi
else
        echo "# no hugetlb.2MB.max here: hugepageLimits not checked"
fi
bundle badkey '{"unified": {"nosuch.thing": "1"}}' '[]' /probe pid
out=$($R run --bundle /tmp/b/badkey badkey 2>&1)
echo "$out" | grep -q "linux.resources.unified: key 'nosuch.thing'" && ok "unknown controller key names the key" ||
        bad "bad unified key" "$out"
[ -d $CG/husk-v2/badkey ] && bad "failed create leaves no cgroup" "$CG/husk-v2/badkey"

rmdir $CG/husk-v2 2>/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
