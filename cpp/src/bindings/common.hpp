// Shared helpers for the bindings: they translate, they do not validate (the Python layer
// does that once); a mismatch here is a programming error and raises ValueError.
#pragma once

#include <pybind11/native_enum.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "gensample/gmm.hpp"
#include "gensample/tiles.hpp"

namespace gensample::bindings {

namespace py = pybind11;

// A C-contiguous array of T taken as is (never copied): pointer and shape.
template <class T>
using CArray = py::array_t<T, py::array::c_style>;

template <class T>
T* writable_2d(py::array& a, const char* name, int64_t& n, int64_t& dim) {
    if (!py::isinstance<CArray<T>>(a) || a.ndim() != 2 || !(a.flags() & py::array::c_style) || !a.writeable()) {
        throw std::invalid_argument(std::string(name) + ": expected a writable C-contiguous 2-D array of " +
                                    py::str(py::dtype::of<T>()).cast<std::string>());
    }
    n = a.shape(0);
    dim = a.shape(1);
    return static_cast<T*>(a.mutable_data());
}

template <class T>
const T* readonly_2d(const py::array& a, const char* name, int64_t& n, int64_t& dim) {
    if (!py::isinstance<CArray<T>>(a) || a.ndim() != 2 || !(a.flags() & py::array::c_style)) {
        throw std::invalid_argument(std::string(name) + ": expected a C-contiguous 2-D array of " +
                                    py::str(py::dtype::of<T>()).cast<std::string>());
    }
    n = a.shape(0);
    dim = a.shape(1);
    return static_cast<const T*>(a.data());
}

inline const double* vector_of(const CArray<double>& a, int64_t size, const char* name) {
    if (a.ndim() != 1 || a.shape(0) != size) {
        throw std::invalid_argument(std::string(name) + ": expected a 1-D float64 array of length " +
                                    std::to_string(size));
    }
    return a.data();
}

// ---- one float dispatch --------------------------------------------------------------------
// Kernels that take float32 or float64 are called once through here (NumPy's float_fill /
// double_fill pattern): f(Float<T>{}) with T the array's element type, so each binding
// writes its body once, as a generic lambda. Both calls must return the same type.
template <class T>
struct Float {
    using type = T;
};

template <class F>
decltype(auto) dispatch_float(const py::handle& a, const char* name, F&& f) {
    if (py::isinstance<CArray<double>>(a)) return f(Float<double>{});
    if (py::isinstance<CArray<float>>(a)) return f(Float<float>{});
    throw std::invalid_argument(std::string(name) + ": expected a C-contiguous float32 or float64 array");
}

// The one fill driver for every sampler (numpy.random's pattern): the rows of out, a
// writable C-contiguous (n, dim) float32 or float64 array (dim < 0: any width), filled by
// fill(p, n, dim) without the GIL.
template <class Fill>
void fill_rows(py::array& out, int64_t dim, Fill fill) {
    dispatch_float(out, "out", [&](auto tag) {
        using T = typename decltype(tag)::type;
        int64_t n = 0, d = 0;
        T* p = writable_2d<T>(out, "out", n, d);
        if (dim >= 0 && d != dim) throw std::invalid_argument("out: expected " + std::to_string(dim) + " columns");
        py::gil_scoped_release release;
        fill(p, n, d);
    });
}

// ---- models by name ------------------------------------------------------------------------
// A model crosses the boundary as a dict of named arrays and scalars that the Python layer
// builds (never a tuple read by position or length). Each read checks presence, dtype and
// shape and names the model and field when one is wrong. The dict owns the arrays: the
// pointers live as long as the caller's dict, which outlives the call.
//
// An axis is a fixed size or a size bound by the first array that has it: Axis(&k) reads k
// when it is still -1, and checks it after.
struct Axis {
    int64_t* bound = nullptr;
    int64_t fixed = -1;
    Axis(int64_t* b) : bound(b) {}  // NOLINT(google-explicit-constructor): {&k, &d} reads well
    Axis(int64_t v) : fixed(v) {}   // NOLINT(google-explicit-constructor)
};

class Named {
  public:
    Named(const py::dict& d, const char* model) : dict_(d), model_(model) {}

    bool has(const char* name) const { return dict_.contains(name) && !dict_[name].is_none(); }

    template <class T>
    const T* array(const char* name, std::initializer_list<Axis> shape) const {
        const CArray<T> a = checked<T>(name, shape);
        return a.data();
    }

    template <class T>
    T* writable(const char* name, std::initializer_list<Axis> shape) const {
        CArray<T> a = checked<T>(name, shape);
        if (!a.writeable()) fail(name, "expected a writable array");
        return a.mutable_data();
    }

    template <class T>
    T value(const char* name) const {
        if (!has(name)) fail(name, "missing");
        try {
            return dict_[name].cast<T>();
        } catch (const py::cast_error&) {
            fail(name, "expected a " + std::string(py::type_id<T>()));
        }
    }

  private:
    template <class T>
    CArray<T> checked(const char* name, std::initializer_list<Axis> shape) const {
        if (!has(name)) fail(name, "missing");
        py::object o = dict_[name];
        if (!py::isinstance<CArray<T>>(o)) {
            fail(name, "expected a C-contiguous array of " + py::str(py::dtype::of<T>()).cast<std::string>());
        }
        auto a = py::reinterpret_borrow<CArray<T>>(o);
        bool ok = a.ndim() == py::ssize_t(shape.size());
        int axis = 0;
        for (const Axis& s : shape) {
            if (!ok) break;
            const int64_t got = a.shape(axis++);
            if (s.bound != nullptr && *s.bound < 0) *s.bound = got;
            ok = got == (s.bound != nullptr ? *s.bound : s.fixed);
        }
        if (!ok) {
            std::string got;
            for (py::ssize_t i = 0; i < a.ndim(); ++i) got += (i ? ", " : "") + std::to_string(a.shape(i));
            fail(name, "wrong shape (" + got + ")");
        }
        return a;
    }

    [[noreturn]] void fail(const char* name, const std::string& what) const {
        throw std::invalid_argument(model_ + "[" + name + "]: " + what);
    }

    py::dict dict_;
    std::string model_;
};

// ---- Gaussian mixtures (gmm.hpp) -----------------------------------------------------------

// The engine's mixture (gmm.hpp) as gmm.py's GMM._engine builds it, all arrays of dtype T:
// centre (d,), mean and offset (k, d), factor (k, d) when diagonal else (k, d (d + 1) / 2),
// log_coef (k,), and diagonal.
template <class T>
gmm::Mixture<T> mixture_of(const py::dict& d) {
    const Named in(d, "mixture");
    gmm::Mixture<T> g{};
    g.k = -1, g.dim = -1;
    g.mean = in.array<T>("mean", {&g.k, &g.dim});
    g.offset = in.array<T>("offset", {&g.k, &g.dim});
    g.diagonal = in.value<bool>("diagonal");
    g.factor = in.array<T>("factor", {&g.k, g.diagonal ? g.dim : g.dim * (g.dim + 1) / 2});
    g.centre = in.array<T>("centre", {&g.dim});
    g.log_coef = in.array<T>("log_coef", {&g.k});
    return g;
}

// ---- tiled data (tiles.hpp) ------------------------------------------------------------------
// The KDE's and the metrics' data as gensample._tiles.pack lays them out: "points" (tiles,
// dim, kTile) of T, and per-point arrays of tiles * kTile values read by name after it.
template <class T>
const T* tiled_points(const Named& in, int64_t& tiles, int64_t& dim) {
    tiles = -1, dim = -1;
    return in.array<T>("points", {&tiles, &dim, tiles::kTile});
}

// A std::vector handed to NumPy without a copy: the array owns it through a capsule.
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v) {
    auto* heap = new std::vector<T>(std::move(v));
    py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return py::array_t<T>(py::ssize_t(heap->size()), heap->data(), owner);
}

// rows: None (rows r0, r0 + 1, ...) or an int64 array with one entry per output row.
inline const int64_t* rows_of(const py::object& rows, int64_t count) {
    if (rows.is_none()) return nullptr;
    // Only the caller's own array, never a converted temporary that would die on return.
    if (!py::isinstance<CArray<int64_t>>(rows))
        throw std::invalid_argument("rows: expected a C-contiguous int64 array");
    auto a = py::reinterpret_borrow<CArray<int64_t>>(rows);
    if (a.ndim() != 1 || a.shape(0) != count)
        throw std::invalid_argument("rows: expected one int64 row per output row");
    return a.data();
}

void register_flow(py::module_& m);
void register_gmm(py::module_& m);
void register_kde(py::module_& m);
void register_mcmc(py::module_& m);
void register_metrics(py::module_& m);
void register_polygon(py::module_& m);
void register_random(py::module_& m);
void register_raster(py::module_& m);
void register_regions(py::module_& m);
void register_threads(py::module_& m);
void register_validation(py::module_& m);

}  // namespace gensample::bindings
