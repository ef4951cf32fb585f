/* The communicator's names and the launcher's environment: which rank this
 * process is, read before MPI or a device is opened. */
#include "ag_comm.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"auto", "single", "mpi", "nccl"};

int ag_comm_kind_parse(const char *name) {
  for (int k = 0; name && k < (int)(sizeof kind_names / sizeof kind_names[0]); k++)
    if (strcmp(name, kind_names[k]) == 0) return k;
  return -1;
}

const char *ag_comm_kind_name(ag_comm_kind kind) {
  return (unsigned)kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[kind] : "?";
}

/* The first of `vars` set to a whole number >= 0, else -1. */
static int env_int(const char *const *vars) {
  for (; *vars; vars++) {
    const char *s = getenv(*vars);
    char *end = NULL;
    if (!s || !*s) continue;
    long v = strtol(s, &end, 10);
    if (*end == '\0' && v >= 0 && v < (1L << 30)) return (int)v;
  }
  return -1;
}

ag_comm_env ag_comm_env_read(void) {
  static const char *const rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK",
                                          "SLURM_PROCID", NULL};
  static const char *const world_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS",
                                           NULL};
  static const char *const local_vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID",
                                           "MPI_LOCALRANKID", NULL};
  const int rank = env_int(rank_vars), world = env_int(world_vars), local = env_int(local_vars);
  ag_comm_env e = {0, 1, 0, 0};
  if (world < 1 || rank < 0 || rank >= world) return e;
  e.rank = rank;
  e.world = world;
  e.local_rank = local < 0 ? 0 : local;
  e.launched = 1;
  return e;
}
