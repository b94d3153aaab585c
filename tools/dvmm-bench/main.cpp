// dvmm-bench: latency benchmarks of dvmm's building blocks.
//
//   dvmm-bench transport [--transport shm,udp] [--size 64,4096] [--count N]
//                        [--warmup N] [--rounds R] [--time-limit S] [--cpus auto|none|A,B]
//                        [--json] [--plot DIR] [--no-progress]
//       ping-pong round trips between two processes over the raw transport
//       and over the reliable protocol stack, side by side
//   dvmm-bench report [--out docs/benchmarks.md] [--count N] [--plot DIR] ...
//       runs every mode that exists and rewrites the benchmark report
//
// Exit status: 0 success, 1 the benchmark failed, 2 usage error (one line
// on stderr).
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/dvmm-bench/json_output.hpp"
#include "tools/dvmm-bench/plots.hpp"
#include "tools/dvmm-bench/progress.hpp"
#include "tools/dvmm-bench/report.hpp"
#include "tools/dvmm-bench/table_output.hpp"
#include "tools/dvmm-bench/transport_bench.hpp"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int fail(int status, const std::string& message) {
  std::fprintf(stderr, "dvmm-bench: %s\n", message.c_str());
  return status;
}

// Options shared by both subcommands.
void add_run_options(CLI::App* cmd, dvmm::bench::TransportBenchConfig& c) {
  cmd->add_option("--size", c.sizes, "frame sizes in bytes, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--count", c.count, "recorded round trips per series")->capture_default_str();
  cmd->add_option("--warmup", c.warmup, "unrecorded round trips per phase (default: 10 %, 50-5000)");
  cmd->add_option("--rounds", c.rounds, "split each series into R phases interleaved with the others")
      ->capture_default_str();
  cmd->add_option("--time-limit", c.time_limit_s, "seconds for the whole run; later series are cut")
      ->capture_default_str();
  cmd->add_option("--cpus", c.cpus, "auto (two usable CPUs), none, or A,B (initiator, echo)")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dvmm::bench;
  CLI::App app{"dvmm-bench: latency benchmarks for dvmm"};
  app.require_subcommand(1);

  CLI::App* transport = app.add_subcommand(
      "transport", "round trips over a transport: raw frames and the reliable protocol stack");
  TransportBenchConfig tc;
  tc.transports = {"shm", "udp"};
  tc.sizes = {64, 4096};
  transport->add_option("--transport", tc.transports, "transports, comma-separated: shm, udp")
      ->delimiter(',')
      ->capture_default_str();
  add_run_options(transport, tc);
  bool json = false;
  std::string plot_dir;
  bool no_progress = false;
  transport->add_flag("--json", json, "print JSON instead of the table");
  transport->add_option("--plot", plot_dir, "write PNG CDFs and histograms (gnuplot) into DIR");
  transport->add_flag("--no-progress", no_progress, "no progress bar (it is shown only on a tty)");

  CLI::App* report = app.add_subcommand(
      "report", "run every benchmark mode that exists and rewrite the Markdown report");
  ReportConfig rc = default_report_config();
  report->add_option("--out", rc.out, "the report to write")->capture_default_str();
  add_run_options(report, rc.transport);
  report->add_option("--plot", rc.plot_dir, "also write plots into DIR and link them");
  bool report_no_progress = false;
  report->add_flag("--no-progress", report_no_progress, "no progress bar");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(kExitUsage, std::string(e.what()) + " (see dvmm-bench --help)");
  }

  if (report->parsed()) {
    rc.transport.progress = !report_no_progress && stderr_is_tty();
    std::string cmd = "dvmm-bench";
    for (int i = 1; i < argc; ++i) cmd += std::string(" ") + argv[i];
    rc.command_line = cmd;
    dvmm::Status s = run_report(rc);
    if (!s.ok()) {
      const std::string& m = s.error().message;
      return fail(m.rfind("--", 0) == 0 ? kExitUsage : kExitFailure, m);
    }
    std::fprintf(stderr, "dvmm-bench: wrote %s\n", rc.out.c_str());
    return 0;
  }

  // --json means a script is reading: no terminal escapes even on a tty.
  tc.progress = !no_progress && !json && stderr_is_tty();
  dvmm::Result<BenchRun> run = run_transport_bench(tc);
  if (!run.ok()) {
    const std::string& m = run.error().message;
    const bool usage = m.rfind("--", 0) == 0 || m.rfind("unknown transport", 0) == 0 ||
                       m.rfind("no ", 0) == 0;
    return fail(usage ? kExitUsage : kExitFailure, m);
  }
  if (json) {
    std::printf("%s\n", run_to_json(*run).dump(2).c_str());
  } else {
    print_table(stdout, *run);
  }
  if (!plot_dir.empty()) {
    dvmm::Result<PlotOutcome> p = write_plots(plot_dir, *run);
    if (!p.ok()) return fail(kExitFailure, p.error().message);
    if (p->gnuplot_missing) {
      std::fprintf(stderr, "dvmm-bench: gnuplot not found in PATH (install gnuplot-nox, e.g. "
                           "tools/install-deps.sh): continuing without plots\n");
    } else {
      std::fprintf(stderr, "dvmm-bench: %zu plots in %s\n", p->images.size(), plot_dir.c_str());
    }
  }
  return 0;
}
