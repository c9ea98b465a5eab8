// Debian's libopenblas-dev installs cblas.h through the alternatives system.
#include <cblas.h>

// OpenBLAS also carries LAPACK, but Debian ships no LAPACK header with it: these are the
// reference Fortran interfaces (every argument by pointer, matrices column-major) of the two
// routines Candor calls, as numpy.linalg.solve and numpy.linalg.lstsq call them.

/// Solves A·X = B by LU factorisation with partial pivoting (A n×n, B n×nrhs, overwritten).
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b,
            const int *ldb, int *info);

/// Minimum-norm least-squares solution of A·X ≈ B by divide-and-conquer SVD (A m×n, B
/// max(m,n)×nrhs). Singular values below rcond·σ_max count as zero; `rank` is the effective
/// rank. Call first with lwork = -1 to learn the workspace sizes.
void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda, double *b,
             const int *ldb, double *s, const double *rcond, int *rank, double *work,
             const int *lwork, int *iwork, int *info);
