# The GAN on the CPU: shapes and parameter counts, the losses against hand
# computations, the finite-difference R1 penalty against critics of known
# gradient, a short training run that must learn, checkpoints, resuming and
# batch-independent sampling (about 30 s single-threaded).
ag_add_gtest(models_gan LABEL cpu SOURCES test_gan.cpp LIBS ag_models ag_runtime)
target_compile_definitions(models_gan PRIVATE AG_FASHION_MNIST_DIR="${AG_FASHION_MNIST_DIR}")

# The GAN from the command line: bad inputs, and a tiny train + sample
# writing a PNG grid and one PNG per image (seconds).
add_test(NAME cli_gan COMMAND ${PROJECT_SOURCE_DIR}/tests/cli/test_gan_cli.sh
  $<TARGET_FILE:aigc> ${AG_FASHION_MNIST_DIR})
set_tests_properties(cli_gan PROPERTIES LABELS cpu TIMEOUT 600)

# A few minutes' training to the label-accuracy and FID bars of 1000
# class-balanced samples, measured by aigc compare (label quality, not run by
# CI; tests/cli/test_generators_quality.sh states the settings and bars).
add_test(NAME quality_gan COMMAND ${PROJECT_SOURCE_DIR}/tests/cli/test_generators_quality.sh
  $<TARGET_FILE:aigc> ${AG_FASHION_MNIST_DIR} gan)
set_tests_properties(quality_gan PROPERTIES LABELS quality TIMEOUT 1800)
