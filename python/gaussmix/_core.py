"""gaussmix's compiled core, as the rest of the package calls it.

The module behind it is the build for the CPU level gaussmix._cpu_dispatch
chose at the first import (gaussmix._core_avx512, _core_avx2, _core_sse2,
...); its names are copied here once, so a call costs what a call into the
extension module itself costs. Signatures: _core.pyi.
"""
from ._cpu_dispatch import load_core as _load_core

_module, level_choice = _load_core()
globals().update({name: value for name, value in vars(_module).items() if not name.startswith("__")})
del _load_core
