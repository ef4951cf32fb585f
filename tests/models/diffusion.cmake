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

# The diffusion model from the command line: bad inputs (one error line, no
# output left), then a tiny train + sample into a PNG grid and one PNG per
# image, seeds reproducing (seconds); with --mpi, 2 ranks under mpirun
# sampling the same files as 1, rank 0 alone writing (label mpi).
set(ag_ddpm_cli ${PROJECT_SOURCE_DIR}/tests/cli/test_ddpm_cli.sh)
add_test(NAME cli_ddpm COMMAND ${ag_ddpm_cli} $<TARGET_FILE:aigc> ${AG_FASHION_MNIST_DIR})
set_tests_properties(cli_ddpm PROPERTIES LABELS cpu TIMEOUT 600)
if(AG_HAVE_MPI AND MPIEXEC_EXECUTABLE)
  add_test(NAME cli_ddpm_mpi COMMAND ${ag_ddpm_cli} $<TARGET_FILE:aigc> ${AG_FASHION_MNIST_DIR}
    --mpi ${MPIEXEC_EXECUTABLE})
  set_tests_properties(cli_ddpm_mpi PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 600)
endif()

# A few minutes' training to the label-accuracy and FID bars of 1000
# class-balanced samples, measured by aigc compare (label quality, not run by
# CI; tests/cli/test_generators_quality.sh states the settings and bars).
add_test(NAME quality_ddpm COMMAND ${PROJECT_SOURCE_DIR}/tests/cli/test_generators_quality.sh
  $<TARGET_FILE:aigc> ${AG_FASHION_MNIST_DIR} ddpm)
set_tests_properties(quality_ddpm PROPERTIES LABELS quality TIMEOUT 1800)
