/* Output formatting: docker-style tables and a subset of Go templates.
 *
 * Templates: text with actions {{.Field}}, {{.A.B}}, {{.}}, {{json .}},
 * {{json .Field}}, {{upper .F}}, {{lower .F}}, {{len .F}}, {{join .F ", "}},
 * and {{- / -}} whitespace trimming. "\t" and "\n" in a template are tab
 * and newline. A "table " prefix prints a header row (from the command's
 * header names) and aligns columns as docker's tabwriter does (minimum
 * width 10, padding 3). "json" alone prints each item as one JSON line.
 * Values print as Go prints them: strings raw, arrays "[a b]", objects
 * "map[k:v]".
 */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/error.h"

struct tmpl;
int tmpl_parse(const char *text, struct tmpl **ret, struct error *err);
/* Renders the template for one value; *ret is a fresh string. */
int tmpl_render(const struct tmpl *t, struct json_object *v, char **ret, struct error *err);
void tmpl_free(struct tmpl *t);

/* Column headers: a field name and its header ("ID" -> "IMAGE ID"). */
struct fmt_header {
        const char *field;
        const char *header;
};

/* Prints rows with format (NULL, "", "table" -> default_table, a "table ..."
 * template, "json", or a plain template). */
int format_print(FILE *out, const char *format, const char *default_table,
                 const struct fmt_header *headers, struct json_object **rows, size_t n,
                 struct error *err);

/* Aligns tab-separated lines as docker's tabwriter(minwidth 10, padding 3). */
void table_print(FILE *out, char **lines);

/* "3 hours ago", "About a minute ago" (docker's units.HumanDuration + " ago"). */
void format_since(int64_t then, int64_t now, char *buf, size_t len);
/* "1.23MB", "4.1kB", "12B" (docker's HumanSizeWithPrecision(size, 3), SI units). */
void format_size(int64_t bytes, char *buf, size_t len);
