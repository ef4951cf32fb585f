/* aigc: the command-line front end, a table of commands.
 *   aigc [--device auto|cpu|cuda|cuda:N] <verb> [<model>] [options]
 * Each command is a handler in a cmd_*.c file with the options it takes
 * next to it; a new pipeline is one cmd_<model>.c and its rows below.
 *
 * Exit codes:
 *   0  ok
 *   1  runtime error: bad or missing data, a corrupt checkpoint, failed
 *      training, a device that is not there (--device cuda without a GPU)
 *   2  usage error: unknown command, model or option, a missing or malformed
 *      option value (--epochs x, --device tpu); nothing was run
 * Every failure prints exactly one line on stderr, "aigc: error: ...". */
#include <stdio.h>
#include <string.h>

#include "aigc_cli.h"

typedef struct ag_cli_command {
  const char *verb;
  const char *model; /* NULL for commands without a model */
  ag_cli_handler run;
  const char *options; /* one line each; NULL when it takes none */
  const char *summary; /* one line */
} ag_cli_command;

static const ag_cli_command commands[] = {
    {"info", NULL, ag_cmd_info, NULL, "build, backends, devices and libraries"},
    {"demo", NULL, ag_cmd_demo, ag_cmd_demo_options,
     "a tour of every pipeline on the best device, written to an HTML report"},
    {"train", "classifier", ag_cmd_train_classifier, ag_cmd_train_classifier_options,
     "train the Fashion-MNIST classifier and save it"},
    {"eval", "classifier", ag_cmd_eval_classifier, ag_cmd_eval_classifier_options,
     "test a saved classifier against its recorded accuracy"},
    {"train", "clip", ag_cmd_train_clip, ag_cmd_train_clip_options,
     "train CLIP (ViT + text tower) on Fashion-MNIST with measured captions"},
    {"eval", "clip", ag_cmd_eval_clip, ag_cmd_eval_clip_options,
     "zero-shot accuracy, retrieval recall and confusion of a saved CLIP"},
    {"train", "gpt", ag_cmd_train_gpt, ag_cmd_train_gpt_options,
     "train the byte-level GPT on a text file and save it"},
    {"sample", "gpt", ag_cmd_sample_gpt, ag_cmd_sample_gpt_options,
     "continue a prompt with a saved GPT (KV-cache decoding)"},
    {"train", "ddpm", ag_cmd_train_ddpm, ag_cmd_train_ddpm_options,
     "train the class-conditional diffusion UNet on Fashion-MNIST"},
    {"sample", "ddpm", ag_cmd_sample_ddpm, ag_cmd_sample_ddpm_options,
     "sample images from a saved diffusion model (DDPM, DDIM, Euler, DPM++)"},
    {"train", "gan", ag_cmd_train_gan, ag_cmd_train_gan_options,
     "train the DCGAN generator and discriminator on Fashion-MNIST"},
    {"sample", "gan", ag_cmd_sample_gan, ag_cmd_sample_gan_options,
     "sample images from a saved GAN generator"},
    {"compare", NULL, ag_cmd_compare, ag_cmd_compare_options,
     "diffusion vs GAN: quality metrics and cost, in an HTML report"},
    {"make-scene", NULL, ag_cmd_make_scene, ag_cmd_make_scene_options,
     "render a procedural NeRF scene (NeRF-synthetic layout) with a reference ray tracer"},
    {"train", "nerf", ag_cmd_train_nerf, ag_cmd_train_nerf_options,
     "train an Instant-NGP-style NeRF on a scene's views"},
    {"eval", "nerf", ag_cmd_eval_nerf, ag_cmd_eval_nerf_options,
     "PSNR and SSIM of a NeRF on a scene's test views"},
    {"render", NULL, ag_cmd_render, ag_cmd_render_options,
     "render NeRF frames (camera file, orbit or job file), resumable, split over ranks"},
    {"export-mesh", NULL, ag_cmd_export_mesh, ag_cmd_export_mesh_options,
     "a NeRF's iso-density surface as a binary PLY with vertex colours"},
};
enum { n_commands = sizeof commands / sizeof commands[0] };

static const char global_usage[] =
    "\n"
    "global options (before the command):\n"
    "  --device D           auto, cpu, cuda or cuda:N (default: $AG_DEVICE, else auto)\n"
    "  --help               this text\n"
    "auto takes the first GPU that answers, else the CPU, and says why.\n"
    "\n"
    "exit codes:\n"
    "  0  ok\n"
    "  1  runtime error: bad data, failed training, missing device\n"
    "  2  usage error: unknown command, model or option; missing or malformed value\n";

static int is_help(const char *word) {
  return strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0;
}

static void command_name(const ag_cli_command *c, char *out, size_t len) {
  snprintf(out, len, "%s%s%s", c->verb, c->model ? " " : "", c->model ? c->model : "");
}

static void print_usage(FILE *f) {
  fprintf(f, "usage: aigc [--device D] <command> [options]\n\ncommands:\n");
  char name[64];
  for (int i = 0; i < n_commands; i++) {
    command_name(&commands[i], name, sizeof name);
    fprintf(f, "  %-20s %s\n", name, commands[i].summary);
  }
  fprintf(f, "  %-20s %s\n", "help [<command>]",
          "this text, or a command's options (as <command> --help)");
  fputs(global_usage, f);
}

static void print_command_usage(const ag_cli_command *c) {
  char name[64];
  command_name(c, name, sizeof name);
  printf("usage: aigc [--device D] %s%s\n%s\n\noptions:\n%s", name, c->options ? " [options]" : "",
         c->summary, c->options ? c->options : "");
  printf("  %-26s %s\n", "--help", "this text");
}

/* The first command of `verb` (all of a verb's take a model, or none does);
 * NULL for an unknown verb. */
static const ag_cli_command *first_of_verb(const char *verb) {
  for (int i = 0; i < n_commands; i++)
    if (strcmp(commands[i].verb, verb) == 0) return &commands[i];
  return NULL;
}

static const ag_cli_command *find_command(const char *verb, const char *model) {
  for (int i = 0; i < n_commands; i++) {
    const ag_cli_command *c = &commands[i];
    if (strcmp(c->verb, verb) == 0 && (c->model ? model && strcmp(c->model, model) == 0 : !model))
      return c;
  }
  return NULL;
}

/* "classifier, gan": the models `verb` knows, for error messages. */
static void models_of(const char *verb, char *out, size_t len) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < n_commands && used < len; i++)
    if (strcmp(commands[i].verb, verb) == 0)
      used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "", commands[i].model);
}

/* The command named by "<verb> [<model>]" at argv[0], with its name in
 * cli->name; *used gets how many words named it. */
static int resolve(ag_cli *cli, int argc, char **argv, const ag_cli_command **command, int *used) {
  const char *verb = argv[0];
  const ag_cli_command *first = first_of_verb(verb);
  if (!first) return ag_cli_usage_error(cli, "unknown command '%s'", verb);
  snprintf(cli->name, sizeof cli->name, "%s", verb);
  const char *model = first->model && argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
  *used = first->model ? 2 : 1;
  if (!(*command = find_command(verb, model))) {
    char known[256];
    models_of(verb, known, sizeof known);
    return model ? ag_cli_usage_error(cli, "unknown model '%s'; known models: %s", model, known)
                 : ag_cli_usage_error(cli, "a model is needed; known models: %s", known);
  }
  command_name(*command, cli->name, sizeof cli->name);
  return AG_EXIT_OK;
}

/* Every command of `verb`: "aigc help train" lists each model's options. */
static void print_verb_usage(const char *verb) {
  for (int i = 0, first = 1; i < n_commands; i++) {
    if (strcmp(commands[i].verb, verb) != 0) continue;
    if (!first) printf("\n");
    print_command_usage(&commands[i]);
    first = 0;
  }
}

/* aigc help [<verb> [<model>]] */
static int run_help(ag_cli *cli, int argc, char **argv) {
  if (argc == 0 || is_help(argv[0]) || strcmp(argv[0], "help") == 0) {
    print_usage(stdout);
    return AG_EXIT_OK;
  }
  if (argc == 1 && first_of_verb(argv[0])) {
    print_verb_usage(argv[0]);
    return AG_EXIT_OK;
  }
  const ag_cli_command *c = NULL;
  int used = 0;
  int rc = resolve(cli, argc, argv, &c, &used);
  if (rc == AG_EXIT_OK && used < argc)
    rc = ag_cli_usage_error(&(ag_cli){.name = "help"}, "unexpected argument '%s'", argv[used]);
  if (rc == AG_EXIT_OK) print_command_usage(c);
  return rc;
}

static int has_help(int argc, char **argv) {
  for (int i = 0; i < argc; i++)
    if (is_help(argv[i])) return 1;
  return 0;
}

/* argv[0] is the first word after the global options: "help", "--help" or
 * a command. --help anywhere after a command prints its usage instead. */
static int run_command(ag_cli *cli, int argc, char **argv) {
  if (strcmp(argv[0], "help") == 0 || is_help(argv[0])) return run_help(cli, argc - 1, argv + 1);
  if (argc > 1 && is_help(argv[1]) && first_of_verb(argv[0])) return run_help(cli, 1, argv);
  const ag_cli_command *c = NULL;
  int used = 0;
  const int rc = resolve(cli, argc, argv, &c, &used);
  if (rc != AG_EXIT_OK) return rc;
  if (has_help(argc - used, argv + used)) {
    print_command_usage(c);
    return AG_EXIT_OK;
  }
  return c->run(cli, argc - used, argv + used);
}

/* The global options before the command; *first gets the command's index. */
static int read_global_options(ag_cli *cli, int argc, char **argv, int *first) {
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a) && argv[a.i][0] == '-' && !is_help(argv[a.i]))
    ag_cli_text(&a, "--device", &cli->device);
  *first = a.i;
  return a.rc;
}

int main(int argc, char **argv) {
  ag_cli cli = {.name = ""};
  int first = 0;
  int rc = read_global_options(&cli, argc - 1, argv + 1, &first);
  const int n = argc - 1 - first;
  if (rc == AG_EXIT_OK && n == 0) {
    /* No command at all: the whole usage, as an error. */
    print_usage(stderr);
    return AG_EXIT_USAGE;
  }
  if (rc == AG_EXIT_OK) rc = run_command(&cli, n, argv + 1 + first);
  if (rc != AG_EXIT_OK) fprintf(stderr, "aigc: error: %s\n", ag_last_error());
  return rc;
}
