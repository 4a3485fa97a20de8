# Checks what the JNI libraries export (CTest Java::exports):
#   - libmccache_jni.so exports JNI_OnLoad, JNI_OnUnload and exactly the
#     natives of the header javac wrote from Native.java: nothing stray;
#   - none of the benchmark's natives (the header of BenchNatives.java), under
#     any class name: benchmark code stays out of the production library;
#   - the bench library does export every one of them, so that the second
#     check looks for names that exist.
#   cmake -DNM=nm -DLIB=libmccache_jni.so -DHEADER=io_libmccache_Native.h
#         -DBENCH_LIB=libmccache_jni_bench.so -DBENCH_HEADER=io_libmccache_BenchNatives.h
#         -P CheckExports.cmake
cmake_minimum_required(VERSION 3.20)
foreach(_var NM LIB HEADER BENCH_LIB BENCH_HEADER)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "CheckExports.cmake: -D${_var}=... is required")
  endif()
endforeach()

# The defined dynamic symbols of a shared library, sorted.
function(exported_symbols lib out)
  execute_process(COMMAND "${NM}" -D --defined-only "${lib}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -D --defined-only ${lib} failed: ${err}")
  endif()
  string(REGEX MATCHALL "[^\n]+" lines "${text}")
  set(names "")
  foreach(line IN LISTS lines)
    # "ADDRESS TYPE NAME"; versioned names carry @VERSION.
    if(line MATCHES "^[0-9a-fA-F]* *[A-Za-z] ([^ @]+)")
      list(APPEND names "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  list(SORT names)
  list(REMOVE_DUPLICATES names)
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

# The JNI function names a javac -h header declares.
function(declared_natives header out)
  file(READ "${header}" text)
  string(REGEX MATCHALL "JNICALL (Java_[A-Za-z0-9_]+)" decls "${text}")
  set(names "")
  foreach(d IN LISTS decls)
    string(REPLACE "JNICALL " "" d "${d}")
    list(APPEND names "${d}")
  endforeach()
  list(SORT names)
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

exported_symbols("${LIB}" exported)
declared_natives("${HEADER}" expected)
list(LENGTH expected n_expected)
if(n_expected EQUAL 0)
  message(FATAL_ERROR "${HEADER} declares no natives: wrong header?")
endif()
list(APPEND expected JNI_OnLoad JNI_OnUnload)
list(SORT expected)

set(problems "")
set(extra ${exported})
list(REMOVE_ITEM extra ${expected})
foreach(s IN LISTS extra)
  string(APPEND problems "\n  exported but not a native of Native.java: ${s}")
endforeach()
set(missing ${expected})
list(REMOVE_ITEM missing ${exported})
foreach(s IN LISTS missing)
  string(APPEND problems "\n  declared but not exported: ${s}")
endforeach()

declared_natives("${BENCH_HEADER}" bench)
exported_symbols("${BENCH_LIB}" bench_exported)
foreach(b IN LISTS bench)
  if(NOT b IN_LIST bench_exported)
    string(APPEND problems "\n  the bench library does not export ${b}")
  endif()
  # The method name, whatever class a native of that name would be declared in.
  string(REGEX REPLACE "^Java_io_libmccache_BenchNatives_" "" method "${b}")
  foreach(s IN LISTS exported)
    if(s MATCHES "^Java_.*_${method}(__.*)?$")
      string(APPEND problems "\n  the production library exports the benchmark native ${s}")
    endif()
  endforeach()
endforeach()

if(problems)
  message(FATAL_ERROR "${LIB}:${problems}")
endif()
list(LENGTH bench n_bench)
message(STATUS "${LIB}: exports the ${n_expected} natives of Native.java and JNI_OnLoad/OnUnload; "
               "none of the ${n_bench} benchmark natives (they are in ${BENCH_LIB})")
