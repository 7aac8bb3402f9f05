// Failpoints: spec parsing and its errors, hit counting, and (in forked children) death by
// SIGKILL at exactly the n-th hit, from RILL_FAILPOINTS or the test override.
#include "dataflow/failpoint.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <string>

#include "dataflow/config_error.hpp"

using Catch::Matchers::Contains;

namespace {

struct ChildResult {
  int status = 0;
  std::string out;  // what the child wrote to fd 1 and 2
};

// Runs body in a forked child with stdout and stderr captured; body's return is the exit code.
template <class Body>
ChildResult run_child(Body body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    ::_exit(body());
  }
  ::close(fds[1]);
  ChildResult r;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;)
    if (n > 0)
      r.out.append(buf, static_cast<size_t>(n));
    else if (errno != EINTR)
      break;
  ::close(fds[0]);
  REQUIRE(::waitpid(pid, &r.status, 0) == pid);
  return r;
}

void say(const std::string& s) { (void)!::write(1, s.data(), s.size()); }

// Calls failpoint("fp") up to 10 times, saying "<i" before and ">" after each call.
int call_ten_times() {
  for (int i = 1; i <= 10; ++i) {
    say("<" + std::to_string(i));
    rill::failpoint("fp");
    say(">");
  }
  return 0;
}

bool killed(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }

}  // namespace

TEST_CASE("unconfigured failpoints do nothing and count nothing") {
  rill::set_failpoints_for_testing("");
  for (int i = 0; i < 5; ++i) rill::failpoint("anything");
  CHECK(rill::failpoint_hits("anything") == 0);
}

TEST_CASE("count mode counts every hit of configured points only") {
  rill::set_failpoints_for_testing("a:2:count,b.c-d_e:1:count");
  for (int i = 0; i < 5; ++i) rill::failpoint("a");
  rill::failpoint("b.c-d_e");
  rill::failpoint("other");
  CHECK(rill::failpoint_hits("a") == 5);
  CHECK(rill::failpoint_hits("b.c-d_e") == 1);
  CHECK(rill::failpoint_hits("other") == 0);
  SECTION("a new configuration restarts the counters") {
    rill::set_failpoints_for_testing("a:9:count");
    CHECK(rill::failpoint_hits("a") == 0);
    CHECK(rill::failpoint_hits("b.c-d_e") == 0);
  }
  rill::set_failpoints_for_testing("");
}

TEST_CASE("malformed specs are ConfigErrors naming the entry, the old configuration stays") {
  rill::set_failpoints_for_testing("keep:1:count");
  auto bad = [](const char* spec, const char* says) {
    CHECK_THROWS_MATCHES(rill::set_failpoints_for_testing(spec), rill::ConfigError,
                         Catch::Matchers::Predicate<rill::ConfigError>(
                             [says](const rill::ConfigError& e) {
                               return std::string(e.what()).find(says) != std::string::npos;
                             },
                             std::string("message contains ") + says));
  };
  bad("a", "entry 'a': expected name:n");
  bad("a:1,b", "entry 'b'");
  bad("a:0", "entry 'a:0': '0' is not a count >= 1");
  bad("a:x", "'x' is not a count");
  bad("a:-1", "'-1' is not a count");
  bad("a:99999999999999999999", "is not a count");
  bad(":3", "the name must be");
  bad("a b:3", "the name must be");
  bad("a:1:explode", "unknown action 'explode'");
  bad("a:1,a:2", "'a' is configured twice");
  bad("a:1,", "entry ''");
  rill::failpoint("keep");
  CHECK(rill::failpoint_hits("keep") == 1);
  rill::set_failpoints_for_testing("");
}

TEST_CASE("a kill failpoint SIGKILLs the process at exactly the n-th hit") {
  SECTION("set for testing") {
    auto r = run_child([] {
      rill::set_failpoints_for_testing("other:1:count,fp:3");
      return call_ten_times();
    });
    CHECK(killed(r.status));
    CHECK_THAT(r.out, Contains("<1><2><3"));
    CHECK_THAT(r.out, !Contains("<3>"));
    CHECK_THAT(r.out, Contains("failpoint fp hit 3"));
  }
  SECTION("from RILL_FAILPOINTS") {
    auto r = run_child([] {
      ::setenv("RILL_FAILPOINTS", "fp:1", 1);
      rill::reset_failpoints_for_testing();
      return call_ten_times();
    });
    CHECK(killed(r.status));
    CHECK_THAT(r.out, Contains("<1"));
    CHECK_THAT(r.out, !Contains("<1>"));
  }
  SECTION("count mode survives") {
    auto r = run_child([] {
      ::setenv("RILL_FAILPOINTS", "fp:3:count", 1);
      rill::reset_failpoints_for_testing();
      int rc = call_ten_times();
      return rc == 0 && rill::failpoint_hits("fp") == 10 ? 0 : 1;
    });
    CHECK(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 0);
  }
}

TEST_CASE("a malformed RILL_FAILPOINTS aborts at the first call, naming the entry") {
  auto r = run_child([] {
    ::setenv("RILL_FAILPOINTS", "fp:2,oops", 1);
    rill::reset_failpoints_for_testing();
    return call_ten_times();
  });
  CHECK(WIFSIGNALED(r.status));
  CHECK(WTERMSIG(r.status) == SIGABRT);
  CHECK_THAT(r.out, Contains("RILL_FAILPOINTS=fp:2,oops: entry 'oops'"));
  CHECK_THAT(r.out, !Contains("<1>"));
}
