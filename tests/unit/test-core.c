#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/json.h"
#include "core/safepath.h"
#include "core/sys.h"
#include "core/util.h"
#include "unit.h"

TEST(error_chain)
{
        struct error err = {0};
        error_sys(&err, -ENOENT, "open '%s'", "/x");
        error_wrap(&err, 0, "container '%s'", "web");
        CHECK_STR(err.msg, "container 'web': open '/x': No such file or directory");
        CHECK(err.code == -ENOENT);
}

TEST(json_path_errors)
{
        struct error err = {0};
        struct json_object *o = NULL;
        CHECK(json_parse_string("cfg", "{\"a\": {\"b\": -1}}", &o, &err) == 0);
        struct json_object *a = NULL;
        CHECK(jget_obj(o, "", "a", &a, &err) == 1);
        uint64_t v = 7;
        CHECK(jget_u64(a, "a", "b", &v, &err) == -EINVAL);
        CHECK_STR(err.msg, "a.b: expected an unsigned integer, got -1");
        CHECK(v == 7);
        CHECK(jget_u64(a, "a", "missing", &v, &err) == 0);
        json_object_put(o);
        CHECK(json_parse_string("cfg", "{\n \"a\": }", &o, &err) == -EINVAL);
        CHECK(strstr(err.msg, "line 2") != NULL);
        CHECK(json_parse_string("cfg", "{} x", &o, &err) == -EINVAL);
}

TEST(json_u64_full_range)
{
        struct error err = {0};
        _cleanup_json_ struct json_object *o = NULL;
        CHECK(json_parse_string("cfg", "{\"x\": 18446744073709551615}", &o, &err) == 0);
        uint64_t v = 0;
        CHECK(jget_u64(o, "", "x", &v, &err) == 1);
        CHECK(v == UINT64_MAX);
}

TEST(shell_quote)
{
        CHECK_STR(shq("/proc"), "/proc");
        CHECK_STR(shq("a b"), "'a b'");
        CHECK_STR(shq("it's"), "'it'\\''s'");
        CHECK_STR(shq(""), "''");
}

TEST(safe_path_stays_in_root)
{
        char tmpl[] = "/tmp/husk-unit-XXXXXX";
        CHECK(mkdtemp(tmpl) != NULL);
        _cleanup_close_ int root = open(tmpl, O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(root >= 0);
        /* An absolute symlink and a ".." walk must both land inside the root. */
        struct stat st;
        CHECK(mkdirat(root, "etc", 0755) == 0);
        CHECK(symlinkat("/etc", root, "esc") == 0);
        CHECK(symlinkat("/nowhere", root, "dangling") == 0);
        CHECK(symlinkat("../../../../", root, "up") == 0);
        int fd = -1;
        CHECK(safe_mkdir_p(root, "esc/made", 0755, &fd) == 0);
        close(fd);
        CHECK(fstatat(root, "etc/made", &st, 0) == 0);
        CHECK(access("/etc/made", F_OK) != 0);
        /* A dangling symlink is followed inside the root (as runc does): its
         * target is created there, never on the host. */
        CHECK(safe_mkdir_p(root, "dangling/x", 0755, &fd) == 0);
        close(fd);
        CHECK(fstatat(root, "nowhere/x", &st, 0) == 0 && S_ISDIR(st.st_mode));
        CHECK(access("/nowhere", F_OK) != 0);
        /* A file target through a dangling absolute symlink lands inside too. */
        CHECK(symlinkat("/etc/hostfile", root, "efile") == 0);
        CHECK(safe_touch(root, "efile", 0644, &fd) == 0);
        close(fd);
        CHECK(fstatat(root, "etc/hostfile", &st, 0) == 0 && S_ISREG(st.st_mode));
        CHECK(access("/etc/hostfile", F_OK) != 0);
        /* A symlink loop ends with ELOOP. */
        CHECK(symlinkat("loop2", root, "loop1") == 0);
        CHECK(symlinkat("loop1", root, "loop2") == 0);
        CHECK(safe_mkdir_p(root, "loop1/x", 0755, &fd) == -ELOOP);
        CHECK(safe_touch(root, "up/file", 0644, &fd) == 0);
        close(fd);
        CHECK(fstatat(root, "file", &st, 0) == 0);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
        CHECK(system(cmd) == 0);
}

TEST(parse_numbers)
{
        uint64_t u;
        int64_t i;
        CHECK(parse_u64("42", &u) == 0 && u == 42);
        CHECK(parse_u64("-1", &u) == -EINVAL);
        CHECK(parse_u64("4x", &u) == -EINVAL);
        CHECK(parse_i64("-5", &i) == 0 && i == -5);
}

UNIT_MAIN()
