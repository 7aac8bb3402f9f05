// CommandLine: rill's options, the application's, and the errors that name the argument.
#include "dataflow/command_line.hpp"

#include <catch2/catch.hpp>

#include <initializer_list>

using rill::CommandLine;

namespace {

// A CommandLine over "app" and args.
CommandLine parse(std::initializer_list<const char*> args, std::set<std::string> flags = {}) {
  std::vector<const char*> argv{"/usr/bin/app"};
  argv.insert(argv.end(), args);
  return CommandLine(static_cast<int>(argv.size()), argv.data(), "usage: app [--demo]\n", flags);
}

}  // namespace

TEST_CASE("rill's options are read; nothing else is left", "[command_line]") {
  auto cli = parse({"--config", "c.toml", "--node=worker-1", "--check", "--log-level", "info"});
  cli.finish();
  CHECK(cli.error().empty());
  CHECK(cli.config_path() == "c.toml");
  CHECK(cli.node() == "worker-1");
  CHECK(cli.check());
  CHECK(cli.log_level() == "info");
  CHECK_FALSE(cli.help());
  CHECK(cli.program() == "app");
}

TEST_CASE("the application's options, flags and positionals pass through", "[command_line]") {
  auto cli = parse({"host", "--demo", "--batch-ms", "200", "--config", "c.toml", "--out=x", "9999"},
                   {"demo"});
  CHECK(cli.flag("demo"));
  CHECK_FALSE(cli.flag("wal"));
  CHECK(cli.number("batch-ms", 1000) == 200);
  CHECK(cli.number("duration-s", 7) == 7);
  CHECK(cli.text("out", "") == "x");
  CHECK(cli.positionals() == std::vector<std::string>{"host", "9999"});
  cli.expect_positionals(2, 2);
  cli.finish();
  CHECK(cli.error().empty());
  CHECK(cli.config_path() == "c.toml");
}

TEST_CASE("errors name the argument", "[command_line]") {
  {
    auto cli = parse({"--bogus", "1"});
    cli.finish();
    CHECK(cli.error() == "unknown option --bogus");
  }
  {  // an unknown option does not swallow the option after it
    auto cli = parse({"--verbose", "--config", "c.toml"});
    cli.finish();
    CHECK(cli.error() == "unknown option --verbose");
    CHECK(cli.config_path() == "c.toml");
  }
  {
    auto cli = parse({"--config"});
    CHECK(cli.error() == "--config needs a value");
  }
  {
    auto cli = parse({"--check=yes"});
    CHECK(cli.error() == "--check takes no value");
  }
  {
    auto cli = parse({"--batch-ms", "fast"});
    CHECK(cli.number("batch-ms", 1000) == 1000);
    CHECK(cli.error() == "--batch-ms wants a non-negative integer, got 'fast'");
  }
  {
    auto cli = parse({"--out", "--check"});
    (void)cli.text("out", "");
    CHECK(cli.error() == "--out needs a value");
    CHECK(cli.check());
  }
  {
    auto cli = parse({"stray"});
    cli.finish();
    CHECK(cli.error() == "unexpected argument 'stray' (this program takes no arguments)");
  }
  {
    auto cli = parse({"one"});
    cli.expect_positionals(2, 3);
    cli.finish();
    CHECK(cli.error() == "expected 2 to 3 argument(s), got 1");
  }
}

TEST_CASE("--help, -h and --", "[command_line]") {
  CHECK(parse({"--help"}).help());
  CHECK(parse({"-h"}).help());
  auto cli = parse({"--", "-h", "--config"});
  CHECK_FALSE(cli.help());
  CHECK(cli.config_path().empty());
  CHECK(cli.positionals() == std::vector<std::string>{"-h", "--config"});
  std::string usage = cli.usage();
  CHECK(usage.rfind("usage: app [--demo]\n", 0) == 0);
  CHECK(usage.find("--config FILE") != std::string::npos);
  CHECK(usage.find("--log-level LEVEL") != std::string::npos);
}
