/* Overlay snapshots of layer chains (also longer than one mount takes) and
 * the reverse diff of an upper dir. Needs root; runs in a private mount ns. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"
#include "image/fsutil.h"
#include "image/layer.h"
#include "image/snapshot.h"
#include "image/store.h"
#include "unit.h"

struct ent {
        char type;
        const char *name, *data;
};

static char *make_tar(const char *dir, const char *tag, const struct ent *e, size_t n)
{
        char *path = xasprintf("%s/%s.tar", dir, tag);
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        archive_write_open_filename(a, path);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *x = archive_entry_new();
                archive_entry_set_pathname(x, e[i].name);
                archive_entry_set_mtime(x, 1000000000, 0);
                archive_entry_set_filetype(x, e[i].type == 'd' ? AE_IFDIR : AE_IFREG);
                archive_entry_set_perm(x, e[i].type == 'd' ? 0755 : 0644);
                archive_entry_set_size(x, e[i].type == 'd' ? 0 : (la_int64_t)strlen(e[i].data));
                archive_write_header(a, x);
                if (e[i].type == 'f')
                        archive_write_data(a, e[i].data, strlen(e[i].data));
                archive_entry_free(x);
        }
        archive_write_close(a);
        archive_write_free(a);
        return path;
}

static char *slurp(const char *dir, const char *name)
{
        char *p = xasprintf("%s/%s", dir, name), *text = NULL;
        if (read_file_at(AT_FDCWD, p, 0, &text, NULL) < 0)
                text = NULL;
        free(p);
        return text;
}

static bool exists(const char *dir, const char *name)
{
        char *p = xasprintf("%s/%s", dir, name);
        struct stat st;
        bool r = lstat(p, &st) == 0;
        free(p);
        return r;
}

static void check_view(int *unit_failed, const char *m)
{
        char *x = slurp(m, "a/x");
        CHECK_STR(x, "2");
        free(x);
        CHECK(!exists(m, "a/y"));
        CHECK(!exists(m, "d/old"));
        CHECK(exists(m, "d/new"));
        CHECK(exists(m, "keep"));
        CHECK(exists(m, "top"));
}

TEST(snapshot_mount_flatten_and_diff)
{
        if (geteuid() != 0) {
                printf("  skipped: needs root\n");
                return;
        }
        CHECK(unshare(CLONE_NEWNS) == 0);
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
        char t[] = "/tmp/husk-snap-XXXXXX";
        char *dir = xstrdup(mkdtemp(t));
        char *root = xasprintf("%s/root", dir);
        struct error err = {0};
        struct store *s = NULL;
        CHECK(store_open(root, &s, &err) == 0);
        const struct ent l1[] = {{'d', "a/", NULL}, {'f', "a/x", "1"},   {'f', "a/y", "1"},
                                 {'d', "d/", NULL}, {'f', "d/old", "o"}, {'f', "keep", "k"}};
        const struct ent l2[] = {{'f', "a/.wh.y", ""},
                                 {'f', "d/.wh..wh..opq", ""},
                                 {'f', "d/new", "n"},
                                 {'f', "a/x", "2"}};
        const struct ent l3[] = {{'f', "top", "t"}};
        const struct ent *ls[] = {l1, l2, l3};
        size_t lens[] = {ARRAY_SIZE(l1), ARRAY_SIZE(l2), ARRAY_SIZE(l3)};
        char *chain[4] = {0};
        char prev[DIGEST_STR_MAX] = "";
        for (int i = 0; i < 3; i++) {
                char tag[8];
                snprintf(tag, sizeof(tag), "l%d", i);
                char *tar = make_tar(dir, tag, ls[i], lens[i]);
                int fd = open(tar, O_RDONLY | O_CLOEXEC);
                char d[DIGEST_STR_MAX], c[DIGEST_STR_MAX];
                struct layer_stats st;
                CHECK(blob_put_fd(s, fd, NULL, -1, d, &err) == 0);
                CHECK(store_layer_ensure(s, i ? prev : NULL, d, d, c, &st, &err) == 0);
                if (err.msg[0])
                        printf("  %s\n", err.msg);
                memcpy(prev, c, sizeof(prev));
                chain[i] = xstrdup(c);
                close(fd);
                free(tar);
        }
        char *m = xasprintf("%s/merged", dir), *up = xasprintf("%s/upper", dir),
             *wk = xasprintf("%s/work", dir);
        mkdir(m, 0755);
        mkdir(up, 0755);
        mkdir(wk, 0755);
        int ex[2];
        CHECK(pipe2(ex, O_CLOEXEC | O_NONBLOCK) == 0);
        explain_enable(ex[1]);
        CHECK(snapshot_mount(s, chain, up, wk, m, NULL, &err) == 0);
        explain_enable(-1);
        if (err.msg[0])
                printf("  %s\n", err.msg);
        check_view(unit_failed, m);
        /* --explain shows the mount as a command a person can run. */
        char said[4096] = "";
        ssize_t got = read(ex[0], said, sizeof(said) - 1);
        CHECK(got > 0);
        char *want = xasprintf("$ cd %s/image/layers\n$ mount -t overlay -o lowerdir=%s/diff:%s/"
                               "diff:%s/diff,upperdir=%s,workdir=%s overlay %s\n",
                               root, digest_hex(chain[2]), digest_hex(chain[1]),
                               digest_hex(chain[0]), up, wk, m);
        CHECK_STR(said, want);
        free(want);
        close(ex[0]);
        close(ex[1]);
        /* Changes in the container: a new file, a removed one, a replaced dir. */
        char *p = xasprintf("%s/w", m);
        FILE *f = fopen(p, "w");
        CHECK(f && fputs("new", f) >= 0 && fclose(f) == 0);
        free(p);
        p = xasprintf("%s/keep", m);
        CHECK(unlink(p) == 0);
        free(p);
        p = xasprintf("%s/d", m);
        int mfd = open("/", O_PATH | O_CLOEXEC);
        CHECK(rm_rf_at(mfd, p + 1) == 0);
        close(mfd);
        CHECK(mkdir(p, 0755) == 0);
        free(p);
        CHECK(snapshot_unmount(m, &err) == 0);

        int ufd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char *difftar = xasprintf("%s/diff.tar", dir);
        int out = open(difftar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        struct layer_stats st = {0};
        CHECK(layer_diff(ufd, out, &st, &err) == 0);
        close(out);
        close(ufd);
        CHECK(digest_valid(st.diff_id) && st.size == 3);
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        CHECK(archive_read_open_filename(a, difftar, 10240) == ARCHIVE_OK);
        struct archive_entry *e;
        char names[512] = "";
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                strcat(names, archive_entry_pathname(e));
                strcat(names, " ");
        }
        archive_read_free(a);
        CHECK_STR(names, "d/ d/.wh..wh..opq .wh.keep w ");
        free(difftar);

        /* The same chain when only two lower dirs fit: the bottom two are flattened. */
        struct snapshot_opts o = {.max_lowers = 2};
        char *up2 = xasprintf("%s/upper2", dir), *wk2 = xasprintf("%s/work2", dir);
        mkdir(up2, 0755);
        mkdir(wk2, 0755);
        CHECK(snapshot_mount(s, chain, up2, wk2, m, &o, &err) == 0);
        if (err.msg[0])
                printf("  %s\n", err.msg);
        check_view(unit_failed, m);
        p = xasprintf("%s/w", m);
        f = fopen(p, "w");
        CHECK(f && fclose(f) == 0);
        free(p);
        CHECK(snapshot_unmount(m, &err) == 0);
        char *flat = xasprintf("%s/image/flat/%s", root, digest_hex(chain[1]));
        struct stat fst;
        CHECK(stat(flat, &fst) == 0 && S_ISDIR(fst.st_mode));
        free(flat);
        /* One lower dir each: everything but the top is flattened. */
        o.max_lowers = 1;
        CHECK(snapshot_mount(s, chain, up2, wk2, m, &o, &err) == 0);
        check_view(unit_failed, m);
        CHECK(exists(m, "w")); /* the upper dir of the second mount, kept */
        CHECK(snapshot_unmount(m, &err) == 0);
        /* Store gc drops the flattened dirs no image uses. */
        CHECK(store_gc(s, NULL, &err) == 0);
        flat = xasprintf("%s/image/flat", root);
        int ffd = open(flat, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(ffd >= 0 && rmdir(flat) == 0);
        close(ffd);
        free(flat);
        store_close(s);
        for (int i = 0; i < 3; i++)
                free(chain[i]);
        free(m);
        free(up);
        free(wk);
        free(up2);
        free(wk2);
        free(root);
        int fs = open("/", O_PATH | O_CLOEXEC);
        CHECK(rm_rf_at(fs, dir + 1) == 0);
        close(fs);
        free(dir);
}

/* 70 layers: more than one page of mount options holds, so with default
 * options the bottom is flattened on its own. */
TEST(snapshot_long_chain)
{
        if (geteuid() != 0) {
                printf("  skipped: needs root\n");
                return;
        }
        CHECK(unshare(CLONE_NEWNS) == 0);
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
        char t[] = "/tmp/husk-snap-XXXXXX";
        char *dir = xstrdup(mkdtemp(t));
        char *root = xasprintf("%s/root", dir);
        struct error err = {0};
        struct store *s = NULL;
        CHECK(store_open(root, &s, &err) == 0);
        enum { N = 70 };
        char *chain[N + 1] = {0};
        char prev[DIGEST_STR_MAX] = "";
        for (int i = 0; i < N; i++) {
                char name[16], data[16], tag[16];
                snprintf(name, sizeof(name), "f%d", i);
                snprintf(data, sizeof(data), "%d", i);
                snprintf(tag, sizeof(tag), "L%d", i);
                /* The last layer also deletes f0 and replaces f1. */
                struct ent e[3] = {{'f', name, data}, {'f', ".wh.f0", ""}, {'f', "f1", "new"}};
                char *tar = make_tar(dir, tag, e, i == N - 1 ? 3 : 1);
                int fd = open(tar, O_RDONLY | O_CLOEXEC);
                char d[DIGEST_STR_MAX], c[DIGEST_STR_MAX];
                struct layer_stats st;
                CHECK(blob_put_fd(s, fd, NULL, -1, d, &err) == 0);
                CHECK(store_layer_ensure(s, i ? prev : NULL, d, d, c, &st, &err) == 0);
                memcpy(prev, c, sizeof(prev));
                chain[i] = xstrdup(c);
                close(fd);
                unlink(tar);
                free(tar);
        }
        char *m = xasprintf("%s/merged", dir), *up = xasprintf("%s/upper", dir),
             *wk = xasprintf("%s/work", dir);
        mkdir(m, 0755);
        mkdir(up, 0755);
        mkdir(wk, 0755);
        CHECK(snapshot_mount(s, chain, up, wk, m, NULL, &err) == 0);
        if (err.msg[0])
                printf("  %s\n", err.msg);
        CHECK(!exists(m, "f0"));
        char *v = slurp(m, "f1");
        CHECK_STR(v, "new");
        free(v);
        for (int i = 2; i < N; i++) {
                char name[16], want[16];
                snprintf(name, sizeof(name), "f%d", i);
                snprintf(want, sizeof(want), "%d", i);
                v = slurp(m, name);
                CHECK_STR(v, want);
                free(v);
        }
        CHECK(snapshot_unmount(m, &err) == 0);
        store_close(s);
        for (int i = 0; i < N; i++)
                free(chain[i]);
        free(m);
        free(up);
        free(wk);
        free(root);
        int fs = open("/", O_PATH | O_CLOEXEC);
        CHECK(rm_rf_at(fs, dir + 1) == 0);
        close(fs);
        free(dir);
}

UNIT_MAIN()
