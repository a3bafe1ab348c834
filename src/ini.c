/*
 * ini - see ini.h.  The text is parsed in place in a private copy, one line
 * at a time, so that a line of any length is as easy as a short one.
 */
#include "ini.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trims blanks at both ends in place and returns the new start. */
static char *trim(char *s)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Unquotes a "..." value in place.  Returns 0, or -1 when the quotes are
 * unbalanced or text follows the closing quote. */
static int unquote(char *s, const char **why)
{
    char *w = s;
    const char *r = s + 1;
    for (;;) {
        if (*r == '\0') {
            *why = "unterminated quoted value";
            return -1;
        }
        if (*r == '"')
            break;
        if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
            r++;
        *w++ = *r++;
    }
    r++;
    if (*r != '\0') {
        *why = "unexpected text after the closing quote";
        return -1;
    }
    *w = '\0';
    return 0;
}

static int parse_line(const char *name, unsigned lineno, char *line, char **section,
                      ini_handler handler, void *ctx, struct error *err)
{
    char *s = trim(line);
    if (*s == '\0' || *s == ';' || *s == '#')
        return 0;
    if (*s == '[') {
        char *end = strchr(s, ']');
        if (end == NULL || trim(end + 1)[0] != '\0')
            return error_set(err, ERR_CONFIG, "%s:%u: malformed section header '%s'", name, lineno,
                             s);
        *end = '\0';
        char *sec = trim(s + 1);
        if (*sec == '\0')
            return error_set(err, ERR_CONFIG, "%s:%u: empty section name", name, lineno);
        char *copy = strdup(sec);
        if (copy == NULL)
            return error_set(err, ERR_INTERNAL, "out of memory");
        free(*section);
        *section = copy;
        if (handler(ctx, *section, NULL, NULL, lineno, err) != 0) {
            error_prefix(err, "%s:%u", name, lineno);
            return -1;
        }
        return 0;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL)
        return error_set(err, ERR_CONFIG,
                         "%s:%u: expected 'key = value', '[section]' or a comment, got '%.80s'",
                         name, lineno, s);
    *eq = '\0';
    char *key = trim(s);
    char *value = trim(eq + 1);
    if (*key == '\0')
        return error_set(err, ERR_CONFIG, "%s:%u: missing key before '='", name, lineno);
    if (*value == '"') {
        const char *why = NULL;
        /* Unquoting works in place; keep the text as written for the message. */
        char *as_written = strdup(value);
        if (as_written == NULL)
            return error_set(err, ERR_INTERNAL, "out of memory");
        if (unquote(value, &why) != 0) {
            error_set(err, ERR_CONFIG, "%s:%u: %s = %s: %s", name, lineno, key, as_written, why);
            free(as_written);
            return -1;
        }
        free(as_written);
    }
    if (handler(ctx, *section, key, value, lineno, err) != 0) {
        error_prefix(err, "%s:%u", name, lineno);
        return -1;
    }
    return 0;
}

int ini_parse_string(const char *name, const char *text, ini_handler handler, void *ctx,
                     struct error *err)
{
    char *copy = strdup(text);
    char *section = strdup("");
    if (copy == NULL || section == NULL) {
        free(copy);
        free(section);
        return error_set(err, ERR_INTERNAL, "out of memory");
    }
    int rc = 0;
    unsigned lineno = 0;
    char *line = copy;
    while (line != NULL) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        lineno++;
        if (lineno == 1 && (unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
            (unsigned char)line[2] == 0xBF)
            line += 3; /* a UTF-8 byte order mark from some editors */
        if (parse_line(name, lineno, line, &section, handler, ctx, err) != 0) {
            rc = -1;
            break;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(section);
    free(copy);
    return rc;
}

/* Reads the whole file; *out is malloc'd and NUL-terminated. */
static int slurp(const char *path, char **out, struct error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return error_set(err, ERR_CONFIG, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (buf == NULL)
        return error_set(err, ERR_INTERNAL, "out of memory reading %s", path);
    if (failed) {
        free(buf);
        return error_set(err, ERR_CONFIG, "%s: read error", path);
    }
    if (memchr(buf, '\0', len) != NULL) {
        free(buf);
        return error_set(err, ERR_CONFIG, "%s: contains a NUL byte; not a text file", path);
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

int ini_parse_file(const char *path, ini_handler handler, void *ctx, struct error *err)
{
    char *text = NULL;
    if (slurp(path, &text, err) != 0)
        return -1;
    int rc = ini_parse_string(path, text, handler, ctx, err);
    free(text);
    return rc;
}
