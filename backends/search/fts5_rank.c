/*
 * fts5_rank - catalogd_bm25(fts, ctx), an FTS5 auxiliary function giving
 * the same score as FTS5's own bm25(fts, weights...) (SQLite 3.40,
 * ext/fts5/fts5_aux.c: k1 = 1.2, b = 0.75, IDF log((N - n + 0.5) /
 * (n + 0.5)) floored at 1e-6, average length over every column), at a
 * fraction of its cost per match:
 *
 *   - the row's length in tokens comes from the caller (the memory copy
 *     keeps it) instead of xColumnSize, which reads the row's %_docsize
 *     record: a B-tree lookup for every match;
 *   - the caller says which rows to score at all (those passing the
 *     filters), so the others cost a rowid and nothing else;
 *   - phrase frequencies are walked per phrase with xPhraseFirst/Next
 *     instead of xInstCount/xInst, which merges every phrase's instances
 *     into one sorted array per row first.
 *
 * With no_idf set the IDF is left to the caller: each phrase weighs 1,
 * so the function returns bm25's sum before the IDF factor (for one
 * phrase, bm25 = IDF x that, computed in that order: the caller gets the
 * exact value back with fts5_rank_idf).
 *
 * The weights are integers summed exactly in any order, and the per-phrase
 * sum and the final formula are written as bm25's are, so the scores are
 * the same doubles, not merely close (tests/test_search_rank.c compares).
 */
#include <math.h>
#include <string.h>

#include "fts5_internal.h"

#define RANK_PTR_TYPE "catalogd_fts5_rank"

/* What bm25 computes once per statement. */
struct rank_data {
    int n_phrase;
    double avgdl;
    double *idf;  /* n_phrase */
    double *freq; /* n_phrase, per row */
};

static int count_cb(const Fts5ExtensionApi *api, Fts5Context *fts, void *user)
{
    (void)api, (void)fts;
    (*(sqlite3_int64 *)user)++;
    return SQLITE_OK;
}

double fts5_rank_idf(sqlite3_int64 n_row, sqlite3_int64 n_hit)
{
    double idf = log(((double)n_row - (double)n_hit + 0.5) / ((double)n_hit + 0.5));
    return idf <= 0.0 ? 1e-6 : idf;
}

static int rank_data(const Fts5ExtensionApi *api, Fts5Context *fts, struct fts5_rank *rank,
                     struct rank_data **out)
{
    struct rank_data *p = api->xGetAuxdata(fts, 0);
    int rc = SQLITE_OK;
    if (p == NULL) {
        int n = api->xPhraseCount(fts);
        sqlite3_int64 n_row = 0, n_token = 0;
        p = sqlite3_malloc64(sizeof *p + (size_t)n * 2 * sizeof(double));
        if (p == NULL)
            return SQLITE_NOMEM;
        memset(p, 0, sizeof *p + (size_t)n * 2 * sizeof(double));
        p->n_phrase = n;
        p->idf = (double *)&p[1];
        p->freq = p->idf + n;
        rc = api->xRowCount(fts, &n_row);
        if (rc == SQLITE_OK)
            rc = api->xColumnTotalSize(fts, -1, &n_token);
        if (rc == SQLITE_OK)
            p->avgdl = (double)n_token / (double)n_row;
        rank->n_row = n_row;
        for (int i = 0; rc == SQLITE_OK && i < n; i++) {
            sqlite3_int64 n_hit = 0;
            if (rank->no_idf) {
                p->idf[i] = 1.0;
            } else if (rank->idf_get == NULL || !rank->idf_get(rank, i, n, &p->idf[i])) {
                if ((rc = api->xQueryPhrase(fts, i, &n_hit, count_cb)) == SQLITE_OK) {
                    p->idf[i] = fts5_rank_idf(n_row, n_hit);
                    if (rank->idf_put != NULL)
                        rank->idf_put(rank, i, n, p->idf[i]);
                }
            }
        }
        if (rc == SQLITE_OK)
            rc = api->xSetAuxdata(fts, p, sqlite3_free);
        else
            sqlite3_free(p);
        if (rc != SQLITE_OK)
            return rc;
    }
    *out = p;
    return SQLITE_OK;
}

static void rank_function(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
                          int n_val, sqlite3_value **val)
{
    const double k1 = 1.2, b = 0.75;
    struct fts5_rank *rank = n_val > 0 ? sqlite3_value_pointer(val[0], RANK_PTR_TYPE) : NULL;
    int len = -1;
    if (rank == NULL) {
        sqlite3_result_error(ctx, "catalogd_bm25: no ranking context", -1);
        return;
    }
    if (rank->want != NULL && !rank->want(rank, api->xRowid(fts), &len))
        return; /* NULL: not scored */
    struct rank_data *p = NULL;
    int rc = rank_data(api, fts, rank, &p);
    for (int i = 0; rc == SQLITE_OK && i < p->n_phrase; i++) {
        Fts5PhraseIter it;
        int col = 0, off = 0;
        double f = 0.0;
        rc = api->xPhraseFirst(fts, i, &it, &col, &off);
        for (; rc == SQLITE_OK && col >= 0; api->xPhraseNext(fts, &it, &col, &off))
            f += col < rank->n_weights ? rank->weights[col] : 1.0;
        p->freq[i] = f;
    }
    if (rc == SQLITE_OK && len < 0)
        rc = api->xColumnSize(fts, -1, &len);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    double d = (double)len, score = 0.0;
    for (int i = 0; i < p->n_phrase; i++)
        score += p->idf[i] *
                 ((p->freq[i] * (k1 + 1.0)) / (p->freq[i] + k1 * (1 - b + b * d / p->avgdl)));
    if (rank->scored != NULL)
        rank->scored(rank, -1.0 * score);
    sqlite3_result_double(ctx, -1.0 * score);
}

/* Registers catalogd_bm25 on db's FTS5. */
int fts5_rank_register(sqlite3 *db, struct error *err)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
        return fts5_db_error(db, err, "fts5 api");
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (api == NULL || api->iVersion < 2)
        return error_set(err, ERR_INTERNAL, "search index (fts5): no fts5_api (version 2)");
    if (api->xCreateFunction(api, FTS5_RANK_FUNCTION, NULL, rank_function, NULL) != SQLITE_OK)
        return fts5_db_error(db, err, "register " FTS5_RANK_FUNCTION);
    return 0;
}

/* Binds rank as the ranking context argument of catalogd_bm25 at column
 * i of st (rank must outlive the statement's steps). */
int fts5_rank_bind(sqlite3_stmt *st, int i, struct fts5_rank *rank)
{
    return sqlite3_bind_pointer(st, i, rank, RANK_PTR_TYPE, NULL);
}
