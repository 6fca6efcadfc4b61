# libBigWig (Debian: libbigwig-dev) ships no CMake or pkg-config file.
find_path(LibBigWig_INCLUDE_DIR bigWig.h PATH_SUFFIXES libBigWig)
find_library(LibBigWig_LIBRARY NAMES BigWig bigwig)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibBigWig REQUIRED_VARS LibBigWig_LIBRARY LibBigWig_INCLUDE_DIR)
if(LibBigWig_FOUND AND NOT TARGET LibBigWig::LibBigWig)
  add_library(LibBigWig::LibBigWig UNKNOWN IMPORTED)
  set_target_properties(LibBigWig::LibBigWig PROPERTIES
    IMPORTED_LOCATION "${LibBigWig_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibBigWig_INCLUDE_DIR}")
endif()
