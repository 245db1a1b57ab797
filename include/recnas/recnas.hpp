#pragma once
// Umbrella header: everything public except the opt-in parts (data/, io/, pim/, JSON I/O).

#include "recnas/version.hpp"

#include "recnas/core/aligned_buffer.hpp"
#include "recnas/core/checksum.hpp"
#include "recnas/core/concepts.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/core/units.hpp"

#include "recnas/parallel/threads.hpp"
#include "recnas/simd/dispatch.hpp"
#include "recnas/simd/isa.hpp"

#include "recnas/kernels/kernels.hpp"

#include "recnas/supernet/supernet.hpp"

#include "recnas/search/correlation.hpp"
#include "recnas/search/driver.hpp"
#include "recnas/search/pareto.hpp"
#include "recnas/search/strategies.hpp"

#include "recnas/train/loss.hpp"
#include "recnas/train/metrics.hpp"
#include "recnas/train/optimizer.hpp"
#include "recnas/train/schedule.hpp"
