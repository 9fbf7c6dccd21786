/* Small helpers shared by the shim's parts. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

int shim_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int shim_write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = shim_write_all(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* mkdir -p for paths the runtime chose (the scratch folder), not for paths
 * inside the container image: those go through open_in_root() in mounts.c. */
int shim_mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

void shim_debug(const char *fmt, ...)
{
    static int enabled = -1;
    if (enabled < 0)
        enabled = getenv("HCSEMU_SHIM_DEBUG") != NULL;
    if (!enabled)
        return;
    char buf[512];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int n0 = snprintf(buf, sizeof buf, "hcsemu-shim[%d] %ld.%06ld ", (int)getpid(), (long)ts.tv_sec,
                      ts.tv_nsec / 1000);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + n0, sizeof buf - 1 - (size_t)n0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    n += n0;
    if ((size_t)n > sizeof buf - 2)
        n = (int)(sizeof buf - 2);
    buf[n++] = '\n';
    /* one write so lines from the shim, init and children do not interleave */
    (void)!write(2, buf, (size_t)n);
}
