/*
 * postgres - the normal/giant store: the sql.h connection interface over
 * libpq and store_postgres_driver, whose operations are all sql_store.c's.
 *
 * Each thread gets its own connection (sql_store.c opens them lazily).
 * Every query is a server-side prepared statement (PQprepare once per
 * connection, kept in sql_store.c's cache); parameters travel separately
 * from the SQL text, as text, their types inferred by the server.
 *
 * Failures: a server that is down or unreachable is ERR_UNAVAILABLE within
 * the connect and statement timeouts, never a crash.  A broken connection
 * is re-established on the next call (PQreset); statements prepared on the
 * old one are prepared again when next run.  A connection lost inside a
 * transaction refuses every statement until the caller rolls back, so
 * later writes never run outside the transaction they were meant for.
 *
 * The URL may carry one catalogd parameter, stripped before libpq sees
 * it: schema=NAME keeps the catalog in that schema (created when absent);
 * schema=@path derives the name from store.path, so that many test
 * catalogs can share one server.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"

/* The advisory lock key (first half) that serialises migrations. */
#define MIGRATE_LOCK_CLASS 0x63617431 /* "cat1" */

struct pg_ctx {
    char *url;          /* the URL without catalogd's own parameters */
    char *password;     /* from store.password_file, or NULL */
    char *options;      /* libpq "options": search_path, timeouts */
    char *schema;       /* quoted identifier, or NULL for the default */
    char timeout_s[24]; /* connect_timeout */
    char user_timeout_ms[24];
};

struct pg_conn {
    struct sql_conn base;
    PGconn *pg;
    unsigned epoch;  /* bumped by each reconnect: older statements re-prepare */
    unsigned serial; /* names prepared statements */
    bool in_txn;     /* the server last said a transaction was open */
    bool poisoned;   /* lost inside a transaction: only ROLLBACK is accepted */
};

struct pg_stmt {
    struct pg_conn *c;
    char name[24];
    char *sql; /* with $n placeholders */
    int nparams;
    char **vals; /* nparams copies, NULL for null */
    unsigned epoch;
    bool prepared;
    PGresult *res;
    int row, nrows;
};

static struct pg_conn *PC(struct sql_conn *c)
{
    return (struct pg_conn *)c;
}

static struct pg_stmt *PS(struct sql_stmt *s)
{
    return (struct pg_stmt *)s;
}

/* ------------------------------------------------------------- errors */

static bool starts_with(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static enum error_code code_of(const char *state)
{
    if (state == NULL)
        return ERR_INTERNAL;
    /* Integrity violations the store's own checks did not catch (a race
     * with another writer): as SQLite's SQLITE_CONSTRAINT. */
    if (starts_with(state, "23"))
        return ERR_CONFLICT;
    /* Retryable: serialization failure, deadlock, lock or statement
     * timeout, connection trouble, server shutting down or overloaded. */
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
        strcmp(state, "57014") == 0 || starts_with(state, "08") || starts_with(state, "53") ||
        starts_with(state, "57P"))
        return ERR_UNAVAILABLE;
    if (starts_with(state, "22"))
        return ERR_INVALID;
    return ERR_INTERNAL;
}

/* One line of libpq's message, without its trailing newline. */
static void copy_line(char *dst, size_t size, const char *msg)
{
    snprintf(dst, size, "%s", msg != NULL && *msg ? msg : "unknown error");
    dst[strcspn(dst, "\n")] = '\0';
}

/* Maps a failed result (res may be NULL) and notes a lost connection. */
static int map_result(struct pg_conn *c, const PGresult *res, struct error *err)
{
    char msg[400];
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    copy_line(msg, sizeof msg, primary ? primary : PQerrorMessage(c->pg));
    enum error_code code = PQstatus(c->pg) == CONNECTION_BAD
                               ? ERR_UNAVAILABLE
                               : code_of(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL);
    return error_set(err, code, "postgres: %s", msg);
}

static void note_status(struct pg_conn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(c->pg);
    /* UNKNOWN means the connection is gone: keep what we knew before. */
    if (t != PQTRANS_UNKNOWN)
        c->in_txn = t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* Makes the connection usable: reconnects a broken one.  A connection lost
 * inside a transaction stays refused (poisoned) until ROLLBACK. */
static int live(struct pg_conn *c, struct error *err)
{
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        PQreset(c->pg);
        if (PQstatus(c->pg) != CONNECTION_OK) {
            char msg[400];
            copy_line(msg, sizeof msg, PQerrorMessage(c->pg));
            return error_set(err, ERR_UNAVAILABLE, "postgres: cannot reconnect: %s", msg);
        }
        c->epoch++;
        if (c->in_txn)
            c->poisoned = true;
        c->in_txn = false;
    }
    if (c->poisoned)
        return error_set(err, ERR_UNAVAILABLE,
                         "postgres: the connection was lost inside a transaction;"
                         " it must be rolled back");
    return 0;
}

/* --------------------------------------------------------- connections */

/* Runs one command whose failure the caller handles; returns the result
 * (caller clears) or NULL with err set. */
static PGresult *command(struct pg_conn *c, const char *sql, struct error *err)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType s = PQresultStatus(res);
    note_status(c);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY)
        return res;
    map_result(c, res, err);
    PQclear(res);
    return NULL;
}

/* Catalog order is byte order (as SQLite's): keys page and sort the same
 * in both stores only when the database collates bytewise. */
static int check_database(struct pg_conn *c, struct error *err)
{
    PGresult *res = command(c,
                            "SELECT datcollate, pg_encoding_to_char(encoding),"
                            " COALESCE(to_jsonb(d)->>'datlocprovider', 'c') FROM pg_database d"
                            " WHERE datname = current_database()",
                            err);
    if (res == NULL)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 1) {
        const char *coll = PQgetvalue(res, 0, 0);
        const char *enc = PQgetvalue(res, 0, 1);
        /* An ICU database (PostgreSQL 15+) collates by ICU whatever
         * datcollate says. */
        bool libc = strcmp(PQgetvalue(res, 0, 2), "c") == 0;
        bool bytewise = libc && (strcmp(coll, "C") == 0 || strcmp(coll, "POSIX") == 0 ||
                                 strcmp(coll, "C.UTF-8") == 0 || strcmp(coll, "C.utf8") == 0);
        if (!bytewise || strcmp(enc, "UTF8") != 0)
            rc = error_set_field(err, ERR_CONFIG, "store.url",
                                 "database %s has collation %s%s and encoding %s; catalogd needs"
                                 " C collation and UTF8 (CREATE DATABASE ... TEMPLATE template0"
                                 " ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C')",
                                 PQdb(c->pg), coll, libc ? "" : " (ICU)", enc);
    }
    PQclear(res);
    return rc;
}

static int pg_connect(void *ctxp, struct sql_conn **out, struct error *err)
{
    const struct pg_ctx *ctx = ctxp;
    struct pg_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    const char *keys[12], *vals[12];
    int n = 0;
    keys[n] = "dbname", vals[n++] = ctx->url;
    keys[n] = "connect_timeout", vals[n++] = ctx->timeout_s;
    keys[n] = "tcp_user_timeout", vals[n++] = ctx->user_timeout_ms;
    keys[n] = "keepalives", vals[n++] = "1";
    keys[n] = "keepalives_idle", vals[n++] = "10";
    keys[n] = "client_encoding", vals[n++] = "UTF8";
    keys[n] = "application_name", vals[n++] = "catalogd";
    keys[n] = "options", vals[n++] = ctx->options;
    if (ctx->password != NULL)
        keys[n] = "password", vals[n++] = ctx->password;
    keys[n] = NULL, vals[n] = NULL;
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (c->pg == NULL) {
        free(c);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char msg[400];
        copy_line(msg, sizeof msg, PQerrorMessage(c->pg));
        error_set(err, ERR_UNAVAILABLE, "postgres: cannot connect: %s", msg);
        PQfinish(c->pg);
        free(c);
        return -1;
    }
    int rc = check_database(c, err);
    if (rc == 0 && ctx->schema != NULL) {
        /* The search_path (in options) names it; CREATE races with another
         * connection doing the same are harmless. */
        char sql[300];
        snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", ctx->schema);
        PGresult *res = command(c, sql, err);
        if (res == NULL && err->code == ERR_CONFLICT) {
            error_clear(err);
            res = command(c, "SELECT 1", err);
        }
        rc = res == NULL ? -1 : 0;
        PQclear(res);
    }
    if (rc != 0) {
        PQfinish(c->pg);
        free(c);
        return -1;
    }
    *out = &c->base;
    return 0;
}

static void pg_disconnect(struct sql_conn *conn)
{
    PQfinish(PC(conn)->pg);
    free(conn);
}

static int pg_exec(struct sql_conn *conn, const char *sql, struct error *err)
{
    struct pg_conn *c = PC(conn);
    if (strcmp(sql, "ROLLBACK") == 0 && (c->poisoned || PQstatus(c->pg) == CONNECTION_BAD)) {
        /* The transaction died with the connection: nothing is left to
         * undo, and the next call reconnects with a clean slate. */
        c->poisoned = false;
        c->in_txn = false;
        return 0;
    }
    if (live(c, err) != 0)
        return -1;
    PGresult *res = command(c, sql, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/* ---------------------------------------------------------- statements */

/* sql with each '?' outside quotes turned into $1, $2...; caller frees. */
static char *dollar_params(const char *sql, int *nparams)
{
    size_t marks = 0;
    for (const char *p = sql; *p; p++)
        marks += *p == '?';
    char *out = malloc(strlen(sql) + marks * 6 + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
    char quote = 0;
    int n = 0;
    for (const char *p = sql; *p; p++) {
        if (quote != 0) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '?') {
            o += sprintf(o, "$%d", ++n);
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
    *nparams = n;
    return out;
}

/* Prepares s on its connection's current session. */
static int server_prepare(struct pg_stmt *s, struct error *err)
{
    struct pg_conn *c = s->c;
    snprintf(s->name, sizeof s->name, "c%u", ++c->serial);
    PGresult *res = PQprepare(c->pg, s->name, s->sql, s->nparams, NULL);
    note_status(c);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = map_result(c, res, err);
    PQclear(res);
    s->prepared = rc == 0;
    s->epoch = c->epoch;
    return rc;
}

static int pg_prepare(struct sql_conn *conn, const char *sql, struct sql_stmt **out,
                      struct error *err)
{
    struct pg_conn *c = PC(conn);
    if (live(c, err) != 0)
        return -1;
    struct pg_stmt *s = calloc(1, sizeof *s);
    if (s == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    s->c = c;
    s->sql = dollar_params(sql, &s->nparams);
    if (s->sql == NULL ||
        (s->nparams > 0 && (s->vals = calloc((size_t)s->nparams, sizeof *s->vals)) == NULL)) {
        free(s->sql);
        free(s);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    if (server_prepare(s, err) != 0) {
        free(s->vals);
        free(s->sql);
        free(s);
        return -1;
    }
    *out = (struct sql_stmt *)s;
    return 0;
}

static void clear_bindings(struct pg_stmt *s)
{
    for (int i = 0; i < s->nparams; i++) {
        free(s->vals[i]);
        s->vals[i] = NULL;
    }
}

static void pg_reset(struct sql_stmt *st)
{
    struct pg_stmt *s = PS(st);
    PQclear(s->res);
    s->res = NULL;
    s->row = s->nrows = 0;
    clear_bindings(s);
}

static void pg_finalize(struct sql_stmt *st)
{
    struct pg_stmt *s = PS(st);
    if (s == NULL)
        return;
    pg_reset(st);
    struct pg_conn *c = s->c;
    /* The server forgets a session's statements with the session; a live
     * one is told, unless an aborted transaction would refuse it. */
    if (s->prepared && s->epoch == c->epoch && PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) != PQTRANS_INERROR) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
        PQclear(PQexec(c->pg, sql));
        note_status(c);
    }
    free(s->vals);
    free(s->sql);
    free(s);
}

static int set_param(struct pg_stmt *s, int i, const char *text, struct error *err)
{
    if (i < 1 || i > s->nparams)
        return error_set(err, ERR_INTERNAL, "postgres: parameter %d of %d", i, s->nparams);
    char *copy = NULL;
    if (text != NULL && (copy = strdup(text)) == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    free(s->vals[i - 1]);
    s->vals[i - 1] = copy;
    return 0;
}

static int pg_bind_text(struct sql_stmt *st, int i, const char *v, struct error *err)
{
    return set_param(PS(st), i, v, err);
}

static int pg_bind_int64(struct sql_stmt *st, int i, int64_t v, struct error *err)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return set_param(PS(st), i, buf, err);
}

static int pg_bind_double(struct sql_stmt *st, int i, double v, struct error *err)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.17g", v);
    return set_param(PS(st), i, buf, err);
}

static int pg_bind_null(struct sql_stmt *st, int i, struct error *err)
{
    return set_param(PS(st), i, NULL, err);
}

/* Runs the statement; its rows are then read one step at a time. */
static int execute(struct pg_stmt *s, struct error *err)
{
    struct pg_conn *c = s->c;
    if (live(c, err) != 0)
        return -1;
    if ((!s->prepared || s->epoch != c->epoch) && server_prepare(s, err) != 0)
        return -1;
    PGresult *res =
        PQexecPrepared(c->pg, s->name, s->nparams, (const char *const *)s->vals, NULL, NULL, 0);
    note_status(c);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        map_result(c, res, err);
        PQclear(res);
        return -1;
    }
    s->res = res;
    s->row = 0;
    s->nrows = PQntuples(res);
    return 0;
}

static int pg_step(struct sql_stmt *st, struct error *err)
{
    struct pg_stmt *s = PS(st);
    if (s->res == NULL && execute(s, err) != 0)
        return -1;
    if (s->row >= s->nrows)
        return 0;
    s->row++;
    return 1;
}

static const char *pg_column_text(struct sql_stmt *st, int i)
{
    struct pg_stmt *s = PS(st);
    if (s->res == NULL || s->row < 1 || i >= PQnfields(s->res) ||
        PQgetisnull(s->res, s->row - 1, i))
        return NULL;
    return PQgetvalue(s->res, s->row - 1, i);
}

static int64_t pg_column_int64(struct sql_stmt *st, int i)
{
    const char *v = pg_column_text(st, i);
    if (v == NULL)
        return 0;
    /* Booleans come back as t/f; they are read as 0/1 like SQLite's. */
    if (strcmp(v, "t") == 0)
        return 1;
    return strtoll(v, NULL, 10);
}

static bool pg_column_is_null(struct sql_stmt *st, int i)
{
    struct pg_stmt *s = PS(st);
    return s->res == NULL || s->row < 1 || i >= PQnfields(s->res) ||
           PQgetisnull(s->res, s->row - 1, i);
}

static const struct sql_ops postgres_ops = {
    .name = "postgres",
    .ddl_id = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .ddl_bool = "INTEGER",
    .begin_sql = "BEGIN",
    /* A session lock, so it lasts past transactions and ends with the
     * connection; asking again while held would stack it, so pg_locks is
     * looked at first.  Keyed by (key, schema) as the migration lock is,
     * so catalogs in other schemas of the database hold their own; the
     * pair shows in pg_locks as classid, objid (unsigned), objsubid 2. */
    .lease_sql = "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                 " AND pid = pg_backend_pid() AND granted AND objsubid = 2"
                 " AND classid::bigint = ?::bigint AND objid::bigint ="
                 " (hashtext(COALESCE(current_schema(), ''))::bigint & 4294967295))"
                 " THEN 1 ELSE pg_try_advisory_lock(?::int,"
                 " hashtext(COALESCE(current_schema(), '')))::int END",
    .migrate_lock_sql = "SELECT pg_advisory_xact_lock(1667331121,"
                        " hashtext(COALESCE(current_schema(), '')))",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .reset = pg_reset,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .column_text = pg_column_text,
    .column_int64 = pg_column_int64,
    .column_is_null = pg_column_is_null,
};

/* ------------------------------------------------------------- opening */

static void free_ctx(void *p)
{
    struct pg_ctx *ctx = p;
    if (ctx == NULL)
        return;
    free(ctx->url);
    if (ctx->password != NULL)
        memset(ctx->password, 0, strlen(ctx->password));
    free(ctx->password);
    free(ctx->options);
    free(ctx->schema);
    free(ctx);
}

static uint64_t fnv64(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Takes catalogd's schema=... out of url (in place) into *schema (an
 * unquoted name, caller frees; NULL when absent). */
static int take_schema(char *url, const struct config *config, char **schema, struct error *err)
{
    *schema = NULL;
    char *q = strchr(url, '?');
    if (q == NULL)
        return 0;
    char *p = q + 1;
    while (*p) {
        size_t len = strcspn(p, "&");
        if (strncmp(p, "schema=", 7) == 0) {
            char name[64];
            size_t vlen = len - 7;
            if (vlen == 5 && strncmp(p + 7, "@path", 5) == 0) {
                const char *path = config_get(config, "store.path");
                snprintf(name, sizeof name, "catalogd_%016llx",
                         (unsigned long long)fnv64(path ? path : ""));
            } else {
                if (vlen == 0 || vlen >= sizeof name)
                    return error_set_field(err, ERR_CONFIG, "store.url",
                                           "store.url: schema= needs a name of 1 to %zu bytes",
                                           sizeof name - 1);
                memcpy(name, p + 7, vlen);
                name[vlen] = '\0';
            }
            free(*schema);
            if ((*schema = strdup(name)) == NULL)
                return error_set(err, ERR_INTERNAL, "out of memory");
            /* Drop "schema=...&" (or the trailing "&schema=..."). */
            char *next = p + len + (p[len] == '&');
            memmove(p, next, strlen(next) + 1);
            continue;
        }
        p += len + (p[len] == '&');
    }
    size_t n = strlen(url);
    while (n > 0 && (url[n - 1] == '&' || url[n - 1] == '?'))
        url[--n] = '\0';
    return 0;
}

static char *read_password(const char *path, struct error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        error_set_field(err, ERR_CONFIG, "store.password_file", "cannot read %s", path);
        return NULL;
    }
    char line[1024];
    char *pw = NULL;
    if (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        pw = strdup(line);
        memset(line, 0, sizeof line);
    } else {
        error_set_field(err, ERR_CONFIG, "store.password_file", "%s is empty", path);
    }
    fclose(f);
    if (pw == NULL && err->code == ERR_NONE)
        error_set(err, ERR_INTERNAL, "out of memory");
    return pw;
}

extern const struct store_driver store_postgres_driver;

static int postgres_open(const struct config *config, struct store **out, struct error *err)
{
    *out = NULL;
    const char *url = config_get(config, "store.url");
    if (url == NULL || *url == '\0')
        return error_set_field(err, ERR_CONFIG, "store.url",
                               "store.url is empty (postgresql://user@host:port/database)");
    struct pg_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL || (ctx->url = strdup(url)) == NULL) {
        free(ctx);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    char *schema = NULL;
    if (take_schema(ctx->url, config, &schema, err) != 0) {
        free_ctx(ctx);
        return -1;
    }
    const char *pwfile = config_get(config, "store.password_file");
    if (*pwfile != '\0' && (ctx->password = read_password(pwfile, err)) == NULL) {
        free(schema);
        free_ctx(ctx);
        return -1;
    }
    /* store.connect_timeout bounds connecting; store.statement_timeout
     * bounds each statement and each lock wait (0: no limit, as in
     * PostgreSQL).  TCP_USER_TIMEOUT follows the longer of the two, so a
     * server that vanishes mid-statement is noticed too. */
    int64_t connect_s = config_int(config, "store.connect_timeout");
    int64_t ms = config_int(config, "store.statement_timeout");
    snprintf(ctx->timeout_s, sizeof ctx->timeout_s, "%lld",
             (long long)(connect_s < 2 ? 2 : connect_s));
    int64_t user_ms = (ms > connect_s * 1000 ? ms : connect_s * 1000) + 1000;
    snprintf(ctx->user_timeout_ms, sizeof ctx->user_timeout_ms, "%lld", (long long)user_ms);
    char options[400];
    int len = snprintf(options, sizeof options,
                       "-c statement_timeout=%lld -c lock_timeout=%lld"
                       " -c client_min_messages=warning",
                       (long long)ms, (long long)ms);
    if (schema != NULL) {
        /* The name reaches SQL only quoted as an identifier; in options a
         * space or backslash would end the value, so only plain names. */
        for (const char *p = schema; *p; p++)
            if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
                error_set_field(err, ERR_CONFIG, "store.url",
                                "store.url: schema '%s' may hold only a-z, 0-9 and _", schema);
                free(schema);
                free_ctx(ctx);
                return -1;
            }
        snprintf(options + len, sizeof options - (size_t)len, " -c search_path=%s", schema);
        ctx->schema = malloc(strlen(schema) + 3);
        if (ctx->schema != NULL)
            sprintf(ctx->schema, "\"%s\"", schema);
    }
    free(schema);
    ctx->options = strdup(options);
    if (ctx->options == NULL || (ctx->schema == NULL && strstr(options, "search_path") != NULL)) {
        free_ctx(ctx);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    return sql_store_open(&store_postgres_driver, &postgres_ops, ctx, free_ctx, out, err);
}

const struct store_driver store_postgres_driver = {
    .name = "postgres",
    .description = "PostgreSQL over libpq (normal, giant)",
    .open = postgres_open,
    SQL_STORE_HOOKS,
    .lease_try = sql_store_lease_try,
};
