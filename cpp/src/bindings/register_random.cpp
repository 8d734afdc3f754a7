// _core.random: bulk uniforms, normals and integers on the Philox stream, sub-stream keys,
// alias tables, and the Philox kernel's instruction set.
#include "common.hpp"
#include "gensample/draws.hpp"
#include "gensample/philox_tile.hpp"
#include "gensample/random.hpp"

namespace gensample::bindings {

void register_random(py::module_& m) {
    m.def(
        "fill_uniform",
        [](uint64_t key, py::array out, int n_threads, int64_t first_row) {
            fill_rows(out, -1, [&](auto* p, int64_t n, int64_t dim) {
                fill_uniform_rows(key, first_row, n, dim, p, n_threads);
            });
        },
        py::arg("key"), py::arg("out"), py::arg("n_threads"), py::arg("first_row") = 0,
        "Rows first_row .. first_row + len(out) of the uniform draw of stream key.");
    m.def(
        "fill_normal",
        [](uint64_t key, py::array out, int n_threads, int64_t first_row) {
            fill_rows(out, -1,
                      [&](auto* p, int64_t n, int64_t dim) { fill_normal_rows(key, first_row, n, dim, p, n_threads); });
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
    m.def("subkey", &subkey, py::arg("key"), py::arg("index"), "Key of sub-stream `index` of `key`.");
    m.def(
        "alias_table",
        [](const CArray<double>& mass) {
            if (mass.ndim() != 1) throw std::invalid_argument("mass: expected a 1-D float64 array");
            const double* p = mass.data();
            const int64_t n = mass.shape(0);
            AliasTable t;
            {
                py::gil_scoped_release release;
                t = build_alias(p, n);
            }
            return py::make_tuple(to_numpy(std::move(t.prob)), to_numpy(std::move(t.alias)));
        },
        py::arg("mass"), "Vose alias table (prob, alias) for outcome masses.");
    m.def("simd_isa", [] { return std::string(philox_isa()); }, "Instruction set of the Philox kernel in use.");
    m.def("simd_isas_supported", &philox_isas_supported);
    m.def("set_simd_isa", &set_philox_isa, py::arg("name"),
          "Force a Philox kernel ('best' to restore); every one gives the same bits.");
}

}  // namespace gensample::bindings
