#pragma once
// PIM presets by name: each pairs a chip's architecture policies (a type) with its
// configuration, so that a caller holding a name (a command-line option, a settings file) can
// reach both.

#include <array>
#include <string>
#include <string_view>

#include "recnas/core/error.hpp"
#include "recnas/pim/config.hpp"
#include "recnas/pim/policies.hpp"

namespace recnas::pim {

/// The names visit_preset knows.
inline constexpr std::array<std::string_view, 4> preset_names{"isaac", "neurosim", "mnsim", "puma"};

/// fn.template operator()<Arch>(config) with the named preset's architecture policies and its
/// configuration: isaac, neurosim, mnsim or puma.
template <class F>
decltype(auto) visit_preset(const std::string& name, F&& fn) {
  if (name == "isaac") return fn.template operator()<isaac_architecture>(isaac_preset());
  if (name == "neurosim") return fn.template operator()<neurosim_architecture>(neurosim_preset());
  if (name == "mnsim") return fn.template operator()<mnsim_architecture>(mnsim_preset());
  if (name == "puma") return fn.template operator()<puma_architecture>(puma_preset());
  throw input_error("", 0, "pim preset",
                    "unknown preset \"" + name + "\" (isaac, neurosim, mnsim, puma)");
}

}  // namespace recnas::pim
