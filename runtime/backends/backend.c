/* The backend registry and device selection. */
#include "ag_backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AG_MAX_BACKENDS 32

/* The one piece of global mutable state the runtime allows. */
static struct {
  pthread_mutex_t lock;
  ag_backend *list[AG_MAX_BACKENDS];
  int count;
} ag_registry = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

ag_status ag_backend_register(ag_backend *be) {
  ag_status st = AG_OK;
  pthread_mutex_lock(&ag_registry.lock);
  for (int i = 0; i < ag_registry.count && st == AG_OK; i++)
    if (strcmp(ag_registry.list[i]->name, be->name) == 0)
      st = ag_set_error(AG_ERR_INVALID, "backend %s is already registered", be->name);
  if (st == AG_OK && ag_registry.count == AG_MAX_BACKENDS)
    st = ag_set_error(AG_ERR_INVALID, "too many backends (max %d)", AG_MAX_BACKENDS);
  if (st == AG_OK) ag_registry.list[ag_registry.count++] = be;
  pthread_mutex_unlock(&ag_registry.lock);
  return st;
}

ag_backend *ag_backend_find(const char *name) {
  ag_backend_cpu(); /* makes sure cpu is registered */
  ag_backend *found = NULL;
  pthread_mutex_lock(&ag_registry.lock);
  for (int i = 0; i < ag_registry.count && !found; i++)
    if (strcmp(ag_registry.list[i]->name, name) == 0) found = ag_registry.list[i];
  pthread_mutex_unlock(&ag_registry.lock);
  return found;
}

int ag_backend_count(void) {
  ag_backend_cpu();
  pthread_mutex_lock(&ag_registry.lock);
  int n = ag_registry.count;
  pthread_mutex_unlock(&ag_registry.lock);
  return n;
}

ag_backend *ag_backend_at(int i) {
  ag_backend *be = NULL;
  pthread_mutex_lock(&ag_registry.lock);
  if (i >= 0 && i < ag_registry.count) be = ag_registry.list[i];
  pthread_mutex_unlock(&ag_registry.lock);
  return be;
}

/* Finds or opens cuda:N. */
static ag_status select_cuda(int ordinal, ag_backend **out) {
  char name[16];
  snprintf(name, sizeof name, "cuda:%d", ordinal);
  if ((*out = ag_backend_find(name)) != NULL) return AG_OK;
  int count = 0;
  AG_TRY(ag_cuda_probe(&count));
  if (ordinal >= count)
    return ag_set_error(AG_ERR_DEVICE, "device %s requested but only %d CUDA device(s) found",
                        name, count);
  AG_TRY(ag_cuda_backend_open(ordinal, out));
  return ag_backend_register(*out);
}

static ag_status parse_cuda_ordinal(const char *spec, int *ordinal) {
  if (strcmp(spec, "cuda") == 0) {
    *ordinal = 0;
    return AG_OK;
  }
  char *end = NULL;
  long v = strtol(spec + 5, &end, 10);
  if (spec[5] == '\0' || *end != '\0' || v < 0 || v > 1024)
    return ag_set_error(AG_ERR_INVALID, "bad device '%s' (expected cuda or cuda:N)", spec);
  *ordinal = (int)v;
  return AG_OK;
}

ag_status ag_backend_select(const char *spec, ag_backend **out, char *note, size_t note_len) {
  if (note && note_len) note[0] = '\0';
  if (!spec || !*spec) spec = getenv("AG_DEVICE");
  if (!spec || !*spec) spec = "auto";
  *out = NULL;
  if (strcmp(spec, "auto") == 0) {
    int count = 0;
    if (ag_cuda_probe(&count) == AG_OK && select_cuda(0, out) == AG_OK) {
      if (note) snprintf(note, note_len, "auto: %d CUDA device(s) found, using cuda:0", count);
      return AG_OK;
    }
    if (note) snprintf(note, note_len, "auto: using cpu because %s", ag_last_error());
    *out = ag_backend_cpu();
    return AG_OK;
  }
  if (strcmp(spec, "cuda") == 0 || strncmp(spec, "cuda:", 5) == 0) {
    int ordinal = 0;
    AG_TRY(parse_cuda_ordinal(spec, &ordinal));
    return select_cuda(ordinal, out);
  }
  if ((*out = ag_backend_find(spec)) != NULL) return AG_OK;
  return ag_set_error(AG_ERR_INVALID, "unknown device '%s' (expected auto, cpu, cuda or cuda:N)",
                      spec);
}
