/* Warnings from library code go to one sink that the CLI sets (stderr, or
 * the --log file in text or JSON). The library never writes to stderr itself. */
#pragma once

void log_set_sink(void (*sink)(const char *level, const char *msg));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
