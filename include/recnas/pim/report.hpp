#pragma once
// What the evaluators return: per layer and per model, cycles (split by where they go),
// nanoseconds (cycles at the clock, converted once), energy and area with breakdowns, arrays
// and utilization, peak and effective throughput and efficiency, EDP.

#include <string_view>

#include "recnas/core/units.hpp"
#include "recnas/pim/mapping.hpp"
#include "recnas/pim/units.hpp"
#include "recnas/pim/workload.hpp"

namespace recnas::pim {

/// Where the cycles of one example go (along the critical path for a model).
struct cycle_split {
  units::cycles compute{0.0};       // crossbar MVMs: ADC conversion steps
  units::cycles accumulation{0.0};  // partial-sum adder trees, slice and sign merging
  units::cycles buffer{0.0};        // tile buffer <-> PE transfers and pipeline stalls
  units::cycles interconnect{0.0};  // NoC / bus between tiles
  units::cycles digital{0.0};       // vector units
  units::cycles memory{0.0};        // embedding reads (crossbar memory mode and off-chip)
  [[nodiscard]] units::cycles total() const noexcept {
    return compute + accumulation + buffer + interconnect + digital + memory;
  }
  cycle_split& operator+=(const cycle_split& o) noexcept {
    compute += o.compute;
    accumulation += o.accumulation;
    buffer += o.buffer;
    interconnect += o.interconnect;
    digital += o.digital;
    memory += o.memory;
    return *this;
  }
};

/// Energy of one example.
struct energy_split {
  units::picojoules array{0.0};  // cell reads
  units::picojoules adc{0.0};    // conversions (or sense amps + trees, digital CIM)
  units::picojoules dac{0.0};    // DACs / word-line drivers
  units::picojoules sample_hold{0.0};
  units::picojoules accumulation{0.0};  // shift-and-add, partial-sum adders
  units::picojoules buffer{0.0};        // PE registers, tile buffer, tile bus
  units::picojoules interconnect{0.0};  // between tiles
  units::picojoules digital{0.0};       // vector units
  units::picojoules memory{0.0};        // off-chip embedding traffic
  units::picojoules leakage{0.0};
  [[nodiscard]] units::picojoules dynamic() const noexcept {
    return array + adc + dac + sample_hold + accumulation + buffer + interconnect + digital +
           memory;
  }
  [[nodiscard]] units::picojoules total() const noexcept { return dynamic() + leakage; }
  energy_split& operator+=(const energy_split& o) noexcept {
    array += o.array;
    adc += o.adc;
    dac += o.dac;
    sample_hold += o.sample_hold;
    accumulation += o.accumulation;
    buffer += o.buffer;
    interconnect += o.interconnect;
    digital += o.digital;
    memory += o.memory;
    leakage += o.leakage;
    return *this;
  }
  energy_split& operator*=(double s) noexcept {
    array *= s;
    adc *= s;
    dac *= s;
    sample_hold *= s;
    accumulation *= s;
    buffer *= s;
    interconnect *= s;
    digital *= s;
    memory *= s;
    leakage *= s;
    return *this;
  }
};

/// Chip area.
struct area_split {
  units::square_mm arrays{0.0};
  units::square_mm adc{0.0};
  units::square_mm dac{0.0};  // DACs / drivers and sample-and-holds
  units::square_mm accumulation{0.0};
  units::square_mm buffers{0.0};
  units::square_mm interconnect{0.0};
  units::square_mm digital{0.0};
  units::square_mm other{0.0};  // off-chip links
  [[nodiscard]] units::square_mm total() const noexcept {
    return arrays + adc + dac + accumulation + buffers + interconnect + digital + other;
  }
};

struct layer_report {
  std::string_view name;  // points into the workload
  op_kind kind = op_kind::fc;
  layer_mapping mapping{};
  double macs = 0.0;  // per example
  double ops = 0.0;
  cycle_split cycles{};             // one example alone, including its output transfer
  units::cycles interval{0.0};      // steady-state cycles per example of this stage
  units::nanoseconds latency{0.0};  // cycles.total() at the clock
  energy_split energy{};            // per example (dynamic)
  gops effective{0.0};              // ops / stage interval
  gops_per_watt efficiency{0.0};    // ops / dynamic energy
};

struct model_report {
  std::string_view architecture_adc_convention;
  index layers = 0;
  index arrays = 0;            // used by the mapping (analog copies + memory-mode arrays)
  index compute_arrays = 0;    // analog copies only
  index copy_arrays = 0;       // one copy of every analog layer (the mapping tables' count)
  index arrays_available = 0;  // on the chip
  index tiles_used = 0;
  index tiles = 0;  // of the chip (== tiles_used when auto-sized)
  bool fits = true;
  double utilization = 0.0;  // weighted over the analog arrays
  double macs = 0.0;         // per example
  double ops = 0.0;

  cycle_split cycles{};  // critical path of one example
  units::cycles latency_cycles{0.0};
  units::nanoseconds latency{0.0};     // one example through an empty chip
  units::cycles interval_cycles{0.0};  // steady state per example
  units::nanoseconds interval{0.0};
  double throughput_per_s = 0.0;

  energy_split energy{};  // per example, leakage over one interval
  area_split area{};

  gops peak{0.0};  // every array busy every cycle at the config's default precision
  units::milliwatts peak_power{0.0};
  gops_per_watt peak_per_watt{0.0};
  gops_per_mm2 peak_per_mm2{0.0};
  gops effective{0.0};                    // ops per example / interval
  gops_per_watt effective_per_watt{0.0};  // ops per example / energy per example
  pj_ns edp{0.0};                         // energy x latency
  double edap = 0.0;                      // edp x area (pJ ns mm^2)
};

}  // namespace recnas::pim
