# The samplers against Hugging Face diffusers 0.30.3 itself: the C driver
# writes aigc's trajectories (the double host path and the fused f32 kernel
# on the CPU backend), the script runs diffusers' schedulers on the same
# inputs and noise in float64 and compares every step (about 20 s). Skipped
# (77) where the peer interpreter or diffusers is missing.
add_executable(scheduler_trajectory scheduler_trajectory.c)
target_link_libraries(scheduler_trajectory PRIVATE ag_models ag_runtime)
add_test(NAME schedulers_diffusers
  COMMAND ${AG_PEER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_schedulers_diffusers.py
          $<TARGET_FILE:scheduler_trajectory>)
set_tests_properties(schedulers_diffusers PROPERTIES LABELS cpu SKIP_RETURN_CODE 77 TIMEOUT 300)
