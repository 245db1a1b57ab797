#pragma once
// Umbrella header: everything public except the opt-in parts (data/, io/).

#include "recnas/version.hpp"

#include "recnas/core/aligned_buffer.hpp"
#include "recnas/core/concepts.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/core/units.hpp"

#include "recnas/parallel/threads.hpp"
#include "recnas/simd/dispatch.hpp"
#include "recnas/simd/isa.hpp"

#include "recnas/kernels/kernels.hpp"
#include "recnas/kernels/peak.hpp"
