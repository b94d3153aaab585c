#include "tools/dvmm-bench/report.hpp"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "tools/dvmm-bench/comparisons.hpp"
#include "tools/dvmm-bench/plots.hpp"

namespace dvmm::bench {
namespace {

namespace fs = std::filesystem;

std::string us(uint64_t ns) { return fmt::format("{:.2f}", static_cast<double>(ns) / 1000.0); }

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

void machine_section(std::ostringstream& md, const BenchRun& run) {
  const MachineInfo& m = run.machine;
  md << "## Machine\n\n"
     << "| | |\n|---|---|\n"
     << "| CPU model (/proc/cpuinfo) | " << m.cpu_model << " |\n"
     << "| CPUs | " << m.cpus_online << " online, " << m.cpus_usable << " usable (nproc) |\n"
     << "| Kernel (uname -r) | " << m.kernel << " |\n"
     << "| Virtualised | " << (m.hypervisor_flag ? "yes (`hypervisor` CPU flag)" : "no hypervisor flag")
     << " |\n"
     << "| /dev/kvm | " << (m.dev_kvm ? "present" : "absent") << " |\n\n"
     << "On the project's machines the host is itself a VM and its KVM is software (PVM): "
        "see `/work/shared/FACTS.md`. The machine is shared (two cores, other builds running), "
        "so absolute numbers move from run to run: compare the ratios below, which come from "
        "series measured side by side in one run.\n\n";
}

void method_section(std::ostringstream& md, const ReportConfig& rc, const BenchRun& run) {
  const TransportBenchConfig& c = run.config;
  md << "## Method\n\n"
     << "- Ping-pong round trips between two processes (the benchmark and a forked echo "
        "process), both busy-polling: " << run.cpu_plan << ".\n"
     << "- Clock: `" << run.clock << "` (vDSO; about " << run.clock_overhead_ns
     << " ns per reading here), read just before the send and just after the receive call "
        "that returned the answer.\n"
     << "- " << c.count << " recorded round trips per series, in " << c.rounds
     << " rounds interleaved with every other series (so noise hits all series alike); "
        "each round starts with "
     << (c.warmup > 0 ? fmt::format("{}", c.warmup) : std::string("about 10 %, 50 to 5000,"))
     << " warm-up round trips that are not recorded.\n"
     << "- **raw**: `dataplane::Transport` alone: one frame of the given size, `tx_burst` + "
        "`tx_flush`, echoed unchanged by the other process after `rx_burst`.\n"
     << "- **reliable**: dvmm's protocol stack, `dataplane::ReliableLink` over the same "
        "transport: an I/O request message answered by an I/O response (a forwarded port "
        "access without the device emulation), encoded, decoded, sequenced and acknowledged "
        "(ACKs ride on the messages). Its frames have the messages' own sizes; only frame "
        "sizes that a dvmm message can have today are measured at this layer.\n"
     << "- Percentiles are nearest-rank; `round trips/s` is the recorded round trips over "
        "their wall time (one at a time: a latency-bound rate, not a throughput limit).\n"
     << "- Plots (CDFs, histograms; gnuplot): add `--plot DIR`.\n"
     << "- Regenerate: `" << rc.command_line << "` (took " << fmt::format("{:.0f}", run.wall_s)
     << " s).\n\n";
}

void results_section(std::ostringstream& md, const BenchRun& run) {
  md << "## Transport round trips (shm, udp)\n\n"
     << "| transport | layer | size | on the wire (out / back) | count | p50 µs | p90 µs | "
        "p99 µs | p99.9 µs | max µs | round trips/s |\n"
     << "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const SeriesResult& s : run.series) {
    if (!s.measured) {
      md << "| " << s.transport << " | " << layer_name(s.layer) << " | " << s.size
         << " | not measured: " << s.skip_reason << " | | | | | | | |\n";
      continue;
    }
    if (s.latency.count == 0) {
      md << "| " << s.transport << " | " << layer_name(s.layer) << " | " << s.size
         << " | no round trip recorded: time limit reached | | | | | | | |\n";
      continue;
    }
    const LatencySummary& l = s.latency;
    md << "| " << s.transport << " | " << layer_name(s.layer) << " | " << s.size << " | "
       << s.wire_out << " / " << s.wire_back << " B | " << l.count
       << (s.truncated ? " (truncated)" : "") << " | " << us(l.p50) << " | " << us(l.p90)
       << " | " << us(l.p99) << " | " << us(l.p999) << " | " << us(l.max) << " | "
       << fmt::format("{:.0f}", s.round_trips_per_s) << " |\n";
  }
  md << "\n";
}

void ratios_section(std::ostringstream& md, const BenchRun& run) {
  const std::vector<Ratio> ratios = compute_ratios(run);
  md << "## Side-by-side ratios\n\n"
     << "Ratios of percentiles of series measured in this run (> 1: the first is slower).\n\n";
  const std::pair<const char*, const char*> groups[] = {
      {"reliable/raw", "Protocol stack cost: reliable link vs raw transport"},
      {"udp/shm", "Kernel UDP vs shared-memory rings"},
      {"size", "Frame size: larger frames vs the smallest, raw transport"}};
  for (const auto& [kind, title] : groups) {
    md << "### " << title << "\n\n| comparison | p50 | p99 | p99.9 |\n|---|---:|---:|---:|\n";
    bool any = false;
    for (const Ratio& r : ratios) {
      if (r.kind != kind) continue;
      any = true;
      md << "| " << r.label << " | " << fmt::format("{:.2f}x | {:.2f}x | {:.2f}x", r.p50, r.p99,
                                                    r.p999)
         << " |\n";
    }
    if (!any) md << "| (no pair of series measured for this comparison) | | | |\n";
    md << "\n";
  }
  for (const std::string& n : run.notes) md << "Note: " << n << "\n\n";
}

void plots_section(std::ostringstream& md, const ReportConfig& rc,
                   const std::vector<std::string>& plots) {
  if (plots.empty()) return;
  const fs::path base = fs::absolute(rc.out).parent_path();
  const fs::path dir = fs::relative(fs::absolute(rc.plot_dir), base);
  md << "## Plots\n\n";
  for (const std::string& p : plots) {
    if (p.rfind("cdf-", 0) == 0) md << "![" << p << "](" << (dir / p).string() << ")\n\n";
  }
  md << "Histograms per series: ";
  bool first = true;
  for (const std::string& p : plots) {
    if (p.rfind("hist-", 0) != 0) continue;
    md << (first ? "" : ", ") << "[" << p << "](" << (dir / p).string() << ")";
    first = false;
  }
  md << ".\n\n";
}

void not_yet_section(std::ostringstream& md) {
  md << "## Modes not measured yet\n\n"
     << "These sections are placeholders, kept so that the file shows what is missing. "
        "No numbers are given until `dvmm-bench` can measure them.\n\n"
     << "### ipi: cross-node IPI — NOT MEASURED YET\n\n"
     << "Will measure: a guest vCPU's ICR write on one node to the handler running on a vCPU "
        "of another node and back (guest-observed round trip), and its parts (exit, message, "
        "injection). `dvmm-bench ipi` does not exist yet.\n\n"
     << "### dsm: distributed shared memory page fault — NOT MEASURED YET\n\n"
     << "Will measure: read and write faults on a page held by another node (userfaultfd, "
        "page request, 4 KiB page data, UFFDIO_COPY), as seen by the guest, and invalidation. "
        "Needs the DSM page-data message, which is not in the protocol yet.\n\n"
     << "### dpdk: DPDK transport — NOT MEASURED YET\n\n"
     << "Will measure: the same raw and reliable ping-pong over the DPDK backend (memif, "
        "af_packet over veth). The backend (`dataplane/dpdk`) is being written; `dvmm-bench` does "
        "not drive it yet.\n\n"
     << "### fpga: FPGA offload engine — NOT MEASURED YET\n\n"
     << "Will measure: engine latency in clock cycles from the Verilator simulation and in "
        "nanoseconds at its target clock; on a card, round trips through XRT.\n";
}

}  // namespace

ReportConfig default_report_config() {
  ReportConfig c;
  c.transport.transports = {"shm", "udp"};
  c.transport.sizes = {64, 4096};
  // ~0.3-1.5 µs per shm round trip and ~7-10 µs per udp one here: about
  // 15 s in all, enough samples for a stable p99.9.
  c.transport.count = 200'000;
  c.transport.rounds = 5;
  c.transport.time_limit_s = 120;
  return c;
}

std::string render_report(const ReportConfig& rc, const BenchRun& run,
                          const std::vector<std::string>& plots) {
  std::ostringstream md;
  md << "# dvmm benchmarks\n\n"
     << "<!-- Generated by dvmm-bench report: do not edit by hand, re-run it (see Method). -->\n\n"
     << "Generated " << utc_now() << " by `dvmm-bench report`. Latency of the modes that "
        "exist today; the modes that do not exist yet are listed at the end as not measured.\n\n";
  machine_section(md, run);
  method_section(md, rc, run);
  results_section(md, run);
  ratios_section(md, run);
  plots_section(md, rc, plots);
  not_yet_section(md);
  return md.str();
}

Status run_report(const ReportConfig& rc) {
  // Checked first: the benchmarks take a while, and their results would be
  // lost on a typo in --out.
  const fs::path parent = fs::absolute(rc.out).parent_path();
  if (!fs::is_directory(parent)) {
    return Error::format("--out {}: directory {} does not exist", rc.out, parent.string());
  }
  const BenchRun run = DVMM_TRY(run_transport_bench(rc.transport));
  std::vector<std::string> plots;
  if (!rc.plot_dir.empty()) {
    const PlotOutcome p = DVMM_TRY(write_plots(rc.plot_dir, run));
    if (p.gnuplot_missing) {
      std::fprintf(stderr, "dvmm-bench: gnuplot not found (install gnuplot-nox, e.g. "
                           "tools/install-deps.sh): the report has no plots\n");
    }
    plots = p.images;
  }
  const std::string text = render_report(rc, run, plots);
  std::ofstream f(rc.out);
  f << text;
  f.close();
  if (!f) return Error::format("cannot write {}", rc.out);
  return {};
}

}  // namespace dvmm::bench
