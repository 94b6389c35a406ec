// gaussmix._cpu: the instruction sets this processor has and the operating system
// saves the registers of, read with CPUID and XGETBV. gaussmix/_cpu_dispatch.py
// chooses the CPU level to load from them (why there is a module per level:
// cmake/cpu_levels.cmake). Built with the baseline flags and the plain C API, so it
// loads on any processor of its architecture and holds no template that another
// module also instantiates.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define GAUSSMIX_X86 1
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif
#endif

namespace {

#ifdef GAUSSMIX_X86
struct Registers {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Registers cpuid(std::uint32_t leaf, std::uint32_t subleaf) {
  Registers r;
#if defined(_MSC_VER)
  int out[4];
  __cpuidex(out, static_cast<int>(leaf), static_cast<int>(subleaf));
  r.eax = static_cast<std::uint32_t>(out[0]);
  r.ebx = static_cast<std::uint32_t>(out[1]);
  r.ecx = static_cast<std::uint32_t>(out[2]);
  r.edx = static_cast<std::uint32_t>(out[3]);
#else
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

std::uint64_t xcr0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  std::uint32_t lo = 0, hi = 0;
  // xgetbv by its encoding: assemblers and compilers without -mxsave accept it.
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
#endif
}

bool bit(std::uint32_t word, int n) { return ((word >> n) & 1u) != 0; }

#if defined(__APPLE__)
// macOS turns on the AVX-512 register state on a thread's first AVX-512 instruction,
// so XCR0 does not show it beforehand; the kernel says whether it will.
bool apple_says(const char* name) {
  int value = 0;
  size_t size = sizeof(value);
  return sysctlbyname(name, &value, &size, nullptr, 0) == 0 && value != 0;
}
#endif
#endif  // GAUSSMIX_X86

int add(PyObject* list, const char* name, bool present) {
  if (!present) return 0;
  PyObject* text = PyUnicode_FromString(name);
  if (text == nullptr) return -1;
  const int rc = PyList_Append(list, text);
  Py_DECREF(text);
  return rc;
}

// Names as Linux's /proc/cpuinfo spells them, except sse3 (there "pni") and lzcnt
// (there "abm").
PyObject* features(PyObject*, PyObject*) {
  PyObject* list = PyList_New(0);
  if (list == nullptr) return nullptr;
#ifdef GAUSSMIX_X86
  const std::uint32_t max_leaf = cpuid(0, 0).eax;
  const Registers l1 = max_leaf >= 1 ? cpuid(1, 0) : Registers{};
  const Registers l7 = max_leaf >= 7 ? cpuid(7, 0) : Registers{};
  const bool has_extended = cpuid(0x80000000u, 0).eax >= 0x80000001u;
  const Registers e1 = has_extended ? cpuid(0x80000001u, 0) : Registers{};
  // The OS must save a register file for its instructions to be usable: XMM and YMM
  // (XCR0 bits 1, 2) for AVX, and the opmask and ZMM state (bits 5 to 7) for AVX-512.
  const bool osxsave = bit(l1.ecx, 27);
  const std::uint64_t xcr = osxsave ? xcr0() : 0;
  const bool os_avx = osxsave && (xcr & 0x6) == 0x6;
#if defined(__APPLE__)
  const bool os_avx512 = os_avx && apple_says("hw.optional.avx512f");
#else
  const bool os_avx512 = os_avx && (xcr & 0xe6) == 0xe6;
#endif
  const struct {
    const char* name;
    bool present;
  } table[] = {
      {"mmx", bit(l1.edx, 23)},
      {"fxsr", bit(l1.edx, 24)},
      {"sse", bit(l1.edx, 25)},
      {"sse2", bit(l1.edx, 26)},
      {"sse3", bit(l1.ecx, 0)},
      {"ssse3", bit(l1.ecx, 9)},
      {"sse4_1", bit(l1.ecx, 19)},
      {"sse4_2", bit(l1.ecx, 20)},
      {"movbe", bit(l1.ecx, 22)},
      {"popcnt", bit(l1.ecx, 23)},
      {"xsave", bit(l1.ecx, 26)},
      {"lzcnt", bit(e1.ecx, 5)},
      {"bmi1", bit(l7.ebx, 3)},
      {"bmi2", bit(l7.ebx, 8)},
      {"avx", os_avx && bit(l1.ecx, 28)},
      {"fma", os_avx && bit(l1.ecx, 12)},
      {"f16c", os_avx && bit(l1.ecx, 29)},
      {"avx2", os_avx && bit(l7.ebx, 5)},
      {"avx512f", os_avx512 && bit(l7.ebx, 16)},
      {"avx512dq", os_avx512 && bit(l7.ebx, 17)},
      {"avx512cd", os_avx512 && bit(l7.ebx, 28)},
      {"avx512bw", os_avx512 && bit(l7.ebx, 30)},
      {"avx512vl", os_avx512 && bit(l7.ebx, 31)},
  };
  for (const auto& entry : table) {
    if (add(list, entry.name, entry.present) != 0) {
      Py_DECREF(list);
      return nullptr;
    }
  }
#endif
  return list;
}

PyMethodDef methods[] = {
    {"features", features, METH_NOARGS,
     "features() -> list of str: the instruction sets this CPU has and the OS supports "
     "(x86: CPUID and XGETBV; elsewhere an empty list)."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cpu",
    "What this processor supports, for choosing gaussmix's compiled core. Use gaussmix.show_config().",
    -1, methods, nullptr, nullptr, nullptr, nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__cpu() { return PyModule_Create(&module); }
