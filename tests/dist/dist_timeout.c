/* The communicator's failure paths, under `mpirun -np 2` (driven by
 * test_dist_timeout.sh). Usage: dist_timeout cpu|emu ok|skip|close TIMEOUT_S
 * (cpu: the mpi communicator; emu: nccl, on the emulator's stand-in)
 *   ok     both ranks all-reduce and close: exit 0 after MPI_Finalize;
 *   skip   rank 1 skips the all-reduce and stops calling collectives (it
 *          sleeps): rank 0 must report the timeout and exit 1 at once, and
 *          the launcher then stops rank 1 (its SIGTERM line);
 *   close  rank 1 skips the all-reduce and closes a second later: rank 0
 *          reports the timeout, rank 1's barrier times out too (or the
 *          launcher stops it first), and neither hangs in MPI_Finalize.
 * Errors are printed as the CLI does: one "aigc: error: " line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/backends/ag_backend_emu.h"
#include "runtime/dist/ag_comm.h"

static int report(const char *what) {
  fprintf(stderr, "aigc: error: %s%s\n", what, ag_last_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4 || (strcmp(argv[1], "cpu") && strcmp(argv[1], "emu")) ||
      (strcmp(argv[2], "ok") && strcmp(argv[2], "skip") && strcmp(argv[2], "close")))
    return fprintf(stderr, "usage: dist_timeout cpu|emu ok|skip|close TIMEOUT_S\n"), 2;
  const int emu = strcmp(argv[1], "emu") == 0;
  const char *mode = argv[2];
  const ag_comm_opts opts = {emu ? AG_COMM_NCCL : AG_COMM_MPI, atof(argv[3])};
  ag_backend *be = emu ? ag_backend_emu() : ag_backend_cpu();
  ag_comm *c = NULL;
  if (ag_comm_open(be, &opts, &c) != AG_OK) return report("");
  const int rank = ag_comm_rank(c);
  const int64_t n = 4;
  ag_tensor *t = ag_tensor_new(be, AG_F32, 1, &n);
  const float v[4] = {1.0f + rank, 2.0f, 3.0f, 4.0f};
  ag_tensor_write(t, v, sizeof v);
  ag_status st = AG_OK;
  if (rank == 0 || strcmp(mode, "ok") == 0)
    st = ag_comm_all_reduce(c, t, t, AG_COMM_SUM, NULL);
  else
    sleep(strcmp(mode, "skip") == 0 ? 60 : 1);
  if (st != AG_OK) return report("");
  float sum[4];
  ag_tensor_read(t, sum, sizeof sum);
  ag_tensor_free(t);
  ag_clear_error();
  ag_comm_close(c);
  if (ag_last_error()[0]) return report("close: ");
  printf("rank %d: all-reduce %s, closed\n", rank, sum[0] == 3.0f ? "3" : "skipped");
  return 0;
}
