/* json.h - reading a JSON file whose top level is an object (scene
 * transforms, render job files), with errors that name the file. */
#ifndef AG_IO_JSON_H
#define AG_IO_JSON_H

#include <cjson/cJSON.h>

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* *root (cJSON_Delete it) is the file's object; else AG_ERR_IO naming the
 * path: "cannot open (reason)", "not JSON (error near byte N)", "not a JSON
 * object". */
ag_status ag_json_read_object(const char *path, cJSON **root);

#ifdef __cplusplus
}
#endif

#endif
