/* Restart policies: parsing, the decision and backoff, and the two files
 * the monitor and stop/kill/rm share. See restart.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "engine/restart.h"

#define BACKOFF_FIRST_MS     100
#define BACKOFF_MAX_MS       60000
#define BACKOFF_RESET_RUN_MS 10000

int restart_parse(const char *s, const char **ret_name, int *ret_max, struct error *err)
{
        static const char *const names[] = {"no", "always", "unless-stopped", "on-failure"};
        *ret_max = 0;
        const char *colon = strchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : strlen(s);
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                if (strlen(names[i]) != n || strncmp(s, names[i], n) != 0)
                        continue;
                *ret_name = names[i];
                if (!colon)
                        return 0;
                if (strcmp(names[i], "on-failure") != 0)
                        return error_msg(err, -EINVAL,
                                         "--restart '%s': maximum retry count cannot be used "
                                         "with restart policy '%s'",
                                         s, names[i]);
                char *end;
                errno = 0;
                long v = strtol(colon + 1, &end, 10);
                if (!colon[1] || *end || errno || v < 0 || v > 1000000)
                        return error_msg(err, -EINVAL,
                                         "--restart '%s': the maximum retry count must be a "
                                         "number >= 0",
                                         s);
                *ret_max = (int)v;
                return 0;
        }
        return error_msg(err, -EINVAL,
                         "--restart '%s': invalid restart policy (want no, always, "
                         "unless-stopped or on-failure[:N])",
                         s);
}

bool restart_decide(struct json_object *doc, int status, int count, int64_t ran_ms,
                    int64_t *prev_delay_ms, int64_t *ret_delay_ms)
{
        struct json_object *hc, *rp, *v;
        if (!json_object_object_get_ex(doc, "HostConfig", &hc) ||
            !json_object_object_get_ex(hc, "RestartPolicy", &rp) ||
            !json_object_object_get_ex(rp, "Name", &v))
                return false;
        const char *name = json_object_get_string(v);
        int max =
            json_object_object_get_ex(rp, "MaximumRetryCount", &v) ? json_object_get_int(v) : 0;
        bool again;
        if (strcmp(name, "always") == 0 || strcmp(name, "unless-stopped") == 0)
                again = true;
        else if (strcmp(name, "on-failure") == 0)
                again = status != 0 && (max == 0 || count < max);
        else
                again = false;
        if (!again)
                return false;
        int64_t d = *prev_delay_ms;
        if (ran_ms >= BACKOFF_RESET_RUN_MS || d <= 0)
                d = BACKOFF_FIRST_MS;
        else if ((d *= 2) > BACKOFF_MAX_MS)
                d = BACKOFF_MAX_MS;
        *prev_delay_ms = d;
        *ret_delay_ms = d;
        return true;
}

static char *file_path(struct engine *e, const char *id, const char *name)
{
        _cleanup_free_ char *dir = engine_ctr_dir(e, id);
        return xasprintf("%s/%s", dir, name);
}

void restart_request_stop(struct engine *e, const char *id)
{
        _cleanup_free_ char *p = file_path(e, id, "stop-requested");
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
                close(fd);
}

bool restart_stop_requested(struct engine *e, const char *id)
{
        _cleanup_free_ char *p = file_path(e, id, "stop-requested");
        return access(p, F_OK) == 0;
}

void restart_reset(struct engine *e, const char *id)
{
        _cleanup_free_ char *p = file_path(e, id, "stop-requested");
        _cleanup_free_ char *q = file_path(e, id, "restart-count");
        unlink(p);
        unlink(q);
}

int restart_count(struct engine *e, const char *id)
{
        _cleanup_free_ char *p = file_path(e, id, "restart-count");
        _cleanup_free_ char *text = NULL;
        if (read_file_at(AT_FDCWD, p, 0, &text, NULL) < 0)
                return 0;
        return atoi(text);
}

void restart_set_count(struct engine *e, const char *id, int n)
{
        _cleanup_free_ char *dir = engine_ctr_dir(e, id);
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        char buf[16];
        int len = snprintf(buf, sizeof(buf), "%d\n", n);
        if (dfd >= 0)
                write_file_atomic(dfd, "restart-count", buf, (size_t)len, 0644);
}
