# Runs the mapinverse tool on an input that is odd but valid and checks that it
# succeeds: exit status 0, a message containing EXPECT, OUTPUT (a file or folder) written,
# and no temporary left next to it.
#   cmake -DTOOL=... -DARGS="a|b|c" -DEXPECT=... -DOUTPUT=... -P run_good_input.cmake
string(REPLACE "|" ";" arguments "${ARGS}")
file(REMOVE_RECURSE "${OUTPUT}")
execute_process(COMMAND ${TOOL} ${arguments}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
set(text "${out}${err}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "exit status ${status} for a valid input; output:\n${text}")
endif()
string(FIND "${text}" "${EXPECT}" position)
if(position EQUAL -1)
  message(FATAL_ERROR "the output does not contain '${EXPECT}':\n${text}")
endif()
if(NOT EXISTS "${OUTPUT}")
  message(FATAL_ERROR "'${OUTPUT}' was not written:\n${text}")
endif()
file(GLOB left "${OUTPUT}.partial")
if(left)
  message(FATAL_ERROR "temporaries left behind: ${left}")
endif()
message(STATUS "accepted: ${text}")
