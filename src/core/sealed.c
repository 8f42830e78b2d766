#include "core/sealed.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/sys.h"

bool sealed_is_self(void)
{
        _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        int seals = fd < 0 ? -1 : fcntl(fd, F_GET_SEALS);
        return seals >= 0 && (seals & F_SEAL_WRITE);
}

int sealed_reexec(char *const *argv)
{
        _cleanup_close_ int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (exe < 0)
                return -errno;
        _cleanup_close_ int mfd =
            memfd_create(program_invocation_short_name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return -errno;
        struct stat st;
        if (fstat(exe, &st) < 0)
                return -errno;
        for (off_t done = 0; done < st.st_size;) {
                ssize_t n = sendfile(mfd, exe, NULL, (size_t)(st.st_size - done));
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                done += n;
        }
        if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                return -errno;
        explain_note("re-executing from a sealed copy of %s (CVE-2019-5736)",
                     program_invocation_short_name);
        extern char **environ;
        syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
        return -errno;
}
