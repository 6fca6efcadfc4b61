# Warnings and sanitizer flags shared by every strand target.
add_library(strand_compile_options INTERFACE)
target_compile_options(strand_compile_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                            -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough>)
if(STRAND_NATIVE)
  target_compile_options(strand_compile_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()
if(STRAND_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_compile_options(strand_compile_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${_san}>)
  target_link_options(strand_compile_options INTERFACE ${_san})
endif()
if(STRAND_FUZZ)
  set(_fuzz -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_compile_options(strand_compile_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${_fuzz}>)
  target_link_options(strand_compile_options INTERFACE -fsanitize=address,undefined)
endif()

# strand_add_library(NAME SOURCES... [LINK libs...]) : a folder's library with its include root.
function(strand_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  # Headers are included by folder: #include "genomics/fasta_index.h".
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC} PRIVATE strand_compile_options ${ARG_PRIVATE})
endfunction()
