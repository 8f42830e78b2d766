/* The monitor's attach protocol (unix stream socket).
 *
 * A client first sends one byte: 'i' when it will forward stdin, 'n' when
 * not. After that it sends raw stdin bytes; its EOF (shutdown SHUT_WR or
 * close) closes the container's stdin. The monitor sends frames:
 *
 *   1 byte type, 4 bytes payload length (little endian), payload
 *
 *   'o' stdout bytes      'e' stderr bytes
 *   's' started: the init's pid in decimal
 *   'x' exited: the exit code in decimal (the last frame; everything the
 *       container held is released by then, removed too with --rm)
 *   'E' start failed: "ERRNO MESSAGE" (negative errno, then the message)
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define FRAME_STDOUT  'o'
#define FRAME_STDERR  'e'
#define FRAME_STARTED 's'
#define FRAME_EXIT    'x'
#define FRAME_ERROR   'E'
#define FRAME_MAX     (1u << 20)

/* Writes one frame (blocking, all of it); negative errno on failure. */
int frame_write(int fd, char type, const void *buf, size_t len);
/* Reads one frame; *ret_buf is a fresh NUL-terminated buffer. 0 on a clean
 * EOF before a frame, 1 on a frame, negative errno otherwise. */
int frame_read(int fd, char *ret_type, char **ret_buf, size_t *ret_len);
