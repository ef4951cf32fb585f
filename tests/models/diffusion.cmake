# The diffusion model (models/diffusion/ag_ddpm.h): the UNet's shapes and
# parameter count, a short training run, checkpoints and exact resuming,
# sampling independent of batch and shard (seconds on the CPU); where the
# emulator is built, sampling on the emulated CUDA kernels against the CPU.
if(AG_HAVE_EMU)
  ag_add_gtest(models_ddpm LABEL emu SOURCES test_ddpm.cpp
    LIBS ag_models ag_runtime ag_emu_backend)
  target_compile_definitions(models_ddpm PRIVATE AG_DDPM_TEST_EMU)
else()
  ag_add_gtest(models_ddpm LABEL cpu SOURCES test_ddpm.cpp LIBS ag_models ag_runtime)
endif()
target_compile_definitions(models_ddpm PRIVATE AG_FASHION_MNIST_DIR="${AG_FASHION_MNIST_DIR}")
