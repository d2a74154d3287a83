#pragma once

namespace dcgan::cli {

// `dcgan report RUN [RUN...] --out compare.html`: one HTML page comparing run folders (see
// report/pages.h). Returns the exit code; throws InputError for a RUN that is not a run folder.
int report_command(int argc, char** argv);

}  // namespace dcgan::cli
