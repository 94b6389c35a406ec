# The CPU levels the Python extension is compiled for, and each level's compiler flags.
#
# Why one extension module per level, not one module holding every level's kernels:
# the kernels are header templates (gaussmix's, Eigen's), and a translation unit
# compiled with -mavx512f instantiates the same inline functions, under the same
# mangled names, as one compiled for SSE2 -- Eigen's GEMM, std::vector<double>'s
# growth, pybind11's casters. Linked into one shared object, the linker keeps one
# copy of each such name, chosen by link order, so SSE2 code could end up calling an
# AVX-512 copy (SIGILL on an older CPU). A per-level namespace would rename only
# gaussmix's own templates, not Eigen's, the standard library's or pybind11's;
# keeping the copies apart in one object needs partial linking with symbol
# localisation, which only ELF linkers offer. So each level is its own extension
# module (gaussmix._core_<level>): a separate link, every translation unit in it
# built with the same flags, its symbols hidden (pybind11's default) and loaded
# RTLD_LOCAL by Python. gaussmix._cpu (built with the baseline flags, no templates)
# says what the processor supports, and gaussmix/_cpu_dispatch.py imports exactly
# one level module per process. That holds on every platform and toolchain.
#
# A level's flags and what the dispatcher requires of the CPU for it
# (REQUIRED_FEATURES in python/gaussmix/_cpu_dispatch.py) must agree: a level may
# only let the compiler use instructions the dispatcher has checked for.
# tests/test_cpu_dispatch.py checks each built level's instruction-set macros
# against that table.

set(GAUSSMIX_X86_64_LEVELS sse2 avx2 avx512)
set(GAUSSMIX_KNOWN_CPU_LEVELS ${GAUSSMIX_X86_64_LEVELS} generic native)

# Whether the build targets x86-64 (for macOS, the one architecture asked for, if any).
function(gaussmix_target_is_x86_64 out_var)
  set(_arch "${CMAKE_SYSTEM_PROCESSOR}")
  if(APPLE AND CMAKE_OSX_ARCHITECTURES)
    list(LENGTH CMAKE_OSX_ARCHITECTURES _n)
    if(_n EQUAL 1)
      set(_arch "${CMAKE_OSX_ARCHITECTURES}")
    else()
      set(_arch "universal")  # one binary for several architectures: no x86-only flags
    endif()
  endif()
  if(_arch MATCHES "^(x86_64|AMD64|amd64|x64)$" AND CMAKE_SIZEOF_VOID_P EQUAL 8)
    set(${out_var} TRUE PARENT_SCOPE)
  else()
    set(${out_var} FALSE PARENT_SCOPE)
  endif()
endfunction()

# The default levels: this machine's CPU only with GAUSSMIX_NATIVE, the three x86-64
# levels on x86-64, else the compiler's default for the target (aarch64 and others).
function(gaussmix_default_cpu_levels out_var)
  gaussmix_target_is_x86_64(_x86_64)
  if(GAUSSMIX_NATIVE)
    set(${out_var} native PARENT_SCOPE)
  elseif(_x86_64 AND (CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" OR MSVC))
    set(${out_var} "${GAUSSMIX_X86_64_LEVELS}" PARENT_SCOPE)
  else()
    set(${out_var} generic PARENT_SCOPE)
  endif()
endfunction()

# The compiler flags of one level. -march=x86-64 first: some compilers default to a
# higher level (RHEL 9's GCC to x86-64-v2), which the SSE2 module must not assume.
# avx2 is AVX2 + FMA (every such CPU also has SSE3 to SSE4.2, which -mavx2 implies);
# avx512 adds the AVX-512 subsets of x86-64-v4 (F, CD, BW, DQ, VL), as MSVC's
# /arch:AVX512 does.
function(gaussmix_cpu_level_flags level out_var)
  if(NOT level IN_LIST GAUSSMIX_KNOWN_CPU_LEVELS)
    message(FATAL_ERROR "GAUSSMIX_CPU_LEVELS: unknown level '${level}' (known: ${GAUSSMIX_KNOWN_CPU_LEVELS})")
  endif()
  if(level IN_LIST GAUSSMIX_X86_64_LEVELS)
    gaussmix_target_is_x86_64(_x86_64)
    if(NOT _x86_64)
      message(FATAL_ERROR "GAUSSMIX_CPU_LEVELS: '${level}' is an x86-64 level; this build targets "
                          "'${CMAKE_SYSTEM_PROCESSOR}': use 'generic' (or 'native')")
    endif()
  endif()
  set(_flags "")
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    set(_avx2 -march=x86-64 -mavx2 -mfma)
    if(level STREQUAL "sse2")
      set(_flags -march=x86-64)
    elseif(level STREQUAL "avx2")
      set(_flags ${_avx2})
    elseif(level STREQUAL "avx512")
      set(_flags ${_avx2} -mavx512f -mavx512cd -mavx512bw -mavx512dq -mavx512vl)
    elseif(level STREQUAL "native")
      set(_flags -march=native)
    endif()
  elseif(MSVC)
    if(level STREQUAL "avx2")
      set(_flags /arch:AVX2)
    elseif(level STREQUAL "avx512")
      set(_flags /arch:AVX512)
    elseif(level STREQUAL "native")
      message(FATAL_ERROR "GAUSSMIX_CPU_LEVELS: MSVC has no 'native' level; use avx2 or avx512")
    endif()
  endif()
  set(${out_var} "${_flags}" PARENT_SCOPE)
endfunction()
