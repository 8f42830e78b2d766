#include "engine/attach.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/util.h"

int frame_write(int fd, char type, const void *buf, size_t len)
{
        unsigned char h[5] = {
            (unsigned char)type, (unsigned char)(len & 0xff), (unsigned char)((len >> 8) & 0xff),
            (unsigned char)((len >> 16) & 0xff), (unsigned char)((len >> 24) & 0xff)};
        struct iovec iov[2] = {{h, sizeof(h)}, {(void *)buf, len}};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
        size_t total = sizeof(h) + len, done = 0;
        while (done < total) {
                ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                done += (size_t)n;
                /* Advance the iovecs past what was sent. */
                while (n > 0 && m.msg_iovlen > 0) {
                        if ((size_t)n >= m.msg_iov[0].iov_len) {
                                n -= (ssize_t)m.msg_iov[0].iov_len;
                                m.msg_iov++;
                                m.msg_iovlen--;
                        } else {
                                m.msg_iov[0].iov_base = (char *)m.msg_iov[0].iov_base + n;
                                m.msg_iov[0].iov_len -= (size_t)n;
                                n = 0;
                        }
                }
        }
        return 0;
}

int frame_read(int fd, char *ret_type, char **ret_buf, size_t *ret_len)
{
        unsigned char h[5];
        ssize_t n = read_all(fd, h, sizeof(h));
        if (n < 0)
                return (int)n;
        if (n == 0)
                return 0;
        if (n < (ssize_t)sizeof(h))
                return -EPROTO;
        size_t len = (size_t)h[1] | (size_t)h[2] << 8 | (size_t)h[3] << 16 | (size_t)h[4] << 24;
        if (len > FRAME_MAX)
                return -EPROTO;
        char *buf = xmalloc(len + 1);
        n = read_all(fd, buf, len);
        if (n < 0 || (size_t)n < len) {
                free(buf);
                return n < 0 ? (int)n : -EPROTO;
        }
        buf[len] = '\0';
        *ret_type = (char)h[0];
        *ret_buf = buf;
        *ret_len = len;
        return 1;
}
