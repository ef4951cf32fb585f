/* What the CPU kernels run on: the processor, oneDNN's version and the
 * instruction sets that oneDNN and the kernels' own vector loops dispatch
 * to. Both choose from the processor's features at run time, so a library
 * running below what the processor offers means something capped it (say,
 * ONEDNN_MAX_CPU_ISA) and is worth a warning. */
#include <stdio.h>
#include <string.h>

#include "kernels/cpu/cpu_dnnl.h"
#include "kernels/cpu/cpu_simd.h"
#include "runtime/core/ag_info.h"

/* The "model name" line of /proc/cpuinfo, or "unknown". */
static void cpu_model(char *buf, size_t len) {
  snprintf(buf, len, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    const char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) != 0 || !colon) continue;
    snprintf(buf, len, "%s", colon + 2);
    buf[strcspn(buf, "\n")] = '\0';
    break;
  }
  fclose(f);
}

/* oneDNN below AVX-512 on an AVX-512 processor, or below AVX2 on an AVX2
 * one: its generic (or capped) kernels, several times slower. */
static int dnnl_below_processor(const char *simd, const char *dnnl) {
  if (strcmp(simd, "avx512") == 0) return strncmp(dnnl, "avx512", 6) != 0;
  if (strcmp(simd, "avx2") == 0) return strncmp(dnnl, "avx2", 4) != 0 && strncmp(dnnl, "avx512", 6) != 0;
  return 0;
}

void ag_cpu_library_versions(ag_versions *v) {
  cpu_model(v->cpu_model, sizeof v->cpu_model);
  ag_dnnl_version(v->dnnl, sizeof v->dnnl);
  v->dnnl_isa = ag_dnnl_isa_name();
  v->simd_isa = ag_cpu_simd_isa();
  if (dnnl_below_processor(v->simd_isa, v->dnnl_isa))
    snprintf(v->warning, sizeof v->warning,
             "oneDNN dispatches to %s on a processor with %s: products and convolutions run "
             "slower than they could",
             v->dnnl_isa, v->simd_isa);
}
