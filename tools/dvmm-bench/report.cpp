#include "tools/dvmm-bench/report.hpp"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/comparisons.hpp"
#include "tools/dvmm-bench/dpdk_endpoint.hpp"
#include "tools/dvmm-bench/dsm_output.hpp"
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

void method_section(std::ostringstream& md, const ReportConfig& rc, const BenchRun& run,
                    double total_s) {
  const TransportBenchConfig& c = run.config;
  md << "## Method\n\n"
     << "- Ping-pong round trips between two processes (the benchmark and a forked echo "
        "process; for dpdk two forked processes), both busy-polling: " << run.cpu_plan << ".\n"
     << "- Clock: `" << run.clock << "` (vDSO; about " << run.clock_overhead_ns
     << " ns per reading here), read just before the send and just after the receive call "
        "that returned the answer.\n"
     << "- " << c.count << " recorded round trips per series"
     << (c.dpdk_count != 0
             ? fmt::format(" ({} for the dpdk transports: fewer, to keep the report to a few "
                           "minutes on this loaded machine)",
                           c.dpdk_count)
             : std::string())
     << ", in " << c.rounds
     << " rounds interleaved with every other series (so noise hits all series alike); "
        "each round starts with "
     << (c.warmup > 0 ? fmt::format("{}", c.warmup) : std::string("about 10 %, 50 to 5000,"))
     << " warm-up round trips that are not recorded.\n"
     << "- **raw**: `dataplane::Transport` alone: one frame of the given size, `tx_burst` + "
        "`tx_flush`, echoed unchanged by the other process after `rx_burst`.\n"
     << "- **pmd** (dpdk transports only): the floor, no dvmm code in the loop: "
        "`rte_eth_tx_burst` / `rte_eth_rx_burst` on the port the dpdk transport opened, an "
        "Ethernet frame as long as the raw layer's (16 + size bytes), sent from one "
        "preallocated mbuf (the PMD copies it; no allocation or copy by the application), "
        "echoed by the other process with its MACs swapped.\n"
     << "- **dpdk-memif**: `net_memif` between the two processes (bsize=9216, copy mode, "
        "abstract socket unique per run); **dpdk-afpacket**: `net_af_packet` "
        "(framesz=blocksz=8192) on each end of a veth pair (MTU 9000) whose ends are in two "
        "network namespaces the benchmark creates and removes. EAL: `--no-huge --no-pci -m 256 "
        "--no-shconf --no-telemetry`. An EAL starts once per process and does not survive "
        "fork, so both DPDK ends are processes forked for the purpose (the benchmark process "
        "only collects their samples), pinned as above. Both ends busy-poll, as for shm and "
        "udp (dvmm's adaptive polling is not measured here).\n"
     << "- **reliable**: dvmm's protocol stack, `dataplane::ReliableLink` over the same "
        "transport: an I/O request message answered by an I/O response (a forwarded port "
        "access without the device emulation), encoded, decoded, sequenced and acknowledged "
        "(ACKs ride on the messages). Its frames have the messages' own sizes; only frame "
        "sizes that a dvmm message can have today are measured at this layer.\n"
     << "- **authenticated**: the same stack over `dataplane::AuthenticatedTransport` "
        "(`cluster.key_file`): every frame carries a 16-byte keyed BLAKE2b tag (libsodium), "
        "made by the sender and checked by the receiver; the cost of peer authentication "
        "beside the reliable layer.\n"
     << "- Percentiles are nearest-rank; `round trips/s` is the recorded round trips over "
        "their wall time (one at a time: a latency-bound rate, not a throughput limit).\n"
     << "- Plots (CDFs, histograms; gnuplot): add `--plot DIR`.\n"
     << "- Regenerate: `" << rc.command_line << "` (took " << fmt::format("{:.0f}", total_s)
     << " s in all, the transport round trips " << fmt::format("{:.0f}", run.wall_s)
     << " s of it).\n\n";
}

void results_section(std::ostringstream& md, const BenchRun& run) {
  std::string names;
  for (const std::string& t : run.config.transports) names += (names.empty() ? "" : ", ") + t;
  md << "## Transport round trips (" << names << ")\n\n"
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

// The dpdk transports' layers over their PMD floor: ratios and the time
// added at p50.
void over_pmd_table(std::ostringstream& md, const std::vector<Ratio>& ratios) {
  md << "### What dvmm adds over the raw PMD round trip (dpdk)\n\n"
     << "`raw / pmd`: dvmm's transport layer (`DpdkTransport`: the frame copied into an mbuf "
        "behind its header, the Tx buffer, on receipt the checks and the copy out). "
        "`reliable / pmd`: that plus the reliability layer and the message codec "
        "(`ReliableLink`: encode, sequence, ACK, decode).\n\n"
     << "| comparison | p50 | p99 | p99.9 | added at p50 |\n|---|---:|---:|---:|---:|\n";
  bool any = false;
  for (const Ratio& r : ratios) {
    if (r.kind != "over-pmd") continue;
    any = true;
    md << "| " << r.label << " | "
       << fmt::format("{:.2f}x | {:.2f}x | {:.2f}x | {:+.2f} µs", r.p50, r.p99, r.p999,
                      r.p50_added_us)
       << " |\n";
  }
  if (!any) md << "| (no dpdk transport measured in this run) | | | | |\n";
  md << "\n";
}

void ratios_section(std::ostringstream& md, const BenchRun& run) {
  const std::vector<Ratio> ratios = compute_ratios(run);
  md << "## Side-by-side ratios\n\n"
     << "Ratios of percentiles of series measured in this run (> 1: the first is slower).\n\n";
  over_pmd_table(md, ratios);
  auto vs_shm = [](const std::string& kind) {
    return kind.size() > 4 && kind.compare(kind.size() - 4, 4, "/shm") == 0;
  };
  const std::pair<std::function<bool(const std::string&)>, const char*> groups[] = {
      {[](const std::string& k) { return k == "reliable/raw"; },
       "Protocol stack cost: reliable link vs raw transport"},
      {[](const std::string& k) { return k == "authenticated/reliable"; },
       "Peer authentication cost: keyed BLAKE2b tag on every frame vs none"},
      {vs_shm, "Other transports vs shared-memory rings"},
      {[](const std::string& k) { return k == "size"; },
       "Frame size: larger frames vs the smallest, raw transport"}};
  for (const auto& [in_group, title] : groups) {
    md << "### " << title << "\n\n| comparison | p50 | p99 | p99.9 |\n|---|---:|---:|---:|\n";
    bool any = false;
    for (const Ratio& r : ratios) {
      if (!in_group(r.kind)) continue;
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

void dsm_section(std::ostringstream& md, const DsmRun& run) {
  const DsmBenchConfig& c = run.config;
  md << "## DSM fault latency\n\n"
     << "Measured by `dvmm-bench dsm` in the same report run (took "
     << fmt::format("{:.0f}", run.wall_s) << " s; same machine as above).\n\n"
     << "- Two node processes, each with what a dvmm node runs for guest RAM: a private "
        "anonymous mapping registered with userfaultfd (`dsm::UffdRegion`, its fault thread), "
        "the protocol engine (`dsm::DsmProtocol`), a `ReliableLink` over the transport and the "
        "adaptive dataplane poller thread (spins " << c.poller_spin_us
     << " µs after its last work, then sleeps; the cluster's setting). Node 0 (the benchmark, "
        "initial owner of every page) on one CPU, node 1 (a forked peer) on the other: "
     << run.cpu_plan << ". Page homes alternate between the nodes.\n"
     << "- Each sample is one access by node 0's measuring thread, timed around the access "
        "itself (as a vCPU would see the fault): " << run.passes_done << " passes over "
     << c.pages << " pages, every case and transport in turn in each pass; the raw round "
        "trips come from the transport mode's raw ping-pong (busy-polling, its own echo "
        "process), run between the DSM cases of each pass.\n"
     << "- `uffd_local`: read of a page node 0 holds but has not populated: the fault, the "
        "fault thread, the engine's local grant, `UFFDIO_COPY`, the wake-up; no network. The "
        "floor of every fault here.\n"
     << "- `read_remote`: first read of a page node 1 has just written (node 1 holds it "
        "exclusively; the 4 KiB page travels). `write_upgrade`: write to that page right after "
        "(held shared: node 1's copy is invalidated, no data travels). `write_remote`: a locked "
        "add to a page node 1 has just written. Before each of these loops node 0 waits out "
        "the engine's hold time (" << c.min_hold_us
     << " µs), so the samples show the transfer, not the hold.\n"
     << "- `bounce`: both nodes take turns writing one page (a locked compare-exchange, a "
        "spinlock's pattern); one sample is the page's round trip node 0 -> node 1 -> node 0, "
        "so it contains the hold time twice: `per s` is the page's round-trip rate.\n"
     << "- Every value read is checked (a stale copy or a lost update fails the run); "
        "`engine` is node 0's own request-to-install time (its counters; a mean).\n\n"
     << "| transport | case | count | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | per s |\n"
     << "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const DsmSeries& s : run.series) {
    if (s.latency.count == 0) {
      md << "| " << s.transport << " | " << s.name << " | no sample: time limit reached | | | | | | |\n";
      continue;
    }
    const LatencySummary& l = s.latency;
    md << "| " << s.transport << " | " << s.name << " | " << l.count
       << (s.truncated ? " (truncated)" : "") << " | " << us(l.p50) << " | " << us(l.p90) << " | "
       << us(l.p99) << " | " << us(l.p999) << " | " << us(l.max) << " | "
       << fmt::format("{:.0f}", s.per_s) << " |\n";
  }
  md << "\n### Fault latency vs the raw 4 KiB round trip\n\n"
     << "| transport | comparison | p50 | p99 | p99.9 |\n|---|---|---:|---:|---:|\n";
  for (const DsmRatio& r : dsm_ratios(run)) {
    md << "| " << r.transport << " | " << r.label << " | "
       << fmt::format("{:.1f}x | {:.1f}x | {:.1f}x", r.p50, r.p99, r.p999) << " |\n";
  }
  md << "\n### Where a fault's time goes (p50)\n\n"
     << "fault p50 = raw 4 KiB round trip p50 + `uffd_local` p50 + the rest (differences of "
        "medians: an order of magnitude, not an exact split). The rest is the protocol's "
        "messages, copies and the threads' wake-ups; `engine` says how much of the fault node "
        "0's engine itself saw (request to install).\n\n"
     << "| transport | case | fault µs | raw 4 KiB RTT µs | uffd_local µs | rest µs | engine µs (mean) |\n"
     << "|---|---|---:|---:|---:|---:|---:|\n";
  for (const DsmBreakdown& b : dsm_breakdown(run)) {
    md << "| " << b.transport << " | " << b.name << " | " << us(b.fault_p50) << " | "
       << us(b.rtt_p50) << " | " << us(b.floor_p50) << " | "
       << fmt::format("{:.2f}", static_cast<double>(b.rest_ns) / 1000.0) << " | "
       << us(b.engine_mean_ns) << " |\n";
  }
  md << "\n";
  for (const std::string& n : run.notes) md << "Note: " << n << "\n\n";
}

void plots_section(std::ostringstream& md, const ReportConfig& rc,
                   const std::vector<std::string>& plots) {
  if (plots.empty()) return;
  const fs::path base = fs::absolute(rc.out).parent_path();
  const fs::path dir = fs::relative(fs::absolute(rc.plot_dir), base);
  md << "## Plots\n\n";
  for (const std::string& p : plots) {
    if (p.find("cdf-") != std::string::npos) md << "![" << p << "](" << (dir / p).string() << ")\n\n";
  }
  md << "Histograms per series: ";
  bool first = true;
  for (const std::string& p : plots) {
    if (p.find("hist-") == std::string::npos) continue;
    md << (first ? "" : ", ") << "[" << p << "](" << (dir / p).string() << ")";
    first = false;
  }
  md << ".\n\n";
}

void ipi_section(std::ostringstream& md, const IpiBenchResult& ipi) {
  md << "## IPI round trips, as the guest sees them\n\n"
     << "Measured by `dvmm-bench ipi` in the same report run: the bundled smp-test guest with "
        "`bench-ipi` on its command line starts its APs, then its BSP sends 200 fixed IPIs to each "
        "AP in turn (the AP's handler answers with an IPI back) and prints every round trip in "
        "TSC cycles (ICR write to the reply's handler, as the BSP's loop sees it). 4 vCPUs; "
        "cluster set-ups put vCPUs 0-1 on node 0 and 2-3 on node 1, so CPU 1 is on the BSP's "
        "node and CPUs 2-3 are across the transport; guest RAM is the shared file in every "
        "set-up, so only the interrupt path is measured. µs at the TSC rate measured here ("
     << fmt::format("{:.3f}", ipi.tsc_hz / 1e9)
     << " GHz).\n\n"
        "- **native**: one process with KVM's in-kernel LAPICs/IOAPIC (`dvmm run --irqchip "
        "kernel`): what one machine gives, the baseline.\n"
        "- **one-node**: one process with dvmm's userspace LAPICs (what every cluster node "
        "runs): the cost of taking the APIC out of the kernel.\n"
        "- **shm, udp, dpdk-memif, dpdk-netns**: two node processes over that transport "
        "(dpdk-netns: each node in its own network namespace, net_af_packet on a veth).\n\n"
     << ipi_table(ipi)
     << "\nOn this host ring-0 guest code is emulated (PVM) and every exit and wake-up costs "
        "tens of µs, so absolute numbers are far above bare-metal VMX; compare the ratios.\n\n";
}

void soak_section(std::ostringstream& md, const SoakResult& soak,
                  const RestartSoakResult& restart) {
  md << "## Exactly-once soak\n\n"
     << "Measured by `dvmm-bench soak` in the same report run: two `ReliableLink`s exchange "
        "numbered messages both ways over the fake network, which drops, duplicates and reorders "
        "the stated share of frames (10 µs one-way delay, 5 µs jitter, virtual time, seed "
     << soak.config.seed
     << "); every delivery is checked against the numbers sent. Lost, doubled and misordered "
        "must all be 0 (the report fails otherwise).\n\n"
     << soak_table(soak) << "\n"
     << "With a peer killed and restarted (`dvmm-bench soak --kill-restart --restart-every "
     << restart.config.restart_every
     << "`): two processes over UDP on the loopback, each behind the same share of receive-side "
        "drops, duplicates and reorders; the survivor sends numbered messages, the other process "
        "answers each one and is SIGKILLed and started again (a new incarnation, same address) "
        "after every ~"
     << restart.config.restart_every
     << " new deliveries. Lost, doubled and misordered count both directions and must be 0; a "
        "message the killed incarnation delivered but had not yet acknowledged is delivered "
        "again by the next (redelivered), and its own unacknowledged answers die with it "
        "(tools/dvmm-bench/restart_audit.hpp has the definitions).\n\n"
     << restart_soak_table(restart) << "\n";
}

void fpga_section(std::ostringstream& md, const FpgaBenchResult& fpga, const BenchRun& run) {
  md << "## FPGA offload engine\n\n"
     << "Measured by `dvmm-bench fpga` in the same report run: the engine's latency from the "
        "whole-engine Verilator testbench (`tb_engine`: cycles between the events named, links "
        "idle; ns at the clock the testbench assumes, since no place-and-route has been run), "
        "and its resource estimate from yosys `synth_xilinx` (fpga/synth). docs/fpga.md has "
        "the design.\n\n"
     << fpga_tables(fpga) << "\n";
  // The software path's cost per message, from this run's transport series:
  // what the reliable stack adds to a raw round trip, halved (two messages).
  md << "Beside it, the software path: what dvmm's reliability layer and codec add per message "
        "(half the reliable-minus-raw round trip at 64 B, p50, this run):";
  bool any = false;
  for (const SeriesResult& rel : run.series) {
    if (rel.layer != Layer::kReliable || rel.size != 64 || !rel.measured || rel.latency.count == 0) {
      continue;
    }
    for (const SeriesResult& raw : run.series) {
      if (raw.transport != rel.transport || raw.size != 64 || raw.layer != Layer::kRaw ||
          raw.latency.count == 0) {
        continue;
      }
      const double per_msg_ns =
          (static_cast<double>(rel.latency.p50) - static_cast<double>(raw.latency.p50)) / 2;
      md << fmt::format("{} {} {:.0f} ns", any ? "," : "", rel.transport, per_msg_ns);
      any = true;
    }
  }
  md << (any ? "" : " not measured in this run") << ". In co-simulation the card kernel (the "
        "engine behind its host rings) costs the host about 38 µs of CPU per message "
        "(Verilator's model evaluation, docs/fpga.md): it proves the protocol, not the speed.\n\n";
}

}  // namespace

ReportConfig default_report_config() {
  ReportConfig c;
  // The dpdk ones are reported as not measured (with the reason) where
  // DPDK was not built or the report does not run as root.
  c.transport.transports = {"shm", "udp", std::string(kDpdkMemif), std::string(kDpdkAfPacket)};
  c.transport.sizes = {64, 4096};
  // ~0.3-1.5 µs per shm round trip, ~1-3 µs memif, ~5-10 µs af_packet and
  // ~7-12 µs udp here: about a minute in all, enough samples for a stable
  // p99.9.
  c.transport.count = 200'000;
  // 5 series per dpdk transport, af_packet's ~5-9 µs (~25 k/s with the
  // scheduler's interruptions on a loaded machine): half as many samples,
  // still 100 beyond p99.9.
  c.transport.dpdk_count = 100'000;
  c.transport.rounds = 5;
  c.transport.time_limit_s = 150;
  // 64 passes over 64 pages: ~4000 faults per case and transport, about
  // 10-20 s in all (a remote fault takes ~0.1 ms here, a bounce ~0.6 ms).
  c.dsm.transports = {"shm", "udp"};  // the dsm mode has no dpdk lanes yet
  c.dsm.count = 4096;
  // 3 boots x 200 round trips to each AP: a few seconds per set-up.
  c.ipi.setups = kIpiSetups;
  c.ipi.boots = 3;
  // A million messages each way: ~30 s in a release build.
  c.soak.messages = 1'000'000;
  // About 20 s: timeouts, not the CPU, bound a lossy real-time link.
  c.restart_soak.messages = 100'000;
  c.restart_soak.restart_every = 10'000;
  c.restart_soak.time_limit_s = 300;
  c.ipi.dvmm_binary = default_dvmm_binary();
  return c;
}

// Sections measured outside the report's run (a Linux boot takes many
// minutes here: docs/linux.md) start at this marker in the page; a
// regenerated page keeps them from the old one, after its own.
constexpr std::string_view kKeptMarker = "<!-- Kept by dvmm-bench report:";

std::string kept_sections(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "";
  const std::string old((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t at = old.find(kKeptMarker);
  return at == std::string::npos ? "" : "\n" + old.substr(at);
}

std::string render_report(const ReportConfig& rc, const BenchRun& run, const DsmRun& dsm,
                          const IpiBenchResult& ipi, const SoakResult& soak,
                          const RestartSoakResult& restart_soak, const FpgaBenchResult& fpga, const std::vector<std::string>& plots,
                          double total_s) {
  std::ostringstream md;
  md << "# dvmm benchmarks\n\n"
     << "<!-- Generated by dvmm-bench report: do not edit by hand, re-run it (see Method). -->\n\n"
     << "Generated " << utc_now() << " by `dvmm-bench report`. Latency of the modes that "
        "exist today: transport round trips, DSM faults, guest IPIs, the exactly-once soak and the "
        "FPGA engine; a part that cannot run on the machine says so instead of giving "
        "numbers.\n\n";
  machine_section(md, run);
  method_section(md, rc, run, total_s);
  results_section(md, run);
  ratios_section(md, run);
  dsm_section(md, dsm);
  ipi_section(md, ipi);
  soak_section(md, soak, restart_soak);
  fpga_section(md, fpga, run);
  plots_section(md, rc, plots);
  return md.str();
}

Status run_report(const ReportConfig& rc) {
  // Checked first: the benchmarks take a while, and their results would be
  // lost on a typo in --out.
  const fs::path parent = fs::absolute(rc.out).parent_path();
  if (!fs::is_directory(parent)) {
    return Error::format("--out {}: directory {} does not exist", rc.out, parent.string());
  }
  const uint64_t start = now_ns();
  const BenchRun run = DVMM_TRY(run_transport_bench(rc.transport));
  const DsmRun dsm = DVMM_TRY(run_dsm_bench(rc.dsm));
  const IpiBenchResult ipi = DVMM_TRY(run_ipi_bench(rc.ipi));
  const SoakResult soak = DVMM_TRY(run_soak(rc.soak));
  const RestartSoakResult restart_soak = DVMM_TRY(run_restart_soak(rc.restart_soak));
  const FpgaBenchResult fpga = DVMM_TRY(run_fpga_bench(rc.fpga));
  if (soak.lost + soak.doubled + soak.misordered != 0) {
    return Error::format("the soak lost {}, doubled {} and misordered {} deliveries: the "
                         "reliability layer is broken (seed {})",
                         soak.lost, soak.doubled, soak.misordered, rc.soak.seed);
  }
  if (!restart_soak.clean()) {
    return Error::format("the kill-restart soak failed (seed {}): {}", rc.restart_soak.seed,
                         restart_soak_table(restart_soak));
  }
  std::vector<std::string> plots;
  if (!rc.plot_dir.empty()) {
    const PlotOutcome p = DVMM_TRY(write_plots(rc.plot_dir, run));
    if (p.gnuplot_missing) {
      std::fprintf(stderr, "dvmm-bench: gnuplot not found (install gnuplot-nox, e.g. "
                           "tools/install-deps.sh): the report has no plots\n");
    }
    plots = p.images;
    // Its own directory: each plot set has its own plots.gp and data/.
    const PlotOutcome d = DVMM_TRY(write_dsm_plots(rc.plot_dir + "/dsm", dsm));
    for (const std::string& image : d.images) plots.push_back("dsm/" + image);
    const PlotOutcome i = DVMM_TRY(write_ipi_plots(rc.plot_dir + "/ipi", ipi));
    for (const std::string& image : i.images) plots.push_back("ipi/" + image);
  }
  const std::string text =
      render_report(rc, run, dsm, ipi, soak, restart_soak, fpga, plots,
                    static_cast<double>(now_ns() - start) / 1e9) +
      kept_sections(rc.out);
  std::ofstream f(rc.out);
  f << text;
  f.close();
  if (!f) return Error::format("cannot write {}", rc.out);
  return {};
}

}  // namespace dvmm::bench
