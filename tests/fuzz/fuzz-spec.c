/* libFuzzer harness: spec_parse() on arbitrary bytes. Build with `make fuzz`,
 * run with `build/fuzz/fuzz/fuzz-spec -max_total_time=120 CORPUS_DIR`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "runtime/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = xmalloc(size + 1);
        memcpy(text, data, size);
        text[size] = '\0';
        struct error err = {0};
        struct spec *s = NULL;
        if (spec_parse(text, NULL, &s, &err) == 0) {
                /* Touch what the lifecycle reads, so a bogus length shows up here. */
                for (size_t i = 0; i < s->n_mounts; i++)
                        if (s->mounts[i].data && strlen(s->mounts[i].data) == SIZE_MAX)
                                abort();
                for (size_t i = 0; s->warnings && s->warnings[i]; i++)
                        if (!*s->warnings[i])
                                abort();
                spec_free(s);
        } else if (err.msg[0] == '\0' || err.code >= 0) {
                abort(); /* every failure must say why */
        }
        free(text);
        return 0;
}
