/* libFuzzer harness: layer_unpack() on arbitrary bytes (tar, gzip, zstd).
 * Each input is unpacked into a fresh directory inside a jail directory; the
 * harness aborts if anything appears in the jail outside that directory, if
 * the canary file beside it changes, or if a failure comes without a message.
 * Build with `make fuzz`, run as root with
 *   build/fuzz/fuzz/fuzz-layer -max_total_time=120 CORPUS_DIR */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/layer.h"

static char jail[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)st;
        (void)flag;
        (void)f;
        remove(p);
        return 0;
}

static void check_jail(void)
{
        DIR *d = opendir(jail);
        if (!d)
                abort();
        struct dirent *e;
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
                    strcmp(e->d_name, "inside") && strcmp(e->d_name, "canary"))
                        abort(); /* written outside the layer directory */
        closedir(d);
        char p[128], buf[16] = {0};
        snprintf(p, sizeof(p), "%s/canary", jail);
        int fd = open(p, O_RDONLY | O_NOFOLLOW);
        if (fd < 0 || read(fd, buf, sizeof(buf) - 1) != 6 || strcmp(buf, "canary") != 0)
                abort(); /* the file beside the layer was replaced or changed */
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!jail[0]) {
                snprintf(jail, sizeof(jail), "/tmp/husk-fuzz-layer-%d", (int)getpid());
                mkdir(jail, 0700);
                char p[128];
                snprintf(p, sizeof(p), "%s/canary", jail);
                FILE *f = fopen(p, "w");
                if (!f)
                        abort();
                fputs("canary", f);
                fclose(f);
        }
        char inside[128];
        snprintf(inside, sizeof(inside), "%s/inside", jail);
        if (mkdir(inside, 0755) < 0)
                abort();
        int in = memfd_create("layer", MFD_CLOEXEC);
        if (in < 0 || write(in, data, size) != (ssize_t)size || lseek(in, 0, SEEK_SET) != 0)
                abort();
        int dest = open(inside, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        struct layer_unpack_opts o = {.max_bytes = 64u << 20, .what = "fuzz"};
        struct layer_stats st;
        struct error err = {0};
        int r = layer_unpack(in, dest, &o, &st, &err);
        if (r < 0 && (err.msg[0] == '\0' || err.code >= 0))
                abort(); /* every failure must say why */
        close(dest);
        close(in);
        check_jail();
        nftw(inside, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}
