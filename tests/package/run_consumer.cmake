# Installs the recnas build tree into a fresh prefix, then configures, builds and runs the
# consumer project against that installed package only.
file(REMOVE_RECURSE "${RECNAS_WORK_DIR}")
set(prefix "${RECNAS_WORK_DIR}/prefix")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${RECNAS_BUILD_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
if(EXISTS "${prefix}/include/recnas/recnas.hpp")
else()
  message(FATAL_ERROR "install did not place include/recnas/recnas.hpp")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${RECNAS_CONSUMER_DIR}" -B "${RECNAS_WORK_DIR}/build"
                -G "${RECNAS_GENERATOR}" -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer against the installed package failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${RECNAS_WORK_DIR}/build" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
execute_process(COMMAND "${RECNAS_WORK_DIR}/build/recnas_consumer" RESULT_VARIABLE rc
                OUTPUT_VARIABLE out)
message("${out}")
if(rc)
  message(FATAL_ERROR "the consumer failed: ${rc}")
endif()
if(NOT out MATCHES "recnas 0\\.1")
  message(FATAL_ERROR "the consumer did not print the recnas version")
endif()
