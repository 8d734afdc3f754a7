// gensample.gmm: mixture log-densities, responsibilities, scores, EM sums, k-means and sampling.
#include "common.hpp"
#include "gensample/gmm.hpp"

namespace gensample::bindings {
namespace {

using gmm::Mixture;

template <class T>
const T* vector_t(const py::array& a, int64_t size, const char* name) {
    if (!py::isinstance<CArray<T>>(a) || a.ndim() != 1 || a.shape(0) != size) {
        throw std::invalid_argument(std::string(name) + ": expected a 1-D array of the means' dtype");
    }
    return static_cast<const T*>(a.data());
}

// The engine's arrays (gmm.hpp), all of dtype T: centre (d,), mean and offset (k, d),
// factor (k, d) when diagonal else (k, d (d + 1) / 2), log_coef (k,).
template <class T>
Mixture<T> mixture_of(const py::tuple& arrays) {
    if (arrays.size() != 6) throw std::invalid_argument("mixture: expected (centre, mean, offset, factor, log_coef, diagonal)");
    const bool diagonal = arrays[5].cast<bool>();
    int64_t k = 0, d = 0, ko = 0, dout = 0, kf = 0, width = 0;
    const T* mu = readonly_2d<T>(arrays[1].cast<py::array>(), "mean", k, d);
    const T* b = readonly_2d<T>(arrays[2].cast<py::array>(), "offset", ko, dout);
    const T* f = readonly_2d<T>(arrays[3].cast<py::array>(), "factor", kf, width);
    if (ko != k || dout != d) throw std::invalid_argument("offset: expected (k, d)");
    if (kf != k || width != (diagonal ? d : d * (d + 1) / 2)) {
        throw std::invalid_argument("factor: expected (k, d) diagonals or (k, d (d + 1) / 2) packed rows");
    }
    const T* centre = vector_t<T>(arrays[0].cast<py::array>(), d, "centre");
    const T* log_coef = vector_t<T>(arrays[4].cast<py::array>(), k, "log_coef");
    return Mixture<T>{centre, mu, b, f, log_coef, k, d, diagonal};
}

template <class T>
const T* queries(const Mixture<T>& g, const py::array& x, int64_t& m) {
    int64_t dim = 0;
    const T* q = readonly_2d<T>(x, "x", m, dim);
    if (dim != g.dim) throw std::invalid_argument("x: dimension does not match the mixture");
    return q;
}

template <class T>
py::object evaluate(const std::string& what, const py::tuple& mixture, const py::array& x, int n_threads) {
    const Mixture<T> g = mixture_of<T>(mixture);
    int64_t m = 0;
    const T* q = queries(g, x, m);
    if (what == "density") {
        CArray<T> out(m);
        T* o = out.mutable_data();
        {
            py::gil_scoped_release release;
            gmm::log_density(g, q, m, o, n_threads);
        }
        return std::move(out);  // with the GIL, as every Python object must be handled
    }
    if (what == "responsibilities" || what == "probabilities") {
        CArray<T> resp({m, g.k}), out(m);
        T* r = resp.mutable_data();
        T* o = out.mutable_data();
        {
            py::gil_scoped_release release;
            if (what == "responsibilities") {
                gmm::log_responsibilities(g, q, m, r, o, n_threads);
            } else {
                gmm::responsibilities(g, q, m, r, o, n_threads);
            }
        }
        return py::make_tuple(resp, out);
    }
    if (what == "score") {
        CArray<T> out({m, g.dim});
        T* o = out.mutable_data();
        {
            py::gil_scoped_release release;
            gmm::grad_log_density(g, q, m, o, n_threads);
        }
        return std::move(out);
    }
    throw std::invalid_argument("what: expected 'density', 'responsibilities', 'probabilities' or 'score'");
}

}  // namespace

void register_gmm(py::module_& m) {
    m.def(
        "gmm_evaluate",
        [](const std::string& what, const py::tuple& mixture, const py::array& x, int n_threads) {
            if (py::isinstance<CArray<float>>(x)) return evaluate<float>(what, mixture, x, n_threads);
            return evaluate<double>(what, mixture, x, n_threads);
        },
        py::arg("what"), py::arg("mixture"), py::arg("x"), py::arg("n_threads"),
        "'density': log p(x) (m,); 'responsibilities': (log p(k | x) (m, k), log p(x)); 'probabilities':\n"
        "(p(k | x) (m, k), log p(x)); 'score': (m, d).");
    m.def(
        "gmm_em_moments",
        [](const py::tuple& mixture, const py::array& x, const CArray<double>& v, bool full, int n_threads) {
            const Mixture<double> g = mixture_of<double>(mixture);
            int64_t n = 0;
            const double* q = queries(g, x, n);
            const double* vw = vector_of(v, n, "v");
            gmm::Moments mo;
            {
                py::gil_scoped_release release;
                mo = gmm::em_moments(g, q, vw, n, full, n_threads);
            }
            const int64_t m2 = full ? g.dim * (g.dim + 1) / 2 : g.dim;
            py::array weight = to_numpy(std::move(mo.weight));
            py::array first = to_numpy(std::move(mo.first)).reshape({g.k, g.dim});
            py::array second = to_numpy(std::move(mo.second)).reshape({g.k, m2});
            return py::make_tuple(weight, first, second, mo.log_likelihood);
        },
        py::arg("mixture"), py::arg("x"), py::arg("v"), py::arg("full"), py::arg("n_threads"),
        "One E-step pass: (weight (k,), first (k, d), second (k, packed or d), weighted log-likelihood).");
    m.def("gmm_em_chunk", &gmm::em_chunk, py::arg("n"), "Points per chunk of the EM sums.");
    m.def(
        "gmm_kmeans_plusplus",
        [](const py::array& x, const CArray<double>& v, int64_t k, int trials, uint64_t key, int n_threads) {
            int64_t n = 0, dim = 0;
            const double* p = readonly_2d<double>(x, "x", n, dim);
            const double* vw = vector_of(v, n, "v");
            std::vector<int64_t> seeds;
            {
                py::gil_scoped_release release;
                seeds = gmm::kmeans_plusplus(p, vw, n, dim, k, trials, key, n_threads);
            }
            return to_numpy(std::move(seeds));
        },
        py::arg("x"), py::arg("v"), py::arg("k"), py::arg("trials"), py::arg("key"), py::arg("n_threads"),
        "Greedy k-means++ seed indices (k,).");
    m.def(
        "gmm_lloyd_step",
        [](const py::array& x, const CArray<double>& v, const py::array& centres, int n_threads) {
            int64_t n = 0, dim = 0, k = 0, cd = 0;
            const double* p = readonly_2d<double>(x, "x", n, dim);
            const double* c = readonly_2d<double>(centres, "centres", k, cd);
            if (cd != dim) throw std::invalid_argument("centres: dimension does not match x");
            const double* vw = vector_of(v, n, "v");
            CArray<int64_t> labels(n);
            CArray<double> weight(k), sums({k, dim});
            int64_t* l = labels.mutable_data();
            double* w = weight.mutable_data();
            double* s = sums.mutable_data();
            double inertia = 0;
            {
                py::gil_scoped_release release;
                inertia = gmm::lloyd_step(p, vw, n, dim, c, k, l, w, s, n_threads);
            }
            return py::make_tuple(labels, weight, sums, inertia);
        },
        py::arg("x"), py::arg("v"), py::arg("centres"), py::arg("n_threads"),
        "One Lloyd step: (labels (n,), weight (k,), weighted sums (k, d), inertia).");
    m.def(
        "gmm_sample",
        [](const CArray<double>& mean, const CArray<double>& chol, const CArray<double>& prob,
           const CArray<uint32_t>& alias, uint64_t key, int64_t r0, py::array out, const py::object& labels,
           int n_threads) {
            if (mean.ndim() != 2 || chol.ndim() != 3 || chol.shape(0) != mean.shape(0) ||
                chol.shape(1) != mean.shape(1) || chol.shape(2) != mean.shape(1) || prob.ndim() != 1 ||
                prob.shape(0) != mean.shape(0) || alias.ndim() != 1 || alias.shape(0) != mean.shape(0)) {
                throw std::invalid_argument("gmm_sample: mean (k, d), chol (k, d, d), prob and alias (k,) expected");
            }
            const gmm::SampleModel model{mean.data(), chol.data(), mean.shape(0), mean.shape(1), prob.data(),
                                         alias.data()};
            int64_t n = 0, dim = 0;
            const bool f32 = py::isinstance<CArray<float>>(out);
            void* o = f32 ? static_cast<void*>(writable_2d<float>(out, "out", n, dim))
                          : static_cast<void*>(writable_2d<double>(out, "out", n, dim));
            if (dim != model.dim) throw std::invalid_argument("out: dimension does not match the mixture");
            int64_t* l = nullptr;
            if (!labels.is_none()) {  // the caller's own int64 array, written in place
                if (!py::isinstance<CArray<int64_t>>(labels)) throw std::invalid_argument("labels: expected int64");
                auto a = py::reinterpret_borrow<CArray<int64_t>>(labels);
                if (a.ndim() != 1 || a.shape(0) != n || !a.writeable()) {
                    throw std::invalid_argument("labels: expected a writable int64 array, one per row");
                }
                l = a.mutable_data();
            }
            py::gil_scoped_release release;
            if (f32) {
                gmm::sample(model, key, r0, n, static_cast<float*>(o), l, n_threads);
            } else {
                gmm::sample(model, key, r0, n, static_cast<double*>(o), l, n_threads);
            }
        },
        py::arg("mean"), py::arg("chol"), py::arg("prob"), py::arg("alias"), py::arg("key"), py::arg("r0"),
        py::arg("out"), py::arg("labels"), py::arg("n_threads"),
        "Rows r0 .. r0 + len(out) of a mixture sample; labels (or None) gets each row's component.");
}

}  // namespace gensample::bindings
