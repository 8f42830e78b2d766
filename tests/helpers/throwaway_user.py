"""A throwaway unprivileged user for rootless tests (integration and engines).

ThrowawayUser() runs useradd (a unique name, its home in a temporary dir),
makes sure it has subordinate uid and gid ranges (useradd allocates them when
/etc/subuid exists; otherwise usermod adds one), and remove() deletes it with
userdel -r, drops any /etc/subuid and /etc/subgid lines left for it, and
reports live processes of the user it had to kill. Needs root.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


def subid_ranges(path, name, uid):
    """[(start, count)] of the lines of /etc/subuid-like path for the user."""
    res = []
    try:
        text = Path(path).read_text()
    except OSError:
        return res
    for line in text.splitlines():
        f = line.split(":")
        if len(f) == 3 and f[0] in (name, str(uid)):
            res.append((int(f[1]), int(f[2])))
    return res


def remove_subid_lines(path, name, uid):
    p = Path(path)
    if not p.exists():
        return
    lines = p.read_text().splitlines(keepends=True)
    keep = [l for l in lines if l.split(":")[0] not in (name, str(uid))]
    if keep != lines:
        p.write_text("".join(keep))


def pids_of_uid(uid):
    """Live processes of uid. Zombies are dead already: the init of this VM
    reaps orphans only now and then."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = os.stat("/proc/" + d)
        except OSError:
            continue
        if st.st_uid != uid:
            continue
        try:
            stat = Path("/proc/%s/stat" % d).read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2:].split()[0] != "Z":
            found.append(int(d))
    return found


class ThrowawayUser:
    """The user, its home, and its first subordinate uid and gid ranges."""

    def __init__(self, prefix="hkrl"):
        self.base = Path(tempfile.mkdtemp(prefix="husk-rl-"))
        os.chmod(self.base, 0o755)
        self.name = prefix + uuid.uuid4().hex[:8]
        home = self.base / "home"
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell",
                        "/bin/sh", "--user-group", self.name], check=True, capture_output=True)
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid, self.home = pw.pw_uid, pw.pw_gid, home
        # useradd allocates subordinate ids when /etc/subuid exists (login.defs
        # SUB_UID_COUNT); otherwise add a range ourselves.
        for path, flag in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
            if not subid_ranges(path, self.name, self.uid):
                start = 200000000 + (self.uid % 1000) * 65536
                if not Path(path).exists():
                    Path(path).touch(mode=0o644)
                subprocess.run(["usermod", flag, "%d-%d" % (start, start + 65535), self.name],
                               check=True, capture_output=True)
        self.subuid = subid_ranges("/etc/subuid", self.name, self.uid)[0]
        self.subgid = subid_ranges("/etc/subgid", self.name, self.gid)[0]

    def remove(self):
        problems = []
        left = pids_of_uid(self.uid)
        desc = []
        for pid in left:
            try:
                stat = Path("/proc/%d/stat" % pid).read_text()
                desc.append("%d %s %s" % (pid, stat[stat.rindex(")") + 2:].split()[:2],
                                          Path("/proc/%d/cmdline" % pid).read_bytes()
                                          .replace(b"\0", b" ").decode(errors="replace")))
            except OSError:
                pass
        for pid in left:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        if left:
            problems.append("processes of %s left: %s" % (self.name, desc))
        time.sleep(0.1 if left else 0)
        r = subprocess.run(["userdel", "-r", self.name], capture_output=True, text=True)
        if r.returncode not in (0, 12):  # 12: home dir removal trouble, handled below
            problems.append("userdel -r %s: %s" % (self.name, r.stderr.strip()))
        for path in ("/etc/subuid", "/etc/subgid"):
            remove_subid_lines(path, self.name, self.uid)
        shutil.rmtree(self.base, ignore_errors=True)
        return problems
