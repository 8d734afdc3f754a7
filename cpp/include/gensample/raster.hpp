// Raster regions: a boolean mask (any number of axes) with optional per-cell weights, over
// a rectangular extent; planar, or a lat/lon grid sampled uniformly by area on the sphere.
//
// The index is run-length: the mask is seen as rows (all axes but the last) of cells, and a
// run is a maximal stretch of consecutive cells of one row with the same positive weight.
// Memory is O(runs), not O(cells): the world's land at 30" is 933M cells but ~388k runs.
//
// Coordinates: output column 0 runs along the last array axis, column j along axis d-1-j
// (an image's (x, y); a volume's (x, y, z)). Column j of a point in cell index i_j is
// origin[j] + (i_j + u_j) * step[j]; a negative step puts index 0 at the top, as images
// and the lat/lon grids of global-land-mask have it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gensample {

struct RasterRuns {
    std::vector<int64_t> row_ptr;  // runs of row r: [row_ptr[r], row_ptr[r+1])
    std::vector<uint32_t> start;   // first cell (along the last axis) of each run
    std::vector<uint32_t> length;  // cells in each run
    std::vector<double> weight;    // weight of each cell of the run (1 for a plain mask)
};

// Runs of cells with mask != 0 and weight > 0 (weights may be null: all 1). mask and
// weights are C-contiguous (n_rows, n_cols).
RasterRuns raster_runs(const uint8_t* mask, const double* weights, int64_t n_rows, int64_t n_cols, int n_threads);

// One column of the exact sampler's alias table with both of its runs inline, so that a
// sample touches one 32-byte entry (a cache line at most) instead of five arrays.
struct RunPick {
    double prob;  // keep run 0 when the coin is below prob, else take run 1 (the alias)
    uint32_t row[2], start[2], length[2];
};
static_assert(sizeof(RunPick) == 32, "RunPick must pack into 32 bytes");
// python/gensample/raster.py reads each run's length from side 0 of its entry.
static_assert(offsetof(RunPick, length) == 24, "RunPick layout");

// The alias table over runs with masses `mass` (Vose, draws.hpp), runs inlined, into
// out[0, n_runs): the caller's memory, already where the sampler will read it (a table of
// tens of MB is written once, not built and then copied). Polls for Ctrl-C.
void raster_pick_table(const double* mass, const uint32_t* run_row, const uint32_t* start, const uint32_t* length,
                       int64_t n_runs, RunPick* out);

// Everything a raster kernel reads; pointers into arrays owned by the caller.
struct RasterView {
    int dim = 2;                     // number of array axes = output columns
    const int64_t* shape = nullptr;  // array shape, axis 0 first (dim entries)
    const double* origin = nullptr;  // per output column
    const double* step = nullptr;    // per output column (negative: index 0 at the top)
    int64_t n_rows = 0;
    const int64_t* row_ptr = nullptr;  // runs of row i: [row_ptr[i], row_ptr[i + 1])
    const uint32_t* start = nullptr;   // first cell of each run (its length: pick[k].length[0])
    const double* weight = nullptr;    // per run; only for weighted rasters
    // Sphere: dim == 2, column 0 longitude and column 1 latitude in degrees; the latitude
    // inside a row is drawn so that sin(lat) is uniform between the row's edges.
    const double* sin_lat_edge = nullptr;  // n_rows + 1 values, sin of the row edges, row 0 first
    // Optional, with sin_lat_edge: per row asin(a) and the series of asin about a in
    // d = s - a (coefficients of d..d^4), or NaN coefficients where asin must be called.
    const double* lat_series = nullptr;  // n_rows * 5
    // The alias table over runs (mass = length * weight * row area); entry k's side 0 is
    // run k itself, which is where every kernel finds a run's length.
    const RunPick* pick = nullptr;
    int64_t n_runs = 0;
    double max_weight = 1;  // for the weighted rejection sampler
    bool weighted = false;
    bool sphere() const { return sin_lat_edge != nullptr; }
};

// Exact, rejection-free: run by alias table, then uniform within the run's cells (and by
// area in latitude on the sphere). Row k of out is sample rows[k] (or r0 + k).
void raster_sample_exact(const RasterView& r, uint64_t key, const int64_t* rows, int64_t r0, int64_t count, double* out,
                         int n_threads);
void raster_sample_exact(const RasterView& r, uint64_t key, const int64_t* rows, int64_t r0, int64_t count, float* out,
                         int n_threads);

// Rejection: propose uniformly (by area on the sphere) in the index box [box_lo, box_hi)
// (per output column, in cells), accept in the mask (weighted: with probability
// weight / max_weight). Attempt a of a sample reads counters (row, s, a). Throws
// LowAcceptance when the measured acceptance is below min_acceptance after enough
// proposals, or when a sample exhausts the 2^24 attempts of the counter layout.
void raster_sample_rejection(const RasterView& r, const double* box_lo, const double* box_hi, uint64_t key,
                             const int64_t* rows, int64_t r0, int64_t count, double min_acceptance, double* out,
                             int n_threads);
void raster_sample_rejection(const RasterView& r, const double* box_lo, const double* box_hi, uint64_t key,
                             const int64_t* rows, int64_t r0, int64_t count, double min_acceptance, float* out,
                             int n_threads);

// The run that holds each point, or -1 outside the mask (cells are half-open
// [edge, next edge) in index space; the outer edges of the grid are included).
void raster_locate(const RasterView& r, const double* x, int64_t n, int64_t* run, int n_threads);
void raster_locate(const RasterView& r, const float* x, int64_t n, int64_t* run, int n_threads);

// A rejection sampler gave up: acceptance too low to finish.
struct LowAcceptance : std::exception {
    std::string message;
    explicit LowAcceptance(std::string m) : message(std::move(m)) {}
    const char* what() const noexcept override { return message.c_str(); }
};

}  // namespace gensample
