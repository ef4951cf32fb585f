/* JSON files read whole and parsed (see json.h). */
#define _POSIX_C_SOURCE 200809L
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ag_status read_text(const char *path, char **out) {
  FILE *f = fopen(path, "rb");
  if (!f) return ag_set_error(AG_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
  const long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  char *text = len >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)len + 1) : NULL;
  const int ok = text && fread(text, 1, (size_t)len, f) == (size_t)len;
  fclose(f);
  if (!ok) {
    free(text);
    return ag_set_error(AG_ERR_IO, "%s: cannot read (not a regular file, or out of memory)", path);
  }
  text[len] = '\0';
  *out = text;
  return AG_OK;
}

ag_status ag_json_read_object(const char *path, cJSON **root) {
  char *text = NULL;
  *root = NULL;
  AG_TRY(read_text(path, &text));
  *root = cJSON_Parse(text);
  const char *err = cJSON_GetErrorPtr();
  const long near = *root || !err ? 0 : (long)(err - text);
  free(text);
  if (!*root) return ag_set_error(AG_ERR_IO, "%s: not JSON (error near byte %ld)", path, near);
  if (!cJSON_IsObject(*root)) {
    cJSON_Delete(*root);
    *root = NULL;
    return ag_set_error(AG_ERR_IO, "%s: not a JSON object", path);
  }
  return AG_OK;
}
