/*
 * config - see config.h.
 *
 * Loading runs in two passes.  First every source (file, environment,
 * --set) is read and each value checked against the settings table, so an
 * error names the exact line or variable.  Then the effective mode is
 * known, its profile is read, and the layers are applied lowest first:
 * defaults, profile, file, environment, flags.  Checks that need the final
 * value of more than one setting (a backend compiled in, page sizes) run
 * last, naming where the offending value came from.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_settings.h"
#include "ini.h"
#include "registry.h"

#ifndef CATALOGD_PROFILE_DIR_REL
#define CATALOGD_PROFILE_DIR_REL "../share/catalogd/profiles"
#endif

struct entry {
    char *value;
    int64_t number;
    char *origin; /* for config_origin / config_show */
    char *where;  /* for error messages: "path:line", "CATALOGD__X__Y", "--set" */
};

struct config {
    struct entry *entries; /* parallel to config_settings[] */
};

/* One checked value from one source, waiting to be layered. */
struct item {
    size_t index;
    char *value;
    int64_t number;
    char *origin;
    char *where;
};

struct layer {
    struct item *items;
    size_t n, cap;
};

static void layer_free(struct layer *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].value);
        free(l->items[i].origin);
        free(l->items[i].where);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Takes ownership of value, origin and where (also on failure). */
static int layer_add(struct layer *l, size_t index, char *value, int64_t number, char *origin,
                     char *where, struct error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct item *items = realloc(l->items, cap * sizeof *items);
        if (items == NULL) {
            free(value);
            free(origin);
            free(where);
            return error_set(err, ERR_INTERNAL, "out of memory");
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = (struct item){index, value, number, origin, where};
    if (origin == NULL || where == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    int rc = vasprintf(&out, fmt, ap);
    va_end(ap);
    return rc < 0 ? NULL : out;
}

static size_t index_of(const struct setting *s)
{
    return (size_t)(s - config_settings);
}

/* Sets err to "NAME = 'RAW': unknown setting; did you mean 'x'?". */
static int unknown_setting(const char *name, const char *raw, struct error *err)
{
    const struct setting *near = setting_suggest(name);
    char suggestion[160] = "";
    if (near != NULL) {
        char n[128];
        setting_name(near, n, sizeof n);
        snprintf(suggestion, sizeof suggestion, "; did you mean '%s'?", n);
    }
    return error_set(err, ERR_CONFIG,
                     "%s = '%s': unknown setting%s (see `catalogd config reference`)", name, raw,
                     suggestion);
}

/* Checks raw for setting s and appends it to the layer.  Errors say
 * "NAME = 'RAW': expected ..." (the caller adds where). */
static int check_and_add(struct layer *l, const struct setting *s, const char *raw,
                         const char *base_dir, char *origin, char *where, struct error *err)
{
    char *value = NULL;
    int64_t number = 0;
    if (setting_parse(s, raw, base_dir, &value, &number, err) != 0) {
        char name[128];
        setting_name(s, name, sizeof name);
        free(origin);
        free(where);
        error_prefix(err, "%s = '%s'", name, raw);
        return -1;
    }
    return layer_add(l, index_of(s), value, number, origin, where, err);
}

/* ---- files (the config file and profiles) ---- */

struct file_ctx {
    struct layer *layer;
    const char *path;     /* as given, for error locations */
    const char *base;     /* basename, for origins */
    const char *base_dir; /* where relative paths resolve; NULL: working directory */
    const char *profile;  /* mode name when reading a profile, else NULL */
};

static bool section_exists(const char *section)
{
    for (size_t i = 0; i < config_settings_count; i++)
        if (strcmp(config_settings[i].section, section) == 0)
            return true;
    return false;
}

static int file_handler(void *vctx, const char *section, const char *key, const char *value,
                        unsigned line, struct error *err)
{
    struct file_ctx *ctx = vctx;
    if (key == NULL) {
        if (section_exists(section))
            return 0;
        const char *near = setting_suggest_section(section);
        char sections[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < config_settings_count && used < sizeof sections; i++) {
            const char *sec = config_settings[i].section;
            if (sec[0] != '\0' && (i == 0 || strcmp(sec, config_settings[i - 1].section) != 0))
                used += (size_t)snprintf(sections + used, sizeof sections - used, "%s%s",
                                         used ? "|" : "", sec);
        }
        return error_set(err, ERR_CONFIG, "unknown section [%s]: expected one of %s%s%s%s", section,
                         sections, near ? "; did you mean [" : "", near ? near : "",
                         near ? "]?" : "");
    }
    char name[256];
    if (section[0] == '\0')
        snprintf(name, sizeof name, "%s", key);
    else
        snprintf(name, sizeof name, "%s.%s", section, key);
    const struct setting *s = setting_find(name);
    if (s == NULL)
        return unknown_setting(name, value, err);
    if (ctx->profile != NULL && s->section[0] == '\0')
        return error_set(err, ERR_CONFIG,
                         "%s = '%s': a profile may not set mode (it is chosen by mode)", name,
                         value);
    char *origin = ctx->profile ? xasprintf("profile %s", ctx->profile)
                                : xasprintf("file %s:%u", ctx->base, line);
    char *where = xasprintf("%s:%u", ctx->path, line);
    return check_and_add(ctx->layer, s, value, ctx->base_dir, origin, where, err);
}

static int read_config_file(const char *path, struct layer *layer, struct error *err)
{
    char *dir_copy = strdup(path), *base_copy = strdup(path);
    if (dir_copy == NULL || base_copy == NULL) {
        free(dir_copy);
        free(base_copy);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    const char *dir = dirname(dir_copy);
    struct file_ctx ctx = {
        .layer = layer,
        .path = path,
        .base = basename(base_copy),
        /* "." would only add a "./" to every path. */
        .base_dir = strcmp(dir, ".") == 0 ? NULL : dir,
        .profile = NULL,
    };
    int rc = ini_parse_file(path, file_handler, &ctx, err);
    free(dir_copy);
    free(base_copy);
    return rc;
}

static bool readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/* Finds <mode>.conf; *out is malloc'd. */
static int find_profile(const char *profile_dir, const char *mode, char **out, struct error *err)
{
    char *candidate = NULL;
    if (profile_dir != NULL) {
        candidate = xasprintf("%s/%s.conf", profile_dir, mode);
        if (candidate != NULL && readable(candidate)) {
            *out = candidate;
            return 0;
        }
        error_set(err, ERR_CONFIG, "profile '%s' not found: cannot read %s", mode,
                  candidate ? candidate : profile_dir);
        free(candidate);
        return -1;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char installed[PATH_MAX + 64] = "(unknown)";
    if (n > 0) {
        exe[n] = '\0';
        snprintf(installed, sizeof installed, "%s/" CATALOGD_PROFILE_DIR_REL "/%s.conf",
                 dirname(exe), mode);
        if (readable(installed))
            return (*out = strdup(installed)) ? 0 : error_set(err, ERR_INTERNAL, "out of memory");
    }
#ifdef CATALOGD_SOURCE_PROFILE_DIR
    candidate = xasprintf("%s/%s.conf", CATALOGD_SOURCE_PROFILE_DIR, mode);
    if (candidate != NULL && readable(candidate)) {
        *out = candidate;
        return 0;
    }
    error_set(err, ERR_CONFIG, "profile '%s' not found: looked for %s and %s", mode, installed,
              candidate ? candidate : CATALOGD_SOURCE_PROFILE_DIR);
    free(candidate);
    return -1;
#else
    return error_set(err, ERR_CONFIG, "profile '%s' not found: looked for %s", mode, installed);
#endif
}

static int read_profile(const char *profile_dir, const char *mode, struct layer *layer,
                        struct error *err)
{
    char *path = NULL;
    if (find_profile(profile_dir, mode, &path, err) != 0)
        return -1;
    struct file_ctx ctx = {
        .layer = layer,
        .path = path,
        .base = path,
        /* A profile's paths are defaults: they resolve against the working
         * directory, never against the install tree the profile lives in. */
        .base_dir = NULL,
        .profile = mode,
    };
    int rc = ini_parse_file(path, file_handler, &ctx, err);
    free(path);
    return rc;
}

/* ---- environment and flags ---- */

static int read_env(char *const *envp, struct layer *layer, struct error *err)
{
    static const char prefix[] = "CATALOGD__";
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *var = envp[i];
        const char *eq = strchr(var, '=');
        if (eq == NULL)
            continue;
        size_t var_len = (size_t)(eq - var);
        const char *raw = eq + 1;
        char name[256];
        if (var_len == strlen("CATALOGD_MODE") && strncmp(var, "CATALOGD_MODE", var_len) == 0) {
            snprintf(name, sizeof name, "mode");
        } else if (strncmp(var, prefix, sizeof prefix - 1) == 0) {
            /* CATALOGD__SECTION__KEY -> section.key */
            const char *p = var + sizeof prefix - 1;
            size_t j = 0;
            while (p < eq && j + 1 < sizeof name) {
                if (p[0] == '_' && p + 1 < eq && p[1] == '_') {
                    name[j++] = '.';
                    p += 2;
                } else {
                    name[j++] = (char)tolower((unsigned char)*p++);
                }
            }
            name[j] = '\0';
        } else {
            continue;
        }
        const struct setting *s = setting_find(name);
        if (s == NULL) {
            unknown_setting(name, raw, err);
            error_prefix(err, "environment %.*s", (int)var_len, var);
            return -1;
        }
        char *where = xasprintf("environment %.*s", (int)var_len, var);
        if (check_and_add(layer, s, raw, NULL, strdup("env"), where, err) != 0) {
            error_prefix(err, "environment %.*s", (int)var_len, var);
            return -1;
        }
    }
    return 0;
}

static int read_flags(const char *const *sets, size_t n_sets, struct layer *layer,
                      struct error *err)
{
    for (size_t i = 0; i < n_sets; i++) {
        const char *arg = sets[i];
        const char *eq = arg ? strchr(arg, '=') : NULL;
        if (eq == NULL || eq == arg)
            return error_set(err, ERR_CONFIG, "--set '%s': expected section.key=value",
                             arg ? arg : "");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
        const struct setting *s = setting_find(name);
        if (s == NULL) {
            unknown_setting(name, eq + 1, err);
            error_prefix(err, "--set");
            return -1;
        }
        if (check_and_add(layer, s, eq + 1, NULL, strdup("flag"), strdup("--set"), err) != 0) {
            error_prefix(err, "--set");
            return -1;
        }
    }
    return 0;
}

/* ---- layering ---- */

static int set_entry(struct entry *e, char *value, int64_t number, char *origin, char *where)
{
    free(e->value);
    free(e->origin);
    free(e->where);
    e->value = value;
    e->number = number;
    e->origin = origin;
    e->where = where;
    return value && origin && where ? 0 : -1;
}

static int apply_layer(struct config *c, struct layer *l, struct error *err)
{
    for (size_t i = 0; i < l->n; i++) {
        struct item *it = &l->items[i];
        int rc = set_entry(&c->entries[it->index], it->value, it->number, it->origin, it->where);
        it->value = it->origin = it->where = NULL;
        if (rc != 0)
            return error_set(err, ERR_INTERNAL, "out of memory");
    }
    return 0;
}

static int apply_defaults(struct config *c, struct error *err)
{
    for (size_t i = 0; i < config_settings_count; i++) {
        char *value = NULL;
        int64_t number = 0;
        if (setting_parse(&config_settings[i], config_settings[i].def, NULL, &value, &number,
                          err) != 0) {
            error_prefix(err, "built-in default of %s.%s", config_settings[i].section,
                         config_settings[i].key);
            return -1;
        }
        if (set_entry(&c->entries[i], value, number, strdup("default"), strdup("default")) != 0)
            return error_set(err, ERR_INTERNAL, "out of memory");
    }
    return 0;
}

/* The last mode named in the highest-precedence layer that names one. */
static const char *pick_mode(struct layer *const *layers, size_t n_layers)
{
    size_t mode_index = index_of(setting_find("mode"));
    for (size_t l = n_layers; l-- > 0;)
        for (size_t i = layers[l]->n; i-- > 0;)
            if (layers[l]->items[i].index == mode_index)
                return layers[l]->items[i].value;
    return setting_find("mode")->def;
}

static struct entry *entry_of(const struct config *c, const char *name)
{
    const struct setting *s = setting_find(name);
    if (s == NULL) {
        fprintf(stderr, "catalogd: BUG: undeclared setting '%s'\n", name);
        abort();
    }
    return &c->entries[index_of(s)];
}

static int check_final(struct config *c, struct error *err)
{
    static const struct {
        const char *name;
        enum backend_kind kind;
    } backends[] = {{"store.driver", BACKEND_STORE},
                    {"search.driver", BACKEND_SEARCH},
                    {"cache.driver", BACKEND_CACHE}};
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        struct entry *e = entry_of(c, backends[i].name);
        if (registry_compiled_in(backends[i].kind, e->value))
            continue;
        char compiled[128] = "";
        size_t used = 0;
        for (const char *const *k = registry_known_names(backends[i].kind); *k; k++)
            if (registry_compiled_in(backends[i].kind, *k) && used < sizeof compiled)
                used += (size_t)snprintf(compiled + used, sizeof compiled - used, "%s%s",
                                         used ? ", " : "", *k);
        return error_set(err, ERR_CONFIG,
                         "%s: %s = '%s': not compiled into this binary (compiled in: %s)", e->where,
                         backends[i].name, e->value, compiled);
    }
    struct entry *def = entry_of(c, "api.page_size_default");
    struct entry *max = entry_of(c, "api.page_size_max");
    if (def->number > max->number)
        return error_set(err, ERR_CONFIG,
                         "%s: api.page_size_default = '%s': expected at most api.page_size_max "
                         "(%s, from %s)",
                         def->where, def->value, max->value, max->where);

    /* Links must not depend on the request's Host header, so an unset
     * public URL is derived from the listen address rather than left empty. */
    struct entry *url = entry_of(c, "server.public_url");
    if (url->value[0] == '\0') {
        char *derived = xasprintf("http://%s", entry_of(c, "server.listen")->value);
        if (derived == NULL)
            return error_set(err, ERR_INTERNAL, "out of memory");
        free(url->value);
        url->value = derived;
    }
    return 0;
}

int config_load(const struct config_sources *sources, struct config **out, struct error *err)
{
    struct layer profile = {0}, file = {0}, env = {0}, flags = {0};
    struct config *c = calloc(1, sizeof *c);
    *out = NULL;
    if (c == NULL || (c->entries = calloc(config_settings_count, sizeof *c->entries)) == NULL) {
        free(c);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    int rc = -1;
    if (apply_defaults(c, err) != 0)
        goto done;
    if (sources->file != NULL && read_config_file(sources->file, &file, err) != 0)
        goto done;
    if (read_env(sources->envp, &env, err) != 0)
        goto done;
    if (read_flags(sources->sets, sources->n_sets, &flags, err) != 0)
        goto done;
    struct layer *const above_profile[] = {&file, &env, &flags};
    if (read_profile(sources->profile_dir, pick_mode(above_profile, 3), &profile, err) != 0)
        goto done;
    if (apply_layer(c, &profile, err) != 0 || apply_layer(c, &file, err) != 0 ||
        apply_layer(c, &env, err) != 0 || apply_layer(c, &flags, err) != 0)
        goto done;
    if (check_final(c, err) != 0)
        goto done;
    rc = 0;
done:
    layer_free(&profile);
    layer_free(&file);
    layer_free(&env);
    layer_free(&flags);
    if (rc != 0) {
        if (err != NULL)
            err->code = err->code == ERR_INTERNAL ? ERR_INTERNAL : ERR_CONFIG;
        config_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void config_free(struct config *config)
{
    if (config == NULL)
        return;
    if (config->entries != NULL)
        for (size_t i = 0; i < config_settings_count; i++) {
            free(config->entries[i].value);
            free(config->entries[i].origin);
            free(config->entries[i].where);
        }
    free(config->entries);
    free(config);
}

const char *config_get(const struct config *config, const char *name)
{
    return entry_of(config, name)->value;
}

int64_t config_int(const struct config *config, const char *name)
{
    return entry_of(config, name)->number;
}

int64_t config_server_threads(const struct config *config)
{
    int64_t n = config_int(config, "server.threads");
    if (n > 0)
        return n;
    /* CPU-bound work on a local store gains nothing from more threads than
     * cores, and more of them made the cached GET's p99 worse: a worker
     * descheduled behind another holds its connections' answers. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? cores : 1;
}

bool config_bool(const struct config *config, const char *name)
{
    return entry_of(config, name)->number != 0;
}

const char *config_origin(const struct config *config, const char *name)
{
    return entry_of(config, name)->origin;
}

/* ---- output ---- */

/* A secret as config show prints it: URLs keep all but the password. */
static char *mask_secret(const struct setting *s, const char *value)
{
    if (!s->secret || value[0] == '\0')
        return strdup(value);
    if (s->type != SETTING_URL)
        return strdup("***");
    const char *auth = strstr(value, "://");
    if (auth == NULL)
        return strdup("***");
    auth += 3;
    const char *at = strchr(auth, '@');
    const char *slash = strchr(auth, '/');
    if (at == NULL || (slash != NULL && slash < at))
        return strdup(value);
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (colon == NULL)
        return strdup(value);
    return xasprintf("%.*s***%s", (int)(colon + 1 - value), value, at);
}

int config_show(const struct config *config, FILE *out)
{
    char **lines = calloc(config_settings_count, sizeof *lines);
    if (lines == NULL)
        return -1;
    size_t width = 0;
    int rc = 0;
    for (size_t i = 0; i < config_settings_count; i++) {
        char name[128];
        setting_name(&config_settings[i], name, sizeof name);
        char *shown = mask_secret(&config_settings[i], config->entries[i].value);
        lines[i] = shown ? xasprintf("%s = %s", name, shown) : NULL;
        free(shown);
        if (lines[i] == NULL) {
            rc = -1;
            break;
        }
        if (strlen(lines[i]) > width)
            width = strlen(lines[i]);
    }
    for (size_t i = 0; rc == 0 && i < config_settings_count; i++)
        if (fprintf(out, "%-*s    # %s\n", (int)width, lines[i], config->entries[i].origin) < 0)
            rc = -1;
    for (size_t i = 0; i < config_settings_count; i++)
        free(lines[i]);
    free(lines);
    if (fflush(out) != 0)
        rc = -1;
    return rc;
}
