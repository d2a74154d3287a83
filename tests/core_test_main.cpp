// main() of the test programs that run models: the CPU convolutions get the same check as in
// dcgan itself (train::set_up_device), since most tests build models without it.
#include <gtest/gtest.h>

#include <iostream>

#include "dcgan/train/cpu_convolution_check.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (const auto warning = dcgan::train::guard_cpu_convolutions()) {
    std::cerr << "warning: " << *warning << "\n";
  }
  return RUN_ALL_TESTS();
}
