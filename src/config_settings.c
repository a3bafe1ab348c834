/*
 * config_settings - the table of every setting (as Redis' static_configs)
 * and the parsers of each value type.  Adding a setting means adding one
 * row here; parsing, validation, `config show` and docs/configuration.md
 * all follow from it.
 */
#include "config_settings.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "config.h"
#include "registry.h"

#define KIB INT64_C(1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

const struct setting config_settings[] = {
    {"", "mode", SETTING_ENUM, "express", 0, 0, "express|normal|giant", false,
     "Deployment mode; picks the profile (profiles/<mode>.conf) that supplies the backend "
     "defaults."},

    {"server", "listen", SETTING_LISTEN, "127.0.0.1:8080", 0, 0, NULL, false,
     "Address and port to listen on: host:port, IPv4, a name, or [IPv6]:port."},
    {"server", "public_url", SETTING_URL, "", 0, 0, "http|https", false,
     "Base URL clients reach this server at, used for absolute links (next, previous); "
     "empty means http://<server.listen>.  A trailing '/' is removed."},
    {"server", "threads", SETTING_INT, "0", 0, 1024, NULL, false,
     "HTTP worker threads; 0 means one per online core (right for a local store); size above "
     "the core count when the store is remote."},
    {"server", "max_body_bytes", SETTING_BYTES, "1M", 1024, GIB, NULL, false,
     "Largest request body accepted; larger requests get 413."},
    {"server", "connection_timeout", SETTING_SECONDS, "30s", 1, 3600, NULL, false,
     "Idle time after which a client connection is closed."},
    {"server", "max_connections", SETTING_INT, "1024", 1, 1000000, NULL, false,
     "Most client connections served at once."},
    {"server", "drain_timeout", SETTING_SECONDS, "10s", 0, 3600, NULL, false,
     "On SIGTERM, how long in-flight requests may take to finish before exit."},
    {"server", "max_url_bytes", SETTING_BYTES, "16K", 256, MIB, NULL, false,
     "Longest request target (path and query string); longer requests get 414."},
    {"server", "max_header_bytes", SETTING_BYTES, "32K", 4 * KIB, 16 * MIB, NULL, false,
     "Memory per connection for the request line and headers (libmicrohttpd's connection "
     "memory limit); requests whose headers do not fit are refused, and so are request "
     "targets longer than fit in it, whatever server.max_url_bytes says. libmicrohttpd "
     "clears this memory between requests, so every request pays for its size."},
    {"server", "cors_origins", SETTING_STRING, "", 0, 0, NULL, false,
     "Origins allowed to call the API from a browser, comma-separated (\"*\" for any); "
     "empty turns CORS off (no CORS headers are sent)."},

    {"api", "page_size_default", SETTING_INT, "20", 1, 10000, NULL, false,
     "Page size of list and search responses when the request gives none."},
    {"api", "page_size_max", SETTING_INT, "500", 1, 10000, NULL, false,
     "Largest page_size a request may ask for."},

    {"store", "driver", SETTING_BACKEND, "sqlite", 0, 0, "store", false,
     "Store backend, the source of truth."},
    {"store", "path", SETTING_PATH, "catalogd.db", 0, 0, NULL, false,
     "SQLite database file (sqlite store); relative to the file that names it."},
    {"store", "busy_timeout", SETTING_MILLISECONDS, "5000ms", 0, 600000, NULL, false,
     "How long a SQLite writer waits for a lock before giving up."},
    {"store", "url", SETTING_URL, "", 0, 0, "postgres|postgresql", true,
     "PostgreSQL connection URL (postgres store), e.g. postgres://user@host:5432/db."},
    {"store", "password_file", SETTING_PATH, "", 0, 0, NULL, false,
     "File holding the PostgreSQL password, so that it need not sit in store.url "
     "(PGPASSWORD in the environment works too)."},
    {"store", "connect_timeout", SETTING_SECONDS, "5s", 1, 600, NULL, false,
     "How long connecting to PostgreSQL may take before the request fails with 503."},
    {"store", "statement_timeout", SETTING_MILLISECONDS, "5000ms", 0, 3600000, NULL, false,
     "Longest a PostgreSQL statement may run (0: no limit)."},

    {"search", "driver", SETTING_BACKEND, "none", 0, 0, "search", false,
     "Search backend; none answers search requests with 503."},
    {"search", "path", SETTING_PATH, "", 0, 0, NULL, false,
     "Search index file (fts5); empty means store.path + \"-search\" beside the store."},
    {"search", "batch_size", SETTING_INT, "500", 1, 100000, NULL, false,
     "Outbox changes the indexer applies per batch (one index transaction each); also the "
     "documents per batch of reindex and import."},
    {"search", "indexer", SETTING_ENUM, "inline", 0, 0, "inline|thread", false,
     "Who applies the outbox to the index: inline (the writing request, so a write is "
     "searchable when it returns) or thread (a background thread per process; with a "
     "PostgreSQL store one process at a time, by an advisory-lock lease)."},
    {"search", "wait_for_index", SETTING_BOOL, "false", 0, 0, NULL, false,
     "With the thread indexer, every write waits (up to search.wait_timeout) until its change "
     "is searchable, as ?wait_for_index=1 asks for one write."},
    {"search", "wait_timeout", SETTING_MILLISECONDS, "5000ms", 0, 600000, NULL, false,
     "Longest a write waits for the index; then it answers success anyway, with "
     "\"_index\": \"pending\" in its body (202 for a delete)."},
    {"search", "poll_interval", SETTING_MILLISECONDS, "1000ms", 10, 600000, NULL, false,
     "How often the thread indexer looks at the outbox unasked (other processes' writes, "
     "taking over the lease of a dead process, gaps timing out)."},
    {"search", "retry_min", SETTING_MILLISECONDS, "100ms", 1, 3600000, NULL, false,
     "First retry delay of the thread indexer after a failed pass (search backend down); "
     "doubles per failure."},
    {"search", "retry_max", SETTING_MILLISECONDS, "30000ms", 1, 3600000, NULL, false,
     "Upper bound of the thread indexer's retry delay."},
    {"search", "gap_timeout", SETTING_SECONDS, "60s", 1, 86400, NULL, false,
     "How long a missing outbox id below applied ones (a PostgreSQL transaction still "
     "running, or rolled back) is waited for before the checkpoint moves past it; a "
     "transaction writing longer than this may go unindexed until a reindex."},
    {"search", "url", SETTING_URL, "", 0, 0, "postgres|postgresql", true,
     "PostgreSQL connection URL of the pgfts index; empty means store.url."},

    {"cache", "driver", SETTING_BACKEND, "memory", 0, 0, "cache", false,
     "Response cache backend; none disables caching."},
    {"cache", "max_bytes", SETTING_BYTES, "16M", 0, 64 * GIB, NULL, false,
     "Memory cache bound: keys, values and overhead together."},
    {"cache", "local_max_bytes", SETTING_BYTES, "4M", 0, 64 * GIB, NULL, false,
     "Redis cache: bound of each process's near cache, in-process copies of the entries it "
     "read or wrote, served after one small round trip re-checks their stamp in Redis "
     "(keys, values and overhead together); 0 turns it off."},
    {"cache", "ttl", SETTING_SECONDS, "60s", 1, 86400, NULL, false,
     "Longest time a cached response is served; bounds how old clock-dependent values "
     "(availability, is_enrollable) can be."},
    {"cache", "stale_ttl", SETTING_SECONDS, "10s", 0, 3600, NULL, false,
     "Grace past cache.ttl: an expired entry of the current generation is still served "
     "(X-Cache: stale) for this long while it is recomputed (with the memory cache on a "
     "thread of its own, so that no request waits; with Redis by one request), so that expiry "
     "does not stall every request for the key; a write is never served stale.  0 turns it "
     "off."},
    {"cache", "url", SETTING_URL, "redis://127.0.0.1:6379/0", 0, 0, "redis", true,
     "Redis URL (redis cache): redis://[:password@]host:port/db."},
    {"cache", "password_file", SETTING_PATH, "", 0, 0, NULL, false,
     "File holding the Redis password, so that it need not sit in cache.url."},
    {"cache", "prefix", SETTING_STRING, "catalogd:", 0, 0, NULL, false,
     "Prefix of every Redis key, so that several catalogs can share one Redis."},
    {"cache", "connect_timeout", SETTING_MILLISECONDS, "500ms", 1, 60000, NULL, false,
     "How long connecting to Redis may take; after a failure the cache is bypassed."},
    {"cache", "command_timeout", SETTING_MILLISECONDS, "200ms", 1, 60000, NULL, false,
     "How long one Redis command may take before the request is served uncached."},

    {"auth", "allow_anonymous_writes", SETTING_BOOL, "false", 0, 0, NULL, false,
     "Accept writes without a token (only for local development)."},
    {"auth", "read", SETTING_ENUM, "public", 0, 0, "public|authenticated", false,
     "Who may read the catalog API: anyone, or only callers with a valid token."},
    {"auth", "issuer", SETTING_STRING, "", 0, 0, NULL, false,
     "The one trusted token issuer (exact \"iss\"); empty accepts no tokens unless "
     "auth.issuers_file names issuers."},
    {"auth", "audience", SETTING_STRING, "catalogd", 0, 0, NULL, false,
     "Audiences accepted from auth.issuer's tokens, comma-separated."},
    {"auth", "hs256_secret", SETTING_STRING, "", 0, 0, NULL, true,
     "auth.issuer's HS256 secret: env:NAME, file:/path or (discouraged) the literal "
     "secret; at least 16 bytes."},
    {"auth", "public_key_file", SETTING_PATH, "", 0, 0, NULL, false,
     "auth.issuer's RSA public key (PEM), verifying RS256 and RS512."},
    {"auth", "jwks_file", SETTING_PATH, "", 0, 0, NULL, false,
     "auth.issuer's JWK set (key rotation by kid)."},
    {"auth", "issuers_file", SETTING_PATH, "", 0, 0, NULL, false,
     "JSON list of further issuers, Open edX JWT_ISSUERS style: [{\"ISSUER\", "
     "\"AUDIENCE\" (string or list), \"SECRET_KEY\" (secret spec), \"PUBLIC_KEY_FILE\", "
     "\"JWKS_FILE\"}]; relative files are relative to it."},
    {"auth", "leeway", SETTING_SECONDS, "30s", 0, 600, NULL, false,
     "Clock skew allowed when checking a token's exp and nbf."},
    {"auth", "max_token_bytes", SETTING_BYTES, "8K", 256, 64 * KIB, NULL, false,
     "Longest token accepted."},
    {"auth", "read_scope", SETTING_STRING, "catalog:read", 0, 0, NULL, false,
     "Scope name recognised as the right to read."},
    {"auth", "write_scope", SETTING_STRING, "catalog:write", 0, 0, NULL, false,
     "Scope that allows writing besides staff (administrator: true); empty: staff only."},

    {"ratelimit", "enabled", SETTING_BOOL, "true", 0, 0, NULL, false,
     "Limit requests per caller (token subject, else client IP) with token buckets; "
     "over the limit a request gets 429 with Retry-After."},
    {"ratelimit", "anonymous_rate", SETTING_INT, "50", 0, 1000000, NULL, false,
     "Requests per second refilled for an anonymous caller (0: unlimited)."},
    {"ratelimit", "anonymous_burst", SETTING_INT, "100", 1, 10000000, NULL, false,
     "Most requests an anonymous caller may make at once."},
    {"ratelimit", "authenticated_rate", SETTING_INT, "200", 0, 1000000, NULL, false,
     "Requests per second for an authenticated caller (0: unlimited)."},
    {"ratelimit", "authenticated_burst", SETTING_INT, "400", 1, 10000000, NULL, false,
     "Most requests an authenticated caller may make at once."},
    {"ratelimit", "staff_rate", SETTING_INT, "1000", 0, 1000000, NULL, false,
     "Requests per second for a staff caller (0: unlimited)."},
    {"ratelimit", "staff_burst", SETTING_INT, "2000", 1, 10000000, NULL, false,
     "Most requests a staff caller may make at once."},
    {"ratelimit", "max_keys", SETTING_INT, "100000", 64, 100000000, NULL, false,
     "Most callers tracked; beyond it the least recently seen caller is forgotten."},
    {"ratelimit", "trusted_proxies", SETTING_STRING, "", 0, 0, NULL, false,
     "Peers (CIDR list) whose X-Forwarded-For names the client; empty trusts none."},

    {"log", "level", SETTING_ENUM, "info", 0, 0, "debug|info|warn|error", false,
     "Least severe message written."},
    {"log", "file", SETTING_PATH, "", 0, 0, NULL, false, "Log file; empty writes to stderr."},
    {"log", "access", SETTING_BOOL, "true", 0, 0, NULL, false,
     "Write one access log line per request."},

    {"clock", "now", SETTING_INSTANT, "", 0, 0, NULL, false,
     "Fixes \"now\" to an ISO 8601 instant (for tests); empty uses the system clock."},
};

const size_t config_settings_count = sizeof config_settings / sizeof config_settings[0];

void setting_name(const struct setting *s, char *buf, size_t size)
{
    if (s->section[0] == '\0')
        snprintf(buf, size, "%s", s->key);
    else
        snprintf(buf, size, "%s.%s", s->section, s->key);
}

const struct setting *setting_find(const char *name)
{
    /* Compared in place: config_get calls this, possibly per request. */
    const char *dot = strchr(name, '.');
    size_t sec_len = dot ? (size_t)(dot - name) : 0;
    const char *key = dot ? dot + 1 : name;
    for (size_t i = 0; i < config_settings_count; i++) {
        const struct setting *s = &config_settings[i];
        if (strlen(s->section) == sec_len && strncmp(s->section, name, sec_len) == 0 &&
            strcmp(s->key, key) == 0)
            return s;
    }
    return NULL;
}

const char *setting_type_name(enum setting_type type)
{
    switch (type) {
    case SETTING_STRING:
        return "string";
    case SETTING_INT:
        return "integer";
    case SETTING_BOOL:
        return "boolean";
    case SETTING_ENUM:
        return "enum";
    case SETTING_BACKEND:
        return "backend";
    case SETTING_BYTES:
        return "bytes";
    case SETTING_SECONDS:
        return "seconds";
    case SETTING_MILLISECONDS:
        return "milliseconds";
    case SETTING_PATH:
        return "path";
    case SETTING_LISTEN:
        return "listen address";
    case SETTING_URL:
        return "URL";
    case SETTING_INSTANT:
        return "instant";
    }
    return "?";
}

static enum backend_kind backend_kind_of(const struct setting *s)
{
    if (strcmp(s->choices, "search") == 0)
        return BACKEND_SEARCH;
    if (strcmp(s->choices, "cache") == 0)
        return BACKEND_CACHE;
    return BACKEND_STORE;
}

static void join_names(const char *const *names, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i] != NULL && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "|" : "", names[i]);
}

/* 1073741824 -> "1G": bounds read better in the unit people write. */
static void format_bytes(int64_t n, char *buf, size_t size)
{
    if (n != 0 && n % GIB == 0)
        snprintf(buf, size, "%" PRId64 "G", n / GIB);
    else if (n != 0 && n % MIB == 0)
        snprintf(buf, size, "%" PRId64 "M", n / MIB);
    else if (n != 0 && n % KIB == 0)
        snprintf(buf, size, "%" PRId64 "K", n / KIB);
    else
        snprintf(buf, size, "%" PRId64, n);
}

void setting_expectation(const struct setting *s, char *buf, size_t size)
{
    char lo[32], hi[32], names[128];
    switch (s->type) {
    case SETTING_STRING:
        snprintf(buf, size, "a string");
        return;
    case SETTING_INT:
        snprintf(buf, size, "an integer between %" PRId64 " and %" PRId64, s->min, s->max);
        return;
    case SETTING_BOOL:
        snprintf(buf, size, "a boolean (true|false|yes|no|on|off|1|0)");
        return;
    case SETTING_ENUM:
        snprintf(buf, size, "one of %s", s->choices);
        return;
    case SETTING_BACKEND:
        join_names(registry_known_names(backend_kind_of(s)), names, sizeof names);
        snprintf(buf, size, "one of %s", names);
        return;
    case SETTING_BYTES:
        format_bytes(s->min, lo, sizeof lo);
        format_bytes(s->max, hi, sizeof hi);
        snprintf(buf, size, "a size (bytes, or with K, M, G, KiB, MiB, GiB) between %s and %s", lo,
                 hi);
        return;
    case SETTING_SECONDS:
        snprintf(buf, size,
                 "a duration (seconds, or with s, m, h) between %" PRId64 "s and %" PRId64 "s",
                 s->min, s->max);
        return;
    case SETTING_MILLISECONDS:
        snprintf(buf, size,
                 "a duration (milliseconds, or with ms, s, m) between %" PRId64 "ms and %" PRId64
                 "ms",
                 s->min, s->max);
        return;
    case SETTING_PATH:
        snprintf(buf, size, "a file path");
        return;
    case SETTING_LISTEN:
        snprintf(buf, size, "host:port with a port between 1 and 65535 (IPv6 as [::1]:port)");
        return;
    case SETTING_URL: {
        /* "http|https" -> "http:// or https://" */
        size_t used = (size_t)snprintf(buf, size, "empty or a URL starting with ");
        for (const char *p = s->choices; *p != '\0' && used + 1 < size;) {
            size_t len = strcspn(p, "|");
            used += (size_t)snprintf(buf + used, size - used, "%.*s://%s", (int)len, p,
                                     p[len] == '|' ? " or " : "");
            p += len + (p[len] == '|');
        }
        return;
    }
    case SETTING_INSTANT:
        snprintf(buf, size, "empty or an ISO 8601 instant such as 2025-03-01T00:00:00Z");
        return;
    }
    snprintf(buf, size, "?");
}

/* Parses a whole decimal integer with an optional unit suffix from units
 * (NULL-terminated {suffix, multiplier} pairs, matched case-insensitively,
 * "" allowed).  Returns -1 on anything else or on overflow. */
struct unit {
    const char *suffix;
    int64_t mult;
};

static int parse_with_unit(const char *raw, const struct unit *units, int64_t *out)
{
    const char *p = raw;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (!isdigit((unsigned char)*p))
        return -1;
    int64_t n = 0;
    while (isdigit((unsigned char)*p)) {
        int d = *p++ - '0';
        if (n > (INT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    while (*p == ' ')
        p++;
    for (const struct unit *u = units; u->suffix != NULL; u++) {
        if (strcasecmp(p, u->suffix) == 0) {
            if (n > INT64_MAX / u->mult)
                return -1;
            *out = (neg ? -n : n) * u->mult;
            return 0;
        }
    }
    return -1;
}

static const struct unit plain_units[] = {{"", 1}, {NULL, 0}};
static const struct unit byte_units[] = {{"", 1},      {"B", 1},    {"K", KIB},   {"KB", KIB},
                                         {"KiB", KIB}, {"M", MIB},  {"MB", MIB},  {"MiB", MIB},
                                         {"G", GIB},   {"GB", GIB}, {"GiB", GIB}, {NULL, 0}};
static const struct unit second_units[] = {{"", 1},     {"s", 1},     {"m", 60},
                                           {"h", 3600}, {"d", 86400}, {NULL, 0}};
static const struct unit ms_units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {NULL, 0}};

static int parse_bool(const char *raw, int64_t *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(raw, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(raw, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static bool in_choices(const char *choices, const char *value)
{
    size_t n = strlen(value);
    const char *p = choices;
    while (*p != '\0') {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return true;
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    return false;
}

static bool valid_hostname(const char *h, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '-' && c != '.')
            return false;
    }
    return h[0] != '-' && h[0] != '.';
}

static int parse_listen(const char *raw)
{
    const char *colon;
    char host[256];
    if (raw[0] == '[') {
        const char *close = strchr(raw, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - raw - 1) >= sizeof host)
            return -1;
        memcpy(host, raw + 1, (size_t)(close - raw - 1));
        host[close - raw - 1] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return -1;
        colon = close + 1;
    } else {
        colon = strchr(raw, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL)
            return -1;
        size_t len = (size_t)(colon - raw);
        if (len >= sizeof host || !valid_hostname(raw, len))
            return -1;
        memcpy(host, raw, len);
        host[len] = '\0';
        if (strspn(host, "0123456789.") == len) {
            struct in_addr a4;
            if (inet_pton(AF_INET, host, &a4) != 1)
                return -1;
        }
    }
    int64_t port;
    if (parse_with_unit(colon + 1, plain_units, &port) != 0 || port < 1 || port > 65535 ||
        !isdigit((unsigned char)colon[1]))
        return -1;
    return 0;
}

/* Returns a malloc'd copy of the URL without trailing '/', or NULL when
 * raw is not <scheme>://<something> with a scheme from choices. */
static char *parse_url(const char *raw, const char *choices)
{
    const char *sep = strstr(raw, "://");
    if (sep == NULL || sep == raw || sep[3] == '\0' || sep[3] == '/')
        return NULL;
    char scheme[32];
    size_t slen = (size_t)(sep - raw);
    if (slen >= sizeof scheme)
        return NULL;
    memcpy(scheme, raw, slen);
    scheme[slen] = '\0';
    if (!in_choices(choices, scheme))
        return NULL;
    for (const char *p = raw; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return NULL;
    char *copy = strdup(raw);
    if (copy == NULL)
        return NULL;
    size_t n = strlen(copy);
    while (n > (size_t)(sep - raw) + 3 && copy[n - 1] == '/')
        copy[--n] = '\0';
    return copy;
}

static char *resolve_path(const char *raw, const char *base_dir)
{
    if (raw[0] == '\0' || raw[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
        return strdup(raw);
    char *out = NULL;
    if (asprintf(&out, "%s/%s", base_dir, raw) < 0)
        return NULL;
    return out;
}

static char *number_text(int64_t n)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, n);
    return strdup(buf);
}

static int fail(const struct setting *s, struct error *err)
{
    char expected[256];
    setting_expectation(s, expected, sizeof expected);
    return error_set(err, ERR_CONFIG, "expected %s", expected);
}

int setting_parse(const struct setting *s, const char *raw, const char *base_dir, char **value,
                  int64_t *number, struct error *err)
{
    int64_t n = 0;
    char *text = NULL;
    const struct unit *units = plain_units;
    *value = NULL;
    *number = 0;
    switch (s->type) {
    case SETTING_STRING:
        text = strdup(raw);
        break;
    case SETTING_BOOL:
        if (parse_bool(raw, &n) != 0)
            return fail(s, err);
        text = strdup(n ? "true" : "false");
        break;
    case SETTING_ENUM:
        if (!in_choices(s->choices, raw))
            return fail(s, err);
        text = strdup(raw);
        break;
    case SETTING_BACKEND: {
        bool known = false;
        for (const char *const *k = registry_known_names(backend_kind_of(s)); *k != NULL; k++)
            known = known || strcmp(*k, raw) == 0;
        if (!known)
            return fail(s, err);
        text = strdup(raw);
        break;
    }
    case SETTING_BYTES:
    case SETTING_SECONDS:
    case SETTING_MILLISECONDS:
    case SETTING_INT:
        units = s->type == SETTING_BYTES          ? byte_units
                : s->type == SETTING_SECONDS      ? second_units
                : s->type == SETTING_MILLISECONDS ? ms_units
                                                  : plain_units;
        if (parse_with_unit(raw, units, &n) != 0 || n < s->min || n > s->max)
            return fail(s, err);
        text = number_text(n);
        break;
    case SETTING_PATH:
        text = resolve_path(raw, base_dir);
        break;
    case SETTING_LISTEN:
        if (parse_listen(raw) != 0)
            return fail(s, err);
        text = strdup(raw);
        break;
    case SETTING_URL:
        if (raw[0] == '\0') {
            text = strdup("");
        } else {
            text = parse_url(raw, s->choices);
            if (text == NULL)
                return fail(s, err);
        }
        break;
    case SETTING_INSTANT:
        if (raw[0] == '\0') {
            text = strdup("");
        } else {
            time_t t;
            char buf[32];
            if (clock_parse_iso8601(raw, &t) != 0)
                return fail(s, err);
            clock_format_iso8601(t, buf, sizeof buf);
            n = (int64_t)t;
            text = strdup(buf);
        }
        break;
    }
    if (text == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    *value = text;
    *number = n;
    return 0;
}

/* Optimal string alignment distance: Levenshtein plus adjacent swaps, the
 * commonest typo ("paht"). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const struct setting *setting_suggest(const char *name)
{
    const struct setting *best = NULL;
    size_t best_d = SIZE_MAX;
    char buf[128];
    const char *dot = strchr(name, '.');
    const char *key = dot ? dot + 1 : name;
    for (size_t i = 0; i < config_settings_count; i++) {
        const struct setting *s = &config_settings[i];
        setting_name(s, buf, sizeof buf);
        size_t d = edit_distance(name, buf);
        /* The right key in the wrong section is as likely a slip as a typo. */
        if (strcmp(key, s->key) == 0 && d > 1)
            d = 1;
        if (d < best_d) {
            best_d = d;
            best = s;
        }
    }
    size_t limit = strlen(name) / 5 + 1;
    if (limit > 3)
        limit = 3;
    return best_d <= limit ? best : NULL;
}

/* ---- the reference (docs/configuration.md) ---- */

static const char reference_intro[] =
    "# catalogd configuration reference\n"
    "\n"
    "<!-- Generated by `catalogd config reference` from the settings table in\n"
    "     src/config_settings.c; do not edit by hand. -->\n"
    "\n"
    "catalogd reads INI files: `[section]` headers, `key = value` lines, and\n"
    "comments on lines starting with `;` or `#`.  A value may be written in\n"
    "double quotes to keep spaces, `;` or `#`; text after a value is never a\n"
    "comment.  `mode` is the only key outside a section.\n"
    "\n"
    "## Where a value comes from\n"
    "\n"
    "Each setting takes the value of the highest-precedence source that sets\n"
    "it, lowest first:\n"
    "\n"
    "1. the built-in default (below);\n"
    "2. the profile of the mode, `profiles/<mode>.conf`;\n"
    "3. the config file given with `--config FILE`;\n"
    "4. the environment: `CATALOGD_MODE` and `CATALOGD__<SECTION>__<KEY>`\n"
    "   (upper case, double underscores), e.g. `CATALOGD__STORE__PATH`;\n"
    "5. the command line: `--set section.key=value` (repeatable).\n"
    "\n"
    "`catalogd config show` prints every effective value and where it came\n"
    "from (`default`, `profile express`, `file catalogd.conf:12`, `env`,\n"
    "`flag`); secrets such as the password in `store.url` are shown as `***`.\n"
    "`catalogd config check` validates without starting.\n"
    "\n"
    "## Modes and profiles\n"
    "\n"
    "`mode` (from any source above; the highest-precedence one wins) picks a\n"
    "profile, a named bundle of defaults that sits between the built-in\n"
    "defaults and the config file:\n"
    "\n"
    "- `express`: SQLite store, in-process memory cache; one box, no other\n"
    "  services.\n"
    "- `normal`: PostgreSQL store, PostgreSQL full-text search, Redis cache.\n"
    "- `giant`: PostgreSQL store, sharded Xapian search, Redis Cluster cache.\n"
    "\n"
    "A profile may not set `mode`.  Profiles are read from\n"
    "`<dir of the binary>/../share/catalogd/profiles`, or from the source\n"
    "tree's `profiles/` for a build that is not installed, never from the\n"
    "working directory.  Any backend can also be chosen on its own, e.g.\n"
    "`[cache] driver = redis` in express mode.\n"
    "\n"
    "## Validation\n"
    "\n"
    "An unknown section or key, or a bad value, stops start-up with one line\n"
    "naming the file and line (or the environment variable, or `--set`), the\n"
    "key, the value and what was expected, with a suggestion for a near-miss\n"
    "key.  A backend the product knows but this binary was built without is\n"
    "reported as not compiled in (`catalogd backends` lists what is).\n"
    "\n"
    "## Value types\n"
    "\n"
    "- **bytes**: a number of bytes, or with a binary unit: `512K`, `16M`,\n"
    "  `1G` (also `KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB`; all powers of 1024).\n"
    "- **seconds**: `30`, `30s`, `5m`, `1h`, `1d`.\n"
    "- **milliseconds**: `5000`, `5000ms`, `5s`, `1m`.\n"
    "- **boolean**: `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`.\n"
    "- **path**: relative paths resolve against the directory of the config\n"
    "  file that names them; from a profile, the environment, `--set` or the\n"
    "  default, against the working directory.\n"
    "- **listen address**: `host:port`, the host an IPv4 address, a name, or\n"
    "  an IPv6 address in brackets (`[::1]:8080`); port 1-65535.\n"
    "- **URL**: empty, or a URL with one of the schemes listed.\n"
    "- **instant**: empty, or ISO 8601 in UTC or with an offset\n"
    "  (`2025-03-01T00:00:00Z`, `2025-03-01T01:00:00+01:00`, `2025-03-01`).\n";

static void env_name(const struct setting *s, char *buf, size_t size)
{
    if (s->section[0] == '\0') {
        snprintf(buf, size, "CATALOGD_MODE");
        return;
    }
    size_t j = (size_t)snprintf(buf, size, "CATALOGD__");
    for (const char *p = s->section; *p && j + 1 < size; p++)
        buf[j++] = (char)toupper((unsigned char)*p);
    for (const char *p = "__"; *p && j + 1 < size; p++)
        buf[j++] = *p;
    for (const char *p = s->key; *p && j + 1 < size; p++)
        buf[j++] = (char)toupper((unsigned char)*p);
    buf[j] = '\0';
}

int config_write_reference(FILE *out)
{
    int bad = fputs(reference_intro, out) < 0;
    const char *section = NULL;
    for (size_t i = 0; i < config_settings_count && !bad; i++) {
        const struct setting *s = &config_settings[i];
        char name[128], env[128], expected[256];
        setting_name(s, name, sizeof name);
        env_name(s, env, sizeof env);
        setting_expectation(s, expected, sizeof expected);
        if (section == NULL || strcmp(section, s->section) != 0) {
            section = s->section;
            if (section[0] == '\0')
                bad |= fprintf(out, "\n## Top level\n") < 0;
            else
                bad |= fprintf(out, "\n## [%s]\n", section) < 0;
        }
        bad |= fprintf(out,
                       "\n### `%s`\n\n%s\n\n- Type: %s%s\n- Default: %s%s%s\n- Accepts: %s\n"
                       "- Environment: `%s`\n",
                       name, s->doc, setting_type_name(s->type), s->secret ? " (secret)" : "",
                       s->def[0] ? "`" : "", s->def[0] ? s->def : "(empty)", s->def[0] ? "`" : "",
                       expected, env) < 0;
    }
    if (fflush(out) != 0)
        bad = 1;
    return bad ? -1 : 0;
}

const char *setting_suggest_section(const char *section)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < config_settings_count; i++) {
        const char *sec = config_settings[i].section;
        size_t d = sec[0] ? edit_distance(section, sec) : SIZE_MAX;
        if (d < best_d) {
            best_d = d;
            best = sec;
        }
    }
    size_t limit = strlen(section) / 4 + 1;
    return best_d <= limit ? best : NULL;
}
