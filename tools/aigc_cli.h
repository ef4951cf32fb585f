/* aigc_cli.h - what the command files of the aigc CLI share. */
#ifndef AG_CLI_H
#define AG_CLI_H

#include "runtime/backends/ag_backend.h"

/* Prints "aigc: error: <ag_last_error()>" and returns 1. */
int ag_cli_fail(void);

/* Option parsing for "--name value" and "--name=value": returns the value
 * when argv[*i] is option `name` (advancing *i past a separate value), NULL
 * otherwise. A missing value is reported and sets *bad. */
const char *ag_cli_option(int argc, char **argv, int *i, const char *name, int *bad);

/* Parses a whole positive integer / positive float, or reports it. */
int ag_cli_int(const char *opt, const char *text, long long *out);
int ag_cli_float(const char *opt, const char *text, float *out);

/* aigc train classifier ... / aigc eval classifier ... */
int ag_cmd_train_classifier(ag_backend *be, int argc, char **argv);
int ag_cmd_eval_classifier(ag_backend *be, int argc, char **argv);

#endif
