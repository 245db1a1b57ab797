#pragma once
// Cycle-level simulation of a mapped workload over a batch of examples. Every layer is a
// stage with `servers` copies; each copy is a four-step micro-pipeline (load from the tile
// buffer, ADC conversion steps over the shared column mux, accumulation, write-back), each
// step holding one job (one input vector). Jobs are dealt to copies round-robin in order.
// A finished example leaves on the stage's output link (one transfer at a time, the NoC cost
// of every consumer edge), and enters each consumer's input buffer, which holds a bounded
// number of examples (the tile buffer size): a producer stalls when a consumer's buffer is
// full. Layer-by-layer composition starts a layer only when every earlier layer has finished
// the whole batch. Embedding stages draw their misses per example (deterministic error
// diffusion of the expected miss count) and pay the off-chip latency as a pure delay.
//
// Time advances one cycle at a time, or (skip_ahead, the default) straight to the next
// cycle at which some step finishes: both give identical results because nothing changes
// between those cycles. Energy is counted from the events that happened.

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/pim/analytic.hpp"

namespace recnas::pim {

struct sim_options {
  index batch = 32;
  bool skip_ahead = true;
  bool bounded_buffers = true;
  double max_cycles = 1e15;
};

struct sim_result {
  units::cycles first_latency{0.0};  // example 0 through the empty chip
  units::cycles interval{0.0};       // steady state: last third of the batch
  units::cycles makespan{0.0};
  units::nanoseconds first_latency_ns{0.0};
  units::nanoseconds interval_ns{0.0};
  energy_split energy{};     // per example (leakage over makespan / batch)
  index iterations = 0;      // time steps taken
  std::vector<double> done;  // completion cycle of each example
};

namespace detail {

struct sim_slot {
  index job = -1;
  double rem = 0.0;
};

struct sim_stage {
  std::vector<std::array<sim_slot, 4>> servers;
  std::array<double, 4> dur{};
  index next_job = 0;
  std::vector<int> delivered;
  std::vector<index> done_jobs;
  std::vector<char> complete;
  std::vector<char> reserved;
  std::vector<double> compute_of;  // memory stages: per-example compute cycles
  std::vector<double> delay_of;
  std::vector<double> misses_of;
  std::vector<std::pair<double, index>> delays;  // (ready time, example)
  index occupancy = 0;
  index capacity = 1;
  index link_next = 0;
  bool link_busy = false;
  double link_rem = 0.0;
  index finished_examples = 0;  // sent on the link
  std::vector<index> consumers;
};

}  // namespace detail

/// Simulates `batch` examples through the mapping of `model` (call model.evaluate(w, c) first).
template <PimArchitecture Arch, PimMapping Map>
sim_result simulate(const workload& w, const pim_config& c, const analytic_model<Arch, Map>& model,
                    const sim_options& opt = {}) {
  const auto costs = model.costs();
  const auto maps = model.mappings();
  const auto n = static_cast<std::size_t>(w.size());
  expects(costs.size() == n, "simulate: evaluate the model on this workload first");
  expects(opt.batch >= 1, "simulate: the batch needs at least one example");
  const index B = opt.batch;
  const auto bsz = static_cast<std::size_t>(B);

  std::vector<detail::sim_stage> st(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& s = costs[i];
    auto& g = st[i];
    g.servers.resize(static_cast<std::size_t>(std::max(1, s.servers)));
    g.dur = {std::ceil(s.load), std::ceil(s.compute), std::ceil(s.accum), std::ceil(s.wb)};
    g.delivered.assign(bsz, 0);
    g.done_jobs.assign(bsz, 0);
    g.complete.assign(bsz, 0);
    g.reserved.assign(bsz, 0);
    for (auto in : w.layers[i].input_layers())
      st[static_cast<std::size_t>(in)].consumers.push_back(static_cast<index>(i));
    double in_bytes = 0.0;
    for (auto in : w.layers[i].input_layers())
      in_bytes +=
          output_bytes(w.layers[static_cast<std::size_t>(in)], maps[static_cast<std::size_t>(in)]);
    g.capacity =
        opt.bounded_buffers
            ? std::max<index>(2, static_cast<index>(static_cast<double>(c.tile_buffer_bytes) /
                                                    std::max(1.0, in_bytes)))
            : B;
    if (w.layers[i].cls() == op_class::memory) {
      g.compute_of.resize(bsz);
      g.delay_of.resize(bsz);
      g.misses_of.resize(bsz);
      double acc = 0.0;
      for (std::size_t e = 0; e < bsz; ++e) {
        const double before = std::floor(acc + 1e-9);
        acc += s.expected_misses;
        const double misses = std::floor(acc + 1e-9) - before;
        g.misses_of[e] = misses;
        g.compute_of[e] = std::ceil(s.onchip_cycles + misses * s.miss_cycles);
        g.delay_of[e] = misses > 0.0 ? std::ceil(s.miss_delay) : 0.0;
      }
    }
  }
  const bool lbl = !Arch::compose::pipelined;

  sim_result res;
  res.done.assign(bsz, -1.0);
  index finished = 0;
  // an example is done when every sink (layer without consumers) has delivered it
  int sinks = 0;
  for (const auto& g : st) sinks += g.consumers.empty() ? 1 : 0;
  std::vector<int> sink_count(bsz, 0);
  double t = 0.0;
  energy_split energy{};

  auto stage_complete_example = [&](std::size_t i, index e) {
    st[i].complete[static_cast<std::size_t>(e)] = 1;
    energy_split e_i = costs[i].energy;
    if (w.layers[i].cls() == op_class::memory)
      e_i.memory =
          units::picojoules(st[i].misses_of[static_cast<std::size_t>(e)] * costs[i].miss_energy_pj);
    energy += e_i;
  };
  auto earlier_done = [&](std::size_t i) {
    for (std::size_t j = 0; j < i; ++j)
      if (st[j].finished_examples < B) return false;
    return true;
  };

  while (finished < B) {
    // settle everything that can happen at time t
    bool changed = true;
    while (changed) {
      changed = false;
      for (std::size_t i = 0; i < n; ++i) {
        auto& g = st[i];
        const auto& s = costs[i];
        const bool memory = w.layers[i].cls() == op_class::memory;
        const index jobs = memory ? 1 : s.jobs;
        // micro-steps, last to first so that freed steps refill in the same cycle
        for (auto& srv : g.servers) {
          for (int k = 3; k >= 0; --k) {
            auto& sl = srv[static_cast<std::size_t>(k)];
            if (sl.job < 0 || sl.rem > 0.0) continue;
            const index e = sl.job / jobs;
            if (k == 3) {
              const auto eu = static_cast<std::size_t>(e);
              if (++g.done_jobs[eu] == jobs) {
                if (memory && g.delay_of[eu] > 0.0)
                  g.delays.emplace_back(t + g.delay_of[eu], e);
                else
                  stage_complete_example(i, e);
              }
              sl.job = -1;
              changed = true;
            } else {
              auto& nx = srv[static_cast<std::size_t>(k + 1)];
              if (nx.job >= 0) continue;
              if (k == 0 && sl.job % jobs == jobs - 1) --g.occupancy;  // example fully loaded
              nx.job = sl.job;
              nx.rem = memory && k + 1 == 1 ? g.compute_of[static_cast<std::size_t>(e)]
                                            : g.dur[static_cast<std::size_t>(k + 1)];
              sl.job = -1;
              changed = true;
            }
          }
        }
        // delayed (off-chip) completions
        for (std::size_t d = 0; d < g.delays.size();) {
          if (g.delays[d].first <= t) {
            stage_complete_example(i, g.delays[d].second);
            g.delays[d] = g.delays.back();
            g.delays.pop_back();
            changed = true;
          } else {
            ++d;
          }
        }
        // dispatch the next job to its copy (strict round-robin keeps jobs in order)
        while (g.next_job < B * jobs) {
          const index e = g.next_job / jobs;
          const auto eu = static_cast<std::size_t>(e);
          if (g.delivered[eu] < w.layers[i].n_inputs) break;
          if (lbl && !earlier_done(i)) break;
          auto& srv = g.servers[static_cast<std::size_t>(g.next_job %
                                                         static_cast<index>(g.servers.size()))];
          if (srv[0].job >= 0) break;
          if (w.layers[i].n_inputs == 0 && g.next_job % jobs == 0) ++g.occupancy;
          srv[0].job = g.next_job;
          srv[0].rem = g.dur[0];
          ++g.next_job;
          changed = true;
        }
        // output link
        if (g.link_busy && g.link_rem <= 0.0) {
          const index e = g.link_next;
          for (auto cidx : g.consumers)
            ++st[static_cast<std::size_t>(cidx)].delivered[static_cast<std::size_t>(e)];
          if (g.consumers.empty() && ++sink_count[static_cast<std::size_t>(e)] == sinks) {
            res.done[static_cast<std::size_t>(e)] = t;
            ++finished;
          }
          g.link_busy = false;
          ++g.link_next;
          ++g.finished_examples;
          changed = true;
        }
        if (!g.link_busy && g.link_next < B && g.complete[static_cast<std::size_t>(g.link_next)]) {
          const auto eu = static_cast<std::size_t>(g.link_next);
          bool room = true;
          for (auto cidx : g.consumers) {
            const auto& cg = st[static_cast<std::size_t>(cidx)];
            if (!cg.reserved[eu] && cg.occupancy >= cg.capacity) room = false;
          }
          if (room) {
            for (auto cidx : g.consumers) {
              auto& cg = st[static_cast<std::size_t>(cidx)];
              if (!cg.reserved[eu]) {
                cg.reserved[eu] = 1;
                ++cg.occupancy;
              }
            }
            g.link_busy = true;
            g.link_rem = std::ceil(s.xfer);
            changed = true;
          }
        }
      }
    }
    if (finished >= B) break;
    // advance time
    double dt = std::numeric_limits<double>::infinity();
    for (auto& g : st) {
      for (auto& srv : g.servers)
        for (auto& sl : srv)
          if (sl.job >= 0 && sl.rem > 0.0) dt = std::min(dt, sl.rem);
      if (g.link_busy && g.link_rem > 0.0) dt = std::min(dt, g.link_rem);
      for (auto& d : g.delays) dt = std::min(dt, d.first - t);
    }
    if (!std::isfinite(dt)) {
      expects(opt.bounded_buffers, "simulate: no progress possible (a bug in the simulator)");
      // bounded buffers deadlocked on a fan-in: retry with unbounded buffers
      sim_options o = opt;
      o.bounded_buffers = false;
      return simulate(w, c, model, o);
    }
    if (!opt.skip_ahead) dt = 1.0;
    t += dt;
    ++res.iterations;
    expects(t < opt.max_cycles, "simulate: exceeded max_cycles");
    for (auto& g : st) {
      for (auto& srv : g.servers)
        for (auto& sl : srv)
          if (sl.job >= 0 && sl.rem > 0.0) sl.rem -= dt;
      if (g.link_busy && g.link_rem > 0.0) g.link_rem -= dt;
    }
  }

  const double tiles = static_cast<double>(c.tiles > 0 ? c.tiles : model.report().tiles);
  res.makespan = units::cycles(t);
  res.first_latency = units::cycles(res.done[0]);
  // steady state over the last third of the batch (the first examples fill the pipeline and
  // round-robin patterns of the replicas take a few examples to settle)
  const index h = std::max<index>(1, B - std::max<index>(1, B / 3));
  if (B >= 2)
    res.interval = units::cycles((res.done[bsz - 1] - res.done[static_cast<std::size_t>(h - 1)]) /
                                 static_cast<double>(B - h));
  res.first_latency_ns = res.first_latency / c.clock;
  res.interval_ns = res.interval / c.clock;
  energy *= 1.0 / static_cast<double>(B);
  energy.leakage = chip_model<Arch>::leakage_power(c, static_cast<index>(tiles)) *
                   (units::cycles(t / static_cast<double>(B)) / c.clock);
  res.energy = energy;
  return res;
}

}  // namespace recnas::pim
