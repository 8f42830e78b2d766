/* -v and --mount specs into the stored document (engine/volume.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "engine/volume.h"
#include "unit.h"

static struct json_object *doc_new(void)
{
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "Config", json_object_new_object());
        json_object_object_add(d, "HostConfig", json_object_new_object());
        return d;
}

static int config(char **vols, char **mounts, char **ret_json, struct error *err)
{
        struct json_object *d = doc_new();
        int r = volume_config(vols, mounts, NULL, d, err);
        if (r == 0)
                *ret_json = xstrdup(json_compact(d));
        json_object_put(d);
        return r;
}

TEST(volume_specs_into_the_document)
{
        struct error err = {0};
        char *json = NULL;
        char *vols[] = {"data:/d:ro", "/anon", "./rel:/bind", NULL};
        CHECK(config(vols, NULL, &json, &err) == 0);
        CHECK(strstr(json, "\"Binds\":[\"data:/d:ro\"]") != NULL);
        CHECK(strstr(json, "\"Volumes\":{\"/anon\":{}}") != NULL);
        free(json);
        char *mounts[] = {"type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777",
                          "type=volume,src=v1,dst=/v,readonly,volume-nocopy", NULL};
        CHECK(config(NULL, mounts, &json, &err) == 0);
        CHECK(strstr(json, "\"SizeBytes\":1048576") != NULL);
        CHECK(strstr(json, "\"Mode\":1023") != NULL);
        CHECK(strstr(json, "\"NoCopy\":true") != NULL);
        CHECK(strstr(json, "\"ReadOnly\":true") != NULL);
        free(json);
}

TEST(bad_specs_are_named)
{
        static const struct {
                const char *vol, *mount, *want;
        } cases[] = {
            {"vv:rel", NULL, "not absolute"},
            {"vv:/x:rx", NULL, "invalid mode: rx"},
            {"vv:/x:ro,rw", NULL, "ro and rw"},
            {"aa:/x", "type=volume,target=/x", "duplicate mount point: /x"},
            {"xx:/", NULL, "cannot be '/'"},
            {"-bad:/x", NULL, "invalid characters"},
            {NULL, "type=volume", "target is required"},
            {NULL, "type=disk,target=/x", "invalid mount type 'disk'"},
            {NULL, "type=volume,target=/x,foo=1", "unexpected key 'foo'"},
            {NULL, "type=volume,target", "must be a key=value pair"},
            {NULL, "type=tmpfs,target=/x,tmpfs-mode=9", "invalid tmpfs-mode '9'"},
            {NULL, "type=tmpfs,target=/x,tmpfs-size=-1", "invalid tmpfs-size '-1'"},
            {NULL, "type=bind,target=/x,bind-propagation=x", "field Source"},
            {NULL, "type=volume,target=/x,readonly=maybe", "invalid value for readonly"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct error err = {0};
                char *json = NULL;
                char *vols[] = {(char *)cases[i].vol, NULL};
                char *mounts[] = {(char *)cases[i].mount, NULL};
                CHECK(config(cases[i].vol ? vols : NULL, cases[i].mount ? mounts : NULL, &json,
                             &err) == -EINVAL);
                CHECK(json == NULL);
                if (!strstr(err.msg, cases[i].want))
                        fprintf(stderr, "  case %zu: %s\n", i, err.msg);
                CHECK(strstr(err.msg, cases[i].want) != NULL);
                error_clear(&err);
        }
}

TEST(volume_names)
{
        struct error err = {0};
        CHECK(volume_check_name("ab", &err) == 0);
        CHECK(volume_check_name("a.b_c-9", &err) == 0);
        CHECK(volume_check_name("a", &err) == -EINVAL);
        error_clear(&err);
        CHECK(volume_check_name("a/b", &err) == -EINVAL);
        error_clear(&err);
        CHECK(volume_spec_is_volume("/x"));
        CHECK(volume_spec_is_volume("n:/x"));
        CHECK(!volume_spec_is_volume("/h:/x"));
        CHECK(!volume_spec_is_volume("./h:/x"));
}

UNIT_MAIN()
