/* The process-wide MPI state of the communicators: initialised once, when the
 * first communicator needing it opens, finalised with the last healthy one,
 * and the SIGTERM line a rank prints when the launcher stops it. */
#include "comm_internal.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef AG_HAVE_MPI
#include <mpi.h>
#endif

static int open_count; /* communicators using MPI */
static int any_failed; /* a communicator of this process failed */

#ifdef AG_HAVE_MPI

static int we_initialised; /* MPI_Init_thread was ours, so MPI_Finalize is too */

ag_status ag_comm_mpi_acquire(void) {
  int inited = 0, finalized = 0, provided = 0;
  MPI_Finalized(&finalized);
  if (finalized)
    return ag_set_error(AG_ERR_INVALID,
                        "dist: MPI was finalised when the last communicator closed; keep one "
                        "open to open more in the same process");
  MPI_Initialized(&inited);
  if (!inited) {
    /* Serialized: the runtime may call MPI from a scheduler callback, never
     * from two threads at once. */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
      return ag_set_error(AG_ERR_DEVICE, "dist: MPI_Init_thread failed");
    we_initialised = 1;
  }
  open_count++;
  return AG_OK;
}

void ag_comm_mpi_release(int healthy) {
  if (!healthy) any_failed = 1;
  if (--open_count == 0 && we_initialised && !any_failed) MPI_Finalize();
}

void ag_comm_mpi_place(int *rank, int *world) {
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, world);
}

#else

ag_status ag_comm_mpi_acquire(void) {
  return ag_set_error(AG_ERR_UNSUPPORTED,
                      "dist: this build has no MPI (install libopenmpi-dev and reconfigure)");
}

void ag_comm_mpi_release(int healthy) {
  if (!healthy) any_failed = 1;
  open_count--;
}

void ag_comm_mpi_place(int *rank, int *world) {
  *rank = 0;
  *world = 1;
}

#endif

/* Formatted when the handler is installed: a handler may only write(2). */
static char sigterm_line[128];
static size_t sigterm_len;

static void on_sigterm(int sig) {
  (void)sig;
  ssize_t ignored = write(STDERR_FILENO, sigterm_line, sigterm_len);
  (void)ignored;
  _exit(1);
}

void ag_comm_on_sigterm(int rank) {
  int n = snprintf(sigterm_line, sizeof sigterm_line,
                   "aigc: error: dist: rank %d: stopped by the launcher (another rank failed)\n",
                   rank);
  sigterm_len = n > 0 && (size_t)n < sizeof sigterm_line ? (size_t)n : 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigterm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
}
