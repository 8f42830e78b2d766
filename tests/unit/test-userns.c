/* Rootless helpers: which host ids /etc/subuid lets a user map, and the
 * strv helpers the rootless cgroup warning uses. */
#include <stdlib.h>

#include "core/util.h"
#include "runtime/userns.h"
#include "unit.h"

static const char subuid[] = "# comment\n"
                             "alice:100000:65536\n"
                             "1001:300000:1000\n"
                             "bob:165536:65536\n"
                             "alice:400000:10\n"
                             "alice:400010:10\n"
                             "broken line\n"
                             "alice:x:5\n"
                             "alice:500000:0\n";

TEST(subid_own_id_alone)
{
        CHECK(userns_subid_allows(subuid, "alice", 1000, 1000, 1));
        CHECK(userns_subid_allows("", "alice", 1000, 1000, 1));
        CHECK(userns_subid_allows(NULL, NULL, 1000, 1000, 1));
        /* Only alone: two ids from the own one on need a range. */
        CHECK(!userns_subid_allows(subuid, "alice", 1000, 1000, 2));
        CHECK(!userns_subid_allows(subuid, "alice", 1000, 0, 1));
}

TEST(subid_ranges_by_name_and_id)
{
        CHECK(userns_subid_allows(subuid, "alice", 1000, 100000, 65536));
        CHECK(userns_subid_allows(subuid, "alice", 1000, 100001, 10));
        CHECK(!userns_subid_allows(subuid, "alice", 1000, 100000, 65537));
        CHECK(!userns_subid_allows(subuid, "alice", 1000, 99999, 2));
        /* bob's range is not alice's, even right after hers. */
        CHECK(!userns_subid_allows(subuid, "alice", 1000, 165536, 1));
        CHECK(userns_subid_allows(subuid, "bob", 1002, 165536, 65536));
        /* A line may name the user by id. */
        CHECK(userns_subid_allows(subuid, "carol", 1001, 300000, 1000));
        CHECK(userns_subid_allows(subuid, NULL, 1001, 300500, 500));
        CHECK(!userns_subid_allows(subuid, "carol", 1001, 300500, 501));
}

TEST(subid_adjacent_ranges_join)
{
        CHECK(userns_subid_allows(subuid, "alice", 1000, 400000, 20));
        CHECK(userns_subid_allows(subuid, "alice", 1000, 400005, 10));
        CHECK(!userns_subid_allows(subuid, "alice", 1000, 400000, 21));
}

TEST(subid_bad_lines_grant_nothing)
{
        CHECK(!userns_subid_allows(subuid, "alice", 1000, 500000, 1));
        /* No overflow at the top of the id space. */
        CHECK(userns_subid_allows("alice:4294967295:2\n", "alice", 1000, 4294967295u, 1));
        CHECK(!userns_subid_allows("x", "x", 1, 2, 1));
}

TEST(strv_join_concat)
{
        char *a[] = {"x", "y", NULL}, *b[] = {"z", NULL};
        char **c = strv_concat(a, b);
        char *s = strv_join(c, ", ");
        CHECK_STR(s, "x, y, z");
        free(s);
        s = strv_join(NULL, ",");
        CHECK_STR(s, "");
        free(s);
        strv_free(c);
        c = strv_concat(NULL, NULL);
        CHECK(c && !c[0]);
        strv_free(c);
}

UNIT_MAIN()
