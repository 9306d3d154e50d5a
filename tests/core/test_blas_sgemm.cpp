// The BLAS fast path of batched_matmul calls sgemm_ with 32-bit integers: a library that reads
// 64-bit ones (ILP64), or computes something else, must be refused before it is used.
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "model/blas_sgemm.h"

using namespace headlab::model;

namespace {

// Fakes of the two probed routines, reading each integer argument as 4 (LP64) or 8 (ILP64)
// bytes, as a real library of either kind would.
template <typename Int>
Int read_int(const int* p) {
  Int v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename Int>
int fake_isamax(const int* n_ptr, const float* x, const int* inc_ptr) {
  const Int n = read_int<Int>(n_ptr), inc = read_int<Int>(inc_ptr);
  if (n <= 0 || inc <= 0) return 0;
  Int best = 0;
  for (Int i = 1; i < n; ++i)
    if (std::abs(x[i * inc]) > std::abs(x[best * inc])) best = i;
  return static_cast<int>(best + 1);
}

// Column-major C = alpha op(A) op(B) + beta C.
template <typename Int>
void fake_sgemm(const char* ta, const char* tb, const int* m_ptr, const int* n_ptr, const int* k_ptr, const float* alpha,
                const float* a, const int* lda_ptr, const float* b, const int* ldb_ptr, const float* beta, float* c,
                const int* ldc_ptr) {
  const Int m = read_int<Int>(m_ptr), n = read_int<Int>(n_ptr), k = read_int<Int>(k_ptr);
  const Int lda = read_int<Int>(lda_ptr), ldb = read_int<Int>(ldb_ptr), ldc = read_int<Int>(ldc_ptr);
  for (Int i = 0; i < m; ++i)
    for (Int j = 0; j < n; ++j) {
      float sum = 0;
      for (Int l = 0; l < k; ++l)
        sum += (*ta == 'N' ? a[i + l * lda] : a[l + i * lda]) * (*tb == 'N' ? b[l + j * ldb] : b[j + l * ldb]);
      c[i + j * ldc] = *alpha * sum + *beta * c[i + j * ldc];
    }
}

void sgemm_that_ignores_beta(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha,
                             const float* a, const int* lda, const float* b, const int* ldb, const float*, float* c,
                             const int* ldc) {
  const float zero = 0.0f;
  fake_sgemm<int>(ta, tb, m, n, k, alpha, a, lda, b, ldb, &zero, c, ldc);
}

TEST(BlasSgemm, Lp64LibraryIsUsed) { EXPECT_TRUE(sgemm_is_usable(&fake_sgemm<int>, &fake_isamax<int>)); }

TEST(BlasSgemm, Ilp64LibraryIsRefused) {
  EXPECT_FALSE(sgemm_is_usable(&fake_sgemm<int64_t>, &fake_isamax<int64_t>));
  // The arithmetic probe alone cannot tell (its integers are zero-padded); the width probe does.
  EXPECT_FALSE(sgemm_is_usable(&fake_sgemm<int>, &fake_isamax<int64_t>));
}

TEST(BlasSgemm, WrongArithmeticOrMissingRoutineIsRefused) {
  EXPECT_FALSE(sgemm_is_usable(&sgemm_that_ignores_beta, &fake_isamax<int>));
  EXPECT_FALSE(sgemm_is_usable(nullptr, &fake_isamax<int>));
  EXPECT_FALSE(sgemm_is_usable(&fake_sgemm<int>, nullptr));
}

// The process's own BLAS (the one LibTorch links) passes both probes and is the one in use.
TEST(BlasSgemm, ProcessLibraryPassesTheProbes) {
  auto sgemm = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "sgemm_"));
  auto isamax = reinterpret_cast<IsamaxFn>(dlsym(RTLD_DEFAULT, "isamax_"));
  if (!sgemm) GTEST_SKIP() << "this LibTorch exports no sgemm_";
  EXPECT_TRUE(sgemm_is_usable(sgemm, isamax));
  EXPECT_EQ(blas_sgemm(), sgemm);
}

TEST(BlasSgemm, SizesBeyondIntMaxFallBack) {
  EXPECT_TRUE(fits_blas_int({1, 64, int64_t{INT_MAX}}));
  EXPECT_FALSE(fits_blas_int({1, int64_t{INT_MAX} + 1}));
  EXPECT_FALSE(fits_blas_int({-1}));
}

}  // namespace
