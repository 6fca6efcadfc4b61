// `strand --version`: what this binary is and what it runs on, for bug reports.
#pragma once

#include <string>

namespace strand::apps {

// strand version and git revision, the library versions (HTSlib, TBB, Eigen), the compiler
// and build, and CUDA: compiled in or not, runtime/driver, and the visible devices or why none.
std::string version_text();

}  // namespace strand::apps
