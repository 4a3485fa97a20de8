# Runs Maven for the Java binding, then fails on any -Xcheck:jni report.
#   cmake -DMVN=mvn -DPOM=pom.xml -DNATIVE=/abs/libmccache_jni.so -DBUILD_DIR=dir
#         -DGOALS=test|bench [-DBENCH_NATIVE=/abs/libmccache_jni_bench.so] -P RunMaven.cmake
# The bench goal needs BENCH_NATIVE, the benchmark's own native library.
# -Xcheck:jni only prints warnings; the forked test JVM writes them straight
# to its stdout, which Surefire saves in *.dumpstream files or echoes.
foreach(_var MVN POM NATIVE BUILD_DIR GOALS)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "RunMaven.cmake: -D${_var}=... is required")
  endif()
endforeach()

get_filename_component(_native_dir "${NATIVE}" DIRECTORY)
set(_common -B -f "${POM}"
  "-Dmccache.native.path=${NATIVE}"
  "-Dmccache.build.directory=${BUILD_DIR}")
if(GOALS STREQUAL "test")
  file(REMOVE_RECURSE "${BUILD_DIR}/surefire-reports")
  set(_cmd "${MVN}" ${_common} test)
elseif(GOALS STREQUAL "bench")
  if(NOT BENCH_NATIVE)
    message(FATAL_ERROR "RunMaven.cmake: GOALS=bench needs -DBENCH_NATIVE=/abs/libmccache_jni_bench.so")
  endif()
  set(_cmd "${MVN}" ${_common} "-Dmccache.bench.native.path=${BENCH_NATIVE}" -q -Pbench test-compile exec:exec)
else()
  message(FATAL_ERROR "RunMaven.cmake: GOALS must be test or bench")
endif()

execute_process(COMMAND ${_cmd}
  RESULT_VARIABLE _rc
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _out)
message("${_out}")
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "Maven failed (${_rc}): ${_cmd}")
endif()

if(GOALS STREQUAL "test")
  file(GLOB _dumps "${BUILD_DIR}/surefire-reports/*.dumpstream" "${BUILD_DIR}/surefire-reports/*-output.txt")
  set(_reports "${_out}")
  foreach(_f IN LISTS _dumps)
    file(READ "${_f}" _text)
    string(APPEND _reports "${_text}")
  endforeach()
  string(REGEX MATCHALL "(WARNING|FATAL ERROR) in native method[^\n]*" _jni "${_reports}")
  if(_jni)
    list(REMOVE_DUPLICATES _jni)
    string(REPLACE ";" "\n  " _jni "${_jni}")
    message(FATAL_ERROR "-Xcheck:jni reported:\n  ${_jni}")
  endif()
endif()
