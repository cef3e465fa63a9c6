# Warnings for the project's own code: -Wall -Wextra everywhere, as errors when
# MAPINVERSE_WARNINGS_AS_ERRORS is on (CI turns it on). LibTorch's and other
# dependencies' headers are system includes of their imported targets, so their
# warnings stay out of this.
option(MAPINVERSE_WARNINGS_AS_ERRORS "Treat warnings in MapInverse's own code as errors" OFF)

function(mapinverse_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra
      $<$<BOOL:${MAPINVERSE_WARNINGS_AS_ERRORS}>:-Werror>)
  endif()
endfunction()
