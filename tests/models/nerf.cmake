# NeRF scenes: the procedural scenes made small and read back, the camera
# model's axis convention, and every malformed transforms.json's error
# (seconds).
ag_add_gtest(models_nerf_scene LABEL cpu SOURCES test_nerf_scene.cpp
  LIBS ag_models ag_runtime ag::cjson)

# NeRF mesh export without a model: marching tetrahedra on analytic sphere
# fields (on the sphere, closed, wound outward, its volume), empty fields,
# the PLY writer's bytes read back (a second).
ag_add_gtest(models_nerf_mesh LABEL cpu SOURCES test_nerf_mesh.cpp LIBS ag_models ag_runtime)
target_include_directories(models_nerf_mesh PRIVATE ${PROJECT_SOURCE_DIR}/tests)

# aigc make-scene from the command line: each scene tiny, bad names and
# options (seconds).
add_test(NAME cli_nerf COMMAND ${PROJECT_SOURCE_DIR}/tests/cli/test_nerf_cli.sh $<TARGET_FILE:aigc>)
set_tests_properties(cli_nerf PROPERTIES LABELS cpu TIMEOUT 120)

# The NeRF model: a 300-step training run on a 32x32 scene learns, batches
# that overflow render the same image, checkpoints round-trip; where the
# emulator is built, a view on the emulated CUDA kernels against the CPU.
if(AG_HAVE_EMU)
  ag_add_gtest(models_nerf LABEL emu SOURCES test_nerf.cpp
    LIBS ag_models ag_runtime ag_emu_backend)
  target_compile_definitions(models_nerf PRIVATE AG_NERF_TEST_EMU)
else()
  ag_add_gtest(models_nerf LABEL cpu SOURCES test_nerf.cpp LIBS ag_models ag_runtime)
endif()

# aigc train nerf, eval nerf and render from the command line: a tiny scene
# trained, measured, rendered whole and resumed to the same bytes, bad
# inputs (about 20 s); with --mpi, 2 ranks render 1 rank's bytes (label mpi).
set(ag_nerf_render_cli ${PROJECT_SOURCE_DIR}/tests/cli/test_nerf_render_cli.sh)
add_test(NAME cli_nerf_render COMMAND ${ag_nerf_render_cli} $<TARGET_FILE:aigc>)
set_tests_properties(cli_nerf_render PROPERTIES LABELS cpu PROCESSORS 2 TIMEOUT 300)
if(AG_HAVE_MPI AND MPIEXEC_EXECUTABLE)
  add_test(NAME cli_nerf_render_mpi
    COMMAND ${ag_nerf_render_cli} $<TARGET_FILE:aigc> --mpi ${MPIEXEC_EXECUTABLE})
  set_tests_properties(cli_nerf_render_mpi PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 300)
endif()

# Every procedural scene trained for about 5 minutes and held to 28 dB test
# PSNR at 64x64 (label quality: ctest -L quality; about 15 minutes).
add_test(NAME quality_nerf COMMAND ${PROJECT_SOURCE_DIR}/tests/cli/test_nerf_quality.sh
  $<TARGET_FILE:aigc>)
set_tests_properties(quality_nerf PROPERTIES LABELS quality PROCESSORS 2 TIMEOUT 2400)
