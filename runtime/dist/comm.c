/* The communicator (ag_comm.h): picks the back end, opens its handles
 * through the collective kernels (kernels/common/ag_k_collective.h) and
 * checks every tensor collective before a kernel sees it.
 *
 * Handles: `host` is an MPI handle of the CPU kernels (the host helpers, the
 * barrier and the NCCL id exchange go through it); `dev` is the one the
 * tensors' collectives run on and the one installed in be->libs.comm: `host`
 * itself under mpi, an NCCL handle of the backend's kernels under nccl. A
 * single communicator has neither. */
#include "comm_internal.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/common/ag_kernels.h"

struct ag_comm {
  ag_backend *be;
  ag_comm_kind kind;
  int rank, world;
  double timeout_s;
  ag_collective_comm *host, *dev;
};

/* 0 when the environment does not set it. */
static ag_status env_timeout(double *out) {
  const char *s = getenv("AG_DIST_TIMEOUT");
  char *end = NULL;
  *out = 0.0;
  if (!s || !*s) return AG_OK;
  double v = strtod(s, &end);
  if (*end != '\0' || !(v > 0.0))
    return ag_set_error(AG_ERR_INVALID,
                        "dist: AG_DIST_TIMEOUT='%s' is not a positive number of seconds", s);
  *out = v;
  return AG_OK;
}

static ag_status resolve_timeout(const ag_comm_opts *opts, double *out) {
  if (opts->timeout_s < 0.0 || opts->timeout_s != opts->timeout_s)
    return ag_set_error(AG_ERR_INVALID, "dist: timeout %g s is not a positive number of seconds",
                        opts->timeout_s);
  if (opts->timeout_s > 0.0) {
    *out = opts->timeout_s;
    return AG_OK;
  }
  AG_TRY(env_timeout(out));
  if (*out == 0.0) *out = 60.0;
  return AG_OK;
}

/* auto: mpi or nccl (by the backend's memory) when a launcher started more
 * than one rank, else single. */
static ag_comm_kind auto_kind(const ag_backend *be, const ag_comm_env *env) {
  if (!env->launched || env->world < 2) return AG_COMM_SINGLE;
  return be->kind == AG_DEVICE_CPU ? AG_COMM_MPI : AG_COMM_NCCL;
}

static int build_has_mpi(void) {
#ifdef AG_HAVE_MPI
  return 1;
#else
  return 0;
#endif
}

static ag_status check_kind(const ag_backend *be, ag_comm_kind kind, const ag_comm_env *env) {
  if (kind == AG_COMM_NCCL && be->kind == AG_DEVICE_CPU)
    return ag_set_error(AG_ERR_INVALID,
                        "dist: nccl needs a cuda or emu backend, not %s (use mpi)", be->name);
  if (kind == AG_COMM_MPI && !be->host_visible)
    return ag_set_error(AG_ERR_INVALID,
                        "dist: mpi moves host memory, backend %s holds device memory (use nccl)",
                        be->name);
  if (kind == AG_COMM_NCCL && !(be->kernels && be->kernels->collective))
    return ag_set_error(AG_ERR_UNSUPPORTED, "dist: backend %s has no collective kernels",
                        be->name);
  if (kind == AG_COMM_SINGLE || build_has_mpi()) return AG_OK;
  if (env->launched && env->world > 1)
    return ag_set_error(AG_ERR_UNSUPPORTED,
                        "dist: launched as rank %d of %d, but this build has no MPI (install "
                        "libopenmpi-dev and reconfigure)",
                        env->rank, env->world);
  return ag_set_error(AG_ERR_UNSUPPORTED,
                      "dist: %s needs MPI, which this build lacks (install libopenmpi-dev and "
                      "reconfigure)",
                      ag_comm_kind_name(kind));
}

/* Rank 0 creates the NCCL id and broadcasts it, with a leading byte saying
 * whether it could, so no rank waits for an id that never comes. */
static ag_status exchange_id(ag_comm *c, unsigned char id[AG_COLLECTIVE_ID_BYTES]) {
  unsigned char msg[1 + AG_COLLECTIVE_ID_BYTES] = {0};
  ag_status made = AG_OK;
  if (c->rank == 0) {
    made = c->be->kernels->collective->unique_id(msg + 1);
    msg[0] = made == AG_OK;
  }
  AG_TRY(c->host->kernels->broadcast(c->host, AG_U8, msg, sizeof msg, 0, NULL));
  if (made != AG_OK) return made;
  if (!msg[0])
    return ag_set_error(AG_ERR_DEVICE, "dist: rank 0 could not create the NCCL id");
  memcpy(id, msg + 1, AG_COLLECTIVE_ID_BYTES);
  return AG_OK;
}

static ag_status open_handles(ag_comm *c) {
  ag_collective_init_args a = {0, 0, c->be->device, c->timeout_s, NULL};
  ag_comm_mpi_place(&a.rank, &a.world);
  c->rank = a.rank;
  c->world = a.world;
  AG_TRY(ag_cpu_collective_kernels.comm_init(&a, &c->host));
  if (c->kind == AG_COMM_MPI) {
    c->dev = c->host;
    return AG_OK;
  }
  unsigned char id[AG_COLLECTIVE_ID_BYTES];
  AG_TRY(exchange_id(c, id));
  a.id = id;
  return c->be->kernels->collective->comm_init(&a, &c->dev);
}

static void abort_handles(ag_comm *c) {
  if (c->dev && c->dev != c->host) c->dev->kernels->comm_abort(c->dev);
  if (c->host) c->host->kernels->comm_abort(c->host);
  c->dev = c->host = NULL;
}

static ag_status open_transport(ag_comm *c) {
  AG_TRY(ag_comm_mpi_acquire());
  ag_status st = open_handles(c);
  if (st != AG_OK) {
    abort_handles(c);
    ag_comm_mpi_release(0);
    return st;
  }
  c->be->libs.comm = c->dev;
  if (c->world > 1) ag_comm_on_sigterm(c->rank);
  return AG_OK;
}

ag_status ag_comm_open(ag_backend *be, const ag_comm_opts *opts, ag_comm **out) {
  static const ag_comm_opts defaults = {AG_COMM_AUTO, 0.0};
  *out = NULL;
  if (!be) return ag_set_error(AG_ERR_INVALID, "dist: no backend to open a communicator on");
  if (!opts) opts = &defaults;
  if ((unsigned)opts->kind > AG_COMM_NCCL)
    return ag_set_error(AG_ERR_INVALID, "dist: unknown communicator kind %d", (int)opts->kind);
  const ag_comm_env env = ag_comm_env_read();
  const ag_comm_kind kind = opts->kind == AG_COMM_AUTO ? auto_kind(be, &env) : opts->kind;
  AG_TRY(check_kind(be, kind, &env));
  if (be->libs.comm)
    return ag_set_error(AG_ERR_INVALID, "dist: backend %s already has a communicator",
                        be->name);
  ag_comm *c = malloc(sizeof *c);
  if (!c) return ag_set_error(AG_ERR_OOM, "dist: no memory for a communicator");
  *c = (ag_comm){be, kind, 0, 1, 0.0, NULL, NULL};
  ag_status st = resolve_timeout(opts, &c->timeout_s);
  if (st == AG_OK && kind != AG_COMM_SINGLE) st = open_transport(c);
  if (st != AG_OK) {
    free(c);
    return st;
  }
  *out = c;
  return AG_OK;
}

static int failed(const ag_comm *c) {
  return (c->host && c->host->failed) || (c->dev && c->dev->failed);
}

void ag_comm_close(ag_comm *c) {
  if (!c) return;
  if (c->kind == AG_COMM_SINGLE) {
    free(c);
    return;
  }
  c->be->libs.comm = NULL;
  int healthy = !failed(c) && c->host->kernels->barrier(c->host) == AG_OK;
  if (healthy) {
    if (c->dev != c->host) c->dev->kernels->comm_free(c->dev);
    c->host->kernels->comm_free(c->host);
  } else {
    abort_handles(c);
  }
  ag_comm_mpi_release(healthy);
  free(c);
}

int ag_comm_rank(const ag_comm *c) { return c->rank; }
int ag_comm_world(const ag_comm *c) { return c->world; }
ag_comm_kind ag_comm_kind_of(const ag_comm *c) { return c->kind; }
ag_backend *ag_comm_backend(const ag_comm *c) { return c->be; }

/* A collective's tensor: on the communicator's backend, contiguous, and of a
 * dtype it moves (float or i32; `avg` needs a float). */
static ag_status check_tensor(const ag_comm *c, const char *what, const ag_tensor *t, int avg) {
  char d[64];
  if (!t) return ag_set_error(AG_ERR_INVALID, "dist: %s: missing tensor", what);
  if (ag_tensor_backend(t) != c->be)
    return ag_set_error(AG_ERR_INVALID, "dist: %s: %s is on backend %s, the communicator on %s",
                        what, ag_tensor_describe(t, d, sizeof d), ag_tensor_backend(t)->name,
                        c->be->name);
  if (!ag_tensor_is_contiguous(t))
    return ag_set_error(AG_ERR_INVALID, "dist: %s: %s is not contiguous", what,
                        ag_tensor_describe(t, d, sizeof d));
  const ag_dtype dt = t->dtype;
  if (dt != AG_F32 && dt != AG_F16 && dt != AG_BF16 && !(dt == AG_I32 && !avg))
    return ag_set_error(AG_ERR_UNSUPPORTED, "dist: %s: %s; f32, f16, bf16%s expected", what,
                        ag_tensor_describe(t, d, sizeof d), avg ? "" : " or i32");
  return AG_OK;
}

/* dst and src of one dtype with numel(big) == scale * numel(small). */
static ag_status check_pair(const ag_comm *c, const char *what, const ag_tensor *big,
                            const ag_tensor *small, int64_t scale, int avg) {
  char a[64], b[64];
  AG_TRY(check_tensor(c, what, big, avg));
  AG_TRY(check_tensor(c, what, small, avg));
  if (big->dtype != small->dtype || ag_tensor_numel(big) != scale * ag_tensor_numel(small))
    return ag_set_error(AG_ERR_INVALID, "dist: %s: %s and %s do not match for %d ranks", what,
                        ag_tensor_describe(big, a, sizeof a),
                        ag_tensor_describe(small, b, sizeof b), c->world);
  return AG_OK;
}

static ag_status copy_tensor(const ag_comm *c, ag_tensor *dst, const ag_tensor *src,
                             void *stream) {
  if (ag_tensor_data(dst) == ag_tensor_data(src)) return AG_OK;
  return c->be->copy(c->be, ag_tensor_data(dst), ag_tensor_data(src), ag_tensor_nbytes(src),
                     AG_COPY_D2D, stream);
}

static ag_collective_op collective_op(ag_comm_op op) {
  return op == AG_COMM_AVG ? AG_COLLECTIVE_AVG : AG_COLLECTIVE_SUM;
}

ag_status ag_comm_all_reduce(ag_comm *c, ag_tensor *dst, const ag_tensor *src, ag_comm_op op,
                             void *stream) {
  AG_TRY(check_pair(c, "all-reduce", dst, src, 1, op == AG_COMM_AVG));
  if (!c->dev) return copy_tensor(c, dst, src, stream);
  return c->dev->kernels->all_reduce(c->dev, src->dtype, collective_op(op), ag_tensor_data(src),
                                     ag_tensor_data(dst), ag_tensor_numel(src), stream);
}

ag_status ag_comm_broadcast(ag_comm *c, ag_tensor *t, int root, void *stream) {
  AG_TRY(check_tensor(c, "broadcast", t, 0));
  if (root < 0 || root >= c->world)
    return ag_set_error(AG_ERR_INVALID, "dist: broadcast from rank %d of %d ranks", root,
                        c->world);
  if (!c->dev) return AG_OK;
  return c->dev->kernels->broadcast(c->dev, t->dtype, ag_tensor_data(t), ag_tensor_numel(t), root,
                                    stream);
}

ag_status ag_comm_all_gather(ag_comm *c, ag_tensor *dst, const ag_tensor *src, void *stream) {
  AG_TRY(check_pair(c, "all-gather", dst, src, c->world, 0));
  if (!c->dev) return copy_tensor(c, dst, src, stream);
  return c->dev->kernels->all_gather(c->dev, src->dtype, ag_tensor_data(src), ag_tensor_data(dst),
                                     ag_tensor_numel(src), stream);
}

ag_status ag_comm_reduce_scatter(ag_comm *c, ag_tensor *dst, const ag_tensor *src, ag_comm_op op,
                                 void *stream) {
  AG_TRY(check_pair(c, "reduce-scatter", src, dst, c->world, op == AG_COMM_AVG));
  if (!c->dev) return copy_tensor(c, dst, src, stream);
  return c->dev->kernels->reduce_scatter(c->dev, src->dtype, collective_op(op),
                                         ag_tensor_data(src), ag_tensor_data(dst),
                                         ag_tensor_numel(dst), stream);
}

ag_status ag_comm_synchronize(ag_comm *c, void *stream) {
  if (!c->dev) return AG_OK;
  return c->dev->kernels->synchronize(c->dev, stream);
}

ag_status ag_comm_barrier(ag_comm *c) {
  if (!c->host) return AG_OK;
  return c->host->kernels->barrier(c->host);
}

ag_status ag_comm_broadcast_host(ag_comm *c, void *data, size_t bytes, int root) {
  if (root < 0 || root >= c->world)
    return ag_set_error(AG_ERR_INVALID, "dist: broadcast from rank %d of %d ranks", root,
                        c->world);
  if (!c->host) return AG_OK;
  return c->host->kernels->broadcast(c->host, AG_U8, data, (int64_t)bytes, root, NULL);
}

/* Gathered and added in rank order, so every rank gets the same bits. */
ag_status ag_comm_sum_host(ag_comm *c, double *value) {
  if (!c->host) return AG_OK;
  double *all = malloc((size_t)c->world * sizeof *all);
  if (!all) return ag_set_error(AG_ERR_OOM, "dist: no memory to sum over %d ranks", c->world);
  ag_status st = c->host->kernels->all_gather(c->host, AG_U8, value, all, sizeof *value, NULL);
  if (st == AG_OK) {
    double s = 0.0;
    for (int r = 0; r < c->world; r++) s += all[r];
    *value = s;
  }
  free(all);
  return st;
}
