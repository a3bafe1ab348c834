/*
 * main - the catalogd command line: one binary, one subcommand per job.
 *
 * Every subcommand takes --config FILE and any number of --set
 * section.key=value, and --help.  Exit status: 0 done, 1 the job failed
 * (bad import line, store unreachable...), 2 usage or configuration error.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "after_commit.h"
#include "app.h"
#include "auth.h"
#include "catalog_io.h"
#include "clock.h"
#include "config.h"
#include "indexer.h"
#include "log.h"
#include "registry.h"
#include "server.h"
#include "store.h"

extern char **environ;

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct command_line {
    const char *command; /* "serve", "config show", ... */
    const char *config_file;
    const char **sets;
    size_t n_sets;
    const char **positional;
    size_t n_positional;
    bool help;
    bool version;
    bool skip_invalid;
    const char *output;
    const char *from, *to; /* copy: the source's and the target's config files */
};

struct command {
    const char *name;
    const char *usage;
    const char *summary;
    int (*run)(struct command_line *cl);
};

static const char common_options[] =
    "  --config FILE             read settings from FILE (INI)\n"
    "  --set SECTION.KEY=VALUE   override one setting (repeatable)\n"
    "  --help                    this help\n"
    "  --version                 print the version\n";

static int load_config(const struct command_line *cl, struct config **config)
{
    struct config_sources sources = {
        .file = cl->config_file,
        .sets = cl->sets,
        .n_sets = cl->n_sets,
        .envp = environ,
        .profile_dir = NULL,
    };
    struct error err = {0};
    if (config_load(&sources, config, &err) != 0) {
        fprintf(stderr, "catalogd: %s\n", err.message);
        return -1;
    }
    if (clock_set_fixed(config_get(*config, "clock.now"), &err) != 0) {
        fprintf(stderr, "catalogd: clock.now: %s\n", err.message);
        config_free(*config);
        *config = NULL;
        return -1;
    }
    return 0;
}

/* Opens the log as configured; commands other than serve log to stderr
 * without access lines. */
static int open_log(const struct config *config, bool serving)
{
    enum log_level level = LOG_INFO;
    struct error err = {0};
    log_level_from_name(config_get(config, "log.level"), &level);
    const char *file = serving ? config_get(config, "log.file") : "";
    if (log_open(file, level, serving && config_bool(config, "log.access"), &err) != 0) {
        fprintf(stderr, "catalogd: log.file: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* glibc gives each thread that calls malloc an arena of its own and keeps
 * what a query freed for later; with a worker pool, read connections and
 * the indexer that was ~13 MiB per thread of RSS under search load, over
 * the 64 MiB a 100k-course site should fit in (docs/operations.md,
 * "Memory").  Two arenas, and large temporary buffers mapped and returned
 * at free, keep it near what is live. */
static void limit_malloc_retention(void)
{
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

static int run_serve(struct command_line *cl)
{
    struct config *config = NULL;
    limit_malloc_retention();
    if (load_config(cl, &config) != 0)
        return EXIT_USAGE;
    if (open_log(config, true) != 0) {
        config_free(config);
        return EXIT_USAGE;
    }
    struct app app;
    struct error err = {0};
    int status = EXIT_OK;
    if (app_open(&app, config, &err) != 0) {
        log_msg(LOG_ERROR, "cannot start: %s", err.message);
        status = err.code == ERR_CONFIG ? EXIT_USAGE : EXIT_FAILED;
    } else {
        log_msg(LOG_INFO, "catalogd %s serving on %s (mode %s, store %s, cache %s)",
                CATALOGD_VERSION, config_get(config, "server.listen"), config_get(config, "mode"),
                config_get(config, "store.driver"), config_get(config, "cache.driver"));
        if (server_run(&app, &err) != 0) {
            log_msg(LOG_ERROR, "server: %s", err.message);
            status = EXIT_FAILED;
        }
        app_close(&app);
    }
    log_close();
    config_free(config);
    return status;
}

static int open_store(const struct command_line *cl, struct config **config, struct store **store)
{
    struct error err = {0};
    if (load_config(cl, config) != 0)
        return EXIT_USAGE;
    if (open_log(*config, false) != 0 || store_open(*config, store, &err) != 0) {
        if (err.message[0] != '\0')
            fprintf(stderr, "catalogd: store (%s): %s\n", config_get(*config, "store.driver"),
                    err.message);
        config_free(*config);
        *config = NULL;
        return err.code == ERR_CONFIG ? EXIT_USAGE : EXIT_FAILED;
    }
    return EXIT_OK;
}

static void close_store(struct config *config, struct store *store)
{
    store_close(store);
    log_close();
    config_free(config);
}

/* Opens the search index and the cache beside an open store, for the
 * commands that keep the index in step (import) or work on it (reindex,
 * verify).  need_search: fail when no search driver is configured. */
static int open_derived(const struct config *config, bool need_search, struct search **search,
                        struct cache **cache)
{
    struct error err = {0};
    *search = NULL;
    *cache = NULL;
    indexer_set_batch_size((size_t)config_int(config, "search.batch_size"));
    if (cache_open(config, cache, &err) != 0) {
        fprintf(stderr, "catalogd: cache (%s): %s\n", config_get(config, "cache.driver"),
                err.message);
        return err.code == ERR_CONFIG ? EXIT_USAGE : EXIT_FAILED;
    }
    if (search_open(config, search, &err) != 0) {
        fprintf(stderr, "catalogd: search (%s): %s\n", config_get(config, "search.driver"),
                err.message);
        cache_close(*cache);
        *cache = NULL;
        return err.code == ERR_CONFIG ? EXIT_USAGE : EXIT_FAILED;
    }
    if (need_search && *search == NULL) {
        fprintf(stderr, "catalogd: no search backend is configured (search.driver = none)\n");
        cache_close(*cache);
        *cache = NULL;
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* The store with its index and cache, for the commands that work on the
 * index (reindex, verify). */
struct backends {
    struct config *config;
    struct store *store;
    struct search *search;
    struct cache *cache;
};

/* Opens all of b (on failure nothing stays open); returns an exit status. */
static int open_backends(const struct command_line *cl, bool need_search, struct backends *b)
{
    memset(b, 0, sizeof *b);
    int status = open_store(cl, &b->config, &b->store);
    if (status != EXIT_OK)
        return status;
    status = open_derived(b->config, need_search, &b->search, &b->cache);
    if (status != EXIT_OK) {
        close_store(b->config, b->store);
        memset(b, 0, sizeof *b);
    }
    return status;
}

static void close_backends(struct backends *b)
{
    search_close(b->search);
    cache_close(b->cache);
    close_store(b->config, b->store);
    memset(b, 0, sizeof *b);
}

static void print_index_stats(const char *what, const struct indexer_stats *stats)
{
    fprintf(stderr,
            "%s: %zu documents written, %zu removed, %zu outbox changes applied, "
            "checkpoint %llu\n",
            what, stats->indexed, stats->removed, stats->changes,
            (unsigned long long)stats->checkpoint);
}

static void print_import_summary(const struct import_summary *summary)
{
    fprintf(stderr, "import: %zu lines, %zu records written, %zu unchanged, %zu invalid",
            summary->lines, summary->written, summary->unchanged, summary->invalid);
    const char *sep = " (";
    for (int kind = 0; kind < ENTITY_KIND_COUNT; kind++) {
        if (summary->by_kind[kind] == 0)
            continue;
        fprintf(stderr, "%s%zu %s", sep, summary->by_kind[kind], entity_kind_name(kind));
        sep = ", ";
    }
    fprintf(stderr, "%s\n", strcmp(sep, ", ") == 0 ? ")" : "");
}

/* Imports the JSON Lines in `in` into cl's store and brings the index and
 * the cache in step; what names the command in messages. */
static int import_stream(const struct command_line *cl, FILE *in, const char *name,
                         const char *what)
{
    struct config *config = NULL;
    struct store *store = NULL;
    int status = open_store(cl, &config, &store);
    if (status != EXIT_OK)
        return status;
    struct search *search = NULL;
    struct cache *cache = NULL;
    status = open_derived(config, false, &search, &cache);
    if (status != EXIT_OK) {
        close_store(config, store);
        return status;
    }
    struct import_options options = {.skip_invalid = cl->skip_invalid,
                                     .progress = isatty(STDERR_FILENO) != 0};
    struct import_summary summary = {0};
    struct error err = {0};
    /* A first import into an empty store and index is indexed while it is
     * written (indexer.h, "a first import"); after_commit below then finds
     * the checkpoint past the import and only refreshes and clears the
     * cache.  A serve process polling the same store meanwhile waits for
     * the store's and the index's write locks; at worst it indexes the
     * import once more, from the store, with the same result. */
    struct indexer_import *fast = NULL;
    if (indexer_import_open(store, search, cache, &fast, &err) != 0) {
        fprintf(stderr, "catalogd %s: %s\n", what, err.message);
        search_close(search);
        cache_close(cache);
        close_store(config, store);
        return EXIT_FAILED;
    }
    struct import_sink sink = {.begin = indexer_import_begin,
                               .record = indexer_import_record,
                               .finish = indexer_import_finish,
                               .ctx = fast};
    options.sink = fast != NULL ? &sink : NULL;
    int rc = catalog_import(store, in, name, &options, stderr, &summary, &err);
    struct indexer_stats fast_stats = {0};
    struct error fast_err = {0};
    if (indexer_import_end(fast, rc == 0, &fast_stats, &fast_err) != 0)
        fprintf(stderr,
                "catalogd %s: the index built during the import was not committed: %s; "
                "indexing from the store instead\n",
                what, fast_err.message);
    if (rc != 0) {
        fprintf(stderr, "catalogd %s: %s\n", what, err.message);
        fprintf(stderr, "catalogd %s: nothing was written\n", what);
        status = EXIT_FAILED;
    } else {
        print_import_summary(&summary);
        if (fast_stats.during_import)
            print_index_stats("index (built during the import)", &fast_stats);
        if (summary.invalid > 0)
            status = EXIT_FAILED;
        /* The import is committed: index it (in batches of the outbox) and
         * let every process drop what it cached before.  Where the store
         * keeps appliers apart with a lease (PostgreSQL), a serve process
         * whose indexer holds it applies the import instead: two appliers
         * at once could write an older document over a newer one. */
        bool leader = true;
        if (search != NULL && store_lease_try(store, INDEXER_LEASE_KEY, &leader, &err) != 0) {
            fprintf(stderr, "catalogd %s: %s\n", what, err.message);
            leader = false;
            status = EXIT_FAILED;
        }
        if (!leader)
            fprintf(stderr,
                    "catalogd %s: another process holds the indexer lease; it indexes "
                    "these records\n",
                    what);
        if (after_commit(store, leader ? search : NULL, cache, &err) != 0) {
            fprintf(stderr,
                    "catalogd %s: the records are written but not all indexed yet: %s\n"
                    "catalogd %s: the next serve, write or verify applies the rest\n",
                    what, err.message, what);
            status = EXIT_FAILED;
        }
    }
    search_close(search);
    cache_close(cache);
    close_store(config, store);
    return status;
}

static int run_import(struct command_line *cl)
{
    if (cl->n_positional != 1) {
        fprintf(stderr, "catalogd import: expected one FILE (or - for standard input)\n");
        return EXIT_USAGE;
    }
    const char *path = cl->positional[0];
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (in == NULL) {
        fprintf(stderr, "catalogd import: %s: %s\n", path, strerror(errno));
        return EXIT_FAILED;
    }
    int status = import_stream(cl, in, path, "import");
    if (in != stdin)
        fclose(in);
    return status;
}

/* copy: export from --from's store into an unnamed temporary file, then
 * import that into --to's store, as export and import would by hand (the
 * upgrade path of docs/operations.md).  The source is read whole and
 * closed before the target is opened. */
static int run_copy(struct command_line *cl)
{
    if (cl->from == NULL || cl->to == NULL || cl->n_positional != 0 || cl->config_file != NULL) {
        fprintf(stderr, "catalogd copy: expected --from A.conf --to B.conf (and no --config)\n");
        return EXIT_USAGE;
    }
    FILE *tmp = tmpfile();
    if (tmp == NULL) {
        fprintf(stderr, "catalogd copy: temporary file: %s\n", strerror(errno));
        return EXIT_FAILED;
    }
    /* --set overrides apply to the target only. */
    struct command_line src = *cl;
    src.config_file = cl->from;
    src.n_sets = 0;
    struct config *config = NULL;
    struct store *store = NULL;
    int status = open_store(&src, &config, &store);
    if (status != EXIT_OK) {
        fclose(tmp);
        return status;
    }
    struct error err = {0};
    if (catalog_export(store, tmp, &err) != 0) {
        fprintf(stderr, "catalogd copy: reading %s: %s\n", cl->from, err.message);
        status = EXIT_FAILED;
    } else if (fflush(tmp) != 0 || fseek(tmp, 0, SEEK_SET) != 0) {
        fprintf(stderr, "catalogd copy: temporary file: %s\n", strerror(errno));
        status = EXIT_FAILED;
    }
    close_store(config, store);
    if (status == EXIT_OK) {
        struct command_line dst = *cl;
        dst.config_file = cl->to;
        status = import_stream(&dst, tmp, cl->from, "copy");
    }
    fclose(tmp);
    return status;
}

static int run_export(struct command_line *cl)
{
    struct config *config = NULL;
    struct store *store = NULL;
    int status = open_store(cl, &config, &store);
    if (status != EXIT_OK)
        return status;
    FILE *out = stdout;
    if (cl->output != NULL && strcmp(cl->output, "-") != 0) {
        out = fopen(cl->output, "w");
        if (out == NULL) {
            fprintf(stderr, "catalogd export: %s: %s\n", cl->output, strerror(errno));
            close_store(config, store);
            return EXIT_FAILED;
        }
    }
    struct error err = {0};
    if (catalog_export(store, out, &err) != 0) {
        fprintf(stderr, "catalogd export: %s\n", err.message);
        status = EXIT_FAILED;
    }
    if (fflush(out) != 0 || (out != stdout && fclose(out) != 0)) {
        fprintf(stderr, "catalogd export: write failed: %s\n", strerror(errno));
        status = EXIT_FAILED;
    }
    close_store(config, store);
    return status;
}

static int run_reindex(struct command_line *cl)
{
    struct backends b;
    int status = open_backends(cl, true, &b);
    if (status != EXIT_OK)
        return status;
    struct indexer_stats stats = {0};
    struct error err = {0};
    if (indexer_reindex(b.store, b.search, b.cache, &stats, &err) != 0) {
        fprintf(stderr, "catalogd reindex: %s\n", err.message);
        fprintf(stderr, "catalogd reindex: the previous index is still in use\n");
        status = EXIT_FAILED;
    } else {
        print_index_stats("reindex", &stats);
    }
    close_backends(&b);
    return status;
}

static int run_verify(struct command_line *cl)
{
    struct backends b;
    int status = open_backends(cl, true, &b);
    if (status != EXIT_OK)
        return status;
    struct error err = {0};
    size_t differences = 0;
    /* Changes still in the outbox are lag, not drift: apply them first. */
    if (indexer_catch_up(b.store, b.search, b.cache, NULL, &err) != 0 ||
        indexer_verify(b.store, b.search, stdout, &differences, &err) != 0) {
        fprintf(stderr, "catalogd verify: %s\n", err.message);
        status = EXIT_FAILED;
    } else if (differences > 0) {
        printf("%zu documents differ between the store and the index "
               "(catalogd reindex rebuilds it)\n",
               differences);
        status = EXIT_FAILED;
    } else {
        printf("index matches the store\n");
    }
    close_backends(&b);
    return status;
}

static int run_migrate(struct command_line *cl)
{
    struct config *config = NULL;
    struct store *store = NULL;
    int status = open_store(cl, &config, &store);
    if (status != EXIT_OK)
        return status;
    int from = 0, to = 0;
    struct error err = {0};
    if (store_migrate(store, &from, &to, &err) != 0) {
        fprintf(stderr, "catalogd migrate: %s\n", err.message);
        status = EXIT_FAILED;
    } else {
        printf("schema version %d (%s)\n", to,
               from == to ? "up to date" : "migrated from an older version");
    }
    close_store(config, store);
    return status;
}

static int run_config_show(struct command_line *cl)
{
    struct config *config = NULL;
    if (load_config(cl, &config) != 0)
        return EXIT_USAGE;
    int status = config_show(config, stdout) == 0 ? EXIT_OK : EXIT_FAILED;
    config_free(config);
    return status;
}

static int run_config_check(struct command_line *cl)
{
    struct config *config = NULL;
    if (load_config(cl, &config) != 0)
        return EXIT_USAGE;
    /* Keys, secrets and issuer files are read as serve would read them, so
     * a short secret or an unreadable key file shows up here, not at the
     * first request. */
    struct auth *auth = NULL;
    struct error err = {0};
    if (app_auth_new(config, &auth, &err) != 0) {
        fprintf(stderr, "catalogd: %s\n", err.message);
        config_free(config);
        return EXIT_USAGE;
    }
    auth_free(auth);
    printf("configuration OK (mode %s, store %s, search %s, cache %s)\n",
           config_get(config, "mode"), config_get(config, "store.driver"),
           config_get(config, "search.driver"), config_get(config, "cache.driver"));
    config_free(config);
    return EXIT_OK;
}

static int run_config_reference(struct command_line *cl)
{
    (void)cl;
    return config_write_reference(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
}

static int run_backends(struct command_line *cl)
{
    (void)cl;
    registry_print(stdout);
    return EXIT_OK;
}

static const struct command commands[] = {
    {"serve", "catalogd serve [options]", "serve the catalog API over HTTP", run_serve},
    {"import", "catalogd import FILE|- [--skip-invalid] [options]",
     "load records from JSON Lines (docs/import-format.md); all or nothing unless "
     "--skip-invalid",
     run_import},
    {"export", "catalogd export [--output FILE] [options]",
     "write every record as JSON Lines (standard output by default)", run_export},
    {"copy", "catalogd copy --from A.conf --to B.conf [--set ...]",
     "copy every record from A's store into B's (export, then import; --set applies to B)",
     run_copy},
    {"reindex", "catalogd reindex [options]",
     "rebuild the search index from the store (searches keep working meanwhile)", run_reindex},
    {"verify", "catalogd verify [options]",
     "compare the search index with the store; print every difference, exit 1 if any", run_verify},
    {"migrate", "catalogd migrate [options]", "bring the store's schema up to date", run_migrate},
    {"config show", "catalogd config show [options]",
     "print every effective setting and where it came from", run_config_show},
    {"config check", "catalogd config check [options]",
     "validate the configuration; exit 2 with the offending file, line and key", run_config_check},
    {"config reference", "catalogd config reference",
     "print the Markdown reference of every setting (docs/configuration.md)", run_config_reference},
    {"backends", "catalogd backends", "list the backend drivers compiled into this binary",
     run_backends},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

static void print_usage(FILE *out)
{
    fprintf(out, "usage: catalogd COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < n_commands; i++)
        fprintf(out, "  %-18s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\noptions (every command):\n%s", common_options);
    fprintf(out, "\n'catalogd COMMAND --help' describes one command.\n");
}

static void print_command_help(const struct command *cmd)
{
    printf("usage: %s\n\n%s.\n\noptions:\n%s", cmd->usage, cmd->summary, common_options);
    if (strcmp(cmd->name, "import") == 0)
        printf("  --skip-invalid            write the valid lines, report each invalid one\n");
    if (strcmp(cmd->name, "export") == 0)
        printf("  --output FILE             write to FILE instead of standard output\n");
    if (strcmp(cmd->name, "copy") == 0)
        printf("  --from FILE               the source's configuration\n"
               "  --to FILE                 the target's configuration\n");
}

static const struct command *find_command(int argc, char **argv, int *consumed)
{
    if (argc >= 3 && strcmp(argv[1], "config") == 0) {
        char name[64];
        snprintf(name, sizeof name, "config %s", argv[2]);
        for (size_t i = 0; i < n_commands; i++)
            if (strcmp(commands[i].name, name) == 0) {
                *consumed = 3;
                return &commands[i];
            }
        return NULL;
    }
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, argv[1]) == 0) {
            *consumed = 2;
            return &commands[i];
        }
    return NULL;
}

/* Takes the value of an option given as "--opt VALUE" or "--opt=VALUE". */
static const char *option_value(const char *opt, int argc, char **argv, int *i)
{
    size_t len = strlen(opt);
    if (argv[*i][len] == '=')
        return argv[*i] + len + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static bool is_option(const char *arg, const char *opt)
{
    size_t len = strlen(opt);
    return strncmp(arg, opt, len) == 0 && (arg[len] == '\0' || arg[len] == '=');
}

static int parse_options(const struct command *cmd, int argc, char **argv, int start,
                         struct command_line *cl)
{
    for (int i = start; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cl->help = true;
        } else if (strcmp(arg, "--version") == 0) {
            cl->version = true;
        } else if (is_option(arg, "--config")) {
            if ((value = option_value("--config", argc, argv, &i)) == NULL)
                goto missing;
            cl->config_file = value;
        } else if (is_option(arg, "--set")) {
            if ((value = option_value("--set", argc, argv, &i)) == NULL)
                goto missing;
            cl->sets[cl->n_sets++] = value;
        } else if (is_option(arg, "--output") && strcmp(cmd->name, "export") == 0) {
            if ((value = option_value("--output", argc, argv, &i)) == NULL)
                goto missing;
            cl->output = value;
        } else if ((is_option(arg, "--from") || is_option(arg, "--to")) &&
                   strcmp(cmd->name, "copy") == 0) {
            bool from = is_option(arg, "--from");
            if ((value = option_value(from ? "--from" : "--to", argc, argv, &i)) == NULL)
                goto missing;
            *(from ? &cl->from : &cl->to) = value;
        } else if (strcmp(arg, "--skip-invalid") == 0 && strcmp(cmd->name, "import") == 0) {
            cl->skip_invalid = true;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "catalogd %s: unknown option '%s' (see 'catalogd %s --help')\n",
                    cmd->name, arg, cmd->name);
            return -1;
        } else {
            cl->positional[cl->n_positional++] = arg;
        }
        continue;
    missing:
        fprintf(stderr, "catalogd %s: option '%s' needs a value\n", cmd->name, arg);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("catalogd %s\n", CATALOGD_VERSION);
        return EXIT_OK;
    }
    int consumed = 0;
    const struct command *cmd = find_command(argc, argv, &consumed);
    if (cmd == NULL) {
        fprintf(stderr, "catalogd: unknown command '%s%s%s' (see 'catalogd --help')\n", argv[1],
                argc >= 3 && strcmp(argv[1], "config") == 0 ? " " : "",
                argc >= 3 && strcmp(argv[1], "config") == 0 ? argv[2] : "");
        return EXIT_USAGE;
    }
    struct command_line cl = {.command = cmd->name};
    /* argv bounds both arrays: no more sets or positionals than arguments. */
    cl.sets = calloc((size_t)argc, sizeof *cl.sets);
    cl.positional = calloc((size_t)argc, sizeof *cl.positional);
    if (cl.sets == NULL || cl.positional == NULL) {
        fprintf(stderr, "catalogd: out of memory\n");
        free(cl.sets);
        free(cl.positional);
        return EXIT_FAILED;
    }
    int status;
    if (parse_options(cmd, argc, argv, consumed, &cl) != 0) {
        status = EXIT_USAGE;
    } else if (cl.version) {
        printf("catalogd %s\n", CATALOGD_VERSION);
        status = EXIT_OK;
    } else if (cl.help) {
        print_command_help(cmd);
        status = EXIT_OK;
    } else if (cl.n_positional > 0 && strcmp(cmd->name, "import") != 0) {
        fprintf(stderr, "catalogd %s: unexpected argument '%s'\n", cmd->name, cl.positional[0]);
        status = EXIT_USAGE;
    } else {
        status = cmd->run(&cl);
    }
    free(cl.sets);
    free(cl.positional);
    return status;
}
