/* Log drivers: k8s-file, json-file, none, with size rotation. See logdrv.h. */
#include "engine/logdrv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "engine/ctr-config.h"

#define MAX_FILES 100

static bool known_driver(const char *d)
{
        return strcmp(d, "k8s-file") == 0 || strcmp(d, "json-file") == 0 || strcmp(d, "none") == 0;
}

int logdrv_make_config(const char *driver, char *const *opts, struct json_object **ret,
                       struct error *err)
{
        if (!driver)
                driver = "k8s-file";
        if (!known_driver(driver))
                return error_msg(err, -EINVAL,
                                 "--log-driver '%s': unknown log driver (want k8s-file, "
                                 "json-file or none)",
                                 driver);
        _cleanup_json_ struct json_object *conf = json_object_new_object();
        int64_t size = 0;
        bool has_size = false, has_file = false;
        for (char *const *o = opts; o && *o; o++) {
                const char *eq = strchr(*o, '=');
                if (!eq || eq == *o)
                        return error_msg(err, -EINVAL, "--log-opt '%s': want KEY=VALUE", *o);
                _cleanup_free_ char *key = xstrndup(*o, (size_t)(eq - *o));
                const char *val = eq + 1;
                if (strcmp(driver, "none") == 0)
                        return error_msg(err, -EINVAL,
                                         "--log-opt '%s': the none log driver takes no options",
                                         *o);
                if (strcmp(key, "max-size") == 0) {
                        if (ctr_parse_bytes(val, &size) < 0 || size <= 0)
                                return error_msg(err, -EINVAL,
                                                 "--log-opt '%s': max-size wants a size > 0 "
                                                 "(10k, 5m, bytes)",
                                                 *o);
                        has_size = true;
                } else if (strcmp(key, "max-file") == 0) {
                        int64_t n;
                        if (parse_i64(val, &n) < 0 || n < 1 || n > MAX_FILES)
                                return error_msg(err, -EINVAL,
                                                 "--log-opt '%s': max-file wants a number from "
                                                 "1 to %d",
                                                 *o, MAX_FILES);
                        has_file = true;
                } else {
                        return error_msg(err, -EINVAL,
                                         "--log-opt '%s': unknown log opt '%s' for the %s log "
                                         "driver (want max-size, max-file)",
                                         *o, key, driver);
                }
                json_object_object_add(conf, key, json_object_new_string(val));
        }
        if (has_file && !has_size)
                return error_msg(err, -EINVAL, "--log-opt max-file needs max-size as well");
        struct json_object *lc = json_object_new_object();
        json_object_object_add(lc, "Type", json_object_new_string(driver));
        json_object_object_add(lc, "Config", TAKE_PTR(conf));
        *ret = lc;
        return 0;
}

void logdrv_get_config(struct json_object *doc, struct log_cfg *ret)
{
        *ret = (struct log_cfg){.driver = "k8s-file", .max_file = 1};
        struct json_object *hc, *lc, *v, *conf;
        if (!json_object_object_get_ex(doc, "HostConfig", &hc) ||
            !json_object_object_get_ex(hc, "LogConfig", &lc))
                return;
        if (json_object_object_get_ex(lc, "Type", &v) && known_driver(json_object_get_string(v)))
                snprintf(ret->driver, sizeof(ret->driver), "%s", json_object_get_string(v));
        if (!json_object_object_get_ex(lc, "Config", &conf))
                return;
        int64_t n;
        if (json_object_object_get_ex(conf, "max-size", &v) &&
            ctr_parse_bytes(json_object_get_string(v), &n) == 0 && n > 0)
                ret->max_size = n;
        if (json_object_object_get_ex(conf, "max-file", &v) &&
            parse_i64(json_object_get_string(v), &n) == 0 && n >= 1 && n <= MAX_FILES)
                ret->max_file = (int)n;
}

char **logdrv_files(const char *path, const struct log_cfg *cfg)
{
        char **l = NULL;
        for (int i = cfg->max_file - 1; i >= 1; i--) {
                _cleanup_free_ char *p = xasprintf("%s.%d", path, i);
                if (access(p, F_OK) == 0)
                        l = strv_push(l, TAKE_PTR(p));
        }
        if (access(path, F_OK) == 0)
                l = strv_push(l, xstrdup(path));
        return l;
}
