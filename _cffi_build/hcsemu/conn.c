/*
 * conn.c - the connection to the emulator service: lazy connect, the
 * reader thread, sending, pending requests, disconnect, fork.
 *
 * There is one shared connection per process, opened on first use from
 * $HCSAIO_EMULATOR_SOCKET. Handles belong to the connection they were made
 * on. If the service goes away, the reader fails every pending request with
 * HCS_E_SERVICE_DISCONNECT, queues HcsEventServiceDisconnect for every
 * handle that has a callback, and forgets the connection; the next call
 * that needs the service (create, open, enumerate, service calls)
 * connects afresh, while calls on the old handles fail at once.
 */
#include "hcsemu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HX_RECV_CHUNK (256 * 1024)
#define HX_MAX_QUEUED_FDS 96

static pthread_mutex_t g_connect_mutex = PTHREAD_MUTEX_INITIALIZER;
static hx_conn *g_current; /* guarded by hx_mutex; counted */

/* ---- deadlines ---- */

/* This thread's timeout for its next synchronous calls (HCS_INFINITE: the
 * default). Per thread, because computecore's signatures have no room for
 * one and each bridge worker serves one caller at a time. */
static _Thread_local DWORD t_call_timeout = HCS_INFINITE;

void HcsEmuSetCallTimeout(DWORD timeoutMs) { t_call_timeout = timeoutMs; }

uint64_t hx_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t hx_sync_deadline(void) {
    DWORD timeout = t_call_timeout != HCS_INFINITE ? t_call_timeout : HX_SYNC_TIMEOUT_DEFAULT_MS;
    return hx_now_ms() + timeout;
}

DWORD hx_ms_until(uint64_t deadline) {
    uint64_t now = hx_now_ms();
    if (now >= deadline) {
        return 0;
    }
    uint64_t left = deadline - now;
    return left >= HCS_INFINITE ? HCS_INFINITE - 1 : (DWORD)left;
}

/* ---- reading frames (with the fds that ride on them) ---- */

typedef struct hx_reader {
    hx_conn *conn; /* counted */
    int fd;
    unsigned char *buf;
    size_t start, len, cap; /* unread bytes are buf[start .. start+len) */
    int fds[HX_MAX_QUEUED_FDS];
    size_t nfds;
} hx_reader;

static void reader_close_fds(hx_reader *r) {
    for (size_t i = 0; i < r->nfds; i++) {
        close(r->fds[i]);
    }
    r->nfds = 0;
}

/* One recvmsg. Returns bytes read, 0 on EOF, -1 on error. */
static ssize_t reader_fill(hx_reader *r) {
    if (r->start > 0 && (r->start + r->len + HX_RECV_CHUNK > r->cap)) {
        memmove(r->buf, r->buf + r->start, r->len);
        r->start = 0;
    }
    if (r->start + r->len + HX_RECV_CHUNK > r->cap) {
        size_t cap = r->len + HX_RECV_CHUNK;
        unsigned char *buf = (unsigned char *)realloc(r->buf, cap);
        if (buf == NULL) {
            return -1;
        }
        r->buf = buf;
        r->cap = cap;
    }
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(int) * 32)];
    } control;
    struct iovec iov = {r->buf + r->start + r->len, HX_RECV_CHUNK};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.space;
    msg.msg_controllen = sizeof control.space;
    ssize_t n;
    do {
        n = recvmsg(r->fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -1;
    }
    int overflow = (msg.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *data = CMSG_DATA(c);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, data + i * sizeof(int), sizeof fd);
            if (r->nfds < HX_MAX_QUEUED_FDS) {
                r->fds[r->nfds++] = fd;
            } else {
                close(fd);
                overflow = 1;
            }
        }
    }
    if (overflow) {
        return -1; /* fds lost: the frames can no longer be matched with theirs */
    }
    r->len += (size_t)n;
    return n;
}

/* The next whole frame: 1 and *f (fields point into the buffer, valid until
 * reader_consume), 0 if more bytes are needed, -1 if malformed. The frame's
 * fds are moved from the queue into fds[0..2] by fdmask bit. */
static int reader_next(hx_reader *r, hx_frame *f, int fds[3]) {
    if (r->len < 4) {
        return 0;
    }
    uint32_t size = hx_frame_length(r->buf + r->start);
    if (size < HX_HEADER_SIZE || size > HX_MAX_FRAME) {
        return -1;
    }
    if (r->len < size) {
        return 0;
    }
    if (hx_frame_decode(r->buf + r->start, size, f) != 0) {
        return -1;
    }
    fds[0] = fds[1] = fds[2] = -1;
    size_t taken = 0;
    for (int i = 0; i < 3; i++) {
        if (f->fdmask & (1u << i)) {
            if (taken >= r->nfds) {
                return -1;
            }
            fds[i] = r->fds[taken++];
        }
    }
    memmove(r->fds, r->fds + taken, (r->nfds - taken) * sizeof(int));
    r->nfds -= taken;
    return 1;
}

static void reader_consume(hx_reader *r) {
    uint32_t size = hx_frame_length(r->buf + r->start);
    r->start += size;
    r->len -= size;
    if (r->len == 0) {
        r->start = 0;
    }
}

static void close3(int fds[3]) {
    for (int i = 0; i < 3; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
}

/* ---- frames from the service ---- */

static void on_reply(hx_conn *c, const hx_frame *f, int fds[3]) {
    char16_t *doc = f->nfields > 0 ? hx_utf8_to_utf16(f->fields[0], f->lens[0]) : NULL;
    hx_lock();
    hx_node *n = hx_table_take(&c->pending, f->request);
    if (n == NULL) {
        /* A late reply: the request timed out or the op was given up. */
        hx_unlock();
        free(doc);
        close3(fds);
        return;
    }
    hx_op *op = HX_CONTAINER(n, hx_op, pending_node);
    op->result = f->code;
    op->doc = doc;
    op->pid = f->arg;
    memcpy(op->fds, fds, sizeof op->fds);
    if (op->type == HcsOperationTypeCreateProcess && op->route != NULL && f->code >= 0) {
        op->route->pid = f->arg;
    }
    if (op->conn != NULL) {
        hx_conn_unref(op->conn);
        op->conn = NULL;
    }
    op->state = HX_OP_DONE;
    pthread_cond_broadcast(&op->done);
    hx_deliver_completion(op);
    hx_unref(&op->base); /* the pending table's reference */
    hx_unlock();
}

static void on_event(hx_conn *c, const hx_frame *f) {
    char16_t *data = f->nfields > 0 ? hx_utf8_to_utf16(f->fields[0], f->lens[0]) : NULL;
    hx_lock();
    hx_node *n = hx_table_get(&c->handles, f->object);
    if (n != NULL) {
        hx_handle *h = HX_CONTAINER(n, hx_handle, conn_node);
        int exited = f->code == HcsEventSystemExited || f->code == HcsEventProcessExited;
        if (exited && h->exit_doc == NULL && data != NULL) {
            /* HcsWaitFor*Exit answers from this from now on, without a
             * round trip (so a zero timeout sees an exit already reported). */
            h->exit_doc = hx_dup16(data);
            if (h->callback == NULL && !h->closed && h->exit_doc != NULL) {
                /* A process may exit before its creator registered the
                 * callback (HcsCreateProcess, then HcsSetProcessCallback):
                 * the callback hears it once it is set. */
                h->exit_unheard = f->code;
            }
        }
        hx_deliver_event(h, f->code, data);
    } else {
        free(data); /* the handle was closed meanwhile */
    }
    hx_unlock();
}

static void fail_pending(hx_node *list, int deliver) {
    while (list != NULL) {
        hx_node *next = list->next;
        hx_op *op = HX_CONTAINER(list, hx_op, pending_node);
        op->result = HCS_E_SERVICE_DISCONNECT_HR;
        op->doc = hx_result_error(HCS_E_SERVICE_DISCONNECT_HR, HX_DISCONNECTED);
        if (op->conn != NULL) {
            hx_conn_unref(op->conn);
            op->conn = NULL;
        }
        op->state = HX_OP_DONE;
        pthread_cond_broadcast(&op->done);
        if (deliver) {
            hx_deliver_completion(op);
        }
        hx_unref(&op->base);
        list = next;
    }
}

static void disconnect_event(hx_node *n, void *arg) {
    (void)arg;
    hx_deliver_event(HX_CONTAINER(n, hx_handle, conn_node), HcsEventServiceDisconnect, NULL);
}

/* The service is gone (or spoke garbage): fail everything, tell everyone. */
static void conn_fail(hx_conn *c) {
    hx_lock();
    if (c->dead) {
        hx_unlock();
        return;
    }
    c->dead = 1;
    fail_pending(hx_table_take_all(&c->pending), 1);
    hx_table_each(&c->handles, disconnect_event, NULL);
    if (g_current == c) {
        g_current = NULL;
        hx_conn_unref(c);
    }
    hx_unlock();
    shutdown(c->fd, SHUT_RDWR); /* wake any thread still blocked sending */
}

static void *reader_main(void *arg) {
    hx_reader *r = (hx_reader *)arg;
    for (;;) {
        hx_frame f;
        int fds[3];
        int got = reader_next(r, &f, fds);
        if (got < 0) {
            break;
        }
        if (got == 0) {
            if (reader_fill(r) <= 0) {
                break;
            }
            continue;
        }
        if (f.kind == HX_K_REPLY) {
            on_reply(r->conn, &f, fds);
        } else if (f.kind == HX_K_EVENT) {
            close3(fds);
            on_event(r->conn, &f);
        } else {
            close3(fds);
            break; /* the service never sends requests */
        }
        reader_consume(r);
    }
    conn_fail(r->conn);
    reader_close_fds(r);
    free(r->buf);
    hx_lock();
    hx_conn_unref(r->conn);
    hx_unlock();
    free(r);
    return NULL;
}

/* ---- connecting ---- */

void hx_conn_unref(hx_conn *c) {
    if (--c->refs == 1 && g_current != c && !c->dead && c->fd >= 0) {
        /* Only its reader is left and no new call will pick it: close it,
         * so the reader sees EOF and releases it. */
        shutdown(c->fd, SHUT_RDWR);
    }
    if (c->refs > 0) {
        return;
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    hx_table_free(&c->pending);
    hx_table_free(&c->handles);
    free(c->path);
    pthread_mutex_destroy(&c->write_lock);
    free(c);
}

static int send_all(int fd, const unsigned char *buf, size_t size) {
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(fd, buf + off, size - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

/* Bound every blocking connect, send and recv on fd (0: no bound). A
 * Unix-socket connect waits under SO_SNDTIMEO when the listener's backlog
 * is full, so this goes on before connect. */
static void set_timeouts(int fd, DWORD ms) {
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* What a failed connect, send or recv of the handshake means: the socket
 * timeout (the caller's deadline) ran out, or the service is not there. */
static HRESULT io_failure(void) {
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS)
               ? HCS_E_OPERATION_TIMEOUT_HR
               : HCS_E_SERVICE_NOT_AVAILABLE_HR;
}

/* HELLO and its reply, before the reader thread exists. */
static HRESULT handshake(hx_reader *r) {
    hx_frame hello;
    memset(&hello, 0, sizeof hello);
    hello.kind = HX_K_HELLO;
    hello.arg = HX_PROTOCOL_VERSION;
    size_t size;
    unsigned char *buf = hx_frame_encode(&hello, &size);
    if (buf == NULL) {
        return E_OUTOFMEMORY_HR;
    }
    int sent = send_all(r->fd, buf, size);
    free(buf);
    if (sent != 0) {
        return io_failure();
    }
    for (;;) {
        hx_frame f;
        int fds[3];
        int got = reader_next(r, &f, fds);
        if (got < 0) {
            return HCS_E_SERVICE_NOT_AVAILABLE_HR;
        }
        if (got > 0) {
            close3(fds);
            HRESULT hr = f.kind != HX_K_REPLY ? HCS_E_SERVICE_NOT_AVAILABLE_HR
                         : f.code < 0          ? f.code
                         : f.arg != HX_PROTOCOL_VERSION ? HCS_E_UNSUPPORTED_PROTOCOL_VERSION_HR
                                                        : S_OK_HR;
            reader_consume(r);
            return hr;
        }
        errno = 0;
        if (reader_fill(r) <= 0) {
            return io_failure();
        }
    }
}

static HRESULT connect_new(const char *path, uint64_t deadline, hx_conn **out) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (path[0] == '\0' || strlen(path) >= sizeof addr.sun_path) {
        return HCS_E_SERVICE_NOT_AVAILABLE_HR;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    DWORD left = hx_ms_until(deadline);
    if (left == 0) {
        return HCS_E_OPERATION_TIMEOUT_HR;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return HCS_E_SERVICE_NOT_AVAILABLE_HR;
    }
    set_timeouts(fd, left);
    int rc;
    do {
        rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
    } while (rc < 0 && errno == EINTR);
    HRESULT refused = rc < 0 ? io_failure() : S_OK_HR;
    hx_reader *r = (hx_reader *)calloc(1, sizeof *r);
    hx_conn *c = (hx_conn *)calloc(1, sizeof *c);
    char *name = strdup(path);
    if (rc < 0 || r == NULL || c == NULL || name == NULL) {
        close(fd);
        free(r);
        free(c);
        free(name);
        return rc < 0 ? refused : E_OUTOFMEMORY_HR;
    }
    r->fd = fd;
    left = hx_ms_until(deadline);
    HRESULT hr = HCS_E_OPERATION_TIMEOUT_HR;
    if (left > 0) {
        set_timeouts(fd, left); /* what connect left of the deadline */
        hr = handshake(r);
    }
    set_timeouts(fd, 0);
    if (hr >= 0 && hx_pool_start() != 0) {
        hr = E_OUTOFMEMORY_HR;
    }
    if (hr < 0) {
        reader_close_fds(r);
        free(r->buf);
        free(r);
        free(c);
        free(name);
        close(fd);
        return hr;
    }
    c->fd = fd;
    c->path = name;
    c->refs = 2; /* the reader's and the caller's */
    c->next_handle_id = 1;
    pthread_mutex_init(&c->write_lock, NULL);
    r->conn = c;
    if (hx_start_thread(reader_main, r) != 0) {
        free(r->buf);
        free(r);
        pthread_mutex_destroy(&c->write_lock);
        free(c);
        free(name);
        close(fd);
        return E_OUTOFMEMORY_HR;
    }
    *out = c;
    return S_OK_HR;
}

/* g_connect_mutex, waiting no later than deadline: a connect that another
 * thread is making to a hung service must not hold this one forever. */
static int lock_connect_until(uint64_t deadline) {
    DWORD left = hx_ms_until(deadline);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* pthread_mutex_timedlock's clock */
    until.tv_sec += left / 1000;
    until.tv_nsec += (long)(left % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc;
    do {
        rc = pthread_mutex_timedlock(&g_connect_mutex, &until);
    } while (rc == EINTR);
    return rc;
}

HRESULT hx_conn_acquire(hx_conn **out) { return hx_conn_acquire_until(out, hx_sync_deadline()); }

int32_t HcsEmuConnected(void) {
    const char *variable = getenv("HCSAIO_EMULATOR_SOCKET");
    hx_lock();
    hx_conn *c = g_current;
    int32_t live = c != NULL && !c->dead && strcmp(c->path, variable != NULL ? variable : "") == 0;
    hx_unlock();
    return live;
}

HRESULT hx_conn_acquire_until(hx_conn **out, uint64_t deadline) {
    *out = NULL;
    /* Follow the variable: a process may point it at another service (its
     * tests do); handles made on the previous one keep using it. */
    const char *variable = getenv("HCSAIO_EMULATOR_SOCKET");
    char *path = strdup(variable != NULL ? variable : "");
    if (path == NULL) {
        return E_OUTOFMEMORY_HR;
    }
    if (lock_connect_until(deadline) != 0) {
        free(path);
        return HCS_E_OPERATION_TIMEOUT_HR;
    }
    hx_lock();
    hx_conn *c = g_current;
    if (c != NULL && strcmp(c->path, path) == 0) {
        c->refs++;
    } else {
        c = NULL;
    }
    hx_unlock();
    HRESULT hr = S_OK_HR;
    if (c == NULL) {
        hr = connect_new(path, deadline, &c);
        if (hr >= 0) {
            hx_lock();
            hx_conn *previous = g_current;
            g_current = c;
            c->refs++;
            if (previous != NULL) {
                hx_conn_unref(previous); /* closes it if nothing uses it any more */
            }
            hx_unlock();
        }
    }
    pthread_mutex_unlock(&g_connect_mutex);
    free(path);
    *out = hr >= 0 ? c : NULL;
    return hr;
}

/* ---- sending ---- */

HRESULT hx_conn_send(hx_conn *c, const hx_frame *f) {
    size_t size;
    unsigned char *buf = hx_frame_encode(f, &size);
    if (buf == NULL) {
        return E_OUTOFMEMORY_HR;
    }
    pthread_mutex_lock(&c->write_lock);
    int rc = send_all(c->fd, buf, size);
    pthread_mutex_unlock(&c->write_lock);
    free(buf);
    if (rc != 0) {
        shutdown(c->fd, SHUT_RDWR); /* the reader notices and fails the rest */
        return HCS_E_SERVICE_DISCONNECT_HR;
    }
    return S_OK_HR;
}

void hx_conn_notify(hx_conn *c, hx_frame *f) {
    hx_lock();
    int dead = c->dead;
    hx_unlock();
    if (!dead) {
        hx_conn_send(c, f);
    }
}

static void send_cancel(hx_conn *c, uint64_t request) {
    hx_frame f;
    memset(&f, 0, sizeof f);
    f.kind = HX_K_CANCEL;
    f.request = request;
    hx_conn_send(c, &f); /* best effort: a dead service cancels everything anyway */
}

HRESULT hx_request_start(hx_conn *c, hx_op *op, hx_frame *f) {
    f->request = op->id;
    hx_lock();
    if (c->dead) {
        hx_unlock();
        return HCS_E_SERVICE_DISCONNECT_HR;
    }
    if (hx_table_put(&c->pending, &op->pending_node, op->id) != 0) {
        hx_unlock();
        return E_OUTOFMEMORY_HR;
    }
    op->conn = c;
    c->refs++;
    op->base.refs++; /* the pending table's */
    hx_unlock();
    HRESULT hr = hx_conn_send(c, f);
    hx_lock();
    if (hr < 0 && hx_table_remove(&c->pending, &op->pending_node)) {
        hx_conn_unref(c);
        op->conn = NULL;
        hx_unref(&op->base);
        hx_unlock();
        return hr;
    }
    /* Sent, or already failed by the disconnect (which completes it). */
    op->sent = 1;
    int cancel = op->cancel_requested && op->state == HX_OP_PENDING;
    hx_unlock();
    if (cancel) {
        send_cancel(c, op->id);
    }
    return S_OK_HR;
}

HRESULT hx_request_cancel(hx_op *op) {
    hx_lock();
    hx_conn *c = op->conn;
    int now = op->state == HX_OP_PENDING && op->sent && c != NULL;
    if (op->state == HX_OP_PENDING && !op->sent) {
        op->cancel_requested = 1; /* hx_request_start sends it after the request */
    }
    if (now) {
        c->refs++;
    }
    hx_unlock();
    if (now) {
        send_cancel(c, op->id);
        hx_lock();
        hx_conn_unref(c);
        hx_unlock();
    }
    return S_OK_HR;
}

/* Send f and wait for its reply (an internal request): the reply op, which
 * the caller releases with hx_op_release. */
static HRESULT request_sync(hx_conn *c, hx_frame *f, DWORD timeout_ms, hx_op **reply) {
    *reply = NULL;
    hx_op *op = hx_op_new();
    if (op == NULL) {
        return E_OUTOFMEMORY_HR;
    }
    op->state = HX_OP_PENDING;
    HRESULT hr = hx_request_start(c, op, f);
    if (hr < 0) {
        hx_op_release(op);
        return hr;
    }
    hx_lock();
    if (hx_cond_wait_ms(&op->done, &op->state, HX_OP_DONE, timeout_ms) != 0) {
        /* Give up: forget the request and tell the service to drop it. */
        int forgotten = hx_table_remove(&c->pending, &op->pending_node);
        if (forgotten) {
            hx_conn_unref(op->conn);
            op->conn = NULL;
            hx_unref(&op->base);
        }
        hx_unlock();
        if (forgotten) {
            send_cancel(c, op->id);
        }
        hx_op_release(op);
        return HCS_E_OPERATION_TIMEOUT_HR;
    }
    hx_unlock();
    *reply = op;
    return S_OK_HR;
}

HRESULT hx_call_sync(hx_conn *c, hx_frame *f, DWORD timeout_ms, PWSTR *result) {
    if (result != NULL) {
        *result = NULL;
    }
    hx_op *reply;
    HRESULT hr = request_sync(c, f, timeout_ms, &reply);
    if (hr < 0) {
        if (result != NULL && hr == HCS_E_SERVICE_DISCONNECT_HR) {
            /* The same ResultError a request pending at the disconnect gets. */
            *result = hx_result_error(hr, HX_DISCONNECTED);
        }
        return hr;
    }
    hr = reply->result;
    if (hx_give_doc(reply->doc, result) < 0 && hr >= 0) {
        hr = E_OUTOFMEMORY_HR;
    }
    hx_op_release(reply);
    return hr;
}

void hx_op_release(hx_op *op) {
    hx_lock();
    hx_unref(&op->base);
    hx_unlock();
}

/* ---- fork ---- */

static void fork_prepare(void) {
    pthread_mutex_lock(&g_connect_mutex);
    hx_lock();
    hx_pool_fork_prepare();
}

static void fork_parent(void) {
    hx_pool_fork_parent();
    hx_unlock();
    pthread_mutex_unlock(&g_connect_mutex);
}

static void reinit_pending(hx_node *n, void *arg) {
    (void)arg;
    hx_cond_init(&HX_CONTAINER(n, hx_op, pending_node)->done);
}

/* The child has no reader and no workers, and shares the parent's socket:
 * it abandons the connection (its pending requests fail at once, without
 * callbacks) and connects afresh if it calls HCS itself. */
static void fork_child(void) {
    hx_pool_fork_child();
    hx_after_fork_child();
    hx_conn *c = g_current;
    if (c != NULL) {
        g_current = NULL;
        c->dead = 1;
        hx_table_each(&c->pending, reinit_pending, NULL);
        fail_pending(hx_table_take_all(&c->pending), 0);
        pthread_mutex_init(&c->write_lock, NULL);
        /* Our copy of the parent's socket must not keep its session alive. */
        close(c->fd);
        c->fd = -1;
        /* The reader's reference is never released here: keep the struct. */
    }
    pthread_mutex_init(&hx_mutex, NULL);
    pthread_mutex_init(&g_connect_mutex, NULL);
}

__attribute__((constructor)) static void install_fork_handlers(void) {
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}
