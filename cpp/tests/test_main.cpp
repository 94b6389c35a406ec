// The one main() of the C++ test executables: runs the cases the command line names
// (check.hpp's run_all).
#include "check.hpp"

int main(int argc, char** argv) { return gaussmix_test::run_all(argc, argv); }
