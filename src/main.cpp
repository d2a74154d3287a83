#include "dcgan/cli/commands.h"

int main(int argc, char** argv) {
  return dcgan::cli::run(argc, argv);
}
