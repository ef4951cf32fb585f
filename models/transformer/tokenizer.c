/* The byte-level tokenizer (see ag_tokenizer.h). */
#include "ag_tokenizer.h"

void ag_tok_encode(const char *text, size_t n, int32_t *ids) {
  const unsigned char *bytes = (const unsigned char *)text;
  for (size_t i = 0; i < n; i++) ids[i] = bytes[i];
}

ag_status ag_tok_encode_padded(const char *text, size_t n, int64_t length, int32_t *ids,
                               int64_t *used) {
  if (length < 2)
    return ag_set_error(AG_ERR_INVALID,
                        "tokenizer: a padded row of %lld ids has no room for SOT and EOT",
                        (long long)length);
  const size_t fits = n < (size_t)(length - 2) ? n : (size_t)(length - 2);
  ids[0] = AG_TOK_SOT;
  ag_tok_encode(text, fits, ids + 1);
  ids[fits + 1] = AG_TOK_EOT;
  for (int64_t i = (int64_t)fits + 2; i < length; i++) ids[i] = AG_TOK_PAD;
  *used = (int64_t)fits + 2;
  return AG_OK;
}

ag_status ag_tok_decode(const int32_t *ids, int64_t n, char *out, size_t cap, size_t *written) {
  size_t w = 0;
  *written = 0;
  if (cap < 1) return ag_set_error(AG_ERR_INVALID, "tokenizer: no room for the text");
  for (int64_t i = 0; i < n && ids[i] != AG_TOK_EOT; i++) {
    if (ids[i] < 0 || ids[i] >= AG_TOK_VOCAB) {
      out[w] = '\0';
      return ag_set_error(AG_ERR_INVALID, "tokenizer: id %d at %lld is not a token", ids[i],
                          (long long)i);
    }
    if (ids[i] < AG_TOK_BYTES && w + 1 < cap) out[w++] = (char)ids[i];
  }
  out[w] = '\0';
  *written = w;
  return AG_OK;
}
