/*
 * raw_pgfts - the normal-mode reference engine of the benchmarks:
 * PostgreSQL full-text search driven directly through libpq, with the
 * table, tsvector layout and SQL of backends/search/pgfts.c, so that
 * catalogd's normal-mode figures can be given as a ratio of what the
 * database alone does on the same machine in the same run.
 *
 *   raw_pgfts load URL SCHEMA CORPUS.jsonl
 *       (Re)creates SCHEMA with pgfts's search_docs table (GIN index
 *       included) and loads an import-format corpus into it (one document
 *       per course, course run and program, as the indexer flattens them)
 *       with one COPY in one transaction; prints {"courses", "docs",
 *       "seconds", "courses_per_s"} as JSON.
 *   raw_pgfts search URL SCHEMA TSQUERIES THREADS SECONDS NOW
 *       Runs the tsquery texts of TSQUERIES (one per line, as pgfts.c
 *       builds them from q) against SCHEMA.search_docs (the one catalogd
 *       built) from THREADS threads, each with its own connection, for
 *       SECONDS; each query is the count and the top 20 that pgfts.c runs
 *       for an unfaceted public search (same statements, same parameters,
 *       sent with PQexecParams as pgfts.c sends them, inside the same
 *       REPEATABLE READ READ ONLY transaction).  Prints {"qps",
 *       "p50_ms", "p99_ms", "queries", "threads"} as JSON.
 *   raw_pgfts count URL SCHEMA
 *       Prints the number of rows of SCHEMA.search_docs (0 when the table
 *       does not exist): bench/run's check that an import built the index.
 *
 * Folding: the corpus is ASCII, so words are runs of [a-z0-9] after
 * lower-casing; every other ASCII byte separates words and bytes >= 0x80
 * are kept (pgfts.c's search_fold_words agrees on ASCII text).
 *
 * Not part of catalogd: a bench tool, built by bench/run.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Same as backends/search/pgfts.c. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS search_docs ("
    " content smallint NOT NULL, key text NOT NULL, public boolean NOT NULL,"
    " title text NOT NULL, start bigint, end_ bigint, enr_start bigint, enr_end bigint,"
    " self_paced boolean NOT NULL, hit text NOT NULL, digest text NOT NULL,"
    " organizations text[] NOT NULL, subjects text[] NOT NULL, seat_types text[] NOT NULL,"
    " orgs text[] NOT NULL, level_type text, language text, pacing_type text,"
    " tsv tsvector NOT NULL, PRIMARY KEY (content, key));"
    "CREATE INDEX IF NOT EXISTS search_docs_tsv ON search_docs USING gin (tsv);"
    "CREATE INDEX IF NOT EXISTS search_docs_start ON search_docs (start);";

#define RANK_WEIGHTS "'{0.3, 0.1, 0.4, 1.0}'::float4[]"
#define SOON_SECONDS (60 * 24 * 3600)
#define MAX_POSITION 16383

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A connection to url with search_path set to schema, as pgfts.c sets it
 * through the options of its connections.  NULL (message printed) on
 * failure. */
static PGconn *connect_to(const char *url, const char *schema)
{
    char options[256];
    snprintf(options, sizeof options, "-c client_min_messages=warning -c search_path=%s", schema);
    const char *keys[] = {"dbname", "client_encoding", "application_name", "options", NULL};
    const char *vals[] = {url, "UTF8", "raw_pgfts", options, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "raw_pgfts: connect: %s", pg ? PQerrorMessage(pg) : "out of memory\n");
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

/* Runs a command; returns 0, or 1 with the server's message printed. */
static int exec_ok(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN ? 0 : 1;
    if (rc)
        fprintf(stderr, "raw_pgfts: %.60s: %s", sql, PQerrorMessage(pg));
    PQclear(res);
    return rc;
}

/* ---- growing strings ---- */

struct buf {
    char *s;
    size_t len, cap;
};

static void add_n(struct buf *b, const char *text, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *grown = realloc(b->s, cap);
        if (grown == NULL) {
            perror("raw_pgfts");
            exit(1);
        }
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void add(struct buf *b, const char *text)
{
    add_n(b, text, strlen(text));
}

static void addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        add_n(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- load ---- */

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static const char *opt_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static void copy_text(struct buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            add(b, "\\\\");
        else if (*s == '\t')
            add(b, "\\t");
        else if (*s == '\n')
            add(b, "\\n");
        else if (*s == '\r')
            add(b, "\\r");
        else
            add_n(b, s, 1);
    }
}

static void copy_field(struct buf *b, const char *s, int last)
{
    if (s == NULL)
        add(b, "\\N");
    else
        copy_text(b, s);
    add(b, last ? "\n" : "\t");
}

/* A text[] literal ({"a","b"}) with array escaping, then COPY escaping. */
static void copy_array(struct buf *b, const char *const *items, size_t n)
{
    struct buf lit = {0};
    add(&lit, "{");
    for (size_t i = 0; i < n; i++) {
        add(&lit, i ? ",\"" : "\"");
        for (const char *c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                add(&lit, "\\");
            add_n(&lit, c, 1);
        }
        add(&lit, "\"");
    }
    add(&lit, "}");
    copy_field(b, lit.s, 0);
    free(lit.s);
}

/* The distinct strings of a JSON list, as pgfts.c's ARRAY(SELECT DISTINCT). */
static size_t distinct(const json_t *list, const char **out, size_t max)
{
    size_t n = 0, i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || n == max)
            continue;
        size_t k = 0;
        while (k < n && strcmp(out[k], s) != 0)
            k++;
        if (k == n)
            out[n++] = s;
    }
    return n;
}

/* Builds the tsvector literal field by field, as pgfts.c's vector_text. */
struct vector {
    struct buf b;
    int pos;
};

static void vector_text(struct vector *v, const char *text, char weight, char field)
{
    if (text == NULL)
        return;
    const char *p = text;
    while (*p && v->pos < MAX_POSITION) {
        while (*p && (unsigned char)*p < 0x80 &&
               !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            p++;
        if (*p == '\0')
            break;
        char word[256];
        size_t n = 0;
        for (; *p && ((unsigned char)*p >= 0x80 || (*p >= 'a' && *p <= 'z') ||
                      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'));
             p++)
            if (n < sizeof word - 1)
                word[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + ('a' - 'A') : *p);
        word[n] = '\0';
        v->pos++;
        for (int twice = 0; twice < (field ? 2 : 1); twice++) {
            char mark[3] = {':', field, '\0'};
            add(&v->b, "'");
            add(&v->b, twice ? mark : "");
            add(&v->b, word);
            addf(&v->b, "':%d%c ", v->pos, weight);
        }
    }
}

static void vector_gap(struct vector *v)
{
    if (v->pos > 0 && v->pos < MAX_POSITION)
        v->pos++;
}

static void vector_list(struct vector *v, const char *const *items, size_t n, char weight,
                        char field)
{
    for (size_t i = 0; i < n; i++)
        vector_text(v, items[i], weight, field);
}

static void copy_epoch(struct buf *b, const char *iso)
{
    struct tm tm = {0};
    if (iso == NULL || strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL) {
        copy_field(b, NULL, 0);
        return;
    }
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)timegm(&tm));
    copy_field(b, t, 0);
}

struct loader {
    PGconn *pg;
    json_t *org_names; /* key -> "KEY: name", the organizations facet value */
    struct buf row;
    long docs;
};

#define MAX_LIST 64

/* One search document (content 0 course, 1 course run, 2 program) as one
 * COPY line, the columns of pgfts.c's upsert. */
static int add_doc(struct loader *l, int content, const json_t *rec, const json_t *parent,
                   const json_t *owners)
{
    const json_t *src = parent ? parent : rec;
    const char *key = content == 2 ? str(rec, "uuid") : str(rec, "key");
    const char *title = opt_str(rec, "title") ? opt_str(rec, "title") : str(src, "title");
    const char *shortd = opt_str(rec, "short_description") ? opt_str(rec, "short_description")
                                                           : opt_str(src, "short_description");
    const char *fulld = opt_str(rec, "full_description")
                            ? opt_str(rec, "full_description")
                            : opt_str(src, content == 2 ? "overview" : "full_description");
    const char *pacing = opt_str(rec, "pacing_type"), *status = opt_str(rec, "status");
    int public = content == 2 ? (status && strcmp(status, "active") == 0)
                              : (status == NULL || strcmp(status, "published") == 0);
    const char *orgs[MAX_LIST], *organizations[MAX_LIST], *subjects[MAX_LIST], *seats[MAX_LIST];
    size_t n_orgs = distinct(owners, orgs, MAX_LIST), n_subjects = 0, n_seats = 0;
    for (size_t i = 0; i < n_orgs; i++) {
        const char *name = json_string_value(json_object_get(l->org_names, orgs[i]));
        organizations[i] = name ? name : orgs[i];
    }
    n_subjects = distinct(json_object_get(src, "subjects"), subjects, MAX_LIST);
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(rec, "seats"), i, v)
    {
        const char *t = opt_str(v, "type");
        size_t k = 0;
        while (t && k < n_seats && strcmp(seats[k], t) != 0)
            k++;
        if (t && k == n_seats && n_seats < MAX_LIST)
            seats[n_seats++] = t;
    }
    if (content == 2 && n_seats == 0)
        seats[n_seats++] = "verified";
    /* The hit: about the flattened document catalogd stores (a run's
     * holds its course's fields too). */
    json_t *hit = json_deep_copy(src);
    if (parent != NULL) {
        json_object_del(hit, "course_runs");
        const char *k;
        json_t *value;
        json_object_foreach((json_t *)rec, k, value) json_object_set(hit, k, value);
    }
    json_object_set_new(hit, "title", json_string(title));
    char *hit_text = json_dumps(hit, JSON_COMPACT);
    json_decref(hit);

    struct vector vec = {0};
    add(&vec.b, "");
    vector_text(&vec, title, 'A', 't');
    vector_gap(&vec);
    vector_text(&vec, shortd, 'B', 0);
    vector_gap(&vec);
    vector_text(&vec, fulld, 'C', 0);
    vector_gap(&vec);
    vector_list(&vec, orgs, n_orgs, 'D', 'o');
    vector_list(&vec, organizations, n_orgs, 'D', 'o');
    vector_gap(&vec);
    vector_text(&vec, key, 'D', 'k');
    vector_gap(&vec);
    vector_list(&vec, subjects, n_subjects, 'D', 's');

    char content_s[8], digest[17];
    snprintf(content_s, sizeof content_s, "%d", content);
    snprintf(digest, sizeof digest, "%016lx", (unsigned long)l->docs * 2654435761ul);
    struct buf *b = &l->row;
    b->len = 0;
    copy_field(b, content_s, 0);
    copy_field(b, key, 0);
    copy_field(b, public ? "t" : "f", 0);
    copy_field(b, title, 0);
    copy_epoch(b, opt_str(rec, "start"));
    copy_epoch(b, opt_str(rec, "end"));
    copy_epoch(b, opt_str(rec, "enrollment_start"));
    copy_epoch(b, opt_str(rec, "enrollment_end"));
    copy_field(b, pacing && strcmp(pacing, "self_paced") == 0 ? "t" : "f", 0);
    copy_field(b, hit_text ? hit_text : "{}", 0);
    copy_field(b, digest, 0);
    copy_array(b, organizations, n_orgs);
    copy_array(b, subjects, n_subjects);
    copy_array(b, seats, n_seats);
    copy_array(b, orgs, n_orgs);
    copy_field(b, opt_str(src, "level_type"), 0);
    copy_field(b, opt_str(rec, "content_language"), 0);
    copy_field(b, pacing, 0);
    copy_field(b, vec.b.s, 1);
    free(vec.b.s);
    free(hit_text);
    if (PQputCopyData(l->pg, b->s, (int)b->len) != 1) {
        fprintf(stderr, "raw_pgfts: copy: %s", PQerrorMessage(l->pg));
        return -1;
    }
    l->docs++;
    return 0;
}

static int load(const char *url, const char *schema, const char *corpus)
{
    FILE *in = fopen(corpus, "r");
    if (in == NULL)
        return perror(corpus), 1;
    struct loader l = {.org_names = json_object()};
    char *line = NULL;
    size_t cap = 0;
    /* Organization names first (they precede courses in the import
     * format, but a second pass keeps this independent of the order). */
    while (getline(&line, &cap, in) > 0) {
        if (strstr(line, "\"organization\"") == NULL)
            continue;
        json_t *rec = json_loads(line, 0, NULL);
        if (strcmp(str(rec, "kind"), "organization") == 0) {
            char name[512];
            snprintf(name, sizeof name, "%s: %s", str(rec, "key"), str(rec, "name"));
            json_object_set_new(l.org_names, str(rec, "key"), json_string(name));
        }
        json_decref(rec);
    }
    rewind(in);
    if ((l.pg = connect_to(url, schema)) == NULL)
        return 1;
    struct buf ddl = {0};
    addf(&ddl, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;", schema, schema);
    add(&ddl, schema_sql);
    if (exec_ok(l.pg, ddl.s))
        return 1;
    free(ddl.s);
    double t0 = now_s();
    if (exec_ok(l.pg, "BEGIN") ||
        exec_ok(l.pg, "COPY search_docs (content, key, public, title, start, end_, enr_start,"
                      " enr_end, self_paced, hit, digest, organizations, subjects, seat_types,"
                      " orgs, level_type, language, pacing_type, tsv) FROM STDIN"))
        return 1;
    long courses = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, in) > 0) {
        json_t *rec = json_loads(line, 0, NULL);
        const char *kind = str(rec, "kind");
        if (strcmp(kind, "course") == 0) {
            const json_t *owners = json_object_get(rec, "owners");
            rc = add_doc(&l, 0, rec, NULL, owners);
            size_t i;
            const json_t *run;
            json_array_foreach(json_object_get(rec, "course_runs"), i, run)
            {
                if (rc == 0)
                    rc = add_doc(&l, 1, run, rec, owners);
            }
            courses++;
        } else if (strcmp(kind, "program") == 0) {
            rc = add_doc(&l, 2, rec, NULL, json_object_get(rec, "authoring_organizations"));
        }
        json_decref(rec);
    }
    if (PQputCopyEnd(l.pg, rc ? "raw_pgfts: load failed" : NULL) != 1)
        rc = 1;
    PGresult *res;
    while ((res = PQgetResult(l.pg)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "raw_pgfts: copy: %s", PQerrorMessage(l.pg));
            rc = 1;
        }
        PQclear(res);
    }
    if (rc || exec_ok(l.pg, "COMMIT"))
        return 1;
    double secs = now_s() - t0;
    free(line);
    free(l.row.s);
    fclose(in);
    json_decref(l.org_names);
    PQfinish(l.pg);
    printf("{\"courses\": %ld, \"docs\": %ld, \"seconds\": %.3f, \"courses_per_s\": %.1f}\n",
           courses, l.docs, secs, courses / secs);
    return 0;
}

static int count(const char *url, const char *schema)
{
    PGconn *pg = connect_to(url, schema);
    if (pg == NULL)
        return 1;
    PGresult *res = PQexec(pg, "SELECT count(*) FROM search_docs");
    printf("%s\n", PQresultStatus(res) == PGRES_TUPLES_OK ? PQgetvalue(res, 0, 0) : "0");
    PQclear(res);
    PQfinish(pg);
    return 0;
}

/* ---- search ---- */

struct worker {
    const char *url, *schema;
    char **queries;
    size_t n_queries, first;
    double until;
    long long now;
    double *lat; /* seconds, one per query run */
    size_t n_lat, cap_lat;
    int failed;
};

static void *search_thread(void *arg)
{
    struct worker *w = arg;
    long long now = w->now, soon = now + SOON_SECONDS;
    char count_sql[1024], hits_sql[1024];
    /* The statements pgfts.c builds for q with public_only, no content
     * type, no facets, no availability, score order, page_size 20. */
    static const char where_sql[] = " WHERE true AND d.tsv @@ $1::tsquery AND d.public";
    snprintf(count_sql, sizeof count_sql,
             "SELECT count(*), count(*) FILTER (WHERE d.end_ < %lld),"
             " count(*) FILTER (WHERE (d.end_ IS NULL OR d.end_ >= %lld) AND d.start <= %lld),"
             " count(*) FILTER (WHERE (d.end_ IS NULL OR d.end_ >= %lld) AND d.start > %lld"
             " AND d.start <= %lld),"
             " count(*) FILTER (WHERE (d.end_ IS NULL OR d.end_ >= %lld) AND (d.start IS NULL OR"
             " d.start > %lld)) FROM search_docs d%s",
             now, now, now, now, now, soon, now, soon, where_sql);
    snprintf(hits_sql, sizeof hits_sql,
             "SELECT d.content, d.key, d.hit, ts_rank(" RANK_WEIGHTS ", d.tsv, $1::tsquery)"
             " * (1.0 + 0.05 * ((d.enr_start IS NULL OR d.enr_start <= %lld) AND"
             " (d.enr_end IS NULL OR d.enr_end >= %lld))::int + 0.05 * d.self_paced::int"
             " + 0.05 * coalesce(d.start > %lld, false)::int) AS score FROM search_docs d%s"
             " ORDER BY score DESC, d.title COLLATE \"C\", d.content, d.key LIMIT 20 OFFSET 0",
             now, now, now, where_sql);
    PGconn *pg = connect_to(w->url, w->schema);
    if (pg == NULL) {
        w->failed = 1;
        return NULL;
    }
    size_t q = w->first, bytes = 0;
    while (now_s() < w->until) {
        const char *params[] = {w->queries[q++ % w->n_queries]};
        double t0 = now_s();
        /* pgfts.c runs count and page in one read-only snapshot. */
        if (exec_ok(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) {
            w->failed = 1;
            break;
        }
        PGresult *res = PQexecParams(pg, count_sql, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "raw_pgfts: count %s: %s", params[0], PQerrorMessage(pg));
            PQclear(res);
            w->failed = 1;
            break;
        }
        long long total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (total > 0) {
            res = PQexecParams(pg, hits_sql, 1, NULL, params, NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                fprintf(stderr, "raw_pgfts: query %s: %s", params[0], PQerrorMessage(pg));
                PQclear(res);
                w->failed = 1;
                break;
            }
            for (int r = 0; r < PQntuples(res); r++)
                bytes += (size_t)PQgetlength(res, r, 2);
            PQclear(res);
        }
        if (exec_ok(pg, "COMMIT")) {
            w->failed = 1;
            break;
        }
        if (w->n_lat == w->cap_lat) {
            size_t cap = w->cap_lat ? 2 * w->cap_lat : 4096;
            double *grown = realloc(w->lat, cap * sizeof *grown);
            if (grown == NULL) {
                w->failed = 1;
                break;
            }
            w->lat = grown;
            w->cap_lat = cap;
        }
        w->lat[w->n_lat++] = now_s() - t0;
    }
    (void)bytes;
    PQfinish(pg);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int search(const char *url, const char *schema, const char *qfile, int threads,
                  double seconds, long long now)
{
    FILE *in = fopen(qfile, "r");
    if (in == NULL)
        return perror(qfile), 1;
    char **queries = NULL, *line = NULL;
    size_t n = 0, cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        char **grown = realloc(queries, (n + 1) * sizeof *queries);
        if (grown == NULL)
            break;
        queries = grown;
        queries[n++] = strdup(line);
    }
    free(line);
    fclose(in);
    if (n == 0 || threads < 1)
        return fprintf(stderr, "raw_pgfts: no queries or threads\n"), 1;
    struct worker *w = calloc((size_t)threads, sizeof *w);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){.url = url,
                               .schema = schema,
                               .queries = queries,
                               .n_queries = n,
                               .first = n * (size_t)i / (size_t)threads,
                               .until = t0 + seconds,
                               .now = now};
        pthread_create(&tid[i], NULL, search_thread, &w[i]);
    }
    size_t total = 0;
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += w[i].n_lat;
        failed |= w[i].failed;
    }
    double elapsed = now_s() - t0;
    double *all = malloc((total + 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        if (w[i].n_lat)
            memcpy(all + k, w[i].lat, w[i].n_lat * sizeof *all);
        k += w[i].n_lat;
        free(w[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_double);
    if (!failed && total > 0)
        printf("{\"qps\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"queries\": %zu,"
               " \"threads\": %d}\n",
               total / elapsed, all[total / 2] * 1e3, all[(size_t)(total * 0.99)] * 1e3, total,
               threads);
    free(all);
    free(w);
    free(tid);
    for (size_t i = 0; i < n; i++)
        free(queries[i]);
    free(queries);
    return failed || total == 0;
}

/* A schema name goes into SQL text: only [a-z0-9_]. */
static int schema_ok(const char *s)
{
    if (*s == '\0' || strlen(s) > 63)
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !schema_ok(argv[3]))
        return fprintf(stderr, "raw_pgfts: schema may hold only a-z, 0-9 and _\n"), 2;
    if (argc == 5 && strcmp(argv[1], "load") == 0)
        return load(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "count") == 0)
        return count(argv[2], argv[3]);
    if (argc == 8 && strcmp(argv[1], "search") == 0)
        return search(argv[2], argv[3], argv[4], atoi(argv[5]), atof(argv[6]), atoll(argv[7]));
    fprintf(stderr, "usage: raw_pgfts load URL SCHEMA CORPUS.jsonl\n"
                    "       raw_pgfts search URL SCHEMA TSQUERIES THREADS SECONDS NOW_EPOCH\n"
                    "       raw_pgfts count URL SCHEMA\n");
    return 2;
}
