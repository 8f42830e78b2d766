/* --detach-keys (run, start, attach, exec) in docker's syntax: a comma
 * separated sequence of keys, each a single character or ctrl-X (X one of
 * a-z @ [ \ ] ^ _), e.g. "ctrl-x,y". Default "ctrl-p,ctrl-q". The empty
 * string turns detaching off. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define DETACH_KEYS_MAX 16

struct detach_keys {
        unsigned char seq[DETACH_KEYS_MAX];
        size_t len;     /* 0: detaching off */
        size_t matched; /* how much of seq the input ended with so far (held back) */
};

/* Docker's default, ctrl-p ctrl-q. */
void detach_keys_default(struct detach_keys *k);
int detach_keys_parse(const char *s, struct detach_keys *k, struct error *err);
/* Filters n bytes of terminal input into out (room for n + DETACH_KEYS_MAX),
 * *out_n bytes to forward. True when the sequence was typed: out then has
 * what came before it. A partial match at the end is held back until the
 * next input shows whether it goes on. */
bool detach_keys_filter(struct detach_keys *k, const char *in, size_t n, char *out, size_t *out_n);
