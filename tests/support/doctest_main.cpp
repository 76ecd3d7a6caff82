// The one doctest runner, linked into every test binary (tests/CMakeLists.txt rse_doctest_main).
// A run that selects no test case fails: ctest runs each case by its name as a filter, and a
// name the filter cannot match (CMake's doctest discovery cuts names at ';') would otherwise
// pass without running anything.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>

namespace {

std::atomic<int> g_started{0};

// Counts the test cases that start; reports nothing itself.
struct StartCounter : doctest::IReporter {
  explicit StartCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++g_started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

REGISTER_LISTENER("start_counter", 1, StartCounter);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit()) return rc;  // --help, --list-test-cases and the like
  if (rc == 0 && g_started.load() == 0) {
    std::fprintf(stderr, "doctest: no test case matched the filters: nothing was run\n");
    return 1;
  }
  return rc;
}
