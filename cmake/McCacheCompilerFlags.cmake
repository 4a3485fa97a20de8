# Warning and sanitizer flags. Warnings go only on our own targets (through
# mccache_own_code()); sanitizers go on everything, tests included, because a
# half-instrumented process gives TSan false reports and ASan blind spots.

set(MCCACHE_SANITIZE "" CACHE STRING "Sanitizers: empty, \"address,undefined\" or \"thread\"")
set_property(CACHE MCCACHE_SANITIZE PROPERTY STRINGS "" "address,undefined" "address" "undefined" "thread")

if(MCCACHE_SANITIZE)
  if(MCCACHE_SANITIZE MATCHES "thread" AND MCCACHE_SANITIZE MATCHES "address")
    message(FATAL_ERROR "MCCACHE_SANITIZE: thread and address cannot be combined")
  endif()
  add_compile_options(-fsanitize=${MCCACHE_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${MCCACHE_SANITIZE})
  if(MCCACHE_SANITIZE MATCHES "undefined")
    # A UBSan report must fail the test, not scroll by.
    add_compile_options(-fno-sanitize-recover=all)
    add_link_options(-fno-sanitize-recover=all)
  endif()
endif()

# GCC's flow-based warnings (format-truncation, maybe-uninitialized,
# stringop-*) change with sanitizer instrumentation and give false positives
# there, so scripts/test turns -Werror off in sanitizer builds only; the
# plain build keeps the gate.
option(MCCACHE_WERROR "Treat warnings in our own code as errors" ON)

function(mccache_own_code target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(MCCACHE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
