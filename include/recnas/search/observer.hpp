#pragma once
// How a long job reports progress and is asked to stop: the library calls an observer, the
// caller decides what to show (a progress bar, a log, nothing). One task runs at a time.

#include <filesystem>
#include <string>
#include <string_view>

#include "recnas/core/error.hpp"

namespace recnas::search {

/// Progress of a pipeline. Every method has a do-nothing default, so an observer overrides
/// only what it shows; `stop_requested` is polled between steps and between candidates.
class observer {
 public:
  virtual ~observer() = default;
  /// A task starts: `total` units of `unit` ("ex", "cand") are to be done.
  virtual void begin(std::string_view task, double total, std::string_view unit) {
    (void)task, (void)total, (void)unit;
  }
  /// `done` units so far; `status` is a short free-form state ("loss 0.4712").
  virtual void advance(double done, std::string_view status) { (void)done, (void)status; }
  /// The task that began last has ended after `done` units.
  virtual void end(double done, std::string_view status) { (void)done, (void)status; }
  /// One line for a person: what was loaded, chosen or reused.
  virtual void note(std::string_view line) { (void)line; }
  /// True once the caller wants the job to checkpoint and stop.
  [[nodiscard]] virtual bool stop_requested() const { return false; }
};

/// The observer of callers that want no output.
inline observer& silent_observer() {
  static observer o;
  return o;
}

/// Thrown when a job stopped at the observer's request; its state is saved in `folder`, and
/// calling the job again with the same settings resumes it.
class interrupted_error : public error {
 public:
  interrupted_error(std::string phase, std::filesystem::path folder)
      : error("interrupted during " + phase + "; progress saved in " + folder.string() +
              ", run the same command to resume"),
        phase_(std::move(phase)),
        folder_(std::move(folder)) {}
  [[nodiscard]] const std::string& phase() const noexcept { return phase_; }
  [[nodiscard]] const std::filesystem::path& folder() const noexcept { return folder_; }

 private:
  std::string phase_;
  std::filesystem::path folder_;
};

}  // namespace recnas::search
