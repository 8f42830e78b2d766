/* libFuzzer harness: the linux.seccomp parser and compiler on arbitrary bytes.
 * Build with `make fuzz`, run with
 * `build/fuzz/fuzz/fuzz-seccomp -max_total_time=120 CORPUS_DIR`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "runtime/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = xmalloc(size + 1);
        memcpy(text, data, size);
        text[size] = '\0';
        struct json_object *o = json_tokener_parse(text);
        free(text);
        if (!o)
                return 0;
        struct error err = {0};
        struct seccomp_profile *p = NULL;
        if (seccomp_profile_parse(o, "linux.seccomp", &p, &err) == 0) {
                struct seccomp_filter *f = NULL;
                /* Compiling may fail (libseccomp refuses some rule mixes), but must say why. */
                if (p && seccomp_filter_compile(p, &f, &err) < 0 && err.msg[0] == '\0')
                        abort();
                seccomp_filter_free(f);
                seccomp_profile_free(p);
        } else if (err.msg[0] == '\0' || err.code >= 0) {
                abort(); /* every failure must say why */
        }
        json_object_put(o);
        return 0;
}
