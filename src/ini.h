/*
 * ini - a small INI reader of our own.
 *
 * Syntax: "[section]" headers, "key = value" lines, comments on lines whose
 * first non-blank character is ';' or '#', blank lines.  Whitespace around
 * names and values is trimmed; a value may be double-quoted to keep leading
 * or trailing spaces, ';' or '#' ("\"" and "\\" escape inside quotes).
 * Text after a value is never taken as a comment (unlike libinih, which
 * treats " ;" as one), and lines have no length limit.  Keys before the
 * first header have the section "".
 */
#ifndef CATALOGD_INI_H
#define CATALOGD_INI_H

#include <stddef.h>

#include "error.h"

/* Called once per header (key == NULL, value == NULL) and once per
 * "key = value" line.  The strings are valid only during the call.  Returns
 * 0 to go on, or -1 with err set: parsing stops, and the reader prefixes the
 * message with "NAME:LINE". */
typedef int (*ini_handler)(void *ctx, const char *section, const char *key, const char *value,
                           unsigned line, struct error *err);

/* Parses text (NUL-terminated) reporting errors as "name:line: ...".
 * Returns 0, or -1 with err set (ERR_CONFIG for a syntax error, or what the
 * handler set). */
int ini_parse_string(const char *name, const char *text, ini_handler handler, void *ctx,
                     struct error *err);

/* Reads the file at path and parses it as ini_parse_string, naming it by
 * path.  Returns -1 with ERR_CONFIG when the file cannot be read. */
int ini_parse_file(const char *path, ini_handler handler, void *ctx, struct error *err);

#endif
