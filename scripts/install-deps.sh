#!/bin/sh
# Installs every Debian package husk needs to build, test and benchmark.
# Idempotent: packages already present are left alone. Run as root.
set -eu
BUILD="gcc make pkg-config libjson-c-dev libseccomp-dev libcap-dev libarchive-dev \
 libsqlite3-dev libssl-dev libcurl4-openssl-dev libzstd-dev libisal-dev libnftables-dev \
 musl-tools nettle-dev"
# musl-tools (monitor-small): musl-gcc links the small static husk-monitor (~130 KiB RSS).
RUN="busybox-static iproute2 nftables util-linux procps jq uidmap catatonit golang-github-containers-common \
 passt"  # rootless: pasta networking
TEST="python3 python3-pytest jq crun runc strace clang libclang-rt-14-dev qemu-system-x86 cpio xz-utils \
 podman skopeo umoci zstd libcap2-bin hyperfine containerd curl \
 slirp4netns"  # rootless: podman 4.3's default rootless network (bench/rootless-start)
case "${1:-all}" in
build) want="$BUILD $RUN" ;;
test | all) want="$BUILD $RUN $TEST" ;;
*) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
        echo "install-deps: installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
