# NeRF scenes: the procedural scenes made small and read back, the camera
# model's axis convention, and every malformed transforms.json's error
# (seconds).
ag_add_gtest(models_nerf_scene LABEL cpu SOURCES test_nerf_scene.cpp
  LIBS ag_models ag_runtime ag::cjson)

# aigc make-scene from the command line: each scene tiny, bad names and
# options (seconds).
add_test(NAME cli_nerf COMMAND ${PROJECT_SOURCE_DIR}/tests/cli/test_nerf_cli.sh $<TARGET_FILE:aigc>)
set_tests_properties(cli_nerf PROPERTIES LABELS cpu TIMEOUT 120)
