// _core.gmm: mixture log-densities, responsibilities, scores, EM sums, k-means and sampling.
#include "common.hpp"

namespace gensample::bindings {
namespace {

using gmm::Mixture;

template <class T>
const T* queries(const Mixture<T>& g, const py::array& x, int64_t& m) {
    int64_t dim = 0;
    const T* q = readonly_2d<T>(x, "x", m, dim);
    if (dim != g.dim) throw std::invalid_argument("x: dimension does not match the mixture");
    return q;
}

inline py::object as_object(py::object o) { return o; }
template <class A, class B>
py::object as_object(std::pair<A, B> p) {
    return py::make_tuple(p.first, p.second);
}

// One pass over the rows of x (float32 or float64, the mixture's dtype): pass(g, q, m, ...)
// fills the outputs made by make(g, m) without the GIL.
template <class Make, class Pass>
py::object over_points(const py::dict& mixture, const py::array& x, Make make, Pass pass) {
    return dispatch_float(x, "x", [&](auto tag) -> py::object {
        using T = typename decltype(tag)::type;
        const Mixture<T> g = mixture_of<T>(mixture);
        int64_t m = 0;
        const T* q = queries(g, x, m);
        auto outputs = make(g, m, tag);
        {
            py::gil_scoped_release release;
            pass(g, q, m, outputs);
        }
        return as_object(std::move(outputs));
    });
}

}  // namespace

void register_gmm(py::module_& m) {
    m.def(
        "log_density",
        [](const py::dict& mixture, const py::array& x, int n_threads) {
            return over_points(
                mixture, x,
                [](const auto& g, int64_t n, auto tag) {
                    (void)g;
                    return CArray<typename decltype(tag)::type>(n);
                },
                [&](const auto& g, const auto* q, int64_t n, auto& out) {
                    gmm::log_density(g, q, n, out.mutable_data(), n_threads);
                });
        },
        py::arg("mixture"), py::arg("x"), py::arg("n_threads"), "log p(x), (m,).");
    m.def(
        "responsibilities",
        [](const py::dict& mixture, const py::array& x, bool log, int n_threads) {
            return over_points(
                mixture, x,
                [](const auto& g, int64_t n, auto tag) {
                    using T = typename decltype(tag)::type;
                    return std::make_pair(CArray<T>({n, g.k}), CArray<T>(n));
                },
                [&](const auto& g, const auto* q, int64_t n, auto& out) {
                    auto* r = out.first.mutable_data();
                    auto* o = out.second.mutable_data();
                    if (log) {
                        gmm::log_responsibilities(g, q, n, r, o, n_threads);
                    } else {
                        gmm::responsibilities(g, q, n, r, o, n_threads);
                    }
                });
        },
        py::arg("mixture"), py::arg("x"), py::arg("log"), py::arg("n_threads"),
        "(p(k | x) (m, k), or its log with log=True; log p(x) (m,)).");
    m.def(
        "score",
        [](const py::dict& mixture, const py::array& x, int n_threads) {
            return over_points(
                mixture, x,
                [](const auto& g, int64_t n, auto tag) { return CArray<typename decltype(tag)::type>({n, g.dim}); },
                [&](const auto& g, const auto* q, int64_t n, auto& out) {
                    gmm::grad_log_density(g, q, n, out.mutable_data(), n_threads);
                });
        },
        py::arg("mixture"), py::arg("x"), py::arg("n_threads"), "grad_x log p(x), (m, d).");
    m.def(
        "em_moments",
        [](const py::dict& mixture, const py::array& x, const CArray<double>& v, bool full, int n_threads) {
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
    m.def("em_chunk", &gmm::em_chunk, py::arg("n"), "Points per chunk of the EM sums.");
    m.def(
        "kmeans_plusplus",
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
        "lloyd_step",
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
        "sample",
        [](const CArray<double>& mean, const CArray<double>& chol, const CArray<double>& prob,
           const CArray<uint32_t>& alias, uint64_t key, int64_t r0, py::array out, const py::object& labels,
           int n_threads) {
            if (mean.ndim() != 2 || chol.ndim() != 3 || chol.shape(0) != mean.shape(0) ||
                chol.shape(1) != mean.shape(1) || chol.shape(2) != mean.shape(1) || prob.ndim() != 1 ||
                prob.shape(0) != mean.shape(0) || alias.ndim() != 1 || alias.shape(0) != mean.shape(0)) {
                throw std::invalid_argument("sample: mean (k, d), chol (k, d, d), prob and alias (k,) expected");
            }
            const gmm::SampleModel model{mean.data(),   chol.data(), mean.shape(0),
                                         mean.shape(1), prob.data(), alias.data()};
            int64_t* l = nullptr;
            const int64_t rows = out.ndim() == 2 ? out.shape(0) : 0;
            if (!labels.is_none()) {  // the caller's own int64 array, written in place
                if (!py::isinstance<CArray<int64_t>>(labels)) throw std::invalid_argument("labels: expected int64");
                auto a = py::reinterpret_borrow<CArray<int64_t>>(labels);
                if (a.ndim() != 1 || a.shape(0) != rows || !a.writeable()) {
                    throw std::invalid_argument("labels: expected a writable int64 array, one per row");
                }
                l = a.mutable_data();
            }
            fill_rows(out, model.dim,
                      [&](auto* o, int64_t n, int64_t) { gmm::sample(model, key, r0, n, o, l, n_threads); });
        },
        py::arg("mean"), py::arg("chol"), py::arg("prob"), py::arg("alias"), py::arg("key"), py::arg("r0"),
        py::arg("out"), py::arg("labels"), py::arg("n_threads"),
        "Rows r0 .. r0 + len(out) of a mixture sample; labels (or None) gets each row's component.");
}

}  // namespace gensample::bindings
