// C interface to the parts of FAISS that package faiss uses. Debian's FAISS
// ships no C API, so this shim is compiled by cgo with the package.
//
// Every function that can fail returns NULL on success, or an error message
// allocated with malloc that the caller frees. C++ exceptions never cross
// this boundary.
#ifndef PORTIERE_FAISS_SHIM_H
#define PORTIERE_FAISS_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pf_index pf_index;

enum { PF_FLAT = 1, PF_IVF_FLAT = 2, PF_IVF_SQ8 = 3 };

// pf_new creates an empty inner-product index of the kind (PF_*); nlist and
// niter (k-means iterations) apply to the IVF kinds.
char *pf_new(int kind, int d, int nlist, int niter, pf_index **out);
char *pf_train(pf_index *idx, int64_t n, const float *x, int threads);
char *pf_add(pf_index *idx, int64_t n, const float *x, int threads);
// pf_search writes nq*k results; nprobe applies to the IVF kinds.
char *pf_search(const pf_index *idx, int64_t nq, const float *q, int64_t k,
                int nprobe, int threads, float *dist, int64_t *labels);
// pf_knn_exact is brute-force inner-product search of x among y.
char *pf_knn_exact(const float *x, int64_t nx, const float *y, int64_t ny,
                   int d, int64_t k, int threads, float *dist, int64_t *labels);
char *pf_write(const pf_index *idx, const char *path);
char *pf_read(const char *path, pf_index **out);
// pf_info reports the dimension, vector count, kind (PF_* or 0 for another
// index type) and number of IVF lists.
void pf_info(const pf_index *idx, int *d, int64_t *ntotal, int *kind, int *nlist);
void pf_free(pf_index *idx);

#ifdef __cplusplus
}
#endif

#endif
