/* libFuzzer harness: the image documents a registry or an archive hands us
 * (manifest, index / manifest list, image config) and image references, on
 * arbitrary bytes. The first byte picks the parser. Build with `make fuzz`,
 * run with `build/fuzz/fuzz/fuzz-image-docs -max_total_time=120 CORPUS_DIR`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "image/manifest.h"
#include "image/ref.h"

static void must_explain(int r, const struct error *err)
{
        if (r < 0 && (err->msg[0] == '\0' || err->code >= 0))
                abort(); /* every failure must say why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        char *text = xmalloc(size);
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        struct error err = {0};
        int r;
        switch (data[0] % 5) {
        case 0: {
                struct manifest m = {0};
                r = manifest_parse("fuzz", text, &m, &err);
                must_explain(r, &err);
                if (r == 0) {
                        for (size_t i = 0; i < m.nlayers; i++)
                                if (!m.layers[i].digest)
                                        abort();
                        manifest_free(&m);
                }
                break;
        }
        case 1: {
                struct descriptor *d = NULL;
                size_t n = 0;
                r = index_parse("fuzz", text, &d, &n, &err);
                must_explain(r, &err);
                if (r == 0) {
                        size_t pick;
                        struct error e2 = {0};
                        int p = index_pick(d, n, "fuzz", &pick, &e2);
                        must_explain(p, &e2);
                        if (p == 0 && pick >= n)
                                abort();
                        free_descriptors(d, n);
                }
                break;
        }
        case 2: {
                char **diff_ids = NULL;
                int64_t created = 0;
                r = config_parse("fuzz", text, &diff_ids, &created, &err);
                must_explain(r, &err);
                if (r == 0)
                        strv_free(diff_ids);
                break;
        }
        case 3: {
                struct image_ref ref = {0};
                r = image_ref_parse(text, data[0] & 8, &ref, &err);
                must_explain(r, &err);
                if (r == 0) {
                        char *a = image_ref_string(&ref), *b = image_ref_familiar(&ref);
                        /* The normalized form must parse again to the same thing. */
                        struct image_ref again = {0};
                        struct error e2 = {0};
                        if (image_ref_parse(a, true, &again, &e2) < 0)
                                abort();
                        char *c = image_ref_string(&again);
                        if (strcmp(a, c) != 0)
                                abort();
                        free(a);
                        free(b);
                        free(c);
                        image_ref_free(&again);
                        image_ref_free(&ref);
                }
                break;
        }
        default: {
                int64_t t;
                (void)parse_rfc3339(text, &t);
                (void)doc_is_index("fuzz", text, &err);
                break;
        }
        }
        free(text);
        return 0;
}
