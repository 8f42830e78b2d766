#!/bin/sh
# demo.sh - the README's demo: one container, and what husk-runtime does to make it.
#
# Builds a busybox root filesystem offline (build/demo/bundle/rootfs, reused
# on later runs), writes its OCI config with `husk-runtime spec`, and runs
# it with --explain: the lines starting with "$ " are the steps husk-runtime
# takes, printed as the shell commands a person could type; the other lines
# are the container's own output.
#
# Needs root and, on Debian 12: scripts/install-deps.sh build && make
# RUNTIME=/path/to/runtime runs another runc-compatible runtime instead
# (without --explain unless it is a husk-runtime).
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd -P)
runtime=${RUNTIME:-$repo/build/husk-runtime}
demo=$repo/build/demo
bundle=$demo/bundle
rootfs=$bundle/rootfs
id=demo-$$

if [ -t 1 ]; then
        heading() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
        heading() { printf '\n==> %s\n' "$*"; }
fi
die() {
        echo "demo: $*" >&2
        exit 1
}

[ "$(id -u)" = 0 ] || die "run me as root (containers need namespaces and mounts)"
command -v "$runtime" >/dev/null 2>&1 || die "'$runtime' not found: run 'make' first"
command -v jq >/dev/null 2>&1 || die "jq not found: run 'scripts/install-deps.sh build'"
busybox=$(command -v busybox 2>/dev/null || echo /bin/busybox)
[ -x "$busybox" ] || die "busybox not found: run 'scripts/install-deps.sh build'"
# A dynamically linked busybox would find no libraries inside the container.
if ldd "$busybox" >/dev/null 2>&1; then
        die "'$busybox' is dynamically linked: install busybox-static"
fi

# -- root filesystem --------------------------------------------------------
heading "root filesystem: busybox-static in ${rootfs#"$repo"/}"
if [ -x "$rootfs/bin/busybox" ] && cmp -s "$busybox" "$rootfs/bin/busybox"; then
        echo "already built, reusing it"
else
        # Build next to the target and swap it in, so an interrupted build
        # never leaves a half-made root filesystem behind.
        mkdir -p "$bundle"
        tmp=$bundle/rootfs.new
        rm -rf "$tmp"
        mkdir -p "$tmp/bin" "$tmp/dev" "$tmp/etc" "$tmp/proc" "$tmp/root" "$tmp/sys" "$tmp/tmp"
        cp "$busybox" "$tmp/bin/busybox"
        for applet in $("$busybox" --list); do
                [ -e "$tmp/bin/$applet" ] || ln -s busybox "$tmp/bin/$applet"
        done
        echo "root:x:0:0:root:/root:/bin/sh" >"$tmp/etc/passwd"
        echo "root:x:0:" >"$tmp/etc/group"
        rm -rf "$rootfs"
        mv "$tmp" "$rootfs"
        echo "one static binary, $("$busybox" --list | wc -l) commands linked to it"
fi

# -- config -----------------------------------------------------------------
heading "OCI config: $(basename "$runtime") spec, then jq sets the command and hostname"
rm -f "$bundle/config.json"
(cd "$bundle" && "$runtime" spec) || die "'$(basename "$runtime") spec' failed"
# The container prints who it is and what it sees.
# shellcheck disable=SC2016 # expanded by the shell in the container
script='echo "I am pid $$ in my own pid namespace"
echo "my hostname: $(hostname)"
echo "my mounts:"
cut -d" " -f5 /proc/self/mountinfo | xargs -n 6 | sed "s/^/  /"
echo "my processes:"
ps -o pid,user,comm | sed "s/^/  /"'
jq --arg script "$script" \
        '.process.args = ["sh", "-c", $script] | .process.terminal = false | .hostname = "husk-demo"' \
        "$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"
jq -c '{args: .process.args[0:2], hostname, namespaces: [.linux.namespaces[].type]}' "$bundle/config.json"

# -- run --------------------------------------------------------------------
cleanup() {
        "$runtime" delete --force "$id" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case $(basename "$runtime") in
husk-runtime*) explain=--explain ;;
*) explain= ;;
esac
heading "run: $(basename "$runtime")${explain:+ $explain} run --bundle ${bundle#"$repo"/} $id"
if [ -n "$explain" ]; then
        echo '(lines starting with "$ " are what husk-runtime does, as shell commands)'
fi
echo
# shellcheck disable=SC2086 # $explain is one word or none
status=0
# One stream, so the explain lines and the output stay in order in a pipe too.
"$runtime" $explain run --bundle "$bundle" "$id" 2>&1 || status=$?

heading "done: the container exited with status $status and is gone"
echo "try it yourself, from $repo:"
echo "  ${runtime#"$repo"/} run --bundle ${bundle#"$repo"/} my-container"
