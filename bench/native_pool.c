/* A child process holding many WebSocket subscribers, in C: the subscriber side
 * of the benchmarks when a C compiler is present (bench/native_pool.py builds
 * it; bench/subscriber_pool.py is the same client in Python and the fallback).
 *
 *     native_pool WS_URL COUNT TOKEN [deflate]
 *
 * Why C: at millions of deliveries the Python client spends about 1.5 us of
 * CPU per message on frame headers and its marker, and its pools took more
 * CPU than the service they measured (12-24 CPU-s against the service's
 * 2.5-8.5 in the alert storm). This one spends tens of nanoseconds, so what
 * is left on the client side is the kernel's receive path.
 *
 * It speaks the same line protocol with its parent as bench/subscriber_pool.py
 * (read that module's docstring): `ready` once every socket has the server's
 * confirmation; then for each `<expected> <timeout> <tail_start>` line, waits
 * until every socket holds `expected` distinct benchmark messages (or is gone,
 * or the timeout passes) and prints one JSON report. Beside the Python
 * client's fields it reports, per the event positions (`{"id":N,...}`):
 * `gaps` (positions skipped between two benchmark messages of one socket,
 * counted from the confirmation's position) and `disorder` (a position not
 * after the one before).
 *
 * Each message: its FIN text frame's payload is searched for `bench <sent_ns>
 * <index>` (memmem); the index is counted once per socket (a bitmap), the
 * latency is the read's CLOCK_MONOTONIC time minus sent_ns, in 0.1 ms buckets.
 * permessage-deflate is not offered, so frames arrive as the server made them;
 * with `deflate` it is offered as browsers offer it, for weighing idle
 * connections (compressed messages are then not counted).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUCKET_NS 100000LL
#define BUCKETS (1 << 21) /* 0.1 ms each: 209 s, the last bucket holds anything later */
#define CONNECT_CONCURRENCY 64
#define READ_CHUNK (256 * 1024)
#define MAX_INDEX (1 << 26)

enum state { CONNECTING, UPGRADING, OPEN, GONE };

struct conn {
    int fd;
    enum state state;
    unsigned char *buf;
    size_t len, cap;
    int confirmed;
    long long position;
    long long gaps, disorder;
    long long received, duplicates;
    uint8_t *seen; /* a bit per benchmark index */
    size_t seen_bytes;
    int done;
};

static struct conn *conns;
static int count, opened, confirmed_count, in_flight;
static struct sockaddr_storage addr;
static socklen_t addr_len;
static char request[4096];
static size_t request_len;
static int epfd;

static uint64_t *histogram, *tail_histogram;
static long long tail_start;
static long long expected = -1;
static long long last_arrival_ns;
static int waiting;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
    printf("failed %s: %s\n", what, strerror(errno));
    fflush(stdout);
    exit(1);
}

static void finish(struct conn *c) {
    if (!c->done && expected >= 0) {
        c->done = 1;
        waiting--;
    }
}

static void gone(struct conn *c) {
    if (c->state == GONE)
        return;
    if (c->state != OPEN || !c->confirmed) {
        printf("failed connection %d lost before the confirmation\n", (int)(c - conns));
        fflush(stdout);
        exit(1);
    }
    c->state = GONE;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    finish(c);
}

static void open_next(void) {
    while (opened < count && in_flight < CONNECT_CONCURRENCY) {
        struct conn *c = &conns[opened];
        c->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c->fd < 0)
            die("socket");
        if (connect(c->fd, (struct sockaddr *)&addr, addr_len) < 0 && errno != EINPROGRESS)
            die("connect");
        c->state = CONNECTING;
        struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)opened};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
            die("epoll_ctl");
        opened++;
        in_flight++;
    }
}

static void send_pong(struct conn *c, const unsigned char *payload, size_t n) {
    unsigned char frame[2 + 4 + 125];
    uint32_t mask = (uint32_t)rand();
    if (n > 125)
        n = 125;
    frame[0] = 0x8A;
    frame[1] = (unsigned char)(0x80 | n);
    memcpy(frame + 2, &mask, 4);
    for (size_t i = 0; i < n; i++)
        frame[6 + i] = payload[i] ^ frame[2 + (i & 3)];
    /* A pong is tiny; a socket too full to take it is not worth waiting for. */
    (void)send(c->fd, frame, 6 + n, MSG_NOSIGNAL);
}

static long long parse_digits(const unsigned char *p, const unsigned char *end, const unsigned char **after) {
    long long v = 0;
    const unsigned char *start = p;
    while (p < end && *p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    *after = p;
    return p == start ? -1 : v;
}

static void confirmation(struct conn *c, const unsigned char *p, size_t n) {
    static const char key[] = "\"position\":";
    const unsigned char *at = memmem(p, n, key, sizeof key - 1);
    c->position = 0;
    if (at) {
        const unsigned char *q = at + sizeof key - 1, *after;
        while (q < p + n && *q == ' ')
            q++;
        long long v = parse_digits(q, p + n, &after);
        c->position = v < 0 ? 0 : v;
    }
    c->confirmed = 1;
    confirmed_count++;
    in_flight--;
}

static void message(struct conn *c, const unsigned char *p, size_t n, long long arrived) {
    const unsigned char *end = p + n, *after;
    static const char id_key[] = "{\"id\":";
    if (n > sizeof id_key && memcmp(p, id_key, sizeof id_key - 1) == 0) {
        const unsigned char *q = p + sizeof id_key - 1;
        while (q < end && *q == ' ')
            q++;
        long long position = parse_digits(q, end, &after);
        if (position >= 0) {
            if (position <= c->position)
                c->disorder++;
            else {
                if (c->position)
                    c->gaps += position - c->position - 1;
                c->position = position;
            }
        }
    }
    const unsigned char *mark = memmem(p, n, "bench ", 6);
    if (!mark)
        return;
    long long sent = parse_digits(mark + 6, end, &after);
    if (sent < 0 || after >= end || *after != ' ')
        return;
    long long index = parse_digits(after + 1, end, &after);
    if (index < 0 || index >= MAX_INDEX)
        return;
    size_t byte = (size_t)(index >> 3);
    if (byte >= c->seen_bytes) {
        size_t grown = byte + 1024;
        c->seen = realloc(c->seen, grown);
        if (!c->seen)
            die("realloc");
        memset(c->seen + c->seen_bytes, 0, grown - c->seen_bytes);
        c->seen_bytes = grown;
    }
    uint8_t bit = (uint8_t)(1u << (index & 7));
    if (c->seen[byte] & bit) {
        c->duplicates++;
        return;
    }
    c->seen[byte] |= bit;
    c->received++;
    long long bucket = (arrived - sent) / BUCKET_NS;
    if (bucket < 0)
        bucket = 0;
    if (bucket >= BUCKETS)
        bucket = BUCKETS - 1;
    histogram[bucket]++;
    if (index >= tail_start)
        tail_histogram[bucket]++;
    if (arrived > last_arrival_ns)
        last_arrival_ns = arrived;
    if (expected >= 0 && c->received >= expected)
        finish(c);
}

/* Every whole frame in the connection's buffer; keep the incomplete rest. */
static void frames(struct conn *c, long long arrived) {
    unsigned char *b = c->buf;
    size_t pos = 0, size = c->len;
    while (size - pos >= 2) {
        size_t length = b[pos + 1] & 0x7F, start = pos + 2;
        if (length == 126) {
            if (size - pos < 4)
                break;
            length = ((size_t)b[pos + 2] << 8) | b[pos + 3];
            start = pos + 4;
        } else if (length == 127) {
            if (size - pos < 10)
                break;
            length = 0;
            for (int i = 2; i < 10; i++)
                length = (length << 8) | b[pos + i];
            start = pos + 10;
        }
        if (length > size - start)
            break;
        int opcode = b[pos] & 0x0F;
        if (opcode == 9)
            send_pong(c, b + start, length);
        else if (opcode == 8) {
            gone(c);
            return;
        } else if (opcode <= 2) {
            if (!c->confirmed)
                confirmation(c, b + start, length);
            else
                message(c, b + start, length, arrived);
        }
        pos = start + length;
    }
    if (pos) {
        memmove(b, b + pos, size - pos);
        c->len = size - pos;
    }
}

static void readable(struct conn *c) {
    if (c->cap - c->len < READ_CHUNK) {
        c->cap = c->len + READ_CHUNK;
        c->buf = realloc(c->buf, c->cap);
        if (!c->buf)
            die("realloc");
    }
    ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        gone(c);
        return;
    }
    if (got < 0)
        return;
    long long arrived = now_ns();
    c->len += (size_t)got;
    if (c->state == UPGRADING) {
        unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end)
            return;
        if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
            size_t n = (size_t)(end - c->buf);
            printf("failed %.*s\n", (int)(n > 200 ? 200 : n), c->buf);
            fflush(stdout);
            exit(1);
        }
        size_t header = (size_t)(end + 4 - c->buf);
        memmove(c->buf, c->buf + header, c->len - header);
        c->len -= header;
        c->state = OPEN;
    }
    frames(c, arrived);
    /* An idle connection keeps a small buffer, not the read chunk. */
    if (c->len == 0 && c->cap > 4096) {
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
    }
}

static void writable(struct conn *c, uint32_t id) {
    int err = 0;
    socklen_t n = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &n);
    if (err) {
        errno = err;
        die("connect");
    }
    if (send(c->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len)
        die("send handshake");
    c->state = UPGRADING;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = id};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void report(void) {
    long long received = 0, duplicates = 0, gaps = 0, disorder = 0;
    int complete = 0, disconnected = 0;
    for (int i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        received += c->received;
        duplicates += c->duplicates;
        gaps += c->gaps;
        disorder += c->disorder;
        complete += c->received >= expected;
        disconnected += c->state == GONE;
    }
    printf("{\"received\": %lld, \"complete\": %d, \"duplicates\": %lld, \"disconnected\": %d, \"gaps\": %lld, "
           "\"disorder\": %lld, \"last_arrival_ns\": %lld",
           received, complete, duplicates, disconnected, gaps, disorder, last_arrival_ns);
    uint64_t *which[2] = {histogram, tail_histogram};
    const char *names[2] = {"histogram", "tail_histogram"};
    for (int h = 0; h < 2; h++) {
        printf(", \"%s\": {", names[h]);
        int first = 1;
        for (long long b = 0; b < BUCKETS; b++) {
            if (which[h][b]) {
                printf("%s\"%lld\": %llu", first ? "" : ", ", b, (unsigned long long)which[h][b]);
                first = 0;
            }
        }
        printf("}");
        memset(which[h], 0, BUCKETS * sizeof(uint64_t));
    }
    printf("}\n");
    fflush(stdout);
}

static void start_waiting(const char *line) {
    double timeout;
    long long want, tail;
    if (sscanf(line, "%lld %lf %lld", &want, &timeout, &tail) != 3) {
        fprintf(stderr, "bad command: %s\n", line);
        exit(2);
    }
    expected = want;
    tail_start = tail;
    waiting = 0;
    for (int i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        c->done = c->state == GONE || c->received >= expected;
        waiting += !c->done;
    }
    long long deadline = now_ns() + (long long)(timeout * 1e9);
    struct epoll_event events[256];
    while (waiting > 0) {
        long long left = (deadline - now_ns()) / 1000000;
        if (left <= 0)
            break;
        int n = epoll_wait(epfd, events, 256, (int)(left > 1000 ? 1000 : left));
        for (int i = 0; i < n; i++) {
            uint32_t id = events[i].data.u32;
            if (id == UINT32_MAX)
                continue; /* stdin: read after the report */
            if (conns[id].state != GONE)
                readable(&conns[id]);
        }
    }
    report();
}

static void parse_url(const char *url) {
    const char *rest = strncmp(url, "ws://", 5) == 0 ? url + 5 : url;
    const char *slash = strchr(rest, '/');
    char hostport[256], host[256], port[16] = "80";
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    snprintf(hostport, sizeof hostport, "%.*s", (int)n, rest);
    char *colon = strrchr(hostport, ':');
    if (colon) {
        snprintf(port, sizeof port, "%s", colon + 1);
        *colon = 0;
    }
    snprintf(host, sizeof host, "%s", hostport);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *found;
    if (getaddrinfo(host, port, &hints, &found) != 0)
        die("getaddrinfo");
    memcpy(&addr, found->ai_addr, found->ai_addrlen);
    addr_len = found->ai_addrlen;
    freeaddrinfo(found);
    slash = slash ? slash : "/";
    /* A fixed key: the server's accept hash is not checked, so it need not vary. */
    request_len = (size_t)snprintf(request, sizeof request,
                                   "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
                                   slash, hostport);
}

int main(int argc, char **argv) {
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "deflate") == 0)) {
        fprintf(stderr, "usage: native_pool WS_URL COUNT TOKEN [deflate]\n");
        return 2;
    }
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    srand((unsigned)getpid());
    parse_url(argv[1]);
    if (argc == 5) /* offered as browsers do; compressed messages are not read (idle memory only) */
        request_len += (size_t)snprintf(request + request_len, sizeof request - request_len,
                                        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    request_len += (size_t)snprintf(request + request_len, sizeof request - request_len,
                                    "Authorization: Bearer %s\r\n\r\n", argv[3]);
    count = atoi(argv[2]);
    conns = calloc((size_t)count, sizeof *conns);
    histogram = calloc(BUCKETS, sizeof(uint64_t));
    tail_histogram = calloc(BUCKETS, sizeof(uint64_t));
    if (!conns || !histogram || !tail_histogram)
        die("calloc");
    epfd = epoll_create1(0);
    if (epfd < 0)
        die("epoll_create1");

    struct epoll_event events[256];
    open_next();
    long long deadline = now_ns() + 300LL * 1000000000LL;
    while (confirmed_count < count) {
        if (now_ns() > deadline) {
            printf("failed %d of %d connected in time\n", confirmed_count, count);
            fflush(stdout);
            return 1;
        }
        int n = epoll_wait(epfd, events, 256, 1000);
        for (int i = 0; i < n; i++) {
            uint32_t id = events[i].data.u32;
            struct conn *c = &conns[id];
            if (c->state == CONNECTING)
                writable(c, id);
            else
                readable(c);
        }
        open_next();
    }
    printf("ready\n");
    fflush(stdout);

    struct epoll_event in = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &in);
    char line[256];
    size_t line_len = 0;
    for (;;) {
        int n = epoll_wait(epfd, events, 256, -1);
        for (int i = 0; i < n; i++) {
            uint32_t id = events[i].data.u32;
            if (id != UINT32_MAX) {
                if (conns[id].state != GONE)
                    readable(&conns[id]);
                continue;
            }
            ssize_t got = read(0, line + line_len, sizeof line - 1 - line_len);
            if (got == 0)
                return 0;
            if (got < 0)
                continue;
            line_len += (size_t)got;
            char *newline;
            while ((newline = memchr(line, '\n', line_len)) != NULL) {
                *newline = 0;
                start_waiting(line);
                size_t used = (size_t)(newline + 1 - line);
                memmove(line, newline + 1, line_len - used);
                line_len -= used;
            }
        }
    }
}
