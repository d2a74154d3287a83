#pragma once

namespace dcgan::cli {

// OpenMP's worker threads wait for the next parallel region by spinning on their core for a while
// (libgomp's default). When another process holds a core, the spinning threads take turns with it
// and a step slows down many times over (BENCHMARKS.md, "Data-parallel training": 2 threads on 2
// busy cores train 2x faster with a passive wait). libgomp reads OMP_WAIT_POLICY once, as it
// loads, before main; so unless the user set it, this sets OMP_WAIT_POLICY=PASSIVE and executes
// this program again (/proc/self/exe, same arguments), once. Returns when it did not re-execute.
void use_passive_openmp_wait(char** argv);

}  // namespace dcgan::cli
