/*
 * test_config - the INI reader, every value type, precedence and origins,
 * validation messages, the shipped profiles and example config, and the
 * generated reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "config.h"
#include "config_settings.h"
#include "ini.h"
#include "registry.h"
#include "testutil.h"

static const char *source_dir(void)
{
    const char *src = getenv("CATALOGD_SOURCE_DIR");
    return src && *src ? src : ".";
}

static char *profiles_dir(void)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/profiles", source_dir()), 0);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Loads with the given sources; profile_dir NULL means the source tree's. */
static int load(const char *file, const char *const *sets, char *const *envp,
                const char *profile_dir, struct config **out, struct error *err)
{
    size_t n = 0;
    while (sets != NULL && sets[n] != NULL)
        n++;
    char *empty_env[] = {NULL};
    char *profiles = profiles_dir();
    struct config_sources s = {.file = file,
                               .sets = sets,
                               .n_sets = n,
                               .envp = envp ? envp : empty_env,
                               .profile_dir = profile_dir ? profile_dir : profiles};
    memset(err, 0, sizeof *err);
    int rc = config_load(&s, out, err);
    free(profiles);
    return rc;
}

/* ---- INI reader ---- */

struct recorded {
    char text[4096];
};

static int record(void *ctx, const char *section, const char *key, const char *value, unsigned line,
                  struct error *err)
{
    (void)err;
    struct recorded *r = ctx;
    size_t used = strlen(r->text);
    snprintf(r->text + used, sizeof r->text - used, "%u[%s]%s=%s|", line, section, key ? key : "",
             value ? value : "");
    return 0;
}

static const struct {
    const char *input;
    const char *want;
} ini_good[] = {
    {"", ""},
    {"; comment\n# comment\n\n   \n", ""},
    {"a=b", "1[]a=b|"},
    {"  a  =   b c  \n", "1[]a=b c|"},
    {"[s]\nk = v\n", "1[s]=|2[s]k=v|"},
    {"[ s ]\r\nk = v\r\n", "1[s]=|2[s]k=v|"},
    {"k = a ; not a comment", "1[]k=a ; not a comment|"},
    {"k = \"  spaced ; # \"", "1[]k=  spaced ; # |"},
    {"k = \"say \\\"hi\\\" \\\\\"", "1[]k=say \"hi\" \\|"},
    {"k =", "1[]k=|"},
    {"k = \"\"", "1[]k=|"},
    {"k = a=b", "1[]k=a=b|"},
    {"\n\n[x]\n; c\nk=1\n[y]\nk=2", "3[x]=|5[x]k=1|6[y]=|7[y]k=2|"},
    {"\xEF\xBB\xBFk=v", "1[]k=v|"},
};

START_TEST(ini_parses_good_input)
{
    struct recorded r = {""};
    struct error err = {0};
    ck_assert_msg(ini_parse_string("t.conf", ini_good[_i].input, record, &r, &err) == 0,
                  "input %d: %s", _i, err.message);
    ck_assert_str_eq(r.text, ini_good[_i].want);
}
END_TEST

static const struct {
    const char *input;
    const char *want; /* substring of the error */
} ini_bad[] = {
    {"k = v\nnot a setting\n", "t.conf:2: expected 'key = value'"},
    {"[unterminated\n", "t.conf:1: malformed section header"},
    {"[a] junk\n", "t.conf:1: malformed section header"},
    {"[]\n", "t.conf:1: empty section name"},
    {"\n\n = value\n", "t.conf:3: missing key"},
    {"k = \"open\n", "t.conf:1: k = \"open: unterminated quoted value"},
    {"k = \"a\" b\n", "t.conf:1: k = \"a\" b: unexpected text after the closing quote"},
};

START_TEST(ini_rejects_bad_input)
{
    struct recorded r = {""};
    struct error err = {0};
    ck_assert_int_eq(ini_parse_string("t.conf", ini_bad[_i].input, record, &r, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFIG);
    ck_assert_msg(strstr(err.message, ini_bad[_i].want) != NULL, "'%s' lacks '%s'", err.message,
                  ini_bad[_i].want);
}
END_TEST

struct long_line {
    size_t key_len;
    unsigned next_line;
};

static int record_long(void *ctx, const char *section, const char *key, const char *value,
                       unsigned line, struct error *err)
{
    (void)section;
    (void)err;
    struct long_line *r = ctx;
    if (key != NULL && strcmp(key, "key") == 0)
        r->key_len = strlen(value);
    if (key != NULL && strcmp(key, "next") == 0)
        r->next_line = line;
    return 0;
}

START_TEST(ini_long_lines)
{
    /* libinih cuts at 200 bytes; we must not. */
    size_t n = 5000;
    char *text = malloc(n + 64);
    strcpy(text, "[s]\nkey = ");
    size_t used = strlen(text);
    for (size_t i = 0; i < n; i++)
        text[used + i] = (char)('a' + i % 26);
    text[used + n] = '\0';
    strcat(text, "\nnext = 1\n");
    struct long_line r = {0, 0};
    struct error err = {0};
    ck_assert_int_eq(ini_parse_string("t.conf", text, record_long, &r, &err), 0);
    ck_assert_uint_eq(r.key_len, n);
    ck_assert_uint_eq(r.next_line, 3);
    free(text);
}
END_TEST

static int check_long_value(void *ctx, const char *section, const char *key, const char *value,
                            unsigned line, struct error *err)
{
    (void)section;
    (void)line;
    (void)err;
    if (key != NULL && strcmp(key, "key") == 0)
        *(size_t *)ctx = strlen(value);
    return 0;
}

START_TEST(ini_long_value_is_whole)
{
    char text[400];
    memset(text, 'x', sizeof text);
    memcpy(text, "key = ", 6);
    text[sizeof text - 1] = '\0';
    size_t len = 0;
    struct error err = {0};
    ck_assert_int_eq(ini_parse_string("t.conf", text, check_long_value, &len, &err), 0);
    ck_assert_uint_eq(len, sizeof text - 1 - 6);
}
END_TEST

static int refuse_b(void *ctx, const char *section, const char *key, const char *value,
                    unsigned line, struct error *err)
{
    (void)ctx;
    (void)section;
    (void)line;
    if (key != NULL && strcmp(key, "b") == 0)
        return error_set(err, ERR_CONFIG, "b = '%s': refused", value);
    return 0;
}

START_TEST(ini_handler_errors_get_location)
{
    struct error err = {0};
    ck_assert_int_eq(ini_parse_string("dir/t.conf", "a = 1\n\nb = 2\n", refuse_b, NULL, &err), -1);
    ck_assert_str_eq(err.message, "dir/t.conf:3: b = '2': refused");
}
END_TEST

START_TEST(ini_missing_file)
{
    struct error err = {0};
    ck_assert_int_eq(ini_parse_file("/nonexistent/x.conf", refuse_b, NULL, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/x.conf"));
}
END_TEST

/* ---- value types ---- */

static const struct {
    const char *set; /* "name=value" */
    const char *name;
    const char *value;    /* expected config_get, or NULL when the value is refused */
    long long number;     /* expected config_int */
    const char *expected; /* substring of the error when refused */
} types[] = {
    {"server.threads=8", "server.threads", "8", 8, NULL},
    {"server.threads=1", "server.threads", "1", 1, NULL},
    {"server.threads=1024", "server.threads", "1024", 1024, NULL},
    {"server.threads=0", "server.threads", "0", 0, NULL},
    {"server.threads=-1", "server.threads", NULL, 0, "expected an integer between 0 and 1024"},
    {"server.threads=1025", "server.threads", NULL, 0, "between 0 and 1024"},
    {"server.threads=lots", "server.threads", NULL, 0, "'lots': expected an integer"},
    {"server.threads=4x", "server.threads", NULL, 0, "expected an integer"},
    {"server.threads=", "server.threads", NULL, 0, "expected an integer"},
    {"server.threads=-3", "server.threads", NULL, 0, "expected an integer"},
    {"server.threads=99999999999999999999999", "server.threads", NULL, 0, "expected"},
    {"auth.allow_anonymous_writes=yes", "auth.allow_anonymous_writes", "true", 1, NULL},
    {"auth.allow_anonymous_writes=ON", "auth.allow_anonymous_writes", "true", 1, NULL},
    {"auth.allow_anonymous_writes=1", "auth.allow_anonymous_writes", "true", 1, NULL},
    {"auth.allow_anonymous_writes=true", "auth.allow_anonymous_writes", "true", 1, NULL},
    {"log.access=off", "log.access", "false", 0, NULL},
    {"log.access=no", "log.access", "false", 0, NULL},
    {"log.access=0", "log.access", "false", 0, NULL},
    {"log.access=False", "log.access", "false", 0, NULL},
    {"log.access=maybe", "log.access", NULL, 0, "expected a boolean"},
    {"log.level=debug", "log.level", "debug", 0, NULL},
    {"log.level=verbose", "log.level", NULL, 0, "expected one of debug|info|warn|error"},
    {"server.max_body_bytes=1048576", "server.max_body_bytes", "1048576", 1048576, NULL},
    {"server.max_body_bytes=512K", "server.max_body_bytes", "524288", 524288, NULL},
    {"server.max_body_bytes=2M", "server.max_body_bytes", "2097152", 2097152, NULL},
    {"server.max_body_bytes=1G", "server.max_body_bytes", "1073741824", 1073741824, NULL},
    {"server.max_body_bytes=64KiB", "server.max_body_bytes", "65536", 65536, NULL},
    {"server.max_body_bytes=3MiB", "server.max_body_bytes", "3145728", 3145728, NULL},
    {"cache.max_bytes=1GiB", "cache.max_bytes", "1073741824", 1073741824, NULL},
    {"server.max_body_bytes=2G", "server.max_body_bytes", NULL, 0, "between 1K and 1G"},
    {"server.max_body_bytes=512", "server.max_body_bytes", NULL, 0, "between 1K and 1G"},
    {"server.max_body_bytes=12X", "server.max_body_bytes", NULL, 0, "expected a size"},
    {"server.max_body_bytes=M", "server.max_body_bytes", NULL, 0, "expected a size"},
    {"server.connection_timeout=45", "server.connection_timeout", "45", 45, NULL},
    {"server.connection_timeout=45s", "server.connection_timeout", "45", 45, NULL},
    {"server.connection_timeout=5m", "server.connection_timeout", "300", 300, NULL},
    {"server.connection_timeout=1h", "server.connection_timeout", "3600", 3600, NULL},
    {"server.connection_timeout=2h", "server.connection_timeout", NULL, 0, "between 1s and 3600s"},
    {"server.connection_timeout=0", "server.connection_timeout", NULL, 0, "between 1s"},
    {"server.connection_timeout=5 minutes", "server.connection_timeout", NULL, 0, "duration"},
    {"server.drain_timeout=0", "server.drain_timeout", "0", 0, NULL},
    {"store.busy_timeout=250", "store.busy_timeout", "250", 250, NULL},
    {"store.busy_timeout=250ms", "store.busy_timeout", "250", 250, NULL},
    {"store.busy_timeout=5s", "store.busy_timeout", "5000", 5000, NULL},
    {"store.busy_timeout=1m", "store.busy_timeout", "60000", 60000, NULL},
    {"store.busy_timeout=11m", "store.busy_timeout", NULL, 0, "between 0ms and 600000ms"},
    {"server.listen=0.0.0.0:80", "server.listen", "0.0.0.0:80", 0, NULL},
    {"server.listen=localhost:65535", "server.listen", "localhost:65535", 0, NULL},
    {"server.listen=[::1]:8080", "server.listen", "[::1]:8080", 0, NULL},
    {"server.listen=[::]:1", "server.listen", "[::]:1", 0, NULL},
    {"server.listen=localhost", "server.listen", NULL, 0, "expected host:port"},
    {"server.listen=:8080", "server.listen", NULL, 0, "expected host:port"},
    {"server.listen=host:0", "server.listen", NULL, 0, "port between 1 and 65535"},
    {"server.listen=host:65536", "server.listen", NULL, 0, "port between 1 and 65535"},
    {"server.listen=host:http", "server.listen", NULL, 0, "expected host:port"},
    {"server.listen=999.1.1.1:80", "server.listen", NULL, 0, "expected host:port"},
    {"server.listen=::1:80", "server.listen", NULL, 0, "expected host:port"},
    {"server.listen=[zz::1]:80", "server.listen", NULL, 0, "expected host:port"},
    {"server.listen=bad_host!:80", "server.listen", NULL, 0, "expected host:port"},
    {"server.public_url=https://courses.example.org/", "server.public_url",
     "https://courses.example.org", 0, NULL},
    {"server.public_url=http://h:8080/base//", "server.public_url", "http://h:8080/base", 0, NULL},
    {"server.public_url=ftp://h", "server.public_url", NULL, 0, "http:// or https://"},
    {"server.public_url=courses.example.org", "server.public_url", NULL, 0, "http://"},
    {"server.public_url=http://", "server.public_url", NULL, 0, "http://"},
    {"server.public_url=http://a b", "server.public_url", NULL, 0, "http://"},
    {"store.url=postgres://u:p@db/catalog", "store.url", "postgres://u:p@db/catalog", 0, NULL},
    {"store.url=http://db", "store.url", NULL, 0, "postgres:// or postgresql://"},
    {"clock.now=2025-03-01T00:00:00Z", "clock.now", "2025-03-01T00:00:00Z", 1740787200, NULL},
    {"clock.now=2025-03-01T01:00:00.5+01:00", "clock.now", "2025-03-01T00:00:00Z", 1740787200,
     NULL},
    {"clock.now=2025-03-01", "clock.now", "2025-03-01T00:00:00Z", 1740787200, NULL},
    {"clock.now=next week", "clock.now", NULL, 0, "ISO 8601"},
    {"clock.now=2025-02-30", "clock.now", NULL, 0, "ISO 8601"},
    {"search.driver=none", "search.driver", "none", 0, NULL},
    {"cache.driver=none", "cache.driver", "none", 0, NULL},
    {"store.driver=mysql", "store.driver", NULL, 0, "expected one of sqlite|postgres"},
    {"search.driver=lucene", "search.driver", NULL, 0, "expected one of fts5|pgfts|xapian|none"},
    {"cache.driver=memcached", "cache.driver", NULL, 0,
     "expected one of memory|redis|redis-cluster|none"},
    {"mode=express", "mode", "express", 0, NULL},
    {"mode=huge", "mode", NULL, 0, "expected one of express|normal|giant"},
    {"api.page_size_default=50", "api.page_size_default", "50", 50, NULL},
    {"api.page_size_default=600", "api.page_size_default", NULL, 0,
     "expected at most api.page_size_max"},
    {"log.file=", "log.file", "", 0, NULL},
};

START_TEST(value_types)
{
    const char *sets[] = {types[_i].set, NULL};
    struct config *c = NULL;
    struct error err;
    int rc = load(NULL, sets, NULL, NULL, &c, &err);
    if (types[_i].value == NULL) {
        ck_assert_msg(rc == -1, "'%s' accepted", types[_i].set);
        ck_assert_ptr_null(c);
        ck_assert_int_eq(err.code, ERR_CONFIG);
        ck_assert_msg(strstr(err.message, types[_i].expected) != NULL, "'%s' lacks '%s'",
                      err.message, types[_i].expected);
        ck_assert_msg(strstr(err.message, types[_i].name) != NULL, "'%s' lacks the name",
                      err.message);
        ck_assert_msg(strchr(err.message, '\n') == NULL, "not one line: %s", err.message);
        return;
    }
    ck_assert_msg(rc == 0, "'%s' refused: %s", types[_i].set, err.message);
    ck_assert_str_eq(config_get(c, types[_i].name), types[_i].value);
    ck_assert_int_eq(config_int(c, types[_i].name), types[_i].number);
    ck_assert_str_eq(config_origin(c, types[_i].name), "flag");
    config_free(c);
}
END_TEST

START_TEST(defaults)
{
    struct config *c = test_config(NULL);
    ck_assert_str_eq(config_get(c, "mode"), "express");
    ck_assert_str_eq(config_get(c, "server.listen"), "127.0.0.1:8080");
    ck_assert_str_eq(config_get(c, "server.public_url"), "http://127.0.0.1:8080");
    /* 0: one worker per online core; an explicit count is kept. */
    ck_assert_int_eq(config_int(c, "server.threads"), 0);
    ck_assert_int_eq(config_server_threads(c), sysconf(_SC_NPROCESSORS_ONLN));
    const char *eight[] = {"server.threads=8", NULL};
    struct config *c8 = test_config(eight);
    ck_assert_int_eq(config_server_threads(c8), 8);
    config_free(c8);
    ck_assert_int_eq(config_int(c, "server.max_body_bytes"), 1048576);
    ck_assert_int_eq(config_int(c, "server.connection_timeout"), 30);
    ck_assert_int_eq(config_int(c, "server.max_connections"), 1024);
    ck_assert_int_eq(config_int(c, "server.drain_timeout"), 10);
    ck_assert_int_eq(config_int(c, "api.page_size_default"), 20);
    ck_assert_int_eq(config_int(c, "api.page_size_max"), 500);
    ck_assert_str_eq(config_get(c, "store.driver"), "sqlite");
    ck_assert_str_eq(config_get(c, "store.path"), "catalogd.db");
    ck_assert_int_eq(config_int(c, "store.busy_timeout"), 5000);
    ck_assert_str_eq(config_get(c, "store.url"), "");
    /* The express profile sets search; the built-in default is none. */
    ck_assert_str_eq(config_get(c, "search.driver"), "fts5");
    ck_assert_str_eq(config_origin(c, "search.driver"), "profile express");
    ck_assert_str_eq(config_get(c, "cache.driver"), "memory");
    ck_assert_int_eq(config_int(c, "cache.max_bytes"), 16 * 1024 * 1024);
    ck_assert_int_eq(config_int(c, "cache.ttl"), 60);
    ck_assert(!config_bool(c, "auth.allow_anonymous_writes"));
    ck_assert_str_eq(config_get(c, "log.level"), "info");
    ck_assert_str_eq(config_get(c, "log.file"), "");
    ck_assert(config_bool(c, "log.access"));
    ck_assert_str_eq(config_get(c, "clock.now"), "");
    ck_assert_str_eq(config_origin(c, "server.threads"), "default");
    ck_assert_str_eq(config_origin(c, "store.driver"), "profile express");
    config_free(c);
}
END_TEST

START_TEST(public_url_follows_listen)
{
    const char *sets[] = {"server.listen=[::1]:9000", NULL};
    struct config *c = test_config(sets);
    ck_assert_str_eq(config_get(c, "server.public_url"), "http://[::1]:9000");
    config_free(c);
}
END_TEST

/* ---- precedence ---- */

START_TEST(precedence_and_origins)
{
    char *dir = test_tmpdir();
    char path[4200], conf[4200];
    snprintf(path, sizeof path, "%s/express.conf", dir);
    write_file(path, "[server]\nthreads = 5\nmax_connections = 50\ndrain_timeout = 3\n"
                     "[log]\nlevel = warn\n");
    snprintf(conf, sizeof conf, "%s/site.conf", dir);
    write_file(conf, "; site\n[server]\nthreads = 6\nmax_connections = 60\n[log]\nlevel = error\n"
                     "[api]\npage_size_max = 100\n");
    char *env[] = {"CATALOGD__SERVER__THREADS=7", "CATALOGD__LOG__LEVEL=debug", "HOME=/x",
                   "CATALOGD_SOURCE_DIR=/ignored", NULL};
    const char *sets[] = {"server.threads=8", "server.threads=9", NULL};
    struct config *c = NULL;
    struct error err;
    ck_assert_msg(load(conf, sets, env, dir, &c, &err) == 0, "%s", err.message);

    ck_assert_int_eq(config_int(c, "server.threads"), 9); /* last --set wins */
    ck_assert_str_eq(config_origin(c, "server.threads"), "flag");
    ck_assert_str_eq(config_get(c, "log.level"), "debug");
    ck_assert_str_eq(config_origin(c, "log.level"), "env");
    ck_assert_int_eq(config_int(c, "server.max_connections"), 60);
    ck_assert_str_eq(config_origin(c, "server.max_connections"), "file site.conf:4");
    ck_assert_int_eq(config_int(c, "api.page_size_max"), 100);
    ck_assert_str_eq(config_origin(c, "api.page_size_max"), "file site.conf:8");
    ck_assert_int_eq(config_int(c, "server.drain_timeout"), 3);
    ck_assert_str_eq(config_origin(c, "server.drain_timeout"), "profile express");
    ck_assert_int_eq(config_int(c, "cache.ttl"), 60);
    ck_assert_str_eq(config_origin(c, "cache.ttl"), "default");
    config_free(c);

    /* Without the flags, env wins; without env, the file. */
    ck_assert_int_eq(load(conf, NULL, env, dir, &c, &err), 0);
    ck_assert_int_eq(config_int(c, "server.threads"), 7);
    ck_assert_str_eq(config_origin(c, "server.threads"), "env");
    config_free(c);
    ck_assert_int_eq(load(conf, NULL, NULL, dir, &c, &err), 0);
    ck_assert_int_eq(config_int(c, "server.threads"), 6);
    ck_assert_str_eq(config_origin(c, "server.threads"), "file site.conf:3");
    config_free(c);
    ck_assert_int_eq(load(NULL, NULL, NULL, dir, &c, &err), 0);
    ck_assert_int_eq(config_int(c, "server.threads"), 5);
    ck_assert_str_eq(config_origin(c, "server.threads"), "profile express");
    config_free(c);
    free(dir);
}
END_TEST

/* Overrides for the backends a profile names but this build lacks. */
static size_t add_missing_backend_overrides(const char **sets, size_t n)
{
    if (!registry_compiled_in(BACKEND_STORE, "postgres"))
        sets[n++] = "store.driver=sqlite";
    if (!registry_compiled_in(BACKEND_SEARCH, "pgfts") ||
        !registry_compiled_in(BACKEND_SEARCH, "xapian"))
        sets[n++] = "search.driver=none";
    if (!registry_compiled_in(BACKEND_CACHE, "redis") ||
        !registry_compiled_in(BACKEND_CACHE, "redis-cluster"))
        sets[n++] = "cache.driver=memory";
    sets[n] = NULL;
    return n;
}

START_TEST(mode_picks_profile)
{
    const char *sets[8];
    struct config *c = NULL;
    struct error err;

    /* From the environment. */
    char *env[] = {"CATALOGD_MODE=normal", NULL};
    add_missing_backend_overrides(sets, 0);
    ck_assert_msg(load(NULL, sets, env, NULL, &c, &err) == 0, "%s", err.message);
    ck_assert_str_eq(config_get(c, "mode"), "normal");
    ck_assert_str_eq(config_origin(c, "mode"), "env");
    ck_assert_int_eq(config_int(c, "server.threads"), 8);
    ck_assert_str_eq(config_origin(c, "server.threads"), "profile normal");
    config_free(c);

    /* A flag beats the environment, and its profile is the one read. */
    sets[0] = "mode=giant";
    add_missing_backend_overrides(sets, 1);
    ck_assert_msg(load(NULL, sets, env, NULL, &c, &err) == 0, "%s", err.message);
    ck_assert_str_eq(config_get(c, "mode"), "giant");
    ck_assert_str_eq(config_origin(c, "mode"), "flag");
    ck_assert_int_eq(config_int(c, "server.threads"), 16);
    ck_assert_str_eq(config_origin(c, "server.threads"), "profile giant");
    config_free(c);

    /* From the config file. */
    char *dir = test_tmpdir();
    char conf[4200];
    snprintf(conf, sizeof conf, "%s/c.conf", dir);
    write_file(conf, "mode = giant\n[server]\nthreads = 3\n");
    add_missing_backend_overrides(sets, 0);
    ck_assert_msg(load(conf, sets, NULL, NULL, &c, &err) == 0, "%s", err.message);
    ck_assert_str_eq(config_get(c, "mode"), "giant");
    ck_assert_str_eq(config_origin(c, "mode"), "file c.conf:1");
    ck_assert_int_eq(config_int(c, "server.max_connections"), 4096);
    ck_assert_str_eq(config_origin(c, "server.max_connections"), "profile giant");
    ck_assert_int_eq(config_int(c, "server.threads"), 3);
    config_free(c);
    free(dir);
}
END_TEST

START_TEST(every_profile_loads)
{
    static const char *const modes[] = {"express", "normal", "giant"};
    /* A setting each profile sets and the built-in defaults do not decide. */
    static const char *const probes[] = {"cache.max_bytes", "server.threads",
                                         "server.max_connections"};
    for (size_t i = 0; i < 3; i++) {
        char mode[32];
        snprintf(mode, sizeof mode, "mode=%s", modes[i]);
        const char *sets[8] = {mode};
        add_missing_backend_overrides(sets, 1);
        struct config *c = NULL;
        struct error err;
        ck_assert_msg(load(NULL, sets, NULL, NULL, &c, &err) == 0, "%s: %s", modes[i], err.message);
        char want[64];
        snprintf(want, sizeof want, "profile %s", modes[i]);
        ck_assert_str_eq(config_origin(c, probes[i]), want);
        config_free(c);
    }
}
END_TEST

START_TEST(backend_not_compiled_in)
{
    /* The normal profile names postgres, pgfts and redis. */
    const char *sets[] = {"mode=normal", NULL};
    struct config *c = NULL;
    struct error err;
    int rc = load(NULL, sets, NULL, NULL, &c, &err);
    if (registry_compiled_in(BACKEND_STORE, "postgres") &&
        registry_compiled_in(BACKEND_SEARCH, "pgfts") &&
        registry_compiled_in(BACKEND_CACHE, "redis")) {
        ck_assert_int_eq(rc, 0);
        config_free(c);
    } else {
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(err.code, ERR_CONFIG);
        ck_assert_ptr_nonnull(strstr(err.message, "not compiled into this binary (compiled in: "));
        ck_assert_ptr_nonnull(strstr(err.message, "normal.conf:"));
    }
    if (!registry_compiled_in(BACKEND_STORE, "postgres")) {
        const char *flag[] = {"store.driver=postgres", NULL};
        ck_assert_int_eq(load(NULL, flag, NULL, NULL, &c, &err), -1);
        ck_assert_str_eq(err.message, "--set: store.driver = 'postgres': not compiled into this "
                                      "binary (compiled in: sqlite)");
    }
}
END_TEST

/* ---- validation messages ---- */

START_TEST(unknown_key_did_you_mean)
{
    char *dir = test_tmpdir();
    char conf[4200];
    snprintf(conf, sizeof conf, "%s/catalogd.conf", dir);
    write_file(conf, "[store]\ndriver = sqlite\npaht = x.db\n");
    struct config *c = NULL;
    struct error err;
    ck_assert_int_eq(load(conf, NULL, NULL, NULL, &c, &err), -1);
    ck_assert_int_eq(err.code, ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "catalogd.conf:3: store.paht = 'x.db'"));
    ck_assert_ptr_nonnull(strstr(err.message, "did you mean 'store.path'?"));

    /* The right key in the wrong section. */
    write_file(conf, "[server]\npage_size_max = 10\n");
    ck_assert_int_eq(load(conf, NULL, NULL, NULL, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "did you mean 'api.page_size_max'?"));

    /* Nothing near: no suggestion. */
    write_file(conf, "[server]\nzzzzzzzz = 10\n");
    ck_assert_int_eq(load(conf, NULL, NULL, NULL, &c, &err), -1);
    ck_assert_ptr_null(strstr(err.message, "did you mean"));
    ck_assert_ptr_nonnull(strstr(err.message, "unknown setting"));

    write_file(conf, "\n[stroe]\npath = x\n");
    ck_assert_int_eq(load(conf, NULL, NULL, NULL, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "catalogd.conf:2: unknown section [stroe]"));
    ck_assert_ptr_nonnull(strstr(err.message, "did you mean [store]?"));

    /* Only mode lives outside a section. */
    write_file(conf, "threads = 4\n");
    ck_assert_int_eq(load(conf, NULL, NULL, NULL, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "catalogd.conf:1: threads = '4': unknown setting"));

    write_file(conf, "[server]\nthreads = lots\n");
    ck_assert_int_eq(load(conf, NULL, NULL, NULL, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "catalogd.conf:2: server.threads = 'lots': "
                                              "expected an integer between 0 and 1024"));

    char *env[] = {"CATALOGD__STORE__PAHT=x", NULL};
    ck_assert_int_eq(load(NULL, NULL, env, NULL, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "CATALOGD__STORE__PAHT"));
    ck_assert_ptr_nonnull(strstr(err.message, "did you mean 'store.path'?"));

    const char *sets[] = {"sever.threads=2", NULL};
    ck_assert_int_eq(load(NULL, sets, NULL, NULL, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "--set: sever.threads = '2'"));
    ck_assert_ptr_nonnull(strstr(err.message, "did you mean 'server.threads'?"));

    const char *noeq[] = {"server.threads", NULL};
    ck_assert_int_eq(load(NULL, noeq, NULL, NULL, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "expected section.key=value"));

    ck_assert_int_eq(load("/nonexistent/catalogd.conf", NULL, NULL, NULL, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/catalogd.conf"));
    free(dir);
}
END_TEST

START_TEST(profile_errors)
{
    char *dir = test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/express.conf", dir);
    write_file(path, "mode = giant\n");
    struct config *c = NULL;
    struct error err;
    ck_assert_int_eq(load(NULL, NULL, NULL, dir, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "express.conf:1"));
    ck_assert_ptr_nonnull(strstr(err.message, "may not set mode"));

    const char *sets[] = {"mode=normal", NULL};
    ck_assert_int_eq(load(NULL, sets, NULL, dir, &c, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.message, "profile 'normal' not found"));
    free(dir);
}
END_TEST

START_TEST(relative_paths)
{
    char *dir = test_tmpdir();
    char sub[4200], conf[4300], want[4400];
    snprintf(sub, sizeof sub, "%s/etc", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    snprintf(conf, sizeof conf, "%s/catalogd.conf", sub);
    write_file(conf, "[store]\npath = data/catalog.db\n[log]\nfile = /var/log/c.log\n");
    struct config *c = NULL;
    struct error err;
    ck_assert_msg(load(conf, NULL, NULL, NULL, &c, &err) == 0, "%s", err.message);
    snprintf(want, sizeof want, "%s/data/catalog.db", sub);
    ck_assert_str_eq(config_get(c, "store.path"), want);
    ck_assert_str_eq(config_get(c, "log.file"), "/var/log/c.log");
    config_free(c);

    /* From a flag or the environment: relative to the working directory. */
    const char *sets[] = {"log.file=logs/x.log", NULL};
    char *env[] = {"CATALOGD__STORE__PATH=rel.db", NULL};
    ck_assert_int_eq(load(conf, sets, env, NULL, &c, &err), 0);
    ck_assert_str_eq(config_get(c, "store.path"), "rel.db");
    ck_assert_str_eq(config_get(c, "log.file"), "logs/x.log");
    config_free(c);
    free(dir);
}
END_TEST

START_TEST(quoted_values_in_file)
{
    char *dir = test_tmpdir();
    char conf[4200];
    snprintf(conf, sizeof conf, "%s/q.conf", dir);
    write_file(conf, "[store]\npath = \"my catalog;1.db\"\n");
    struct config *c = NULL;
    struct error err;
    ck_assert_msg(load(conf, NULL, NULL, NULL, &c, &err) == 0, "%s", err.message);
    char want[4300];
    snprintf(want, sizeof want, "%s/my catalog;1.db", dir);
    ck_assert_str_eq(config_get(c, "store.path"), want);
    config_free(c);
    free(dir);
}
END_TEST

/* ---- shipped files ---- */

START_TEST(example_config_loads_and_documents_every_key)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config/catalogd.conf", source_dir());
    struct config *c = NULL;
    struct error err;
    ck_assert_msg(load(path, NULL, NULL, NULL, &c, &err) == 0, "%s", err.message);
    config_free(c);

    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    /* Every key appears (commented or not) after its own section header. */
    static const char *const keys[][2] = {
        {"", "mode"},
        {"server", "listen"},
        {"server", "public_url"},
        {"server", "threads"},
        {"server", "max_body_bytes"},
        {"server", "connection_timeout"},
        {"server", "max_connections"},
        {"server", "drain_timeout"},
        {"api", "page_size_default"},
        {"api", "page_size_max"},
        {"store", "driver"},
        {"store", "path"},
        {"store", "busy_timeout"},
        {"store", "url"},
        {"search", "driver"},
        {"cache", "driver"},
        {"cache", "max_bytes"},
        {"cache", "ttl"},
        {"auth", "allow_anonymous_writes"},
        {"log", "level"},
        {"log", "file"},
        {"log", "access"},
        {"clock", "now"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char header[64], line[96];
        snprintf(header, sizeof header, "\n[%s]\n", keys[i][0]);
        const char *from = keys[i][0][0] ? strstr(text, header) : text;
        ck_assert_msg(from != NULL, "no [%s] in the example", keys[i][0]);
        snprintf(line, sizeof line, "\n;%s =", keys[i][1]);
        const char *at = strstr(from, line);
        if (at == NULL) {
            snprintf(line, sizeof line, "\n%s =", keys[i][1]);
            at = strstr(from, line);
        }
        ck_assert_msg(at != NULL, "%s.%s not documented in the example", keys[i][0], keys[i][1]);
    }
}
END_TEST

START_TEST(show_masks_secrets_and_aligns)
{
    const char *sets[] = {"store.url=postgres://cat:s3cret@db.example/catalog", NULL};
    struct config *c = test_config(sets);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_int_eq(config_show(c, out), 0);
    fclose(out);
    ck_assert_ptr_null(strstr(buf, "s3cret"));
    ck_assert_ptr_nonnull(strstr(buf, "store.url = postgres://cat:***@db.example/catalog"));
    ck_assert_ptr_nonnull(strstr(buf, "# flag\n"));
    ck_assert_ptr_nonnull(strstr(buf, "server.threads = 0 "));
    /* One line per setting, every origin in the same column. */
    int lines = 0;
    long column = -1;
    for (char *line = buf; *line; lines++) {
        char *hash = strstr(line, "    # ");
        ck_assert_ptr_nonnull(hash);
        if (column < 0)
            column = hash - line;
        ck_assert_int_eq(hash - line, column);
        line = strchr(line, '\n') + 1;
    }
    ck_assert_int_eq(lines, (int)config_settings_count);
    free(buf);
    config_free(c);
}
END_TEST

START_TEST(reference_matches_docs)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_int_eq(config_write_reference(out), 0);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(buf, "### `store.path`"));
    ck_assert_ptr_nonnull(strstr(buf, "`CATALOGD__STORE__PATH`"));
    ck_assert_ptr_nonnull(strstr(buf, "`CATALOGD_MODE`"));

    char path[4200];
    snprintf(path, sizeof path, "%s/docs/configuration.md", source_dir());
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *doc = malloc(len + 2);
    size_t n = fread(doc, 1, len + 1, f);
    fclose(f);
    ck_assert_msg(n == len && memcmp(doc, buf, len) == 0,
                  "docs/configuration.md is out of date: regenerate it");
    free(doc);
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *ini = tcase_create("ini");
    tcase_add_loop_test(ini, ini_parses_good_input, 0, (int)(sizeof ini_good / sizeof ini_good[0]));
    tcase_add_loop_test(ini, ini_rejects_bad_input, 0, (int)(sizeof ini_bad / sizeof ini_bad[0]));
    tcase_add_test(ini, ini_long_lines);
    tcase_add_test(ini, ini_long_value_is_whole);
    tcase_add_test(ini, ini_handler_errors_get_location);
    tcase_add_test(ini, ini_missing_file);
    suite_add_tcase(s, ini);

    TCase *tc = tcase_create("config");
    tcase_add_loop_test(tc, value_types, 0, (int)(sizeof types / sizeof types[0]));
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, public_url_follows_listen);
    tcase_add_test(tc, precedence_and_origins);
    tcase_add_test(tc, mode_picks_profile);
    tcase_add_test(tc, every_profile_loads);
    tcase_add_test(tc, backend_not_compiled_in);
    tcase_add_test(tc, unknown_key_did_you_mean);
    tcase_add_test(tc, profile_errors);
    tcase_add_test(tc, relative_paths);
    tcase_add_test(tc, quoted_values_in_file);
    tcase_add_test(tc, example_config_loads_and_documents_every_key);
    tcase_add_test(tc, show_masks_secrets_and_aligns);
    tcase_add_test(tc, reference_matches_docs);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
