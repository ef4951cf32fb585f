# aigc compare's metrics: FID, KID and PRDC against SciPy/NumPy
# (metrics_peer.py through the peer python; skipped without it), the KID
# subset statistics, class coverage and memorisation, and the sanity anchors
# on Fashion-MNIST through a classifier trained in the test.
ag_add_gtest(models_metrics LABEL cpu SOURCES test_metrics.cpp LIBS ag_models ag_runtime ag::cjson)
target_compile_definitions(models_metrics PRIVATE
  AG_FASHION_MNIST_DIR="${AG_FASHION_MNIST_DIR}"
  AG_PEER_PYTHON="${AG_PEER_PYTHON}"
  AG_METRICS_PEER="${CMAKE_CURRENT_SOURCE_DIR}/metrics_peer.py")
set_tests_properties(models_metrics PROPERTIES TIMEOUT 300)

# aigc compare end to end: bad inputs, then tiny models trained for 20 steps
# and a small report, rendered by headless Chromium (skipped without it).
add_test(NAME cli_compare COMMAND ${PROJECT_SOURCE_DIR}/tests/cli/test_compare_cli.sh
  $<TARGET_FILE:aigc> ${AG_FASHION_MNIST_DIR})
set_tests_properties(cli_compare PROPERTIES LABELS cpu TIMEOUT 900 SKIP_RETURN_CODE 77)
