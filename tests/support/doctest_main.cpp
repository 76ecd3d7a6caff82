// The one doctest runner, linked into every test binary (tests/CMakeLists.txt rse_doctest_main).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
