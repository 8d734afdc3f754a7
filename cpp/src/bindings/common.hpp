// Shared helpers for the bindings: they translate, they do not validate (the Python layer
// does that once); a mismatch here is a programming error and raises ValueError.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace gensample::bindings {

namespace py = pybind11;

// A C-contiguous array of T taken as is (never copied): pointer and shape.
template <class T>
using CArray = py::array_t<T, py::array::c_style>;

template <class T>
T* writable_2d(py::array& a, const char* name, int64_t& n, int64_t& dim) {
    if (!py::isinstance<CArray<T>>(a) || a.ndim() != 2 || !(a.flags() & py::array::c_style) ||
        !a.writeable()) {
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
    if (!py::isinstance<CArray<int64_t>>(rows)) throw std::invalid_argument("rows: expected a C-contiguous int64 array");
    auto a = py::reinterpret_borrow<CArray<int64_t>>(rows);
    if (a.ndim() != 1 || a.shape(0) != count) throw std::invalid_argument("rows: expected one int64 row per output row");
    return a.data();
}

void register_flow(py::module_& m);
void register_gmm(py::module_& m);
void register_kde(py::module_& m);
void register_metrics(py::module_& m);
void register_polygon(py::module_& m);
void register_random(py::module_& m);
void register_raster(py::module_& m);
void register_regions(py::module_& m);
void register_threads(py::module_& m);
void register_validation(py::module_& m);

}  // namespace gensample::bindings
