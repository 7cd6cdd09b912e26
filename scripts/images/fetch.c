/* `testserver fetch`: an HTTP(S) client for the end-to-end tests, linked into the test server's
 * static binary (with Debian's static OpenSSL). It is what an in-cluster client does that busybox's
 * wget cannot: busybox's own TLS sends no signature_algorithms, so OpenSSL 3 servers (the API
 * server among them) refuse its handshake, and it verifies no certificate at all.
 *
 *   testserver fetch [--cacert FILE] [--bearer-file FILE] [--header 'Name: value']...
 *                    [--data BODY] [--timeout S] URL
 *
 * The host is resolved with getaddrinfo (static glibc 2.36 has its DNS backend built in, so the
 * pod's resolv.conf search list and ndots apply). https:// verifies the server's certificate
 * against --cacert (default: none trusted, so https needs it) and the URL's host name or address.
 * The request is HTTP/1.0 (no chunked replies), a POST when --data is given. The body goes to
 * stdout; "HTTP <status>" to stderr. Exit status: 0 for 2xx, 22 for another status (as curl -f),
 * 1 for any failure before a status (resolution, connection, TLS, --timeout, default 10 s), with
 * the reason on stderr. */
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEADERS 16

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "fetch: timed out\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(1);
}

static int fail(const char *what, const char *detail) {
  fprintf(stderr, "fetch: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  return 1;
}

static int ssl_fail(const char *what) {
  char buf[256];
  unsigned long e = ERR_get_error();
  ERR_error_string_n(e, buf, sizeof buf);
  return fail(what, e ? buf : NULL);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t n;
  while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len < 2) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  buf[len] = 0;
  while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = 0;
  return buf;
}

/* Splits scheme://host[:port]/path; host may be a bracketed IPv6 literal. */
static int parse_url(const char *url, int *tls, char *host, size_t hostsz, char *port, size_t portsz, const char **path) {
  const char *p;
  if (!strncmp(url, "https://", 8)) *tls = 1, p = url + 8;
  else if (!strncmp(url, "http://", 7)) *tls = 0, p = url + 7;
  else return -1;
  const char *slash = strchr(p, '/');
  *path = slash ? slash : "/";
  size_t authority = slash ? (size_t)(slash - p) : strlen(p);
  const char *colon = NULL;
  if (*p == '[') {
    const char *close = memchr(p, ']', authority);
    if (!close) return -1;
    if ((size_t)(close - p - 1) >= hostsz) return -1;
    memcpy(host, p + 1, (size_t)(close - p - 1));
    host[close - p - 1] = 0;
    if (close + 1 < p + authority && close[1] == ':') colon = close + 1;
  } else {
    colon = memchr(p, ':', authority);
    size_t hl = colon ? (size_t)(colon - p) : authority;
    if (hl >= hostsz) return -1;
    memcpy(host, p, hl);
    host[hl] = 0;
  }
  if (colon) {
    size_t pl = (size_t)(p + authority - colon - 1);
    if (pl == 0 || pl >= portsz) return -1;
    memcpy(port, colon + 1, pl);
    port[pl] = 0;
  } else snprintf(port, portsz, "%s", *tls ? "443" : "80");
  return host[0] ? 0 : -1;
}

int fetch_main(int argc, char **argv) {
  const char *cacert = NULL, *bearer_file = NULL, *data = NULL, *url = NULL;
  const char *headers[MAX_HEADERS];
  int nheaders = 0, timeout = 10;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--cacert") && v) cacert = v, i++;
    else if (!strcmp(a, "--bearer-file") && v) bearer_file = v, i++;
    else if (!strcmp(a, "--data") && v) data = v, i++;
    else if (!strcmp(a, "--timeout") && v) timeout = atoi(v), i++;
    else if (!strcmp(a, "--header") && v && nheaders < MAX_HEADERS) headers[nheaders++] = v, i++;
    else if (a[0] != '-' && !url) url = a;
    else return fprintf(stderr, "fetch: unexpected argument %s\n", a), 2;
  }
  if (!url) return fprintf(stderr, "usage: testserver fetch [--cacert FILE] [--bearer-file FILE] [--header H]... [--data BODY] [--timeout S] URL\n"), 2;
  signal(SIGALRM, on_alarm); /* a hung step (connect, TLS, reply) fails the fetch */
  alarm((unsigned)timeout);

  int tls;
  char host[256], port[16];
  const char *path;
  if (parse_url(url, &tls, host, sizeof host, port, sizeof port, &path) < 0) return fail("invalid URL", url);

  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
  int gai = getaddrinfo(host, port, &hints, &res);
  if (gai) return fail(host, gai_strerror(gai));
  int fd = -1;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return fail("cannot connect", host);

  SSL *ssl = NULL;
  if (tls) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return ssl_fail("TLS setup");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (cacert && SSL_CTX_load_verify_locations(ctx, cacert, NULL) != 1) return ssl_fail("loading --cacert");
    ssl = SSL_new(ctx);
    struct in6_addr a6;
    struct in_addr a4;
    int literal = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
    if (literal) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    } else {
      SSL_set_tlsext_host_name(ssl, host);
      SSL_set1_host(ssl, host);
    }
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
      long v = SSL_get_verify_result(ssl);
      if (v != X509_V_OK) return fail("certificate verification failed", X509_verify_cert_error_string(v));
      return ssl_fail("TLS handshake");
    }
  }

  char *token = NULL;
  if (bearer_file && !(token = read_file(bearer_file))) return fail("cannot read --bearer-file", bearer_file);
  size_t cap = 1024 + (token ? strlen(token) : 0) + (data ? strlen(data) : 0) + strlen(path);
  for (int i = 0; i < nheaders; i++) cap += strlen(headers[i]) + 2;
  char *req = malloc(cap);
  int n = snprintf(req, cap, "%s %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: testserver-fetch\r\nAccept: */*\r\n", data ? "POST" : "GET", path, host);
  if (token) n += snprintf(req + n, cap - (size_t)n, "Authorization: Bearer %s\r\n", token);
  for (int i = 0; i < nheaders; i++) n += snprintf(req + n, cap - (size_t)n, "%s\r\n", headers[i]);
  if (data) n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n\r\n%s", strlen(data), data);
  else n += snprintf(req + n, cap - (size_t)n, "\r\n");

  for (int off = 0; off < n;) {
    int w = ssl ? SSL_write(ssl, req + off, n - off) : (int)write(fd, req + off, (size_t)(n - off));
    if (w <= 0) return fail("write failed", NULL);
    off += w;
  }

  size_t rcap = 65536, rlen = 0;
  char *resp = malloc(rcap);
  for (;;) {
    if (rcap - rlen < 4096) resp = realloc(resp, rcap *= 2);
    int r = ssl ? SSL_read(ssl, resp + rlen, (int)(rcap - rlen - 1)) : (int)read(fd, resp + rlen, rcap - rlen - 1);
    if (r <= 0) break; /* EOF (the server closes an HTTP/1.0 exchange), or a close without close_notify */
    rlen += (size_t)r;
  }
  resp[rlen] = 0;
  int status;
  if (sscanf(resp, "HTTP/%*s %d", &status) != 1) return fail("no HTTP status in the reply", NULL);
  char *body = strstr(resp, "\r\n\r\n");
  body = body ? body + 4 : resp + rlen;
  fprintf(stderr, "HTTP %d\n", status);
  fwrite(body, 1, rlen - (size_t)(body - resp), stdout);
  fflush(stdout);
  return status >= 200 && status < 300 ? 0 : 22;
}
