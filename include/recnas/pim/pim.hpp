#pragma once
// The templated PIM model: policies (policies.hpp), runtime config and presets (config.hpp),
// workloads (workload.hpp), mappings (mapping.hpp), the analytic evaluator (analytic.hpp) and
// the cycle-level simulator (simulate.hpp). Opt-in: not part of recnas/recnas.hpp. Depends on
// nothing but the standard library and recnas/core.

#include "recnas/pim/analytic.hpp"
#include "recnas/pim/config.hpp"
#include "recnas/pim/mapping.hpp"
#include "recnas/pim/policies.hpp"
#include "recnas/pim/report.hpp"
#include "recnas/pim/simulate.hpp"
#include "recnas/pim/units.hpp"
#include "recnas/pim/workload.hpp"
