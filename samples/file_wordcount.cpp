// Word count over files that appear in a directory (the seed's textFileStream example).
// Write files elsewhere, or under a dot-name, and rename them into DIR.
#include <rill/chaos.hpp>
#include <rill/rill.hpp>

#include <string>

#include "samples/control_channel.hpp"
#include "samples/run_until_stopped.hpp"
#include "samples/sample_args.hpp"

int main(int argc, char** argv) {
  rill::samples::SampleArgs args(argc, argv,
      std::string("usage: file_wordcount DIR [--batch-ms N] [--duration-s S] [--out PREFIX]\n"
                  "                      [--partitions N] [--checkpoint CKDIR] [--totals] [--log-level L]\n"
                  "                      [--sqlite FILE] [--postgres CONNINFO] [--chaos SEED]\n"
                  "Counts the words of the files renamed into DIR after start, each file once,\n"
                  "per batch.\n"
                  "  --partitions N     default 0: the machine's cores\n"
                  "  --checkpoint CKDIR keep progress and state in CKDIR: a restarted run recovers,\n"
                  "                     and files that arrived while it was down are counted once\n"
                  "  --totals           also running totals per word (update_state_by_key) and\n"
                  "                     counts over the last 3 batches (an inverse window), saved\n"
                  "                     under PREFIX-totals and PREFIX-window; needs --checkpoint\n"
                  "  --sqlite FILE      also insert each batch's counts into table word_counts(word,\n"
                  "                     count) and, with --totals, upsert word_totals(word, total)\n"
                  "  --postgres CONNINFO  the same two tables in PostgreSQL\n"
                  "  --chaos SEED       run under rill::chaos::Monkey (one actor kill a batch on\n"
                  "                     average, seeded): the output must not change\n") +
          rill::samples::kHttpUsage + rill::samples::kControlUsage,
      {"totals"});
  auto batch = std::chrono::milliseconds(args.number("batch-ms", 1000));
  auto duration = std::chrono::seconds(args.number("duration-s", 0));
  std::string out = args.text("out", "");
  int partitions = static_cast<int>(args.number("partitions", 0));
  std::string checkpoint = args.text("checkpoint", "");
  bool totals = args.flag("totals");
  std::string sqlite_file = args.text("sqlite", "");
  std::string postgres = args.text("postgres", "");
  long long chaos_seed = args.number("chaos", 0);
  int http_port = args.http_port();
  rill::set_log_level(args.text("log-level", "warn"));
  auto control = args.control_flags();
  args.finish(1);

  // Under the crash harness, time moves only when the harness says so.
  std::shared_ptr<rill::ManualClock> clock;
  if (control.enabled())
    clock = std::make_shared<rill::ManualClock>(rill::Millis(control.clock_start_ms));
  auto define = [&] {
    std::shared_ptr<rill::chaos::Monkey> monkey;
    if (chaos_seed > 0)
      monkey = std::make_shared<rill::chaos::Monkey>(
          rill::chaos::MonkeyOptions{.seed = static_cast<uint64_t>(chaos_seed), .kills_per_batch = 1});
    auto ssc = std::make_unique<rill::StreamingContext>(
        batch, rill::ContextOptions{.clock = clock, .partitions = partitions, .supervisor_max_restarts = 1000,
                                    .http_port = http_port, .fault_injector = monkey});
    auto words = ssc->text_file_stream(args.positional[0])
                     .flat_map([](const std::string& l) { return rill::split(l, ' '); })
                     .map([](const std::string& w) { return std::pair{w, int64_t{1}}; });
    auto counts = words.reduce_by_key(std::plus<>{});
    counts.print();
    if (!out.empty()) counts.save_as_text_files(out);
    // Plain inserts (no key): a batch written twice would show as duplicate rows.
    if (!sqlite_file.empty())
      counts.output_to(rill::sqlite_sink<std::pair<std::string, int64_t>>(sqlite_file, "word_counts", {},
                                                                         {"word", "count"}));
    if (!postgres.empty())
      counts.output_to(rill::postgres_sink<std::pair<std::string, int64_t>>(postgres, "word_counts", {},
                                                                           {"word", "count"}));
    if (totals) {
      auto running = counts.update_state_by_key(
          [](const std::vector<int64_t>& added, const std::optional<int64_t>& total) {
            int64_t sum = total.value_or(0);
            for (int64_t n : added) sum += n;
            return std::optional<int64_t>(sum);
          });
      auto recent = words.reduce_by_key_and_window(
          std::plus<>{}, std::minus<>{}, batch * 3, batch);
      if (!out.empty()) {
        running.save_as_text_files(out + "-totals");
        recent.save_as_text_files(out + "-window");
      }
      if (!sqlite_file.empty())
        running.output_to(rill::sqlite_sink<std::pair<std::string, int64_t>>(
            sqlite_file, "word_totals", {"word"}, {"word", "total"}));
      if (!postgres.empty())
        running.output_to(rill::postgres_sink<std::pair<std::string, int64_t>>(
            postgres, "word_totals", {"word"}, {"word", "total"}));
    }
    return ssc;
  };
  auto ssc = checkpoint.empty() ? define() : rill::StreamingContext::get_or_create(checkpoint, define);
  ssc->start();
  if (clock) return rill::samples::run_controlled(*ssc, *clock, control);
  return rill::samples::run_until_stopped(*ssc, duration);
}
