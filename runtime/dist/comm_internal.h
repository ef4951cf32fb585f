/* comm_internal.h - what the communicator's files (runtime/dist/comm*.c)
 * share: the process-wide MPI state. Not part of the public API. */
#ifndef AG_COMM_INTERNAL_H
#define AG_COMM_INTERNAL_H

#include "ag_comm.h"

/* Initialises MPI on the first call (unless the program already did) and
 * counts one more communicator using it. Errors: a build without MPI, or MPI
 * finalised already (when the last communicator closed). */
ag_status ag_comm_mpi_acquire(void);
/* Counts one communicator fewer. With the last one, MPI is finalised, unless
 * the program initialised it or any communicator of the process failed
 * (finalising then would wait for peers that may never come). */
void ag_comm_mpi_release(int healthy);
/* This process's rank and the world size in MPI_COMM_WORLD (after acquire). */
void ag_comm_mpi_place(int *rank, int *world);
/* From now on SIGTERM (the launcher stopping this rank because another one
 * failed) prints one line naming `rank` and exits 1. */
void ag_comm_on_sigterm(int rank);

#endif
