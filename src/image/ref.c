#include "image/ref.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "core/digest.h"
#include "core/util.h"

#define NAME_MAX_TOTAL 255

static bool is_alnum_lower(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool valid_component(const char *s, size_t n)
{
        if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
                return false;
        for (size_t i = 0; i < n;) {
                if (is_alnum_lower(s[i])) {
                        i++;
                        continue;
                }
                size_t j = i;
                if (s[i] == '.') {
                        j++;
                } else if (s[i] == '_') {
                        j++;
                        if (j < n && s[j] == '_')
                                j++;
                } else if (s[i] == '-') {
                        while (j < n && s[j] == '-')
                                j++;
                } else {
                        return false;
                }
                if (j >= n || !is_alnum_lower(s[j]))
                        return false;
                i = j;
        }
        return true;
}

/* host[:port] where host is dot-separated labels of [A-Za-z0-9-] or [ipv6]. */
static bool valid_domain(const char *s)
{
        const char *colon = NULL;
        if (*s == '[') {
                const char *end = strchr(s, ']');
                if (!end || end == s + 1)
                        return false;
                for (const char *p = s + 1; p < end; p++)
                        if (!isxdigit((unsigned char)*p) && *p != ':')
                                return false;
                if (end[1] == '\0')
                        return true;
                if (end[1] != ':')
                        return false;
                colon = end + 1;
        } else {
                colon = strchr(s, ':');
                size_t hlen = colon ? (size_t)(colon - s) : strlen(s);
                if (hlen == 0)
                        return false;
                size_t label = 0;
                for (size_t i = 0; i <= hlen; i++) {
                        char c = i < hlen ? s[i] : '.';
                        if (c == '.') {
                                if (label == 0 || s[i - 1] == '-')
                                        return false;
                                label = 0;
                        } else if (isalnum((unsigned char)c) || c == '-') {
                                if (label == 0 && c == '-')
                                        return false;
                                label++;
                        } else {
                                return false;
                        }
                }
        }
        if (!colon)
                return true;
        const char *port = colon + 1;
        if (!*port || strlen(port) > 5)
                return false;
        for (const char *p = port; *p; p++)
                if (!isdigit((unsigned char)*p))
                        return false;
        return true;
}

/* [\w][\w.-]{0,127} */
static bool valid_tag(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 128)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool word = isalnum((unsigned char)c) || c == '_';
                if (!word && (i == 0 || (c != '.' && c != '-')))
                        return false;
        }
        return true;
}

void image_ref_free(struct image_ref *r)
{
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        *r = (struct image_ref){0};
}

int image_ref_parse(const char *s, bool no_default_tag, struct image_ref *ret, struct error *err)
{
        if (!s || !*s)
                return error_msg(err, -EINVAL, "invalid reference format: empty name");
        _cleanup_free_ char *name = xstrdup(s);
        struct image_ref r = {0};
        char *at = strchr(name, '@');
        if (at) {
                *at = '\0';
                if (!digest_valid(at + 1)) {
                        int e = error_msg(err, -EINVAL,
                                          "invalid reference '%s': invalid digest '%s' (want "
                                          "sha256: and 64 lowercase hex digits)",
                                          s, at + 1);
                        return e;
                }
                r.digest = xstrdup(at + 1);
        }
        char *slash = strrchr(name, '/');
        char *colon = strrchr(slash ? slash : name, ':');
        if (colon) {
                *colon = '\0';
                if (!valid_tag(colon + 1)) {
                        int e = error_msg(err, -EINVAL,
                                          "invalid reference '%s': invalid tag '%s' (letters, "
                                          "digits, '_', '.', '-', at most 128, not starting with "
                                          "'.' or '-')",
                                          s, colon + 1);
                        image_ref_free(&r);
                        return e;
                }
                r.tag = xstrdup(colon + 1);
        }
        const char *rest = name;
        char *first = strchr(name, '/');
        if (first && (memchr(name, '.', first - name) || memchr(name, ':', first - name) ||
                      ((size_t)(first - name) == 9 && strncmp(name, "localhost", 9) == 0) ||
                      memchr(name, '[', first - name))) {
                *first = '\0';
                if (!valid_domain(name)) {
                        int e = error_msg(err, -EINVAL,
                                          "invalid reference '%s': invalid registry host '%s'", s,
                                          name);
                        image_ref_free(&r);
                        return e;
                }
                r.domain = xstrdup(strcmp(name, "index.docker.io") == 0 ? "docker.io" : name);
                rest = first + 1;
        } else {
                r.domain = xstrdup("docker.io");
        }
        if (strcmp(r.domain, "docker.io") == 0 && !strchr(rest, '/'))
                r.path = xasprintf("library/%s", rest);
        else
                r.path = xstrdup(rest);
        /* Check every path component, naming the bad one. */
        const char *p = r.path;
        for (;;) {
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (!valid_component(p, n)) {
                        bool upper = false;
                        for (size_t i = 0; i < n; i++)
                                upper |= isupper((unsigned char)p[i]) != 0;
                        const char *why = upper    ? "repository name must be lowercase, got"
                                          : n == 0 ? "empty path component in"
                                                   : "invalid path component";
                        int code = error_msg(
                            err, -EINVAL, "invalid reference '%s': %s '%.*s'%s", s, why,
                            n == 0 ? (int)strlen(rest) : (int)n, n == 0 ? rest : p,
                            upper || n == 0 ? ""
                                            : " (want [a-z0-9] separated by '.', '_', '__' "
                                              "or '-')");
                        image_ref_free(&r);
                        return code;
                }
                if (!e)
                        break;
                p = e + 1;
        }
        if (strlen(r.domain) + 1 + strlen(r.path) > NAME_MAX_TOTAL) {
                image_ref_free(&r);
                return error_msg(err, -EINVAL,
                                 "invalid reference '%s': repository name longer than %d "
                                 "characters",
                                 s, NAME_MAX_TOTAL);
        }
        if (!r.digest && !r.tag && !at && strlen(s) == 64 && !first) {
                bool hex = true;
                for (const char *q = s; *q; q++)
                        hex &= isxdigit((unsigned char)*q) != 0;
                if (hex) {
                        image_ref_free(&r);
                        return error_msg(err, -EINVAL,
                                         "invalid reference '%s': a 64-digit hex string is an "
                                         "image id, not a repository name",
                                         s);
                }
        }
        if (!r.tag && !r.digest && !no_default_tag)
                r.tag = xstrdup("latest");
        *ret = r;
        return 0;
}

char *image_ref_repo(const struct image_ref *r)
{
        return xasprintf("%s/%s", r->domain, r->path);
}

char *image_ref_string(const struct image_ref *r)
{
        return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
                         r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

const char *image_repo_familiar(const char *repo)
{
        if (str_startswith(repo, "docker.io/library/") && !strchr(repo + 18, '/'))
                return repo + 18;
        if (str_startswith(repo, "docker.io/"))
                return repo + 10;
        return repo;
}

char *image_ref_familiar(const struct image_ref *r)
{
        _cleanup_free_ char *repo = image_ref_repo(r);
        return xasprintf("%s%s%s%s%s", image_repo_familiar(repo), r->tag ? ":" : "",
                         r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}
