# Adds fuzz/ to the root project without editing its CMakeLists.txt:
#   cmake -S . -B build-asan -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_PROJECT_INCLUDE=$PWD/fuzz/enable.cmake
# CMake includes this file at the end of every project() call; for the root project it defers
# include(fuzz/CMakeLists.txt) to the end of the root CMakeLists.txt, when its libraries exist.
# (A deferred add_subdirectory is not allowed; fuzz/CMakeLists.txt works either way.)
if(NOT CMAKE_CURRENT_SOURCE_DIR STREQUAL CMAKE_SOURCE_DIR)
  return()
endif()
get_property(_rse_fuzz_added GLOBAL PROPERTY RSE_FUZZ_ADDED)
if(_rse_fuzz_added)
  return()
endif()
set_property(GLOBAL PROPERTY RSE_FUZZ_ADDED TRUE)
cmake_language(EVAL CODE
  "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL include [[${CMAKE_CURRENT_LIST_DIR}/CMakeLists.txt]])")
