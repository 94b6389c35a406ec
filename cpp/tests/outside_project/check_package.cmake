# Proves that another CMake project can use gaussmix, the way the README says.
# Run by ctest (see ../CMakeLists.txt) as
#   cmake -DMODE=find_package|add_subdirectory -DGAUSSMIX_SOURCE_DIR=... -DGAUSSMIX_BUILD_DIR=...
#         -DWORK_DIR=... -DGENERATOR=... -DMAKE_PROGRAM=... -DCXX_COMPILER=... [-DEIGEN3_DIR=...]
#         -P check_package.cmake
#
# find_package:     install component "devel" of GAUSSMIX_BUILD_DIR to WORK_DIR/prefix, check
#                   what was installed, then configure, build and run ./ with
#                   CMAKE_PREFIX_PATH=WORK_DIR/prefix only.
# add_subdirectory: configure, build and run ./subdirectory, which adds GAUSSMIX_SOURCE_DIR,
#                   with Eigen3_DIR=EIGEN3_DIR (a parent project points CMake at its Eigen).
cmake_minimum_required(VERSION 3.18)

foreach(var MODE GAUSSMIX_SOURCE_DIR GAUSSMIX_BUILD_DIR WORK_DIR GENERATOR MAKE_PROGRAM CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_package.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${command}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(here "${CMAKE_CURRENT_LIST_DIR}")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
# The main build's generator and tools (ctest's PATH may not have them). No build type:
# the program is tiny, and an unoptimised build of it compiles fastest.
set(configure_args -G "${GENERATOR}" "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")

if(MODE STREQUAL "find_package")
  set(prefix "${WORK_DIR}/prefix")
  run("${CMAKE_COMMAND}" --install "${GAUSSMIX_BUILD_DIR}" --prefix "${prefix}" --component devel)
  # The headers and the CMake package, and nothing else (no Python module, no tests).
  file(GLOB_RECURSE installed RELATIVE "${prefix}" "${prefix}/*")
  foreach(required include/gaussmix/gaussmix.hpp include/gaussmix/detail/config.hpp
                   share/cmake/gaussmix/gaussmixConfig.cmake share/cmake/gaussmix/gaussmixConfigVersion.cmake
                   share/cmake/gaussmix/gaussmixTargets.cmake)
    if(NOT required IN_LIST installed)
      message(FATAL_ERROR "${required} was not installed; installed: ${installed}")
    endif()
  endforeach()
  foreach(file IN LISTS installed)
    if(NOT file MATCHES "^(include/gaussmix/.*\\.hpp|share/cmake/gaussmix/gaussmix[A-Za-z-]*\\.cmake)$")
      message(FATAL_ERROR "component devel installed an unexpected file: ${file}")
    endif()
  endforeach()
  run("${CMAKE_COMMAND}" -S "${here}" -B "${WORK_DIR}/build" ${configure_args} "-DCMAKE_PREFIX_PATH=${prefix}")
  # The package that was found is the installed one, not the build tree.
  file(STRINGS "${WORK_DIR}/build/CMakeCache.txt" found_dir REGEX "^gaussmix_DIR:")
  if(NOT found_dir STREQUAL "gaussmix_DIR:PATH=${prefix}/share/cmake/gaussmix")
    message(FATAL_ERROR "found the wrong gaussmix package: ${found_dir}")
  endif()
  set(project_build "${WORK_DIR}/build")
elseif(MODE STREQUAL "add_subdirectory")
  set(eigen_arg)
  if(EIGEN3_DIR)
    set(eigen_arg "-DEigen3_DIR=${EIGEN3_DIR}")
  endif()
  run("${CMAKE_COMMAND}" -S "${here}/subdirectory" -B "${WORK_DIR}/build" ${configure_args}
      "-DGAUSSMIX_SOURCE_DIR=${GAUSSMIX_SOURCE_DIR}" ${eigen_arg})
  set(project_build "${WORK_DIR}/build")
else()
  message(FATAL_ERROR "MODE must be find_package or add_subdirectory, not '${MODE}'")
endif()

run("${CMAKE_COMMAND}" --build "${project_build}" --config Release)
# Single-config generators put app in the build directory, multi-config ones in Release/.
file(GLOB app "${project_build}/app" "${project_build}/app.exe" "${project_build}/Release/app"
     "${project_build}/Release/app.exe")
if(NOT app)
  message(FATAL_ERROR "the outside project built no executable 'app'")
endif()
list(GET app 0 app)
run("${app}")
message(STATUS "${MODE}: app printed\n${run_output}")
# Two equal clusters around -2 and 3.
if(NOT run_output MATCHES "weights: 0\\.5 +0\\.5\n" OR NOT run_output MATCHES "means: +-2 +3\n")
  message(FATAL_ERROR "unexpected output from the outside project:\n${run_output}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
