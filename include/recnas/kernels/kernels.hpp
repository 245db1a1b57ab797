#pragma once
// Every recnas kernel family (see docs/kernels.md).

#include "recnas/kernels/attention.hpp"
#include "recnas/kernels/elementwise.hpp"
#include "recnas/kernels/embedding.hpp"
#include "recnas/kernels/gemm.hpp"
#include "recnas/kernels/interaction.hpp"
#include "recnas/kernels/optim.hpp"
#include "recnas/kernels/peak.hpp"
#include "recnas/kernels/token_linear.hpp"
