// See shim.h. Each entry point runs its body through guard(), which turns
// any exception into an error message.
#include "shim.h"

#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/utils/distances.h>
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>

// The shim's labels are int64_t; FAISS's id type must be the same.
static_assert(std::is_same<faiss::Index::idx_t, int64_t>::value, "faiss::Index::idx_t is not int64_t");

namespace {

char *dup(const std::string &s) {
    char *p = static_cast<char *>(std::malloc(s.size() + 1));
    if (p != nullptr) {
        std::memcpy(p, s.c_str(), s.size() + 1);
    }
    return p;
}

template <typename F> char *guard(F f) {
    try {
        f();
        return nullptr;
    } catch (const std::exception &e) {
        return dup(e.what());
    } catch (...) {
        return dup("unknown C++ exception");
    }
}

faiss::Index *cast(pf_index *p) { return reinterpret_cast<faiss::Index *>(p); }
const faiss::Index *cast(const pf_index *p) { return reinterpret_cast<const faiss::Index *>(p); }

// setThreads sets OpenMP's thread count for this OS thread's next parallel
// regions. The setting outlives the call on that thread, so every entry point
// that runs FAISS code sets it rather than relying on the default.
void setThreads(int threads) { omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs()); }

int kindOf(const faiss::Index *idx) {
    if (dynamic_cast<const faiss::IndexFlat *>(idx) != nullptr) return PF_FLAT;
    if (dynamic_cast<const faiss::IndexIVFFlat *>(idx) != nullptr) return PF_IVF_FLAT;
    if (dynamic_cast<const faiss::IndexIVFScalarQuantizer *>(idx) != nullptr) return PF_IVF_SQ8;
    return 0;
}

} // namespace

extern "C" {

char *pf_new(int kind, int d, int nlist, int niter, pf_index **out) {
    return guard([&] {
        faiss::Index *idx = nullptr;
        switch (kind) {
        case PF_FLAT:
            idx = new faiss::IndexFlatIP(d);
            break;
        case PF_IVF_FLAT:
        case PF_IVF_SQ8: {
            std::string desc = "IVF" + std::to_string(nlist) + (kind == PF_IVF_FLAT ? ",Flat" : ",SQ8");
            idx = faiss::index_factory(d, desc.c_str(), faiss::METRIC_INNER_PRODUCT);
            auto *ivf = dynamic_cast<faiss::IndexIVF *>(idx);
            if (ivf == nullptr) {
                delete idx;
                throw std::runtime_error("index_factory(" + desc + ") is not an IVF index");
            }
            ivf->cp.niter = niter;
            // Unit vectors: centroids on the sphere partition them by angle.
            ivf->cp.spherical = true;
            break;
        }
        default:
            throw std::runtime_error("unknown index kind " + std::to_string(kind));
        }
        *out = reinterpret_cast<pf_index *>(idx);
    });
}

char *pf_train(pf_index *idx, int64_t n, const float *x, int threads) {
    return guard([&] {
        setThreads(threads);
        cast(idx)->train(n, x);
    });
}

char *pf_add(pf_index *idx, int64_t n, const float *x, int threads) {
    return guard([&] {
        setThreads(threads);
        cast(idx)->add(n, x);
    });
}

char *pf_search(const pf_index *idx, int64_t nq, const float *q, int64_t k,
                int nprobe, int threads, float *dist, int64_t *labels) {
    return guard([&] {
        setThreads(threads);
        const faiss::Index *index = cast(idx);
        if (dynamic_cast<const faiss::IndexIVF *>(index) != nullptr) {
            // Per-call parameters leave the index untouched, so concurrent
            // searches with different nprobe do not race.
            faiss::SearchParametersIVF params;
            params.nprobe = nprobe;
            index->search(nq, q, k, dist, labels, &params);
        } else {
            index->search(nq, q, k, dist, labels);
        }
    });
}

char *pf_knn_exact(const float *x, int64_t nx, const float *y, int64_t ny,
                   int d, int64_t k, int threads, float *dist, int64_t *labels) {
    return guard([&] {
        setThreads(threads);
        faiss::knn_inner_product(x, y, d, nx, ny, k, dist, labels);
    });
}

char *pf_write(const pf_index *idx, const char *path) {
    return guard([&] { faiss::write_index(cast(idx), path); });
}

char *pf_read(const char *path, pf_index **out) {
    return guard([&] {
        faiss::Index *idx = faiss::read_index(path);
        *out = reinterpret_cast<pf_index *>(idx);
    });
}

void pf_info(const pf_index *idx, int *d, int64_t *ntotal, int *kind, int *nlist) {
    const faiss::Index *index = cast(idx);
    *d = index->d;
    *ntotal = index->ntotal;
    *kind = kindOf(index);
    auto *ivf = dynamic_cast<const faiss::IndexIVF *>(index);
    *nlist = ivf != nullptr ? static_cast<int>(ivf->nlist) : 0;
}

void pf_free(pf_index *idx) { delete cast(idx); }

} // extern "C"
