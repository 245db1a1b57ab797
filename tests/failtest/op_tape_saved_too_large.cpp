// An operator whose saved struct does not fit the tape inline is told to keep that state in the
// arena and save a pointer.
// expect: saved struct is larger than tape<T>::capacity
#include <array>
#include <string_view>

#include <recnas/ops/concepts.hpp>

struct big_tape_op {
  static constexpr std::string_view name = "big_tape";
  static constexpr recnas::policy_kind kind = recnas::policy_kind::dense_operator;
  static constexpr recnas::ops::reads inputs = recnas::ops::reads::dense;
  static void declare(const recnas::ops::op_shape&, recnas::ops::param_declarer&) {}
  static void work(const recnas::ops::op_shape&, recnas::work_graph&) {}
  template <class T>
  struct saved {
    std::array<T, 64> copy_of_y;  // belongs in io.scratch, with a pointer here
  };
  template <class T>
  static void forward(const recnas::ops::op_io<T>&, recnas::ops::tape<T>& t, T*, recnas::index) {
    auto& kept = t.template save<saved<T>>();
    kept.copy_of_y[0] = T(0);
  }
  template <class T>
  static void backward(const recnas::ops::op_io<T>&, const recnas::ops::tape<T>& t, const T*,
                       recnas::index) {
    (void)t.template saved<saved<T>>();
  }
};

template void big_tape_op::forward<float>(const recnas::ops::op_io<float>&,
                                          recnas::ops::tape<float>&, float*, recnas::index);
