#include "core/lazylib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static int load_locked(struct lazylib *l, struct error *err)
{
        if (l->loaded)
                return 0;
        /* RTLD_NOW: a missing function shows here, not in the middle of a
         * layer. RTLD_LOCAL: nothing else binds to these symbols. */
        void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return error_msg(err, -ENOENT, "cannot load %s (needed for %s): %s", l->soname,
                                 l->what, dlerror());
        void **addrs = calloc(l->n, sizeof(*addrs));
        if (!addrs)
                abort();
        for (size_t i = 0; i < l->n; i++) {
                dlerror();
                addrs[i] = dlsym(h, l->names[i]);
                if (!addrs[i]) {
                        const char *e = dlerror();
                        int r = error_msg(err, -ENOENT, "cannot load %s (needed for %s): %s",
                                          l->soname, l->what, e ? e : l->names[i]);
                        free(addrs);
                        dlclose(h);
                        return r;
                }
        }
        l->fill(addrs);
        free(addrs);
        /* The handle stays open for the life of the process. */
        __atomic_store_n(&l->loaded, true, __ATOMIC_RELEASE);
        return 0;
}

int lazylib_load(struct lazylib *l, struct error *err)
{
        if (__atomic_load_n(&l->loaded, __ATOMIC_ACQUIRE))
                return 0;
        pthread_mutex_lock(&load_lock);
        int r = load_locked(l, err);
        pthread_mutex_unlock(&load_lock);
        return r;
}

void lazylib_require(struct lazylib *l)
{
        struct error err = {0};
        if (lazylib_load(l, &err) < 0) {
                fprintf(stderr, "husk: %s\n", err.msg);
                exit(127);
        }
}
