/* aigc_cli.h - what the command table (aigc.c) and the command files share.
 * A handler reads its words with the ag_cli_args matchers, opens the device
 * when it needs one, and returns an exit code. It prints its results but no
 * errors: on failure ag_last_error() holds the one line main prints. */
#ifndef AG_CLI_H
#define AG_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "runtime/backends/ag_backend.h"

/* Exit codes; the policy is at the top of aigc.c. */
enum { AG_EXIT_OK = 0, AG_EXIT_RUNTIME = 1, AG_EXIT_USAGE = 2 };

/* One run of aigc: the command being run and the global options. */
typedef struct ag_cli {
  char name[64];      /* the command as typed, e.g. "train classifier" */
  const char *device; /* --device; NULL: AG_DEVICE, else auto */
} ag_cli;

/* Runs a command on the words after its name. */
typedef int (*ag_cli_handler)(const ag_cli *cli, int argc, char **argv);

/* Records "<command>: <message> (see aigc <command> --help)", or
 * "<message> (see aigc --help)" before a command is known, and returns
 * AG_EXIT_USAGE. */
int ag_cli_usage_error(const ag_cli *cli, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Opens the device the global options name; `note` gets why auto chose it.
 * A spec naming no device (--device tpu) is a usage error, a device that is
 * not there (--device cuda without a GPU) a runtime error. */
int ag_cli_open_device(const ag_cli *cli, ag_backend **be, char *note, size_t note_len);
void ag_cli_print_device(FILE *f, const ag_backend *be, const char *note);
/* aigc info's block: build, device, libraries. */
void ag_cli_print_info(FILE *f, const ag_backend *be, const char *note);
/* Both, as every pipeline command starts; under mpirun only rank 0 prints. */
int ag_cli_use_device(const ag_cli *cli, ag_backend **be);
/* Training takes minutes: an output whose directory does not exist is
 * found before, not after (AG_EXIT_RUNTIME and the error naming it). */
int ag_cli_check_writable_dir(const char *path);
/* The directory of a --data value: "fashion-mnist" is Debian's copy. */
const char *ag_cli_dataset_dir(const char *data);
/* The compute dtype a --dtype value names (over f32 master weights, see
 * ag_params_set_compute_dtype): "f32", "bf16", or "auto" (also NULL):
 * bf16 on a CUDA GPU, f32 on the CPU and the emulator. Anything else is a
 * usage error. */
int ag_cli_compute_dtype(const ag_cli *cli, const char *name, const ag_backend *be, ag_dtype *dt);
#define AG_CLI_DTYPE_HELP                                                                          \
  "  --dtype auto|f32|bf16      compute dtype over f32 weights (auto: bf16 on a GPU, else f32)\n"

/* A command's words, read in order by ag_cli_next and the matchers. */
typedef struct ag_cli_args {
  const ag_cli *cli;
  int argc, i;
  char **argv;
  int taken; /* a matcher took argv[i] */
  int rc;    /* AG_EXIT_USAGE once a word was bad */
} ag_cli_args;

ag_cli_args ag_cli_args_of(const ag_cli *cli, int argc, char **argv);

/* Moves to the next word. The word before must have been taken by one of
 * the matchers, else it is reported as an unknown option or argument.
 * Returns 0 at the end, or once a usage error is recorded in `rc`. */
int ag_cli_next(ag_cli_args *a);

/* Each matcher takes the current word if it is its option ("--name value"
 * or "--name=value"; a value may not start with "--") and stores the value,
 * or records a usage error naming the option when the value is missing or
 * malformed. */
void ag_cli_text(ag_cli_args *a, const char *name, const char **out);
void ag_cli_int(ag_cli_args *a, const char *name, long long max, long long *out); /* 1..max */
void ag_cli_float(ag_cli_args *a, const char *name, float *out);                  /* finite, > 0 */
void ag_cli_flag(ag_cli_args *a, const char *name, int *out); /* no value: sets 1 */

/* For commands that take no options: 0, or a usage error for the first word. */
int ag_cli_no_options(const ag_cli *cli, int argc, char **argv);

/* The handlers and their options (one line each, for --help), next to each
 * other in cmd_<model>.c; aigc.c lists them in its table. */
int ag_cmd_info(const ag_cli *cli, int argc, char **argv);
int ag_cmd_demo(const ag_cli *cli, int argc, char **argv);
int ag_cmd_train_classifier(const ag_cli *cli, int argc, char **argv);
int ag_cmd_eval_classifier(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_demo_options[];
extern const char ag_cmd_train_classifier_options[];
extern const char ag_cmd_eval_classifier_options[];
int ag_cmd_train_clip(const ag_cli *cli, int argc, char **argv);
int ag_cmd_eval_clip(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_train_clip_options[];
extern const char ag_cmd_eval_clip_options[];

int ag_cmd_train_gpt(const ag_cli *cli, int argc, char **argv);
int ag_cmd_sample_gpt(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_train_gpt_options[];
extern const char ag_cmd_sample_gpt_options[];

int ag_cmd_train_ddpm(const ag_cli *cli, int argc, char **argv);
int ag_cmd_sample_ddpm(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_train_ddpm_options[];
extern const char ag_cmd_sample_ddpm_options[];

int ag_cmd_train_gan(const ag_cli *cli, int argc, char **argv);
int ag_cmd_sample_gan(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_train_gan_options[];
extern const char ag_cmd_sample_gan_options[];

int ag_cmd_compare(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_compare_options[];

int ag_cmd_make_scene(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_make_scene_options[];
int ag_cmd_train_nerf(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_train_nerf_options[];
int ag_cmd_eval_nerf(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_eval_nerf_options[];
int ag_cmd_render(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_render_options[];
int ag_cmd_export_mesh(const ag_cli *cli, int argc, char **argv);
extern const char ag_cmd_export_mesh_options[];

#endif
