/* rudder's test server: one small static binary for the kubelet's end-to-end tests.
 *
 *   testserver serve [--http-port 8080] [--grpc-port 9090] [--ready-after S] [--live-for S]
 *                    [--ignore-term] [--term-delay S] [--keep-alive] [--quiet]
 *   testserver echo [--stderr] WORD...     print the words (to stderr with --stderr)
 *   testserver sleep S                     sleep S seconds, then exit 0
 *   testserver exit N                      exit with code N
 *   testserver alloc MIB                   allocate and touch MIB mebibytes, then sleep forever
 *   testserver fetch [OPTIONS] URL         an HTTP(S) client with certificate checks (fetch.c)
 *
 * HTTP (one request per connection; with --keep-alive, HTTP/1.1 persistent connections unless the
 * client sends `Connection: close` — for throughput benchmarks, where a client such as wrk reuses
 * its connections; --quiet leaves out the log line per request):
 *   GET /healthz   200 "ok" while live, else 500     GET /readyz  200 "ok" while ready, else 503
 *   GET /set?live=0|1&ready=0|1&grpc=0|1  flip the states (shared by every connection)
 *   GET /echo?msg=TEXT   TEXT                      GET /hostname   the pod's hostname
 *   GET /exit?code=N     answer, then exit N       GET /           "testserver <hostname>"
 * gRPC (HTTP/2 without TLS): every request is answered as grpc.health.v1.Health/Check: SERVING
 * while the grpc state is 1, else NOT_SERVING; a non-empty service name other than "testserver"
 * gets grpc-status 5 (NOT_FOUND), as grpc-go's health server does for unknown services. Request
 * headers are not decoded (HPACK with Huffman coding is more than a probe target needs); responses
 * use only literal, non-Huffman header fields.
 *
 * As PID 1 the server has no default signal actions: SIGTERM exits 0 after --term-delay seconds
 * unless --ignore-term (then only SIGKILL ends it), so graceful-termination tests can see both. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct state {
  long long start_ms;
  int live, ready, grpc;   /* -1: follow the timers; 0/1: set through /set */
  int ready_after, live_for;
  int exit_code; /* set by a /exit handler before it signals the server process */
};
static struct state *st;
static int term_delay;
static int keep_alive, quiet;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static long long up_ms(void) { return now_ms() - st->start_ms; }

static int is_live(void) {
  if (st->live >= 0) return st->live;
  return st->live_for <= 0 || up_ms() < st->live_for * 1000LL;
}
static int is_ready(void) {
  if (st->ready >= 0) return st->ready;
  return up_ms() >= st->ready_after * 1000LL;
}
static int grpc_serving(void) { return st->grpc >= 0 ? st->grpc : is_live(); }

static void on_term(int sig) {
  (void)sig;
  static const char msg[] = "testserver: SIGTERM, shutting down\n";
  ssize_t w = write(1, msg, sizeof msg - 1);
  (void)w;
  if (term_delay > 0) sleep((unsigned)term_delay);
  _exit(0);
}

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_full(int fd, unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static int listen_on(int port) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  int v6 = fd >= 0;
  if (!v6) fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (v6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any};
    rc = bind(fd, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    rc = bind(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (rc < 0 || listen(fd, 128) < 0) return -1;
  return fd;
}

/* ---- HTTP/1.1 ---- */

/* close_after: whether this is the connection's last response (the header says so). */
static int close_after = 1;

static void respond(int fd, int code, const char *reason, const char *body) {
  /* head and body in one write: two small writes on a kept-alive connection would wait out the
   * client's delayed ACK (Nagle) on every request */
  char msg[8192];
  size_t bl = strlen(body);
  int n = snprintf(msg, sizeof msg,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n",
                   code, reason, bl, close_after ? "close" : "keep-alive");
  if ((size_t)n + bl <= sizeof msg) {
    memcpy(msg + n, body, bl);
    write_all(fd, msg, (size_t)n + bl);
  } else {
    write_all(fd, msg, (size_t)n);
    write_all(fd, body, bl);
  }
}

/* Decodes %XX and '+' in place. */
static void url_decode(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (*s == '+') *o++ = ' ';
    else if (*s == '%' && s[1] && s[2]) {
      char hex[3] = {s[1], s[2], 0};
      *o++ = (char)strtol(hex, NULL, 16);
      s += 2;
    } else *o++ = *s;
  }
  *o = 0;
}

/* The value of key in a query string (decoded into out), or NULL. */
static const char *query_get(const char *query, const char *key, char *out, size_t outsz) {
  size_t kl = strlen(key);
  for (const char *p = query; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
      size_t vl = len - kl - 1;
      if (vl >= outsz) vl = outsz - 1;
      memcpy(out, p + kl + 1, vl);
      out[vl] = 0;
      url_decode(out);
      return out;
    }
    p = amp ? amp + 1 : NULL;
  }
  return NULL;
}

/* Whether the request head asks to close the connection after the response (HTTP/1.0 without
 * keep-alive, or a `Connection: close` header). */
static int wants_close(const char *head) {
  const char *eol = strchr(head, '\n');
  int http10 = eol && eol - head >= 8 && strncmp(eol - (eol[-1] == '\r' ? 9 : 8), "HTTP/1.0", 8) == 0;
  for (const char *p = eol; p && p[1]; p = strchr(p + 1, '\n')) {
    if (strncasecmp(p + 1, "connection:", 11) != 0) continue;
    const char *v = p + 12;
    while (*v == ' ' || *v == '\t') v++;
    if (strncasecmp(v, "close", 5) == 0) return 1;
    if (strncasecmp(v, "keep-alive", 10) == 0) return 0;
  }
  return http10;
}

/* The length of the request head at the start of buf, through its blank line (CRLF or bare LF
 * line ends), or 0 while incomplete. */
static size_t head_length(const char *buf) {
  const char *crlf = strstr(buf, "\r\n\r\n"), *lf = strstr(buf, "\n\n");
  if (crlf && (!lf || crlf < lf)) return (size_t)(crlf - buf) + 4;
  return lf ? (size_t)(lf - buf) + 2 : 0;
}

static void serve_http_request(int fd, char *req);

/* Serves one connection: one request, or with --keep-alive requests until the client closes or
 * asks to. Requests are GETs without bodies: bytes after a head's blank line begin the next. */
static void serve_http(int fd) {
  static char buf[16384];
  size_t got = 0;
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (;;) {
    size_t head_len;
    buf[got] = 0;
    while (!(head_len = head_length(buf))) {
      if (got >= sizeof buf - 1) return;
      ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
      if (r <= 0) return;
      got += (size_t)r;
      buf[got] = 0;
    }
    char req[8192];
    size_t n = head_len < sizeof req ? head_len : sizeof req - 1;
    memcpy(req, buf, n);
    req[n] = 0;
    memmove(buf, buf + head_len, got - head_len);
    got -= head_len;
    close_after = !keep_alive || wants_close(req);
    serve_http_request(fd, req);
    if (close_after) return;
  }
}

static void serve_http_request(int fd, char *req) {
  char method[16], target[4096];
  if (sscanf(req, "%15s %4095s", method, target) != 2) {
    respond(fd, 400, "Bad Request", "bad request\n");
    return;
  }
  char *query = strchr(target, '?');
  if (query) *query++ = 0;
  char host[256] = "", val[4096], body[4400];
  gethostname(host, sizeof host - 1);
  if (strcmp(target, "/healthz") == 0) {
    if (is_live()) respond(fd, 200, "OK", "ok");
    else respond(fd, 500, "Internal Server Error", "not live");
  } else if (strcmp(target, "/readyz") == 0) {
    if (is_ready()) respond(fd, 200, "OK", "ok");
    else respond(fd, 503, "Service Unavailable", "not ready");
  } else if (strcmp(target, "/set") == 0) {
    if (query_get(query, "live", val, sizeof val)) st->live = atoi(val) != 0;
    if (query_get(query, "ready", val, sizeof val)) st->ready = atoi(val) != 0;
    if (query_get(query, "grpc", val, sizeof val)) st->grpc = atoi(val) != 0;
    snprintf(body, sizeof body, "live=%d ready=%d grpc=%d\n", is_live(), is_ready(), grpc_serving());
    respond(fd, 200, "OK", body);
    printf("testserver: %s\n", body);
  } else if (strcmp(target, "/echo") == 0) {
    respond(fd, 200, "OK", query_get(query, "msg", val, sizeof val) ? val : "");
  } else if (strcmp(target, "/hostname") == 0) {
    respond(fd, 200, "OK", host);
  } else if (strcmp(target, "/exit") == 0) {
    int code = query_get(query, "code", val, sizeof val) ? atoi(val) : 0;
    snprintf(body, sizeof body, "exiting with %d\n", code);
    respond(fd, 200, "OK", body);
    printf("testserver: /exit, %s", body);
    fflush(stdout);
    st->exit_code = code;
    kill(getppid(), SIGUSR1);
  } else if (strcmp(target, "/") == 0) {
    snprintf(body, sizeof body, "testserver %s\n", host);
    respond(fd, 200, "OK", body);
  } else {
    respond(fd, 404, "Not Found", "404 page not found\n");
  }
  if (!quiet && strcmp(target, "/healthz") && strcmp(target, "/readyz")) printf("testserver: %s %s\n", method, target);
  fflush(stdout);
}

/* ---- gRPC health over HTTP/2 ---- */

enum { F_DATA = 0, F_HEADERS = 1, F_RST = 3, F_SETTINGS = 4, F_PING = 6, F_GOAWAY = 7 };
enum { END_STREAM = 1, ACK = 1, END_HEADERS = 4, PADDED = 8 };

static int send_frame(int fd, int type, int flags, uint32_t stream, const unsigned char *p, size_t n) {
  unsigned char h[9] = {(unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n, (unsigned char)type,
                        (unsigned char)flags, (unsigned char)(stream >> 24), (unsigned char)(stream >> 16),
                        (unsigned char)(stream >> 8), (unsigned char)stream};
  if (write_all(fd, h, 9) < 0) return -1;
  return n ? write_all(fd, p, n) : 0;
}

/* A literal header field without indexing, new name, no Huffman coding (RFC 7541 6.2.2). */
static size_t hpack_literal(unsigned char *out, const char *name, const char *value) {
  size_t nl = strlen(name), vl = strlen(value), i = 0;
  out[i++] = 0;
  out[i++] = (unsigned char)nl; /* names and values here are < 127 bytes */
  memcpy(out + i, name, nl);
  i += nl;
  out[i++] = (unsigned char)vl;
  memcpy(out + i, value, vl);
  return i + vl;
}

struct stream {
  uint32_t id;
  unsigned char msg[512];
  size_t len;
};

static void grpc_answer(int fd, struct stream *s) {
  /* The request message: 1 byte compressed flag, 4 bytes length, HealthCheckRequest{service=1}. */
  char service[256] = "";
  if (s->len >= 5) {
    const unsigned char *m = s->msg + 5;
    size_t ml = s->len - 5;
    if (ml >= 2 && m[0] == 0x0a && (size_t)m[1] + 2 <= ml) {
      memcpy(service, m + 2, m[1]);
      service[m[1]] = 0;
    }
  }
  unsigned char hb[128];
  size_t n = 0;
  hb[n++] = 0x88; /* :status 200, static table entry 8 */
  n += hpack_literal(hb + n, "content-type", "application/grpc");
  send_frame(fd, F_HEADERS, END_HEADERS, s->id, hb, n);
  unsigned char tb[128];
  size_t tn;
  if (service[0] && strcmp(service, "testserver") != 0) {
    tn = hpack_literal(tb, "grpc-status", "5");
    tn += hpack_literal(tb + tn, "grpc-message", "unknown service");
  } else {
    unsigned char d[7] = {0, 0, 0, 0, 2, 0x08, (unsigned char)(grpc_serving() ? 1 : 2)};
    send_frame(fd, F_DATA, 0, s->id, d, sizeof d);
    tn = hpack_literal(tb, "grpc-status", "0");
  }
  send_frame(fd, F_HEADERS, END_HEADERS | END_STREAM, s->id, tb, tn);
  s->id = 0;
}

static void serve_grpc(int fd) {
  static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  unsigned char buf[16384 + 9];
  if (read_full(fd, buf, 24) < 0 || memcmp(buf, preface, 24) != 0) return;
  send_frame(fd, F_SETTINGS, 0, 0, NULL, 0);
  struct stream streams[16];
  memset(streams, 0, sizeof streams);
  for (;;) {
    if (read_full(fd, buf, 9) < 0) return;
    size_t len = ((size_t)buf[0] << 16) | ((size_t)buf[1] << 8) | buf[2];
    int type = buf[3], flags = buf[4];
    uint32_t sid = (((uint32_t)buf[5] & 0x7f) << 24) | ((uint32_t)buf[6] << 16) | ((uint32_t)buf[7] << 8) | buf[8];
    if (len > 16384 || read_full(fd, buf, len) < 0) return;
    struct stream *s = NULL;
    if (sid) {
      for (int i = 0; i < 16 && !s; i++)
        if (streams[i].id == sid) s = &streams[i];
      if (!s && type == F_HEADERS)
        for (int i = 0; i < 16 && !s; i++)
          if (!streams[i].id) {
            s = &streams[i];
            s->id = sid;
            s->len = 0;
          }
    }
    switch (type) {
    case F_SETTINGS:
      if (!(flags & ACK)) send_frame(fd, F_SETTINGS, ACK, 0, NULL, 0);
      break;
    case F_PING:
      if (!(flags & ACK)) send_frame(fd, F_PING, ACK, 0, buf, len);
      break;
    case F_GOAWAY:
      return;
    case F_RST:
      if (s) s->id = 0;
      break;
    case F_HEADERS:
      if (s && (flags & END_STREAM)) grpc_answer(fd, s);
      break;
    case F_DATA: {
      size_t off = 0, pad = 0;
      if ((flags & PADDED) && len > 0) {
        pad = buf[0];
        off = 1;
      }
      size_t dl = len >= off + pad ? len - off - pad : 0;
      if (s && s->len + dl <= sizeof s->msg) {
        memcpy(s->msg + s->len, buf + off, dl);
        s->len += dl;
      }
      if (len > 0) { /* give the flow-control credit back, for the connection and the stream */
        unsigned char w[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len};
        send_frame(fd, 8, 0, 0, w, 4);
        if (s && !(flags & END_STREAM)) send_frame(fd, 8, 0, sid, w, 4);
      }
      if (s && (flags & END_STREAM)) grpc_answer(fd, s);
      break;
    }
    default:
      break; /* PRIORITY, WINDOW_UPDATE, CONTINUATION: nothing to do for a probe target */
    }
  }
}

static volatile sig_atomic_t exit_requested;
static void on_usr1(int sig) {
  (void)sig;
  exit_requested = 1;
}

static int serve(int argc, char **argv) {
  int http_port = 8080, grpc_port = 9090, ignore_term = 0;
  st = mmap(NULL, sizeof *st, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (st == MAP_FAILED) return perror("mmap"), 1;
  st->start_ms = now_ms();
  st->live = st->ready = st->grpc = -1;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
    if (!strcmp(a, "--http-port")) http_port = atoi(v), i++;
    else if (!strcmp(a, "--grpc-port")) grpc_port = atoi(v), i++;
    else if (!strcmp(a, "--ready-after")) st->ready_after = atoi(v), i++;
    else if (!strcmp(a, "--live-for")) st->live_for = atoi(v), i++;
    else if (!strcmp(a, "--term-delay")) term_delay = atoi(v), i++;
    else if (!strcmp(a, "--ignore-term")) ignore_term = 1;
    else if (!strcmp(a, "--keep-alive")) keep_alive = 1;
    else if (!strcmp(a, "--quiet")) quiet = 1;
    else return fprintf(stderr, "testserver: unknown flag %s\n", a), 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = ignore_term ? SIG_IGN : on_term;
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = on_term;
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGCHLD, SIG_IGN); /* connection handlers are reaped by the kernel */
  signal(SIGPIPE, SIG_IGN);
  struct pollfd fds[2] = {{.fd = -1, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
  if (http_port > 0 && (fds[0].fd = listen_on(http_port)) < 0) return perror("testserver: http listen"), 1;
  if (grpc_port > 0 && (fds[1].fd = listen_on(grpc_port)) < 0) return perror("testserver: grpc listen"), 1;
  printf("testserver: serving http on :%d, grpc health on :%d\n", http_port, grpc_port);
  fflush(stdout);
  for (;;) {
    if (exit_requested) {
      printf("testserver: exit %d\n", st->exit_code);
      fflush(stdout);
      return st->exit_code;
    }
    if (poll(fds, 2, 1000) <= 0) continue;
    for (int i = 0; i < 2; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      int c = accept(fds[i].fd, NULL, NULL);
      if (c < 0) continue;
      pid_t pid = fork();
      if (pid == 0) {
        close(fds[0].fd);
        close(fds[1].fd);
        if (i == 0) serve_http(c);
        else serve_grpc(c);
        _exit(0);
      }
      close(c);
    }
  }
}

int fetch_main(int argc, char **argv); /* fetch.c */

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *cmd = argc > 1 ? argv[1] : "serve";
  if (!strcmp(cmd, "serve")) return serve(argc > 1 ? argc - 2 : 0, argv + 2);
  if (!strcmp(cmd, "echo")) {
    int i = 2;
    FILE *out = stdout;
    if (i < argc && !strcmp(argv[i], "--stderr")) out = stderr, i++;
    for (int first = 1; i < argc; i++, first = 0) fprintf(out, "%s%s", first ? "" : " ", argv[i]);
    fputc('\n', out);
    return 0;
  }
  if (!strcmp(cmd, "sleep")) {
    signal(SIGTERM, on_term);
    sleep((unsigned)(argc > 2 ? atoi(argv[2]) : 0));
    return 0;
  }
  if (!strcmp(cmd, "exit")) return argc > 2 ? atoi(argv[2]) : 0;
  if (!strcmp(cmd, "fetch")) return fetch_main(argc - 2, argv + 2);
  if (!strcmp(cmd, "alloc")) {
    signal(SIGTERM, on_term);
    long mib = argc > 2 ? atol(argv[2]) : 0;
    for (long i = 0; i < mib; i++) {
      char *p = malloc(1 << 20);
      if (!p) return fputs("testserver: out of memory\n", stderr), 1;
      memset(p, 1, 1 << 20);
    }
    printf("testserver: allocated %ld MiB\n", mib);
    for (;;) pause();
  }
  fprintf(stderr, "usage: testserver serve|echo|sleep|exit|alloc|fetch ...\n");
  return 2;
}
