#include "model/blas_sgemm.h"

#include <dlfcn.h>

#include <climits>
#include <cstring>

namespace headlab::model {
namespace {

// A 32-bit integer argument with 4 more bytes behind it, so that a library reading 8 bytes
// (ILP64) reads memory we own and control: value, then pad.
struct IntSlot {
  int value;
  int pad;
};

// The probes rely on the value being the low half of the 8 bytes an ILP64 library reads.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr bool kLittleEndian = true;
#else
constexpr bool kLittleEndian = false;
#endif

bool reads_32bit_integers(IsamaxFn isamax) {
  const float x[3] = {1.0f, -5.0f, 2.0f};
  const IntSlot n{3, -1};  // ILP64: 0xffffffff00000003, negative: isamax returns 0 at once
  const IntSlot inc{1, 0};
  return isamax(&n.value, x, &inc.value) == 2;  // 1-based index of |-5|
}

bool multiplies_right(SgemmFn sgemm) {
  // Column-major C = 2 A B^T + 0.5 C with A = [1 3; 2 4], B = [5 7; 6 8], C = ones.
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  float c[4] = {1, 1, 1, 1};
  const float alpha = 2.0f, beta = 0.5f;
  const IntSlot two{2, 0};  // zero padding: a misreading library still sees 2 and stays in bounds
  const char no = 'N', yes = 'T';
  sgemm(&no, &yes, &two.value, &two.value, &two.value, &alpha, a, &two.value, b, &two.value, &beta, c, &two.value);
  const float expected[4] = {52.5f, 76.5f, 60.5f, 88.5f};
  return std::memcmp(c, expected, sizeof c) == 0;
}

// OpenBLAS says how it was built; "USE64BITINT" is its ILP64 build. Other libraries: no claim.
bool openblas_says_ilp64(void* library) {
  using ConfigFn = const char* (*)();
  auto config = reinterpret_cast<ConfigFn>(dlsym(library, "openblas_get_config"));
  const char* text = config ? config() : nullptr;
  return text && std::strstr(text, "USE64BITINT") != nullptr;
}

SgemmFn find_usable_sgemm() {
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  if (!sgemm) return nullptr;
  // isamax_ and the build string from the library that holds this sgemm_, not from whichever
  // library the global lookup happens to find first.
  Dl_info info{};
  void* library = dladdr(sgemm, &info) && info.dli_fname ? dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD) : nullptr;
  void* isamax = dlsym(library ? library : RTLD_DEFAULT, "isamax_");
  const bool ilp64 = library && openblas_says_ilp64(library);
  if (library) dlclose(library);  // drops the reference NOLOAD took; the library stays loaded
  auto fn = reinterpret_cast<SgemmFn>(sgemm);
  if (ilp64 || !sgemm_is_usable(fn, reinterpret_cast<IsamaxFn>(isamax))) return nullptr;
  return fn;
}

}  // namespace

bool sgemm_is_usable(SgemmFn sgemm, IsamaxFn isamax) {
  if (!sgemm || !isamax || !kLittleEndian) return false;
  return reads_32bit_integers(isamax) && multiplies_right(sgemm);
}

SgemmFn blas_sgemm() {
  static const SgemmFn fn = find_usable_sgemm();
  return fn;
}

bool fits_blas_int(std::initializer_list<int64_t> values) {
  for (int64_t v : values)
    if (v < 0 || v > INT_MAX) return false;
  return true;
}

}  // namespace headlab::model
