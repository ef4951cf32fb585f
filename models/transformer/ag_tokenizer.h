/* ag_tokenizer.h - the byte-level tokenizer of the transformer models (GPT,
 * CLIP's text tower): ids 0..255 are the bytes of the text, unchanged (UTF-8
 * stays UTF-8, any file is encodable), followed by three special ids. There
 * is nothing to learn and no vocabulary file: a text of n bytes is n ids. */
#ifndef AG_TOKENIZER_H
#define AG_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
  AG_TOK_BYTES = 256, /* ids below this are bytes */
  AG_TOK_EOT = 256,   /* end of text: a caption's last id, where generation stops */
  AG_TOK_SOT = 257,   /* start of text: a caption's first id */
  AG_TOK_PAD = 258,   /* fills a fixed-length row after the end of text */
  AG_TOK_VOCAB = 259  /* ids are in [0, AG_TOK_VOCAB) */
};

/* ids[i] = text[i] for i < n (ids has room for n). */
void ag_tok_encode(const char *text, size_t n, int32_t *ids);

/* A fixed-length row of `length` ids: SOT, the text's bytes, EOT, then PAD to
 * the end. A text longer than length - 2 bytes is cut to fit, so the row
 * always ends its text with EOT. *used gets the ids before the padding (the
 * EOT's position + 1: a key-padding length). length must be at least 2. */
ag_status ag_tok_encode_padded(const char *text, size_t n, int64_t length, int32_t *ids,
                               int64_t *used);

/* The text of ids: byte ids as themselves; SOT and PAD are skipped and the
 * first EOT ends the text. Writes at most cap - 1 bytes and a NUL (cap >= 1)
 * and returns the bytes written. An id outside [0, AG_TOK_VOCAB) is an
 * error, so a corrupt sequence is not printed as text. */
ag_status ag_tok_decode(const int32_t *ids, int64_t n, char *out, size_t cap, size_t *written);

#ifdef __cplusplus
}
#endif

#endif
