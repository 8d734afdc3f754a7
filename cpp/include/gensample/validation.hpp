// The input checks' one pass over a float array (DESIGN.md "Arrays"): whether every value
// is finite, and the largest magnitude. The Python layer makes the decisions and the error
// messages; this only reads.
#pragma once

#include <cstdint>

namespace gensample::validation {

struct Scan {
    bool finite = true;  // no NaN, no inf
    double max_abs = 0;  // max |x|, meaningful when finite (0 for no values)
};

// x[0, n); any thread count gives the same answer.
Scan scan(const double* x, int64_t n, int n_threads);
Scan scan(const float* x, int64_t n, int n_threads);

}  // namespace gensample::validation
