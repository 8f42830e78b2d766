/* A tiny unit-test harness: TEST(name) { CHECK(...); }, then UNIT_MAIN().
 * Each test prints "ok NAME" or "FAIL NAME: file:line: expr"; the binary's
 * last line is "N passed, N failed" and its exit status is non-zero on failure. */
#pragma once
#include <stdio.h>
#include <string.h>

struct unit_test {
        const char *name;
        void (*fn)(int *failed);
};
#define UNIT_MAX 512
static struct unit_test unit_tests[UNIT_MAX];
static int unit_count;

#define TEST(name)                                                                                 \
        static void test_##name(int *unit_failed);                                                 \
        __attribute__((constructor)) static void register_##name(void)                             \
        {                                                                                          \
                if (unit_count < UNIT_MAX)                                                         \
                        unit_tests[unit_count++] = (struct unit_test){#name, test_##name};         \
        }                                                                                          \
        static void test_##name(int *unit_failed)

#define CHECK(expr)                                                                                \
        do {                                                                                       \
                if (!(expr)) {                                                                     \
                        printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #expr);          \
                        *unit_failed = 1;                                                          \
                }                                                                                  \
        } while (0)

#define CHECK_STR(a, b)                                                                            \
        do {                                                                                       \
                const char *_a = (a), *_b = (b);                                                   \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
                        printf("  %s:%d: '%s' != '%s'\n", __FILE__, __LINE__, _a ? _a : "(null)",  \
                               _b ? _b : "(null)");                                                \
                        *unit_failed = 1;                                                          \
                }                                                                                  \
        } while (0)

#define UNIT_MAIN()                                                                                \
        int main(int argc, char **argv)                                                            \
        {                                                                                          \
                int passed = 0, failed = 0;                                                        \
                for (int i = 0; i < unit_count; i++) {                                             \
                        if (argc > 1 && !strstr(unit_tests[i].name, argv[1]))                      \
                                continue;                                                          \
                        int f = 0;                                                                 \
                        unit_tests[i].fn(&f);                                                      \
                        printf("%s %s\n", f ? "FAIL" : "ok", unit_tests[i].name);                  \
                        f ? failed++ : passed++;                                                   \
                }                                                                                  \
                printf("%d passed, %d failed\n", passed, failed);                                  \
                return failed ? 1 : 0;                                                             \
        }
