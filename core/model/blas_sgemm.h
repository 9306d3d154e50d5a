#pragma once
// The process's Fortran BLAS sgemm_, found at run time, and the checks that make calling it
// with 32-bit integers safe. batched_matmul (tensor_ops.h) uses it for the attention GEMMs.
#include <cstdint>
#include <initializer_list>

namespace headlab::model {

// The LP64 Fortran signatures: every integer argument is a 32-bit int passed by pointer.
using SgemmFn = void (*)(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                         const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                         const float* beta, float* c, const int* ldc);
using IsamaxFn = int (*)(const int* n, const float* x, const int* incx);

// Whether `sgemm` (with `isamax` from the same library) can be called with 32-bit integers:
//  - integer width: an ILP64 BLAS reads 8 bytes per integer. isamax_ is asked for the largest
//    of 3 numbers with n stored as a 32-bit 3 followed by 32 one-bits: an LP64 library reads
//    3 and answers 2; an ILP64 one reads a negative n and returns 0 without touching memory.
//    (sgemm_ itself cannot be probed that way: a misread dimension is either huge, an
//    out-of-bounds write, or negative, which stops the process in the reference BLAS.)
//  - arithmetic: a 2x2 product with alpha and beta, every integer in an 8-byte zero-padded
//    slot so that even a misreading library stays in bounds, compared with the known result.
// Either check failing (or a null pointer) means: do not use this BLAS.
bool sgemm_is_usable(SgemmFn sgemm, IsamaxFn isamax);

// The process's sgemm_ when it exists and passes sgemm_is_usable (checked once, thread-safe);
// nullptr otherwise, and callers then use LibTorch's own bmm / baddbmm.
SgemmFn blas_sgemm();

// True when every GEMM dimension and leading dimension fits the 32-bit integers of sgemm_.
bool fits_blas_int(std::initializer_list<int64_t> values);

}  // namespace headlab::model
