#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "image/ref.h"
#include "unit.h"

static char *norm(const char *s)
{
        struct image_ref r = {0};
        struct error err = {0};
        if (image_ref_parse(s, false, &r, &err) < 0)
                return xasprintf("ERR %s", err.msg);
        char *out = image_ref_string(&r);
        image_ref_free(&r);
        return out;
}

#define CHECK_NORM(in, want)                                                                       \
        do {                                                                                       \
                char *_g = norm(in);                                                               \
                CHECK_STR(_g, want);                                                               \
                free(_g);                                                                          \
        } while (0)

#define CHECK_BAD(in, part)                                                                        \
        do {                                                                                       \
                char *_g = norm(in);                                                               \
                CHECK(strncmp(_g, "ERR ", 4) == 0);                                                \
                if (!strstr(_g, part))                                                             \
                        printf("  message '%s' lacks '%s'\n", _g, part);                           \
                CHECK(strstr(_g, part) != NULL);                                                   \
                free(_g);                                                                          \
        } while (0)

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(ref_docker_hub_normalization)
{
        CHECK_NORM("busybox", "docker.io/library/busybox:latest");
        CHECK_NORM("busybox:1.36", "docker.io/library/busybox:1.36");
        CHECK_NORM("me/app", "docker.io/me/app:latest");
        CHECK_NORM("docker.io/busybox", "docker.io/library/busybox:latest");
        CHECK_NORM("index.docker.io/me/app:v2", "docker.io/me/app:v2");
        CHECK_NORM("a/b/c/d", "docker.io/a/b/c/d:latest");
}

TEST(ref_registries_and_ports)
{
        CHECK_NORM("localhost/x", "localhost/x:latest");
        CHECK_NORM("localhost:5000/a/b:tag", "localhost:5000/a/b:tag");
        CHECK_NORM("quay.io/x/y", "quay.io/x/y:latest");
        CHECK_NORM("127.0.0.1:5000/x:1", "127.0.0.1:5000/x:1");
        CHECK_NORM("[::1]:5000/x", "[::1]:5000/x:latest");
        CHECK_NORM("my-reg.example.com/a_b/c__d/e-f--g:v1.0-rc_1",
                   "my-reg.example.com/a_b/c__d/e-f--g:v1.0-rc_1");
}

TEST(ref_digests)
{
        CHECK_NORM("busybox@sha256:" D64, "docker.io/library/busybox@sha256:" D64);
        CHECK_NORM("busybox:1@sha256:" D64, "docker.io/library/busybox:1@sha256:" D64);
        CHECK_BAD("busybox@sha256:abc", "invalid digest");
        CHECK_BAD("busybox@md5:" D64, "invalid digest");
}

TEST(ref_errors_name_the_part)
{
        CHECK_BAD("", "empty");
        CHECK_BAD("BusyBox", "must be lowercase");
        CHECK_BAD("busybox:", "invalid tag ''");
        CHECK_BAD("busybox:-x", "invalid tag '-x'");
        CHECK_BAD("busybox:a/b", "invalid");
        CHECK_BAD("a//b", "empty path component");
        CHECK_BAD("a/-b", "invalid path component '-b'");
        CHECK_BAD("a/b_", "invalid path component 'b_'");
        CHECK_BAD("a/b___c", "invalid path component");
        CHECK_BAD("bad_host:99999999/x", "invalid registry host");
        CHECK_BAD("host.-bad/x", "invalid registry host");
        CHECK_BAD(D64, "image id");
        char longtag[200];
        memset(longtag, 'a', sizeof(longtag));
        longtag[199] = '\0';
        char *s = xasprintf("x:%s", longtag);
        CHECK_BAD(s, "invalid tag");
        free(s);
}

TEST(ref_familiar)
{
        struct image_ref r = {0};
        struct error err = {0};
        CHECK(image_ref_parse("busybox", false, &r, &err) == 0);
        char *f = image_ref_familiar(&r);
        CHECK_STR(f, "busybox:latest");
        free(f);
        image_ref_free(&r);
        CHECK(image_ref_parse("me/app:v1", false, &r, &err) == 0);
        f = image_ref_familiar(&r);
        CHECK_STR(f, "me/app:v1");
        free(f);
        image_ref_free(&r);
        CHECK(image_ref_parse("quay.io/x/y:z", false, &r, &err) == 0);
        f = image_ref_familiar(&r);
        CHECK_STR(f, "quay.io/x/y:z");
        free(f);
        image_ref_free(&r);
        CHECK(image_ref_parse("x", true, &r, &err) == 0);
        CHECK(r.tag == NULL);
        image_ref_free(&r);
}

UNIT_MAIN()
