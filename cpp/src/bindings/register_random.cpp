// gensample.random: bulk uniforms, normals and integers on the Philox stream.
#include "common.hpp"
#include "gensample/random.hpp"

namespace gensample::bindings {
namespace {

template <class Fill>
void fill_float(py::array& out, Fill fill_f64_or_f32, const char* what) {
    int64_t n = 0, dim = 0;
    if (py::isinstance<CArray<double>>(out)) {
        double* p = writable_2d<double>(out, what, n, dim);
        py::gil_scoped_release release;
        fill_f64_or_f32(p, n, dim);
    } else {
        float* p = writable_2d<float>(out, what, n, dim);
        py::gil_scoped_release release;
        fill_f64_or_f32(p, n, dim);
    }
}

}  // namespace

void register_random(py::module_& m) {
    m.def(
        "fill_uniform",
        [](uint64_t key, py::array out, int n_threads, int64_t first_row) {
            fill_float(
                out, [&](auto* p, int64_t n, int64_t dim) { fill_uniform_rows(key, first_row, n, dim, p, n_threads); },
                "out");
        },
        py::arg("key"), py::arg("out"), py::arg("n_threads"), py::arg("first_row") = 0,
        "Rows first_row .. first_row + len(out) of the uniform draw of stream key.");
    m.def(
        "fill_normal",
        [](uint64_t key, py::array out, int n_threads, int64_t first_row) {
            fill_float(
                out, [&](auto* p, int64_t n, int64_t dim) { fill_normal_rows(key, first_row, n, dim, p, n_threads); },
                "out");
        },
        py::arg("key"), py::arg("out"), py::arg("n_threads"), py::arg("first_row") = 0,
        "Rows first_row .. first_row + len(out) of the normal draw of stream key.");
    m.def(
        "fill_integers",
        [](uint64_t key, uint64_t high, py::array out, int n_threads) {
            int64_t n = 0, dim = 0;
            int64_t* p = writable_2d<int64_t>(out, "out", n, dim);
            py::gil_scoped_release release;
            fill_integers(key, n, dim, high, p, n_threads);
        },
        py::arg("key"), py::arg("high"), py::arg("out"), py::arg("n_threads"));
    m.def(
        "philox4x32_10",
        [](uint64_t key, const CArray<uint32_t>& counters, int n_threads) {
            if (counters.ndim() != 2 || counters.shape(1) != 4) {
                throw std::invalid_argument("counters: expected an (m, 4) uint32 array");
            }
            const int64_t m_rows = counters.shape(0);
            CArray<uint32_t> out({m_rows, int64_t(4)});
            const uint32_t* c = counters.data();
            uint32_t* o = out.mutable_data();
            {
                py::gil_scoped_release release;
                philox_blocks(key, m_rows, c, o, n_threads);
            }
            return out;
        },
        py::arg("key"), py::arg("counters"), py::arg("n_threads") = 1,
        "Raw Philox4x32-10 blocks: counters (m, 4) uint32 -> (m, 4) uint32.");
}

}  // namespace gensample::bindings
