/* Collectives over MPI on host memory (kernels/common/ag_k_collective.h).
 * Every operation is started non-blocking and completed by a watchdog that
 * polls the request (MPI progresses it inside MPI_Test) with short sleeps,
 * until it completes or the handle's timeout passes: a peer that died or
 * skipped a collective is an error, never a hang. f16 and bf16 are reduced
 * in f32 (MPI has no such types): widened into a scratch buffer, summed,
 * averaged, rounded once on store. The handle holds two duplicates of
 * MPI_COMM_WORLD that return errors instead of aborting: one for the data
 * collectives, one for the barrier, so the barrier of a closing rank never
 * matches a collective a failed peer left in flight. */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

#include <string.h>

/* MPI needs no id. */
ag_status ag_cpu_collective_unique_id(unsigned char id[AG_COLLECTIVE_ID_BYTES]) {
  memset(id, 0, AG_COLLECTIVE_ID_BYTES);
  return AG_OK;
}

#ifdef AG_HAVE_MPI
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <time.h>

typedef struct mpi_comm {
  ag_collective_comm base; /* first: the handle runtime/dist holds */
  MPI_Comm comm, control;  /* data collectives; the barrier */
} mpi_comm;

static MPI_Comm comm_of(const ag_collective_comm *c) { return ((const mpi_comm *)c)->comm; }
static MPI_Comm control_of(const ag_collective_comm *c) {
  return ((const mpi_comm *)c)->control;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static ag_status mpi_failed(ag_collective_comm *c, const char *what, int rc) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  c->failed = 1;
  return ag_set_error(AG_ERR_DEVICE, "dist: %s (rank %d of %d) failed: %s", what, c->rank,
                      c->world, msg);
}

/* The watchdog. Sleeps grow from 10 us to 1 ms, so a collective that
 * completes at once costs little and a long wait costs no core. A request
 * that never completes is left behind: MPI cannot cancel a collective, and
 * the caller is expected to exit without finalising. */
static ag_status wait_request(ag_collective_comm *c, MPI_Request *req, const char *what) {
  const double deadline = now_s() + c->timeout_s;
  long sleep_ns = 10000;
  for (;;) {
    int done = 0;
    int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return mpi_failed(c, what, rc);
    if (done) return AG_OK;
    if (now_s() > deadline) {
      c->failed = 1;
      return ag_set_error(AG_ERR_DEVICE,
                          "dist: %s (rank %d of %d) did not complete within %g s: a rank died or "
                          "stopped calling collectives",
                          what, c->rank, c->world, c->timeout_s);
    }
    nanosleep(&(struct timespec){0, sleep_ns}, NULL);
    if (sleep_ns < 1000000) sleep_ns *= 2;
  }
}

/* Completes an operation whose start returned rc. */
static ag_status complete(ag_collective_comm *c, int rc, MPI_Request *req, const char *what) {
  if (rc != MPI_SUCCESS) return mpi_failed(c, what, rc);
  return wait_request(c, req, what);
}

/* What every operation requires of its handle and count: usable, and a
 * count MPI's int takes (`bytes` per element as MPI will see them). */
static ag_status check_call(const ag_collective_comm *c, const char *what, int64_t n,
                            size_t bytes) {
  if (c->failed)
    return ag_set_error(AG_ERR_INVALID,
                        "dist: %s (rank %d of %d): an earlier collective failed, the "
                        "communicator can only be closed",
                        what, c->rank, c->world);
  if (n < 0 || (uint64_t)n * bytes > (uint64_t)INT_MAX)
    return ag_set_error(AG_ERR_INVALID, "dist: %s of %lld elements is over MPI's count limit",
                        what, (long long)n);
  return AG_OK;
}

/* Reductions: a float dtype or i32, and i32 only summed. */
static ag_status check_reduction(const ag_collective_comm *c, const char *what, ag_dtype dt,
                                 ag_collective_op op, int64_t n) {
  if (!ag_cpu_is_float(dt) && dt != AG_I32)
    return ag_set_error(AG_ERR_UNSUPPORTED, "dist: %s of %s: sums take f32, f16, bf16 or i32",
                        what, ag_dtype_name(dt));
  if (dt == AG_I32 && op == AG_COLLECTIVE_AVG)
    return ag_set_error(AG_ERR_UNSUPPORTED, "dist: %s: the average of i32 is not defined", what);
  return check_call(c, what, n, sizeof(float));
}

static MPI_Datatype sum_type(ag_dtype dt) { return dt == AG_I32 ? MPI_INT : MPI_FLOAT; }

static void widen(ag_dtype dt, const void *src, float *w, int64_t n) {
  for (int64_t i = 0; i < n; i++) w[i] = ag_cpu_load(dt, src, i);
}

/* dst = w / div, rounded to dt (div 1: a sum). */
static void narrow(ag_dtype dt, const float *w, void *dst, int64_t n, float div) {
  for (int64_t i = 0; i < n; i++) ag_cpu_store(dt, dst, i, w[i] / div);
}

static float divisor(const ag_collective_comm *c, ag_collective_op op) {
  return op == AG_COLLECTIVE_AVG ? (float)c->world : 1.0f;
}

static float *scratch(int64_t n, const char *what) {
  float *w = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  if (!w) ag_set_error(AG_ERR_OOM, "dist: %s: no memory for %lld f32 values", what, (long long)n);
  return w;
}

/* f16 / bf16 all-reduce through an f32 scratch buffer. */
static ag_status all_reduce_widened(ag_collective_comm *c, ag_dtype dt, ag_collective_op op,
                                    const void *src, void *dst, int64_t n) {
  float *w = scratch(n, "all-reduce");
  if (!w) return AG_ERR_OOM;
  widen(dt, src, w, n);
  MPI_Request req;
  ag_status st = complete(
      c, MPI_Iallreduce(MPI_IN_PLACE, w, (int)n, MPI_FLOAT, MPI_SUM, comm_of(c), &req), &req,
      "all-reduce");
  if (st == AG_OK) narrow(dt, w, dst, n, divisor(c, op));
  free(w);
  return st;
}

ag_status ag_cpu_all_reduce(ag_collective_comm *c, ag_dtype dt, ag_collective_op op,
                            const void *src, void *dst, int64_t n, void *stream) {
  (void)stream;
  AG_TRY(check_reduction(c, "all-reduce", dt, op, n));
  if (dt == AG_F16 || dt == AG_BF16) return all_reduce_widened(c, dt, op, src, dst, n);
  MPI_Request req;
  AG_TRY(complete(c,
                  MPI_Iallreduce(src == dst ? MPI_IN_PLACE : src, dst, (int)n, sum_type(dt),
                                 MPI_SUM, comm_of(c), &req),
                  &req, "all-reduce"));
  if (op == AG_COLLECTIVE_AVG) narrow(AG_F32, dst, dst, n, divisor(c, op));
  return AG_OK;
}

/* f16 / bf16 reduce-scatter: the world * n inputs widened, this rank's n
 * sums after them in the same scratch buffer. */
static ag_status reduce_scatter_widened(ag_collective_comm *c, ag_dtype dt, ag_collective_op op,
                                        const void *src, void *dst, int64_t n) {
  const int64_t all = n * c->world;
  float *w = scratch(all + n, "reduce-scatter");
  if (!w) return AG_ERR_OOM;
  widen(dt, src, w, all);
  MPI_Request req;
  ag_status st = complete(c,
                          MPI_Ireduce_scatter_block(w, w + all, (int)n, MPI_FLOAT, MPI_SUM,
                                                    comm_of(c), &req),
                          &req, "reduce-scatter");
  if (st == AG_OK) narrow(dt, w + all, dst, n, divisor(c, op));
  free(w);
  return st;
}

ag_status ag_cpu_reduce_scatter(ag_collective_comm *c, ag_dtype dt, ag_collective_op op,
                                const void *src, void *dst, int64_t n, void *stream) {
  (void)stream;
  AG_TRY(check_reduction(c, "reduce-scatter", dt, op, n * c->world));
  if (dt == AG_F16 || dt == AG_BF16) return reduce_scatter_widened(c, dt, op, src, dst, n);
  MPI_Request req;
  AG_TRY(complete(c,
                  MPI_Ireduce_scatter_block(src, dst, (int)n, sum_type(dt), MPI_SUM, comm_of(c),
                                            &req),
                  &req, "reduce-scatter"));
  if (op == AG_COLLECTIVE_AVG) narrow(AG_F32, dst, dst, n, divisor(c, op));
  return AG_OK;
}

ag_status ag_cpu_broadcast(ag_collective_comm *c, ag_dtype dt, void *data, int64_t n, int root,
                           void *stream) {
  (void)stream;
  AG_TRY(check_call(c, "broadcast", n, ag_dtype_size(dt)));
  if (root < 0 || root >= c->world)
    return ag_set_error(AG_ERR_INVALID, "dist: broadcast from rank %d of %d ranks", root,
                        c->world);
  MPI_Request req;
  return complete(c,
                  MPI_Ibcast(data, (int)(n * (int64_t)ag_dtype_size(dt)), MPI_BYTE, root,
                             comm_of(c), &req),
                  &req, "broadcast");
}

ag_status ag_cpu_all_gather(ag_collective_comm *c, ag_dtype dt, const void *src, void *dst,
                            int64_t n, void *stream) {
  (void)stream;
  AG_TRY(check_call(c, "all-gather", n * c->world, ag_dtype_size(dt)));
  const int bytes = (int)(n * (int64_t)ag_dtype_size(dt));
  MPI_Request req;
  return complete(
      c, MPI_Iallgather(src, bytes, MPI_BYTE, dst, bytes, MPI_BYTE, comm_of(c), &req), &req,
      "all-gather");
}

ag_status ag_cpu_collective_barrier(ag_collective_comm *c) {
  AG_TRY(check_call(c, "barrier", 0, 1));
  MPI_Request req;
  return complete(c, MPI_Ibarrier(control_of(c), &req), &req, "barrier");
}

/* MPI operations complete before returning. */
ag_status ag_cpu_collective_synchronize(ag_collective_comm *c, void *stream) {
  (void)stream;
  return check_call(c, "synchronize", 0, 1);
}

/* Whether rank/world are this process's place in MPI_COMM_WORLD. */
static ag_status check_place(const ag_collective_init_args *a) {
  int inited = 0, rank = -1, world = 0;
  MPI_Initialized(&inited);
  if (!inited)
    return ag_set_error(AG_ERR_INVALID, "dist: MPI is not initialised (open a communicator)");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (rank != a->rank || world != a->world)
    return ag_set_error(AG_ERR_INVALID, "dist: rank %d of %d asked for, MPI has rank %d of %d",
                        a->rank, a->world, rank, world);
  return AG_OK;
}

/* A duplicate of MPI_COMM_WORLD returning errors, made with the watchdog:
 * duplicating is a collective too. */
static ag_status duplicate(ag_collective_comm *c, MPI_Comm *out) {
  MPI_Request req;
  AG_TRY(complete(c, MPI_Comm_idup(MPI_COMM_WORLD, out, &req), &req, "communicator setup"));
  int rc = MPI_Comm_set_errhandler(*out, MPI_ERRORS_RETURN);
  return rc == MPI_SUCCESS ? AG_OK : mpi_failed(c, "communicator setup", rc);
}

ag_status ag_cpu_collective_comm_init(const ag_collective_init_args *a,
                                      ag_collective_comm **out) {
  AG_TRY(check_place(a));
  mpi_comm *m = calloc(1, sizeof *m);
  if (!m) return ag_set_error(AG_ERR_OOM, "dist: no memory for an MPI communicator");
  m->base = (ag_collective_comm){&ag_cpu_collective_kernels, a->rank, a->world, a->timeout_s, 0};
  m->comm = m->control = MPI_COMM_NULL;
  ag_status st = duplicate(&m->base, &m->comm);
  if (st == AG_OK) st = duplicate(&m->base, &m->control);
  if (st != AG_OK) {
    free(m);
    return st;
  }
  *out = &m->base;
  return AG_OK;
}

void ag_cpu_collective_comm_free(ag_collective_comm *c) {
  if (!c) return;
  mpi_comm *m = (mpi_comm *)c;
  MPI_Comm_free(&m->comm);
  MPI_Comm_free(&m->control);
  free(m);
}

/* The MPI communicator may have requests in flight that will never complete,
 * and freeing it would be erroneous: it is left to the process's exit. */
void ag_cpu_collective_comm_abort(ag_collective_comm *c) { free(c); }

const ag_collective_kernels ag_cpu_collective_kernels = {
    .unique_id = ag_cpu_collective_unique_id,
    .comm_init = ag_cpu_collective_comm_init,
    .comm_free = ag_cpu_collective_comm_free,
    .comm_abort = ag_cpu_collective_comm_abort,
    .all_reduce = ag_cpu_all_reduce,
    .broadcast = ag_cpu_broadcast,
    .all_gather = ag_cpu_all_gather,
    .reduce_scatter = ag_cpu_reduce_scatter,
    .synchronize = ag_cpu_collective_synchronize,
    .barrier = ag_cpu_collective_barrier,
};

#else

ag_status ag_cpu_collective_comm_init(const ag_collective_init_args *a,
                                      ag_collective_comm **out) {
  (void)a;
  *out = NULL;
  return ag_set_error(AG_ERR_UNSUPPORTED,
                      "dist: this build has no MPI (install libopenmpi-dev and reconfigure)");
}

const ag_collective_kernels ag_cpu_collective_kernels = {
    .unique_id = ag_cpu_collective_unique_id,
    .comm_init = ag_cpu_collective_comm_init,
};

#endif
