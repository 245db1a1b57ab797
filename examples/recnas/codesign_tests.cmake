# `recnas codesign` end to end at the tiny budget (about a minute on 2 cores), checked by
# codesign_check.cmake. Included from examples/CMakeLists.txt inside if(RECNAS_BUILD_TESTS).
add_test(NAME cli.codesign_tiny
         COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:recnas_cli>
                 -DWORK=${CMAKE_CURRENT_BINARY_DIR}/codesign-tiny
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/recnas/codesign_check.cmake)
set_tests_properties(cli.codesign_tiny PROPERTIES LABELS cli TIMEOUT 600)
# Another preset (its own architecture policies) runs the whole pipeline too, from an empty
# folder (a folder left by another build's run would be resumed, or refused if its settings
# differ).
add_test(NAME cli.codesign_neurosim_clean
         COMMAND ${CMAKE_COMMAND} -E rm -rf "${CMAKE_CURRENT_BINARY_DIR}/codesign-neurosim")
set_tests_properties(cli.codesign_neurosim_clean PROPERTIES LABELS cli
  FIXTURES_SETUP codesign_neurosim_dir)
add_test(NAME cli.codesign_neurosim
         COMMAND recnas_cli codesign --space nasrec-small --data synthetic:rows=12000
                 --budget tiny --threads 2 --pim-preset neurosim --seeds 1 --validate-top 0
                 --out "${CMAKE_CURRENT_BINARY_DIR}/codesign-neurosim" --json)
set_tests_properties(cli.codesign_neurosim PROPERTIES LABELS cli TIMEOUT 600
  FIXTURES_REQUIRED codesign_neurosim_dir
  PASS_REGULAR_EXPRESSION "\"energy_gain\":[0-9.e+]+.*\"latency_gain\":[0-9.e+]+")
add_test(NAME cli.codesign_bad_budget
         COMMAND recnas_cli codesign --budget 3 --out "${CMAKE_CURRENT_BINARY_DIR}/codesign-bad")
set_tests_properties(cli.codesign_bad_budget PROPERTIES LABELS cli WILL_FAIL ON)
# the score's weights are three numbers: a wrong count is a clear error naming the option
add_test(NAME cli.codesign_bad_objective_weights
         COMMAND recnas_cli codesign --objective-weights 1,2
                 --out "${CMAKE_CURRENT_BINARY_DIR}/codesign-bad")
set_tests_properties(cli.codesign_bad_objective_weights PROPERTIES LABELS cli
  PASS_REGULAR_EXPRESSION "--objective-weights: At least 3 required")
