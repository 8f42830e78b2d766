#!/bin/sh
# Builds a minimal busybox root filesystem from Debian's busybox-static, with
# no network: /bin/busybox, a symlink per applet, /etc/passwd and /etc/group.
#
#   scripts/make-busybox-rootfs.sh DIR            the tree only
#   scripts/make-busybox-rootfs.sh DIR FILE.tar   the tree and a tar of it
#
# Then: husk import FILE.tar busybox:latest  (see docs/images.md)
set -eu
dir=${1:?usage: $0 DIR [FILE.tar]}
tarball=${2:-}
bb=${BUSYBOX:-/bin/busybox}
if ! "$bb" --list >/dev/null 2>&1; then
        echo "make-busybox-rootfs: '$bb' is not busybox (install busybox-static)" >&2
        exit 1
fi
if file -L "$bb" 2>/dev/null | grep -q dynamically; then
        echo "make-busybox-rootfs: '$bb' is dynamically linked; want busybox-static" >&2
        exit 1
fi
mkdir -p "$dir/bin" "$dir/sbin" "$dir/usr/bin" "$dir/usr/sbin" "$dir/etc" "$dir/tmp" \
        "$dir/root" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/home" "$dir/var"
chmod 1777 "$dir/tmp"
chmod 700 "$dir/root"
cp "$bb" "$dir/bin/busybox"
chmod 755 "$dir/bin/busybox"
# busybox --list-full prints each applet with its usual directory.
"$bb" --list-full | while read -r path; do
        case "$path" in
        bin/busybox | "") continue ;;
        esac
        [ -e "$dir/$path" ] || [ -L "$dir/$path" ] || ln -s /bin/busybox "$dir/$path"
done
cat >"$dir/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat >"$dir/etc/group" <<'GR'
root:x:0:
daemon:x:1:
nogroup:x:65534:
GR
if [ -n "$tarball" ]; then
        # Numeric owners, fixed order and times: the same input gives the same tar.
        tar --sort=name --numeric-owner --owner=0 --group=0 --mtime='2024-01-01 00:00:00Z' \
                -C "$dir" -cf "$tarball" .
fi
