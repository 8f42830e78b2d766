#include <stdlib.h>
#include <string.h>

#include "cli/format.h"
#include "core/json.h"
#include "core/util.h"
#include "unit.h"

static char *render(const char *tmpl, const char *json)
{
        struct json_object *o = NULL;
        struct error err = {0};
        struct tmpl *t = NULL;
        char *out = NULL;
        if (json_parse_string("t", json, &o, &err) < 0 || tmpl_parse(tmpl, &t, &err) < 0 ||
            tmpl_render(t, o, &out, &err) < 0)
                out = xasprintf("ERR %s", err.msg);
        tmpl_free(t);
        json_object_put(o);
        return out;
}

#define CHECK_RENDER(t, j, want)                                                                   \
        do {                                                                                       \
                char *_o = render(t, j);                                                           \
                CHECK_STR(_o, want);                                                               \
                free(_o);                                                                          \
        } while (0)

#define CHECK_ERR(t, j, part)                                                                      \
        do {                                                                                       \
                char *_o = render(t, j);                                                           \
                CHECK(strncmp(_o, "ERR", 3) == 0 && strstr(_o, part));                             \
                if (!strstr(_o, part))                                                             \
                        printf("  got '%s'\n", _o);                                                \
                free(_o);                                                                          \
        } while (0)

TEST(template_fields)
{
        const char *j = "{\"A\":\"x\",\"B\":2,\"C\":{\"D\":true},\"E\":[\"p\",\"q\"],\"N\":null}";
        CHECK_RENDER("{{.A}}", j, "x");
        CHECK_RENDER("{{.A}}:{{.B}}", j, "x:2");
        CHECK_RENDER("id={{ .A }} end", j, "id=x end");
        CHECK_RENDER("{{.C.D}}", j, "true");
        CHECK_RENDER("{{.E}}", j, "[p q]");
        CHECK_RENDER("{{.C}}", j, "map[D:true]");
        CHECK_RENDER("{{.N}}", j, "<no value>");
        CHECK_RENDER("{{json .E}}", j, "[\"p\",\"q\"]");
        CHECK_RENDER("{{json .C}}", j, "{\"D\":true}");
        CHECK_ERR("{{lower \"X\"}}", j, "is not a field");
}

TEST(template_functions)
{
        const char *j = "{\"A\":\"hello world\",\"E\":[\"p\",\"q\"]}";
        CHECK_RENDER("{{upper .A}}", j, "HELLO WORLD");
        CHECK_RENDER("{{title .A}}", j, "Hello World");
        CHECK_RENDER("{{len .E}}", j, "2");
        CHECK_RENDER("{{join .E \", \"}}", j, "p, q");
        CHECK_RENDER("a\\tb", j, "a\tb");
        CHECK_RENDER("x {{- .A -}} y", j, "xhello worldy");
        CHECK_RENDER("{{json .}}", "{\"k\":1}", "{\"k\":1}");
}

TEST(template_errors)
{
        CHECK_ERR("{{.A", "{}", "unclosed");
        CHECK_ERR("{{nope .A}}", "{}", "function 'nope' not defined");
        CHECK_ERR("{{.Missing}}", "{\"A\":1}", "can't evaluate field 'Missing'");
        CHECK_ERR("{{A}}", "{}", "not defined");
        CHECK_ERR("{{}}", "{}", "empty action");
        CHECK_ERR("{{json .A .B}}", "{}", "takes 1 argument");
}

TEST(table_alignment)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        struct json_object *rows[2];
        struct error err = {0};
        json_parse_string("r", "{\"Repository\":\"busybox\",\"Tag\":\"latest\",\"ID\":\"abc\"}",
                          &rows[0], &err);
        json_parse_string("r", "{\"Repository\":\"a\",\"Tag\":\"1\",\"ID\":\"def\"}", &rows[1],
                          &err);
        static const struct fmt_header h[] = {{"ID", "IMAGE ID"}, {}};
        CHECK(format_print(f, NULL, "table {{.Repository}}\t{{.Tag}}\t{{.ID}}", h, rows, 2, &err) ==
              0);
        fclose(f);
        CHECK_STR(buf, "REPOSITORY   TAG       IMAGE ID\n"
                       "busybox      latest    abc\n"
                       "a            1         def\n");
        free(buf);
        f = open_memstream(&buf, &len);
        CHECK(format_print(f, "json", "table {{.ID}}", h, rows, 1, &err) == 0);
        fclose(f);
        CHECK_STR(buf, "{\"Repository\":\"busybox\",\"Tag\":\"latest\",\"ID\":\"abc\"}\n");
        free(buf);
        f = open_memstream(&buf, &len);
        CHECK(format_print(f, "{{.Repository}}:{{.Tag}}", "table {{.ID}}", h, rows, 2, &err) == 0);
        fclose(f);
        CHECK_STR(buf, "busybox:latest\na:1\n");
        free(buf);
        json_object_put(rows[0]);
        json_object_put(rows[1]);
}

TEST(human_units)
{
        char b[64];
        format_size(0, b, sizeof(b));
        CHECK_STR(b, "0B");
        format_size(999, b, sizeof(b));
        CHECK_STR(b, "999B");
        format_size(1982418, b, sizeof(b));
        CHECK_STR(b, "1.98MB");
        format_size(4261000, b, sizeof(b));
        CHECK_STR(b, "4.26MB");
        format_size(123456, b, sizeof(b));
        CHECK_STR(b, "123kB");
        format_since(1000, 1000, b, sizeof(b));
        CHECK_STR(b, "Less than a second ago");
        format_since(1000, 1030, b, sizeof(b));
        CHECK_STR(b, "30 seconds ago");
        format_since(1000, 1000 + 90, b, sizeof(b));
        CHECK_STR(b, "About a minute ago");
        format_since(1000, 1000 + 3 * 3600, b, sizeof(b));
        CHECK_STR(b, "3 hours ago");
        format_since(1000, 1000 + 10 * 86400, b, sizeof(b));
        CHECK_STR(b, "10 days ago");
        format_since(1000, 1000 + 800 * 86400, b, sizeof(b));
        CHECK_STR(b, "2 years ago");
}

UNIT_MAIN()
