# `recnas codesign` end to end at the tiny budget (about a minute on 2 cores): the --json last
# line carries the baseline, the co-designed model and the three gains. Included from
# examples/CMakeLists.txt inside if(RECNAS_BUILD_TESTS).
set(_cd_out "${CMAKE_CURRENT_BINARY_DIR}/codesign-tiny")
add_test(NAME cli.codesign_clean COMMAND ${CMAKE_COMMAND} -E rm -rf "${_cd_out}")
set_tests_properties(cli.codesign_clean PROPERTIES LABELS cli FIXTURES_SETUP codesign_out)
add_test(NAME cli.codesign_tiny
         COMMAND recnas_cli codesign --space nasrec-small --data synthetic:rows=20000
                 --budget tiny --threads 2 --out "${_cd_out}" --json)
set_tests_properties(cli.codesign_tiny PROPERTIES LABELS cli FIXTURES_REQUIRED codesign_out
  TIMEOUT 600
  PASS_REGULAR_EXPRESSION "\"baseline\":{.*\"energy_pj\":[0-9.e+]+.*\"codesigned\":{[^}]*\"energy_pj\":[0-9.e+]+[^}]*\"latency_ns\":[0-9.e+]+[^}]*\"logloss\":[0-9.e+]+.*\"energy_gain\":[0-9.e+]+.*\"flops_gain\":[0-9.e+]+.*\"latency_gain\":[0-9.e+]+")
add_test(NAME cli.codesign_bad_budget
         COMMAND recnas_cli codesign --budget 3 --out "${_cd_out}-bad")
set_tests_properties(cli.codesign_bad_budget PROPERTIES LABELS cli WILL_FAIL ON)
