/*
 * raw_fts5 - the reference engine of the benchmarks: SQLite FTS5 driven
 * directly, in-process, with the schema and SQL of backends/search/fts5.c,
 * so that catalogd's figures can be given as a ratio of what the engine
 * alone does on the same machine in the same run.
 *
 *   raw_fts5 load CORPUS.jsonl INDEX.db
 *       Builds a fresh index from an import-format corpus (one document per
 *       course, course run and program, as the indexer flattens them) in
 *       one transaction; prints {"courses", "docs", "seconds", ...} as JSON.
 *   raw_fts5 search INDEX.db QUERIES THREADS SECONDS NOW
 *       Runs the MATCH expressions of QUERIES (one per line) against an
 *       existing index (the one catalogd built) from THREADS threads, each
 *       with its own connection, for SECONDS; each query is the count and
 *       the top 20 that fts5.c runs for an unfaceted search.  Prints
 *       {"qps", "p50_ms", "p99_ms", "queries"} as JSON.
 *
 * Not part of catalogd: a bench tool, built by bench/run.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Same as backends/search/fts5.c (schema and bm25 weights). */
static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS docs("
    " id INTEGER PRIMARY KEY, content INTEGER NOT NULL, key TEXT NOT NULL,"
    " public INTEGER NOT NULL, title TEXT NOT NULL, start INTEGER, end_ INTEGER,"
    " enr_start INTEGER, enr_end INTEGER, self_paced INTEGER NOT NULL, hit TEXT NOT NULL,"
    " UNIQUE(content, key));"
    "CREATE INDEX IF NOT EXISTS docs_start ON docs(start);"
    "CREATE TABLE IF NOT EXISTS facets(doc INTEGER NOT NULL, field INTEGER NOT NULL,"
    " value TEXT NOT NULL, PRIMARY KEY(doc, field, value)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS facets_value ON facets(field, value);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(title, short_description,"
    " full_description, org, key, subject, tokenize='unicode61 remove_diacritics 2',"
    " prefix='2 3');";

#define BM25_WEIGHTS "10.0, 4.0, 1.0, 3.0, 5.0, 3.0"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "raw_fts5: %s: %s\n", what, db ? sqlite3_errmsg(db) : "error");
    return 1;
}

/* ---- load ---- */

struct loader {
    sqlite3 *db;
    sqlite3_stmt *doc, *fts, *facet;
    long docs;
};

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long epoch(const char *iso)
{
    struct tm tm = {0};
    if (iso == NULL || strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
        return -1;
    return (long)timegm(&tm);
}

static void bind_date(sqlite3_stmt *st, int col, const char *iso)
{
    long t = epoch(iso);
    if (t < 0)
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_int64(st, col, t);
}

static char *join(const json_t *list)
{
    size_t len = 1, i;
    const json_t *v;
    json_array_foreach(list, i, v) len +=
        strlen(json_string_value(v) ? json_string_value(v) : "") + 2;
    char *out = calloc(1, len);
    json_array_foreach(list, i, v)
    {
        if (out[0])
            strcat(out, ". ");
        strcat(out, json_string_value(v) ? json_string_value(v) : "");
    }
    return out;
}

static int facet(struct loader *l, sqlite3_int64 id, int field, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    sqlite3_bind_int64(l->facet, 1, id);
    sqlite3_bind_int(l->facet, 2, field);
    sqlite3_bind_text(l->facet, 3, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(l->facet);
    sqlite3_reset(l->facet);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* One search document; content 0 course, 1 course run, 2 program. */
static int add_doc(struct loader *l, int content, const json_t *rec, const json_t *parent,
                   const json_t *orgs)
{
    const json_t *src = parent ? parent : rec;
    const char *title = json_string_value(json_object_get(rec, "title"));
    if (title == NULL)
        title = str(src, "title");
    const char *pacing = json_string_value(json_object_get(rec, "pacing_type"));
    const char *status = json_string_value(json_object_get(rec, "status"));
    int public = content == 2 ? (status && strcmp(status, "active") == 0)
                              : (status == NULL || strcmp(status, "published") == 0);
    json_t *hit = json_pack("{s:s, s:s, s:O?, s:O?}", "key",
                            content == 2 ? str(rec, "uuid") : str(rec, "key"), "title", title,
                            "marketing_url", json_object_get(rec, "marketing_url"), "orgs", orgs);
    char *hit_text = json_dumps(hit, JSON_COMPACT);
    json_decref(hit);
    const char *key = content == 2 ? str(rec, "uuid") : str(rec, "key");
    sqlite3_stmt *st = l->doc;
    sqlite3_bind_int(st, 1, content);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, public);
    sqlite3_bind_text(st, 4, title, -1, SQLITE_STATIC);
    bind_date(st, 5, json_string_value(json_object_get(rec, "start")));
    bind_date(st, 6, json_string_value(json_object_get(rec, "end")));
    bind_date(st, 7, json_string_value(json_object_get(rec, "enrollment_start")));
    bind_date(st, 8, json_string_value(json_object_get(rec, "enrollment_end")));
    sqlite3_bind_int(st, 9, pacing && strcmp(pacing, "self_paced") == 0);
    sqlite3_bind_text(st, 10, hit_text, -1, free);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    sqlite3_int64 id = sqlite3_last_insert_rowid(l->db);
    const json_t *subjects = json_object_get(src, "subjects");
    char *org_text = join(orgs), *subject_text = join(subjects);
    const char *shortd = json_string_value(json_object_get(rec, "short_description"));
    const char *fulld = json_string_value(json_object_get(rec, "full_description"));
    if (shortd == NULL)
        shortd = json_string_value(json_object_get(src, "short_description"));
    if (fulld == NULL)
        fulld =
            json_string_value(json_object_get(src, content == 2 ? "overview" : "full_description"));
    st = l->fts;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, shortd, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, fulld, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, org_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, subject_text, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(org_text);
    free(subject_text);
    if (rc != SQLITE_DONE)
        return -1;
    size_t i;
    const json_t *v;
    json_array_foreach(orgs, i, v) if (facet(l, id, 0, json_string_value(v)) ||
                                       facet(l, id, 7, json_string_value(v))) return -1;
    json_array_foreach(subjects, i, v) if (facet(l, id, 1, json_string_value(v))) return -1;
    json_array_foreach(json_object_get(rec, "seats"), i,
                       v) if (facet(l, id, 5, str(v, "type"))) return -1;
    static const char *const ctypes[] = {"course", "courserun", "program"};
    if (facet(l, id, 2, json_string_value(json_object_get(src, "level_type"))) ||
        facet(l, id, 3, json_string_value(json_object_get(rec, "content_language"))) ||
        facet(l, id, 4, pacing) || facet(l, id, 6, ctypes[content]))
        return -1;
    l->docs++;
    return 0;
}

static int load(const char *corpus, const char *path)
{
    FILE *in = fopen(corpus, "r");
    if (in == NULL)
        return perror(corpus), 1;
    remove(path);
    struct loader l = {0};
    if (sqlite3_open(path, &l.db) != SQLITE_OK ||
        sqlite3_exec(l.db, schema, 0, 0, 0) != SQLITE_OK) {
        fclose(in);
        return fail(l.db, "open");
    }
    if (sqlite3_prepare_v2(l.db,
                           "INSERT INTO docs(content, key, public, title, start, end_, enr_start,"
                           " enr_end, self_paced, hit) VALUES (?,?,?,?,?,?,?,?,?,?)",
                           -1, &l.doc, NULL) ||
        sqlite3_prepare_v2(l.db,
                           "INSERT INTO fts(rowid, title, short_description, full_description,"
                           " org, key, subject) VALUES (?,?,?,?,?,?,?)",
                           -1, &l.fts, NULL) ||
        sqlite3_prepare_v2(l.db, "INSERT OR IGNORE INTO facets(doc, field, value) VALUES (?,?,?)",
                           -1, &l.facet, NULL)) {
        fclose(in);
        return fail(l.db, "prepare");
    }
    double t0 = now_s();
    long courses = 0;
    char *line = NULL;
    size_t cap = 0;
    sqlite3_exec(l.db, "BEGIN", 0, 0, 0);
    while (getline(&line, &cap, in) > 0) {
        json_t *rec = json_loads(line, 0, NULL);
        const char *kind = str(rec, "kind");
        int rc = 0;
        if (strcmp(kind, "course") == 0) {
            const json_t *owners = json_object_get(rec, "owners");
            rc = add_doc(&l, 0, rec, NULL, owners);
            size_t i;
            const json_t *run;
            json_array_foreach(json_object_get(rec, "course_runs"), i, run) if (rc == 0) rc =
                add_doc(&l, 1, run, rec, owners);
            courses++;
        } else if (strcmp(kind, "program") == 0) {
            rc = add_doc(&l, 2, rec, NULL, json_object_get(rec, "authoring_organizations"));
        }
        json_decref(rec);
        if (rc != 0)
            return fail(l.db, "insert");
    }
    if (sqlite3_exec(l.db, "COMMIT", 0, 0, 0) != SQLITE_OK)
        return fail(l.db, "commit");
    double secs = now_s() - t0;
    free(line);
    fclose(in);
    sqlite3_finalize(l.doc);
    sqlite3_finalize(l.fts);
    sqlite3_finalize(l.facet);
    sqlite3_close(l.db);
    printf("{\"courses\": %ld, \"docs\": %ld, \"seconds\": %.3f, \"courses_per_s\": %.1f}\n",
           courses, l.docs, secs, courses / secs);
    return 0;
}

/* ---- search ---- */

struct worker {
    const char *path;
    char **queries;
    size_t n_queries, first;
    double until;
    long now;
    double *lat; /* seconds, one per query run */
    size_t n_lat, cap_lat;
    int failed;
};

static void *search_thread(void *arg)
{
    struct worker *w = arg;
    sqlite3 *db;
    sqlite3_stmt *count, *hits;
    char boost[512], sql[2048];
    if (sqlite3_open_v2(w->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        w->failed = fail(db, "open");
        return NULL;
    }
    /* The statements fts5.c builds for q with public_only and no facets. */
    snprintf(boost, sizeof boost,
             "(1.0 + 0.05 * ((d.enr_start IS NULL OR d.enr_start <= %ld) AND"
             " (d.enr_end IS NULL OR d.enr_end >= %ld)) + 0.05 * d.self_paced"
             " + 0.05 * coalesce(d.start > %ld, 0))",
             w->now, w->now, w->now);
    snprintf(sql, sizeof sql,
             "SELECT d.content, d.key, d.hit, -m.rank * %s AS score FROM (SELECT rowid AS id,"
             " bm25(fts, " BM25_WEIGHTS ") AS rank FROM fts WHERE fts MATCH ?) m JOIN docs d"
             " ON d.id = m.id WHERE 1 AND d.public = 1 ORDER BY score DESC, d.title, d.id"
             " LIMIT 20 OFFSET 0",
             boost);
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM (SELECT rowid AS id FROM fts WHERE fts MATCH ?)"
                           " m JOIN docs d ON d.id = m.id WHERE 1 AND d.public = 1",
                           -1, &count, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &hits, NULL) != SQLITE_OK) {
        w->failed = fail(db, "prepare");
        return NULL;
    }
    size_t q = w->first;
    size_t bytes = 0;
    while (now_s() < w->until) {
        const char *match = w->queries[q++ % w->n_queries];
        double t0 = now_s();
        sqlite3_bind_text(count, 1, match, -1, SQLITE_STATIC);
        if (sqlite3_step(count) != SQLITE_ROW) {
            w->failed = fail(db, match);
            break;
        }
        sqlite3_int64 total = sqlite3_column_int64(count, 0);
        sqlite3_reset(count);
        if (total > 0) {
            sqlite3_bind_text(hits, 1, match, -1, SQLITE_STATIC);
            while (sqlite3_step(hits) == SQLITE_ROW)
                bytes += (size_t)sqlite3_column_bytes(hits, 2);
            sqlite3_reset(hits);
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
    sqlite3_finalize(count);
    sqlite3_finalize(hits);
    sqlite3_close(db);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int search(const char *path, const char *qfile, int threads, double seconds, long now)
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
        return fprintf(stderr, "raw_fts5: no queries or threads\n"), 1;
    struct worker *w = calloc((size_t)threads, sizeof *w);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){.path = path,
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

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "load") == 0)
        return load(argv[2], argv[3]);
    if (argc == 7 && strcmp(argv[1], "search") == 0)
        return search(argv[2], argv[3], atoi(argv[4]), atof(argv[5]), atol(argv[6]));
    fprintf(stderr, "usage: raw_fts5 load CORPUS.jsonl INDEX.db\n"
                    "       raw_fts5 search INDEX.db QUERIES THREADS SECONDS NOW_EPOCH\n");
    return 2;
}
