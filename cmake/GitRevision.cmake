# Run at every build (the strand_git_revision target): writes OUT, a C++ file defining
# strand::git_revision() as `git describe --always --dirty` of SRC ("unknown" without git or
# outside a clone), and rewrites it only when the text changes, so a build after a commit or an
# edit says which revision it is without recompiling anything else. Configure-time values went
# stale on `git pull && cmake --build`.
#   cmake -DSRC=<source dir> -DOUT=<file.cpp> [-DGIT=<git>] -P GitRevision.cmake
set(rev "unknown")
# Only the source tree's own clone (not a repository an unpacked tarball happens to sit in).
if(GIT AND EXISTS "${SRC}/.git")
  execute_process(COMMAND ${GIT} describe --always --dirty --abbrev=10 WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE out OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND out)
    set(rev "${out}")
  elseif(EXISTS ${OUT})
    # git refused (another user running the install step, "dubious ownership"): keep the
    # revision the build wrote.
    return()
  endif()
endif()
string(REPLACE "\\" "\\\\" rev "${rev}")
string(REPLACE "\"" "\\\"" rev "${rev}")
set(text "// Generated at build time by cmake/GitRevision.cmake.\n#include \"core/version.h\"\n\nnamespace strand {\nconst char* git_revision() { return \"${rev}\"; }\n}  // namespace strand\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE ${OUT} "${text}")
