/* backend_emu.h - the CUDA-emulator backend for tests. */
#ifndef AG_BACKEND_EMU_H
#define AG_BACKEND_EMU_H

#include "ag_backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Registers "emu" on first call; NULL if that failed (see ag_last_error). */
ag_backend *ag_backend_emu(void);

#ifdef __cplusplus
}
#endif

#endif
