/* Image store internals: digests, the DB wrapper, manifests, layer unpack. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/db.h"
#include "core/digest.h"
#include "core/json.h"
#include "core/safepath.h"
#include "core/util.h"
#include "image/fsutil.h"
#include "image/import.h"
#include "image/layer.h"
#include "image/manifest.h"
#include "unit.h"

TEST(digest_known_vectors)
{
        char d[DIGEST_STR_MAX];
        digest_buffer("", 0, d);
        CHECK_STR(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        digest_buffer("abc", 3, d);
        CHECK_STR(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        CHECK(digest_valid(d));
        CHECK(!digest_valid(
            "sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        CHECK(!digest_valid("sha256:ba78"));
        CHECK(!digest_valid(
            "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        char c[DIGEST_STR_MAX];
        digest_chain(NULL, d, c);
        CHECK_STR(c, d);
        /* chain(L1) = sha256("<chain0> <diff1>") */
        char both[200], want[DIGEST_STR_MAX];
        snprintf(both, sizeof(both), "%s %s", d, d);
        digest_buffer(both, strlen(both), want);
        digest_chain(d, d, c);
        CHECK_STR(c, want);
}

static char *tmpdir(void)
{
        char t[] = "/tmp/husk-unit-XXXXXX";
        return xstrdup(mkdtemp(t));
}

static void rmtree(const char *dir)
{
        int fd = open("/", O_PATH | O_CLOEXEC);
        rm_rf_at(fd, dir + 1);
        close(fd);
}

TEST(db_migrations_and_transactions)
{
        char *dir = tmpdir();
        char *path = xasprintf("%s/t.db", dir);
        struct error err = {0};
        static const char *const v1[] = {"CREATE TABLE a (x TEXT PRIMARY KEY);"};
        static const char *const v2[] = {"CREATE TABLE a (x TEXT PRIMARY KEY);",
                                         "CREATE TABLE b (y INTEGER);"};
        struct db *db = NULL;
        CHECK(db_open_with(path, v1, 1, &db, &err) == 0);
        int ver = -1;
        CHECK(db_user_version(db, &ver, &err) == 0 && ver == 1);
        CHECK(db_begin(db, &err) == 0);
        CHECK(db_run(db, "INSERT INTO a VALUES (?1)", &err, 1, "k") == 0);
        db_rollback(db);
        CHECK(db_begin(db, &err) == 0);
        CHECK(db_run(db, "INSERT INTO a VALUES (?1)", &err, 1, "k2") == 0);
        CHECK(db_commit(db, &err) == 0);
        CHECK(db_run(db, "INSERT INTO a VALUES (?1)", &err, 1, "k2") == -EEXIST);
        CHECK(strstr(err.msg, "UNIQUE") != NULL);
        db_close(db);
        db = NULL;
        /* Reopening with one more migration applies only the new one. */
        CHECK(db_open_with(path, v2, 2, &db, &err) == 0);
        CHECK(db_user_version(db, &ver, &err) == 0 && ver == 2);
        sqlite3_stmt *st = NULL;
        CHECK(db_prepare(db, "SELECT count(*) FROM a", &st, &err) == 0);
        CHECK(db_step(db, st, &err) == 1 && sqlite3_column_int(st, 0) == 1);
        sqlite3_finalize(st);
        db_close(db);
        db = NULL;
        /* An older husk refuses a newer schema. */
        CHECK(db_open_with(path, v1, 1, &db, &err) == -EPROTO);
        CHECK(strstr(err.msg, "newer") != NULL);
        /* The real schema applies on a fresh file. */
        char *p2 = xasprintf("%s/h.db", dir);
        CHECK(db_open(p2, &db, &err) == 0);
        db_close(db);
        free(p2);
        free(path);
        rmtree(dir);
        free(dir);
}

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

TEST(manifest_parse_oci_and_docker)
{
        struct error err = {0};
        struct manifest m = {0};
        CHECK(manifest_parse("m",
                             "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST
                             "\",\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG
                             "\",\"digest\":\"" D1
                             "\",\"size\":10},\"layers\":[{\"mediaType\":\"" MT_DOCKER_LAYER
                             "\",\"digest\":\"" D2 "\",\"size\":20}]}",
                             &m, &err) == 0);
        CHECK(m.nlayers == 1 && m.layers[0].size == 20);
        CHECK_STR(m.config.digest, D1);
        manifest_free(&m);
        /* No mediaType: OCI. */
        CHECK(manifest_parse("m",
                             "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                             "\",\"size\":1},\"layers\":[]}",
                             &m, &err) == 0);
        CHECK_STR(m.media_type, MT_OCI_MANIFEST);
        manifest_free(&m);
        CHECK(manifest_parse("m", "{\"schemaVersion\":1}", &m, &err) < 0);
        CHECK(strstr(err.msg, "schemaVersion 1") != NULL);
        CHECK(
            manifest_parse("m",
                           "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:zz\",\"size\":1},"
                           "\"layers\":[]}",
                           &m, &err) < 0);
        CHECK(strstr(err.msg, "config.digest") != NULL);
        CHECK(manifest_parse("m",
                             "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                             "\",\"size\":1},\"layers\":[{\"mediaType\":\"" MT_DOCKER_FOREIGN
                             "\",\"digest\":\"" D2 "\",\"size\":1}]}",
                             &m, &err) < 0);
        CHECK(strstr(err.msg, "layers[0]") && strstr(err.msg, "foreign"));
}

TEST(index_pick_platform)
{
        struct error err = {0};
        struct descriptor *d = NULL;
        size_t n = 0, pick = 99;
        const char *idx =
            "{\"schemaVersion\":2,\"manifests\":["
            "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1,"
            "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
            "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":2,"
            "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"v3\"}},"
            "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":3,"
            "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
        CHECK(doc_is_index("i", idx, &err) == 1);
        CHECK(index_parse("i", idx, &d, &n, &err) == 0 && n == 3);
        CHECK(index_pick(d, n, "i", &pick, &err) == 0 && pick == 2);
        free_descriptors(d, n);
        const char *arm = "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,"
                          "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}";
        CHECK(index_parse("i", arm, &d, &n, &err) == 0);
        CHECK(index_pick(d, n, "i", &pick, &err) == -ENOENT);
        CHECK(strstr(err.msg, "linux/arm64") != NULL);
        free_descriptors(d, n);
}

TEST(config_and_time)
{
        struct error err = {0};
        char **ids = NULL;
        int64_t t = 0;
        CHECK(config_parse("c",
                           "{\"created\":\"2024-01-02T03:04:05.123Z\",\"rootfs\":{\"type\":"
                           "\"layers\",\"diff_ids\":[\"" D1 "\"]}}",
                           &ids, &t, &err) == 0);
        CHECK(strv_len(ids) == 1 && t == 1704164645);
        strv_free(ids);
        ids = NULL;
        CHECK(config_parse("c", "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"x\"]}}", &ids, &t,
                           &err) < 0);
        CHECK(strstr(err.msg, "diff_ids[0]") != NULL);
        CHECK(parse_rfc3339("2024-01-02T05:04:05+02:00", &t) == 0 && t == 1704164645);
        CHECK(parse_rfc3339("yesterday", &t) == -EINVAL);
        /* A short offset once made the parser read past the string (found by fuzz-image-docs). */
        CHECK(parse_rfc3339("2024-05-01T10:00:00+1:2", &t) == -EINVAL);
        CHECK(parse_rfc3339("2024-05-01T10:00:00-", &t) == -EINVAL);
        CHECK(parse_rfc3339("2024-05-01T10:00:00+02:00", &t) == 0);
        struct json_object *cfg = json_object_new_object();
        CHECK(config_apply_change(cfg, "CMD [\"/bin/sh\",\"-c\",\"echo\"]", &err) == 0);
        CHECK(config_apply_change(cfg, "entrypoint echo hi", &err) == 0);
        CHECK(config_apply_change(cfg, "ENV A=1 B=\"two words\"", &err) == 0);
        CHECK(config_apply_change(cfg, "ENV A=3", &err) == 0);
        CHECK(config_apply_change(cfg, "EXPOSE 80 53/udp", &err) == 0);
        CHECK(config_apply_change(cfg, "WORKDIR /srv", &err) == 0);
        CHECK(config_apply_change(cfg, "LABEL k=v", &err) == 0);
        CHECK_STR(json_compact(cfg),
                  "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo\"],\"Entrypoint\":[\"/bin/sh\",\"-c\","
                  "\"echo hi\"],\"Env\":[\"A=3\",\"B=two words\"],\"ExposedPorts\":{\"80/tcp\":{},"
                  "\"53/udp\":{}},\"WorkingDir\":\"/srv\",\"Labels\":{\"k\":\"v\"}}");
        CHECK(config_apply_change(cfg, "RUN make", &err) == -EINVAL);
        CHECK(strstr(err.msg, "unknown instruction 'RUN'") != NULL);
        CHECK(config_apply_change(cfg, "EXPOSE 99999", &err) == -EINVAL);
        json_object_put(cfg);
}

/* ---- layer unpack ---- */

struct ent {
        char type; /* f file, d dir, l symlink, h hardlink, c char dev */
        const char *name;
        const char *data; /* content, or link target */
        int mode;
};

/* uids (may be NULL: all 0) gives each entry's uid, also used as its gid. */
static char *make_tar_owned(const char *dir, const struct ent *e, const int *uids, size_t n,
                            bool gzip)
{
        char *path = xasprintf("%s/layer-%d.tar", dir, rand());
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        if (gzip)
                archive_write_add_filter_gzip(a);
        archive_write_open_filename(a, path);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *x = archive_entry_new();
                archive_entry_set_pathname(x, e[i].name);
                archive_entry_set_mtime(x, 1000000000, 0);
                archive_entry_set_uid(x, uids ? uids[i] : 0);
                archive_entry_set_gid(x, uids ? uids[i] : 0);
                int mode = e[i].mode ? e[i].mode : 0644;
                switch (e[i].type) {
                case 'f':
                        archive_entry_set_filetype(x, AE_IFREG);
                        archive_entry_set_size(x, (la_int64_t)strlen(e[i].data));
                        break;
                case 'd':
                        archive_entry_set_filetype(x, AE_IFDIR);
                        mode = e[i].mode ? e[i].mode : 0755;
                        break;
                case 'l':
                        archive_entry_set_filetype(x, AE_IFLNK);
                        archive_entry_set_symlink(x, e[i].data);
                        break;
                case 'h':
                        archive_entry_set_filetype(x, AE_IFREG);
                        archive_entry_set_hardlink(x, e[i].data);
                        break;
                case 'c':
                        archive_entry_set_filetype(x, AE_IFCHR);
                        archive_entry_set_rdev(x, makedev(1, 3));
                        break;
                case 'p':
                        archive_entry_set_filetype(x, AE_IFIFO);
                        break;
                }
                archive_entry_set_perm(x, (mode_t)mode);
                archive_write_header(a, x);
                if (e[i].type == 'f')
                        archive_write_data(a, e[i].data, strlen(e[i].data));
                archive_entry_free(x);
        }
        archive_write_close(a);
        archive_write_free(a);
        return path;
}

static char *make_tar(const char *dir, const struct ent *e, size_t n, bool gzip)
{
        return make_tar_owned(dir, e, NULL, n, gzip);
}

static int unpack(const char *tar, const char *dest, struct layer_stats *st, struct error *err)
{
        int fd = open(tar, O_RDONLY | O_CLOEXEC);
        mkdir(dest, 0755);
        int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct layer_unpack_opts o = {.what = "layer"};
        int r = layer_unpack(fd, dfd, &o, st, err);
        close(fd);
        close(dfd);
        return r;
}

TEST(layer_unpack_tree_and_whiteouts)
{
        char *dir = tmpdir();
        const struct ent e[] = {
            {'d', "./", NULL, 0755},
            {'d', "etc/", NULL, 0755},
            {'f', "etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644},
            {'f', "bin/su", "binary", 04755},
            {'l', "bin/sh", "/bin/busybox", 0777},
            {'h', "bin/su2", "bin/su", 0},
            {'f', ".wh.gone", "", 0},
            {'d', "var/lib/", NULL, 0700},
            {'f', "var/lib/.wh..wh..opq", "", 0},
            {'f', "etc/.wh..wh.plnk", "", 0},
            {'c', "dev/null", NULL, 0666},
            {'f', "etc/passwd", "replaced\n", 0600},
            /* A tree replaced by a file, then by a directory again: no stale parent. */
            {'f', "t/u/v", "1", 0},
            {'f', "t", "file now", 0},
            {'d', "t/", NULL, 0755},
            {'f', "t/u/w", "2", 0},
        };
        char *tar = make_tar(dir, e, ARRAY_SIZE(e), true);
        char *dest = xasprintf("%s/out", dir);
        struct layer_stats st = {0};
        struct error err = {0};
        CHECK(unpack(tar, dest, &st, &err) == 0);
        if (err.msg[0])
                printf("  %s\n", err.msg);
        char p[512];
        struct stat sb;
        snprintf(p, sizeof(p), "%s/bin/su", dest);
        CHECK(lstat(p, &sb) == 0 && (sb.st_mode & 07777) == 04755 && sb.st_nlink == 2);
        snprintf(p, sizeof(p), "%s/bin/sh", dest);
        char target[64] = "";
        CHECK(readlink(p, target, sizeof(target) - 1) > 0);
        CHECK_STR(target, "/bin/busybox");
        snprintf(p, sizeof(p), "%s/gone", dest);
        CHECK(lstat(p, &sb) == 0 && S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(0, 0));
        snprintf(p, sizeof(p), "%s/var/lib", dest);
        char v[4] = "";
        CHECK(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y');
        CHECK(lstat(p, &sb) == 0 && (sb.st_mode & 0777) == 0700 && sb.st_mtime == 1000000000);
        snprintf(p, sizeof(p), "%s/etc/.wh..wh.plnk", dest);
        CHECK(lstat(p, &sb) < 0);
        snprintf(p, sizeof(p), "%s/dev/null", dest);
        CHECK(lstat(p, &sb) == 0 && S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(1, 3));
        snprintf(p, sizeof(p), "%s/etc/passwd", dest);
        char *text = NULL;
        CHECK(read_file_at(AT_FDCWD, p, 0, &text, NULL) == 0);
        CHECK_STR(text, "replaced\n");
        free(text);
        CHECK(lstat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_mtime == 1000000000);
        /* diffID is the digest of the uncompressed tar. */
        CHECK(digest_valid(st.diff_id) && st.tar_size > 0 && st.size > 0);
        snprintf(p, sizeof(p), "%s/t/u/w", dest);
        CHECK(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode));
        snprintf(p, sizeof(p), "%s/t/u/v", dest);
        CHECK(lstat(p, &sb) < 0);
        free(tar);
        free(dest);
        rmtree(dir);
        free(dir);
}

static bool has_mode(const char *dest, const char *name, mode_t type, mode_t perm, int uid)
{
        char p[512];
        struct stat sb;
        snprintf(p, sizeof(p), "%s/%s", dest, name);
        bool ok = lstat(p, &sb) == 0 && (sb.st_mode & S_IFMT) == type &&
                  (type == S_IFLNK || (sb.st_mode & 07777) == perm) &&
                  (uid < 0 || (sb.st_uid == (uid_t)uid && sb.st_gid == (gid_t)uid)) &&
                  sb.st_mtime == 1000000000;
        if (!ok)
                printf("  %s: mode 0%o uid %d mtime %lld (want 0%o 0%o uid %d)\n", name,
                       (unsigned)sb.st_mode, (int)sb.st_uid, (long long)sb.st_mtime, (unsigned)type,
                       (unsigned)perm, uid);
        return ok;
}

/* Later entries replace earlier ones of any type (create first, remove on a
 * clash), and modes and owners come out right whether or not chown/chmod ran. */
TEST(layer_unpack_replaces_and_sets_modes)
{
        char *dir = tmpdir();
        char *outside = xasprintf("%s/outside", dir);
        mkdir(outside, 0755);
        bool root = geteuid() == 0;
        const struct ent e[] = {
            {'l', "r1", "/etc/passwd", 0777}, {'f', "r1", "file over symlink", 0644},
            {'f', "r2", "x", 0644},           {'l', "r2", "target", 0777},
            {'d', "r3/", NULL, 0755},         {'f', "r3/child", "c", 0644},
            {'f', "src", "linked", 0640},     {'h', "r3", "src", 0},
            {'f', "r4", "x", 0644},           {'d', "r4/", NULL, 0711},
            {'p', "r5", NULL, 0600},          {'f', "r5", "file over fifo", 0604},
            {'d', "k/", NULL, 0700},          {'f', "k/kept", "k", 0644},
            {'d', "k/", NULL, 0751},          {'f', "m666", "x", 0666},
            {'f', "m444", "x", 0444},         {'f', "m1755", "x", 01755},
            {'f', "m2755", "x", 02755},       {'f', "u1000", "x", 0644},
            {'f', "su1000", "x", 04755},      {'d', "d1000/", NULL, 0750},
            {'l', "l1000", "x", 0777},
        };
        const int uids[] = {0, 0, 0, 0, 0, 0, 0, 0,    0,    0,    0,   0,
                            0, 0, 0, 0, 0, 0, 0, 1000, 1000, 1000, 1000};
        char *tar = make_tar_owned(dir, e, uids, ARRAY_SIZE(e), true);
        char *dest = xasprintf("%s/out", dir);
        /* A symlink out of the layer, made beforehand where an entry lands. */
        mkdir(dest, 0755);
        char *esc = xasprintf("%s/r1", dest);
        CHECK(symlink(outside, esc) == 0);
        struct layer_stats st = {0};
        struct error err = {0};
        /* A umask that takes bits the entries want. */
        mode_t old = umask(027);
        CHECK(unpack(tar, dest, &st, &err) == 0);
        umask(old);
        if (err.msg[0])
                printf("  %s\n", err.msg);
        int u0 = root ? 0 : -1, u1000 = root ? 1000 : -1;
        CHECK(has_mode(dest, "r1", S_IFREG, 0644, u0));
        CHECK(has_mode(dest, "r2", S_IFLNK, 0, u0));
        CHECK(has_mode(dest, "r3", S_IFREG, 0640, u0));
        CHECK(has_mode(dest, "src", S_IFREG, 0640, u0));
        CHECK(has_mode(dest, "r4", S_IFDIR, 0711, u0));
        CHECK(has_mode(dest, "r5", S_IFREG, 0604, u0));
        CHECK(has_mode(dest, "k", S_IFDIR, 0751, u0));
        CHECK(has_mode(dest, "k/kept", S_IFREG, 0644, u0));
        CHECK(has_mode(dest, "m666", S_IFREG, 0666, u0));
        CHECK(has_mode(dest, "m444", S_IFREG, 0444, u0));
        CHECK(has_mode(dest, "m1755", S_IFREG, 01755, u0));
        CHECK(has_mode(dest, "m2755", S_IFREG, 02755, u0));
        CHECK(has_mode(dest, "u1000", S_IFREG, 0644, u1000));
        if (root) {
                CHECK(has_mode(dest, "su1000", S_IFREG, 04755, 1000));
                CHECK(has_mode(dest, "d1000", S_IFDIR, 0750, 1000));
                CHECK(has_mode(dest, "l1000", S_IFLNK, 0, 1000));
        }
        char p[512];
        struct stat sb;
        snprintf(p, sizeof(p), "%s/r3/child", dest);
        CHECK(lstat(p, &sb) < 0);
        snprintf(p, sizeof(p), "%s/src", dest);
        CHECK(lstat(p, &sb) == 0 && sb.st_nlink == 2);
        char *text = NULL;
        snprintf(p, sizeof(p), "%s/r1", dest);
        CHECK(read_file_at(AT_FDCWD, p, 0, &text, NULL) == 0);
        CHECK_STR(text, "file over symlink");
        free(text);
        /* Nothing went through the symlink. */
        snprintf(p, sizeof(p), "%s/r1", outside);
        CHECK(lstat(p, &sb) < 0);
        CHECK(rmdir(outside) == 0);
        free(esc);
        free(outside);
        free(tar);
        free(dest);
        rmtree(dir);
        free(dir);
}

static void expect_reject(int *unit_failed, const struct ent *e, size_t n, const char *part)
{
        char *dir = tmpdir();
        char *tar = make_tar(dir, e, n, false);
        char *dest = xasprintf("%s/root/layer", dir);
        char *root = xasprintf("%s/root", dir);
        mkdir(root, 0755);
        struct layer_stats st = {0};
        struct error err = {0};
        int r = unpack(tar, dest, &st, &err);
        if (r >= 0 || !strstr(err.msg, part))
                printf("  r=%d msg='%s' (want '%s')\n", r, err.msg, part);
        CHECK(r < 0 && strstr(err.msg, part));
        /* Nothing was written next to the layer. */
        char *outside = xasprintf("%s/root/evil", dir);
        struct stat sb;
        CHECK(lstat(outside, &sb) < 0);
        free(outside);
        free(root);
        free(tar);
        free(dest);
        rmtree(dir);
        free(dir);
}

TEST(layer_unpack_rejects_escapes)
{
        const struct ent dotdot[] = {{'f', "../evil", "x", 0}};
        expect_reject(unit_failed, dotdot, 1, "'..' is not allowed");
        const struct ent deep[] = {{'f', "a/b/../../../evil", "x", 0}};
        expect_reject(unit_failed, deep, 1, "escapes the layer root");
        const struct ent symdir[] = {{'l', "link", "..", 0}, {'f', "link/evil", "x", 0}};
        expect_reject(unit_failed, symdir, 2, "symlink");
        const struct ent symabs[] = {{'l', "etc", "/", 0}, {'f', "etc/evil", "x", 0}};
        expect_reject(unit_failed, symabs, 2, "symlink");
        const struct ent hard[] = {{'h', "h", "../evil", 0}};
        expect_reject(unit_failed, hard, 1, "outside the layer");
        const struct ent hardsym[] = {{'l', "l", "/", 0}, {'h', "h", "l/etc/passwd", 0}};
        expect_reject(unit_failed, hardsym, 2, "not an earlier entry");
        const struct ent whdot[] = {{'f', "a/.wh...", "", 0}};
        expect_reject(unit_failed, whdot, 1, "whiteout of '..'");
        const struct ent whsym[] = {{'l', "d", "..", 0}, {'f', "d/.wh.evil", "", 0}};
        expect_reject(unit_failed, whsym, 2, "symlink");
        const struct ent notdir[] = {{'f', "f", "x", 0}, {'f', "f/g", "x", 0}};
        expect_reject(unit_failed, notdir, 2, "not a directory");
}

TEST(layer_unpack_checks_diff_id)
{
        char *dir = tmpdir();
        const struct ent e[] = {{'f', "a", "x", 0}};
        char *tar = make_tar(dir, e, 1, false);
        int fd = open(tar, O_RDONLY | O_CLOEXEC);
        char *dest = xasprintf("%s/out", dir);
        mkdir(dest, 0755);
        int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct layer_unpack_opts o = {.what = "layer", .expect_diff_id = D1};
        struct layer_stats st;
        struct error err = {0};
        CHECK(layer_unpack(fd, dfd, &o, &st, &err) == -EBADMSG);
        CHECK(strstr(err.msg, "diffID mismatch") != NULL);
        close(fd);
        close(dfd);
        /* Not a tar at all. */
        char *junk = xasprintf("%s/junk", dir);
        FILE *jf = fopen(junk, "w");
        CHECK(jf && fputs("hello world, not a tar", jf) >= 0 && fclose(jf) == 0);
        fd = open(junk, O_RDONLY | O_CLOEXEC);
        dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        o.expect_diff_id = NULL;
        CHECK(layer_unpack(fd, dfd, &o, &st, &err) < 0);
        close(fd);
        close(dfd);
        free(junk);
        free(tar);
        free(dest);
        rmtree(dir);
        free(dir);
}

UNIT_MAIN()

TEST(safe_open_literal_refuses_links)
{
        char *dir = tmpdir();
        int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(mkdirat(root, "d", 0755) == 0);
        CHECK(symlinkat("d", root, "l") == 0);
        CHECK(symlinkat("/", root, "abs") == 0);
        int fd = -1;
        CHECK(safe_open_literal(root, "d", O_PATH | O_DIRECTORY, &fd) == 0 && fd >= 0);
        close(fd);
        CHECK(safe_open_literal(root, "/d", O_PATH | O_DIRECTORY, &fd) == 0);
        close(fd);
        CHECK(safe_open_literal(root, "l", O_PATH | O_DIRECTORY, &fd) == -ELOOP);
        CHECK(safe_open_literal(root, "l/x", O_PATH, &fd) == -ELOOP);
        CHECK(safe_open_literal(root, "abs/etc", O_PATH, &fd) == -ELOOP);
        /* The link itself, when asked for with O_PATH|O_NOFOLLOW. */
        CHECK(safe_open_literal(root, "l", O_PATH | O_NOFOLLOW, &fd) == 0);
        close(fd);
        /* ".." stays in the root. */
        CHECK(safe_open_literal(root, "../../d", O_PATH | O_DIRECTORY, &fd) == 0);
        close(fd);
        close(root);
        rmtree(dir);
        free(dir);
}
