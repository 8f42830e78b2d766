/* Running from a sealed copy of our own executable (CVE-2019-5736).
 *
 * A process that enters a container (exec) is visible to the container's
 * processes, which could open /proc/PID/exe and write to the binary behind
 * it. Re-executing from a sealed memfd copy first leaves them nothing to
 * write to. */
#pragma once
#include <stdbool.h>

/* True when /proc/self/exe is a write-sealed memfd. */
bool sealed_is_self(void);
/* Re-executes argv from a sealed copy of /proc/self/exe; returns only on
 * failure, with a negative errno. */
int sealed_reexec(char *const *argv);
