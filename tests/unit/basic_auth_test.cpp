// Basic auth: bcrypt hashes checked with libxcrypt, good passwords remembered, and a client whose
// check failed paused before its next bcrypt run.
#include "http/basic_auth.h"
#include "http/client.h"

#include <crypt.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using rse::http::BasicAuth;
using rse::http::BasicAuthorization;
using namespace std::chrono_literals;

namespace {

// A bcrypt hash of `password` (by default at the lowest cost), made with libxcrypt as an
// operator's tool would.
std::string Hash(const std::string& password, unsigned long cost = 4) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof(salt)) != nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), salt, data.get());
  REQUIRE(out != nullptr);
  REQUIRE(out[0] != '*');
  return out;
}

}  // namespace

TEST_CASE("basic auth: a client whose check failed gets no bcrypt run until its pause ends") {
  BasicAuth auth({{"prom", Hash("right")}}, 300ms);
  const std::string a = "client-a", b = "client-b";
  const auto wrong = BasicAuthorization("prom", "wrong"), right = BasicAuthorization("prom", "right");

  CHECK_FALSE(auth.Check(&wrong, a));
  CHECK(auth.bcrypt_runs() == 1);
  // Paused: refused without a bcrypt run, the right password too, and an unknown user alike.
  CHECK_FALSE(auth.Check(&wrong, a));
  CHECK_FALSE(auth.Check(&right, a));
  const auto stranger = BasicAuthorization("nobody", "x");
  CHECK_FALSE(auth.Check(&stranger, a));
  CHECK(auth.bcrypt_runs() == 1);

  // Another client is not paused; its good password is then remembered, for every client.
  CHECK(auth.Check(&right, b));
  CHECK(auth.bcrypt_runs() == 2);
  CHECK(auth.Check(&right, a));
  CHECK(auth.bcrypt_runs() == 2);

  // After the pause, a's wrong passwords are checked again (one run each pause).
  const auto start = std::chrono::steady_clock::now();
  bool checked = false;
  while (!checked && std::chrono::steady_clock::now() - start < 5s) {
    CHECK_FALSE(auth.Check(&wrong, a));
    checked = auth.bcrypt_runs() == 3;
    if (!checked) std::this_thread::sleep_for(20ms);
  }
  CHECK(checked);
  CHECK(std::chrono::steady_clock::now() - start >= 250ms);
}

TEST_CASE("basic auth: malformed headers are refused without a bcrypt run") {
  BasicAuth auth({{"prom", Hash("right")}});
  const std::string none = "Bearer abc", bad64 = "Basic !!!!", nocolon = "Basic cHJvbQ==";
  CHECK_FALSE(auth.Check(nullptr, "c"));
  CHECK_FALSE(auth.Check(&none, "c"));
  CHECK_FALSE(auth.Check(&bad64, "c"));
  CHECK_FALSE(auth.Check(&nocolon, "c"));
  CHECK(auth.bcrypt_runs() == 0);
}

TEST_CASE("basic auth: wrong passwords sent at once by one client cost one bcrypt run") {
  // The usual cost (10): a run takes tens of milliseconds, so the threads' checks overlap.
  BasicAuth auth({{"prom", Hash("right", 10)}}, 10s);
  const auto wrong = BasicAuthorization("prom", "wrong");
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { refused += !auth.Check(&wrong, "client-a"); });
  }
  for (auto& t : threads) t.join();
  CHECK(refused == 8);
  CHECK(auth.bcrypt_runs() == 1);
  // The right password, sent at once by another client's threads, is checked once and
  // remembered for the rest.
  const auto right = BasicAuthorization("prom", "right");
  std::atomic<int> accepted{0};
  threads.clear();
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { accepted += auth.Check(&right, "client-b"); });
  }
  for (auto& t : threads) t.join();
  CHECK(accepted == 8);
  CHECK(auth.bcrypt_runs() == 2);
}
