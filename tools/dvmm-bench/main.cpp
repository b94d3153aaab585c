// dvmm-bench: latency benchmarks of dvmm's building blocks.
//
//   dvmm-bench transport [--transport shm,udp,dpdk-memif,dpdk-afpacket|dpdk]
//                        [--size 64,4096] [--count N]
//                        [--warmup N] [--rounds R] [--time-limit S] [--cpus auto|none|A,B]
//                        [--json] [--plot DIR] [--no-progress]
//       ping-pong round trips between two processes over the raw transport
//       and over the reliable protocol stack, side by side, and for the
//       dpdk transports over the PMD alone (their floor; needs root)
//   dvmm-bench dsm [--transport shm,udp] [--pages N] [--count N] [--raw-size 64,4096]
//                  [--min-hold-us U] [--poller-spin-us U] [--time-limit S]
//                  [--cpus auto|none|A,B]
//                  [--json] [--plot DIR] [--no-progress]
//       DSM page-fault latency between two node processes (userfaultfd,
//       protocol engine, reliable link, poller), beside the raw round trip
//   dvmm-bench ipi [--setups native,one-node,shm,udp,dpdk-memif,dpdk-netns] [--boots N]
//                  [--dvmm PATH] [--json]
//       guest-measured IPI round trips: same node vs cross node per transport,
//       beside KVM's in-kernel irqchip on one machine (boots the smp-test guest)
//   dvmm-bench soak [--messages N] [--drop P] [--duplicate P] [--reorder P] [--seed S] [--json]
//                   [--kill-restart [--restart-every N] [--time-limit S]]
//       the reliability layer over a lossy fake network: lost, doubled and
//       misordered deliveries (all must be 0; exit 1 otherwise); with
//       --kill-restart, two processes over UDP, one SIGKILLed and restarted
//       every N deliveries (restart_soak.hpp)
//   dvmm-bench fpga [--no-synth] [--json]
//       the FPGA engine's latency in cycles and its yosys resource estimate
//   dvmm-bench report [--out docs/benchmarks.md] [--count N] [--plot DIR] ...
//       runs every mode that exists and rewrites the benchmark report
//
// Exit status: 0 success, 1 the benchmark failed, 2 usage error (one line
// on stderr).
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/dvmm-bench/dsm_bench.hpp"
#include "tools/dvmm-bench/dsm_output.hpp"
#include "tools/dvmm-bench/ipi_bench.hpp"
#include "tools/dvmm-bench/soak_bench.hpp"
#include "tools/dvmm-bench/restart_soak.hpp"
#include "tools/dvmm-bench/fpga_bench.hpp"
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

// A measuring mode's error: a usage error when the configuration was
// wrong (its messages name the option, or say "unknown transport" / "no
// ..."), else a failure of the benchmark itself.
int fail_run(const dvmm::Error& e) {
  const std::string& m = e.message;
  const bool usage = m.rfind("--", 0) == 0 || m.rfind("unknown transport", 0) == 0 ||
                     m.rfind("no ", 0) == 0;
  return fail(usage ? kExitUsage : kExitFailure, m);
}

// Says what --plot made; the exit status.
int report_plots(const std::string& dir, const dvmm::Result<dvmm::bench::PlotOutcome>& p) {
  if (!p.ok()) return fail(kExitFailure, p.error().message);
  if (p->gnuplot_missing) {
    std::fprintf(stderr, "dvmm-bench: gnuplot not found in PATH (install gnuplot-nox, e.g. "
                         "tools/install-deps.sh): continuing without plots\n");
  } else {
    std::fprintf(stderr, "dvmm-bench: %zu plots in %s\n", p->images.size(), dir.c_str());
  }
  return 0;
}

// --json, --plot DIR, --no-progress: how a measuring subcommand reports.
struct OutputFlags {
  bool json = false;
  std::string plot_dir;
  bool no_progress = false;
  // --json means a script is reading: no terminal escapes even on a tty.
  bool progress() const { return !no_progress && !json && dvmm::bench::stderr_is_tty(); }
};

void add_output_flags(CLI::App* cmd, OutputFlags& f) {
  cmd->add_flag("--json", f.json, "print JSON instead of the table");
  cmd->add_option("--plot", f.plot_dir, "write PNG CDFs and histograms (gnuplot) into DIR");
  cmd->add_flag("--no-progress", f.no_progress, "no progress bar (it is shown only on a tty)");
}

void add_transport_option(CLI::App* cmd, std::vector<std::string>& transports,
                          const std::string& known = "shm, udp") {
  cmd->add_option("--transport", transports, "transports, comma-separated: " + known)
      ->delimiter(',')
      ->capture_default_str();
}

// Options shared by the transport and report subcommands.
void add_run_options(CLI::App* cmd, dvmm::bench::TransportBenchConfig& c) {
  cmd->add_option("--size", c.sizes, "frame sizes in bytes, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--count", c.count, "recorded round trips per series")->capture_default_str();
  cmd->add_option("--dpdk-count", c.dpdk_count,
                  "recorded round trips per series of the dpdk transports (0: --count)")
      ->capture_default_str();
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
  add_transport_option(transport, tc.transports,
                       "shm, udp, dpdk-memif, dpdk-afpacket (dpdk: both; root)");
  add_run_options(transport, tc);
  OutputFlags out;
  add_output_flags(transport, out);

  CLI::App* dsm_cmd = app.add_subcommand(
      "dsm", "DSM page-fault latency between two nodes, beside the transport's raw round trip");
  DsmBenchConfig dc;
  add_transport_option(dsm_cmd, dc.transports);
  dsm_cmd->add_option("--pages", dc.pages, "pages faulted per pass and case")->capture_default_str();
  dsm_cmd->add_option("--count", dc.count, "samples per case (rounded up to whole passes)")
      ->capture_default_str();
  dsm_cmd->add_option("--raw-size", dc.raw_sizes, "raw round-trip frame sizes, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  dsm_cmd->add_option("--min-hold-us", dc.min_hold_us,
                      "how long a node keeps a page it just received (the cluster uses 100)")
      ->capture_default_str();
  dsm_cmd->add_option("--poller-spin-us", dc.poller_spin_us,
                      "the dataplane poller spins this long after its last work, then sleeps "
                      "(the cluster uses 50)")
      ->capture_default_str();
  dsm_cmd->add_option("--time-limit", dc.time_limit_s, "seconds for the whole run; later passes are cut")
      ->capture_default_str();
  dsm_cmd->add_option("--cpus", dc.cpus, "auto (two usable CPUs), none, or A,B (node 0, node 1)")
      ->capture_default_str();
  OutputFlags dsm_out;
  add_output_flags(dsm_cmd, dsm_out);

  CLI::App* ipi_cmd = app.add_subcommand(
      "ipi", "guest-measured IPI round trips: in-kernel irqchip, one node, same vs cross node");
  IpiBenchConfig ic;
  ic.setups = kIpiSetups;
  ic.dvmm_binary = default_dvmm_binary();
  auto add_ipi_options = [](CLI::App* cmd, IpiBenchConfig& c, const std::string& prefix) {
    cmd->add_option("--" + prefix + "setups", c.setups,
                    "set-ups, comma-separated: native, one-node, shm, udp, dpdk-memif, dpdk-netns")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--" + prefix + "boots", c.boots, "guest boots per set-up (200 round trips "
                    "to each AP per boot)")
        ->capture_default_str();
    cmd->add_option("--dvmm", c.dvmm_binary, "the dvmm binary")->capture_default_str();
  };
  add_ipi_options(ipi_cmd, ic, "");
  bool ipi_json = false;
  ipi_cmd->add_flag("--json", ipi_json, "print JSON instead of the table");
  std::string ipi_plot_dir;
  ipi_cmd->add_option("--plot", ipi_plot_dir, "write PNG CDFs and histograms (gnuplot) into DIR");

  CLI::App* soak_cmd = app.add_subcommand(
      "soak", "exactly-once check of the reliability layer over a lossy fake network, long run");
  SoakConfig sc;
  soak_cmd->add_option("--messages", sc.messages,
                       "messages each way (--kill-restart: from the survivor)")
      ->capture_default_str();
  soak_cmd->add_option("--drop", sc.drop, "share of frames lost")->capture_default_str();
  soak_cmd->add_option("--duplicate", sc.duplicate, "share of frames delivered twice")
      ->capture_default_str();
  soak_cmd->add_option("--reorder", sc.reorder, "share of frames held back")->capture_default_str();
  soak_cmd->add_option("--seed", sc.seed, "the network's random seed")->capture_default_str();
  bool soak_json = false;
  soak_cmd->add_flag("--json", soak_json, "print JSON instead of the table");
  bool kill_restart = false;
  soak_cmd->add_flag("--kill-restart", kill_restart,
                     "two processes over UDP instead, one SIGKILLed and restarted repeatedly");
  RestartSoakConfig rsc;
  soak_cmd->add_option("--restart-every", rsc.restart_every,
                       "--kill-restart: new deliveries between kills (drawn from half to 1.5 times)")
      ->capture_default_str();
  soak_cmd->add_option("--time-limit", rsc.time_limit_s,
                       "--kill-restart: seconds before the run counts as stalled")
      ->capture_default_str();

  CLI::App* fpga_cmd = app.add_subcommand(
      "fpga", "the FPGA engine: latency in cycles (Verilator testbench), yosys resource estimate");
  FpgaBenchConfig fc;
  bool no_synth = false;
  fpga_cmd->add_flag("--no-synth", no_synth, "skip the yosys estimate (it takes minutes)");
  bool fpga_json = false;
  fpga_cmd->add_flag("--json", fpga_json, "print JSON instead of the tables");

  CLI::App* report = app.add_subcommand(
      "report", "run every benchmark mode that exists and rewrite the Markdown report");
  ReportConfig rc = default_report_config();
  report->add_option("--out", rc.out, "the report to write")->capture_default_str();
  add_run_options(report, rc.transport);
  report->add_option("--dsm-count", rc.dsm.count, "samples per DSM fault case")
      ->capture_default_str();
  report->add_option("--plot", rc.plot_dir, "also write plots into DIR and link them");
  add_ipi_options(report, rc.ipi, "ipi-");
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
    rc.dsm.progress = rc.transport.progress;
    rc.dsm.cpus = rc.transport.cpus;  // one --cpus for both modes
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

  if (fpga_cmd->parsed()) {
    fc.synth = !no_synth;
    dvmm::Result<FpgaBenchResult> r = run_fpga_bench(fc);
    if (!r.ok()) return fail_run(r.error());
    if (fpga_json) {
      std::printf("%s\n", fpga_result_to_json(*r).dump(2).c_str());
    } else {
      std::printf("%s", fpga_tables(*r).c_str());
    }
    return 0;
  }

  if (soak_cmd->parsed() && kill_restart) {
    rsc.messages = sc.messages;
    rsc.drop = sc.drop;
    rsc.duplicate = sc.duplicate;
    rsc.reorder = sc.reorder;
    rsc.seed = sc.seed;
    dvmm::Result<RestartSoakResult> r = run_restart_soak(rsc);
    if (!r.ok()) {
      const std::string& m = r.error().message;
      return fail(m.rfind("soak: ", 0) == 0 ? kExitUsage : kExitFailure, m);
    }
    if (soak_json) {
      std::printf("%s\n", restart_soak_to_json(*r).dump(2).c_str());
    } else {
      std::printf("%s", restart_soak_table(*r).c_str());
    }
    // A stall, or any lost, doubled or misordered delivery, is a failed run.
    return r->clean() ? 0 : kExitFailure;
  }

  if (soak_cmd->parsed()) {
    dvmm::Result<SoakResult> r = run_soak(sc);
    if (!r.ok()) return fail(kExitUsage, r.error().message);
    if (soak_json) {
      std::printf("%s\n", soak_to_json(*r).dump(2).c_str());
    } else {
      std::printf("%s", soak_table(*r).c_str());
    }
    // Any lost, doubled or misordered delivery is a failed run.
    return r->lost + r->doubled + r->misordered == 0 ? 0 : kExitFailure;
  }

  if (ipi_cmd->parsed()) {
    dvmm::Result<IpiBenchResult> r = run_ipi_bench(ic);
    if (!r.ok()) return fail_run(r.error());
    if (ipi_json) {
      std::printf("%s\n", ipi_result_to_json(*r).dump(2).c_str());
    } else {
      std::printf("%s", ipi_table(*r).c_str());
    }
    if (!ipi_plot_dir.empty()) return report_plots(ipi_plot_dir, write_ipi_plots(ipi_plot_dir, *r));
    return 0;
  }

  if (dsm_cmd->parsed()) {
    dc.progress = dsm_out.progress();
    dvmm::Result<DsmRun> run = run_dsm_bench(dc);
    if (!run.ok()) return fail_run(run.error());
    if (dsm_out.json) {
      std::printf("%s\n", dsm_run_to_json(*run).dump(2).c_str());
    } else {
      print_dsm_table(stdout, *run);
    }
    if (!dsm_out.plot_dir.empty()) {
      return report_plots(dsm_out.plot_dir, write_dsm_plots(dsm_out.plot_dir, *run));
    }
    return 0;
  }

  tc.progress = out.progress();
  dvmm::Result<BenchRun> run = run_transport_bench(tc);
  if (!run.ok()) return fail_run(run.error());
  if (out.json) {
    std::printf("%s\n", run_to_json(*run).dump(2).c_str());
  } else {
    print_table(stdout, *run);
  }
  if (!out.plot_dir.empty()) return report_plots(out.plot_dir, write_plots(out.plot_dir, *run));
  return 0;
}
