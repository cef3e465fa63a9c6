# Runs the mapinverse tool on one bad input and checks that it fails cleanly:
# a non-zero exit, a message containing EXPECT, and no file at OUTPUT (nor a
# temporary left next to it).
#   cmake -DTOOL=... -DARGS="a|b|c" -DEXPECT=... -DOUTPUT=... -P run_bad_input.cmake
string(REPLACE "|" ";" arguments "${ARGS}")
file(REMOVE ${OUTPUT})
execute_process(COMMAND ${TOOL} ${arguments}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
set(text "${out}${err}")
if(status EQUAL 0)
  message(FATAL_ERROR "exit status 0 for a bad input; output:\n${text}")
endif()
string(FIND "${text}" "${EXPECT}" position)
if(position EQUAL -1)
  message(FATAL_ERROR "the message does not contain '${EXPECT}':\n${text}")
endif()
get_filename_component(folder ${OUTPUT} DIRECTORY)
file(GLOB left ${OUTPUT} ${OUTPUT}.* ${folder}/*.partial ${folder}/*.tmp)
if(left)
  message(FATAL_ERROR "files left behind: ${left}")
endif()
message(STATUS "refused (exit ${status}): ${text}")
