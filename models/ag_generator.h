/* ag_generator.h - what every image generator (the diffusion model in
 * models/diffusion, the GAN in models/gan) tells about itself, so that
 * `aigc compare` can put them side by side: the images it makes and what
 * training them cost. */
#ifndef AG_GENERATOR_H
#define AG_GENERATOR_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef struct ag_generator_info {
  char kind[16];                  /* "ddpm" or "gan" */
  int64_t height, width, classes; /* one channel; classes 0: unconditional */
  int64_t params;                 /* trainable parameters of the generator */
  int64_t train_steps;            /* optimizer updates the checkpoint has had */
  double train_seconds;           /* wall time of those updates, over resumes */
  int64_t train_peak_bytes;       /* the backend allocator's high-water mark */
  char device[32];                /* where it was trained */
  char dataset[64];
} ag_generator_info;
#ifdef __cplusplus
}
#endif
#endif
