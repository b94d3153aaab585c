#include "tools/dvmm-bench/ipi_bench.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "tools/dvmm-bench/bench_clock.hpp"
#include "tools/dvmm-bench/command.hpp"
#include "tools/dvmm-bench/json_output.hpp"
#include "tools/dvmm-bench/machine_info.hpp"
#include "tools/dvmm-bench/plots.hpp"

namespace dvmm::bench {

namespace {

constexpr auto kBootTimeout = std::chrono::seconds(180);

double measure_tsc_hz() {
  const uint64_t t0 = now_ns();
  const uint64_t c0 = __rdtsc();
  while (now_ns() - t0 < 50'000'000) {
  }
  const uint64_t t1 = now_ns();
  const uint64_t c1 = __rdtsc();
  return static_cast<double>(c1 - c0) * 1e9 / static_cast<double>(t1 - t0);
}

// A UDP port nobody uses right now (the kernel's pick), for the udp set-up.
uint16_t free_udp_port() {
  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  uint16_t port = 7100;
  if (s >= 0 && bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  if (s >= 0) close(s);
  return port;
}

// The cluster file of a two-node set-up: vCPUs 0-1 on node 0, 2-3 on node 1.
std::string cluster_toml(const std::string& setup, uint32_t cluster_id) {
  std::string transport = setup.rfind("dpdk", 0) == 0 ? "dpdk" : setup;
  std::string t = fmt::format(
      "[vm]\nvcpus = 4\nmemory = \"64M\"\ncmdline = \"bench-ipi\"\n\n"
      "[cluster]\nid = {}\ntransport = \"{}\"\nmemory = \"shared\"\n\n",
      cluster_id, transport);
  const char* eal = "eal_args = [\"--no-huge\", \"--no-pci\", \"-m\", \"256\", \"--no-shconf\", "
                    "\"--no-telemetry\", \"--log-level=*:error\"]\n";
  if (setup == "dpdk-netns") t += fmt::format("[dpdk]\n{}network = \"namespaces\"\n\n", eal);
  if (setup == "dpdk-memif") t += fmt::format("[dpdk]\n{}\n", eal);
  const uint16_t port = setup == "udp" ? free_udp_port() : 0;
  for (int node = 0; node < 2; ++node) {
    t += fmt::format("[[node]]\nid = {}\nvcpus = [{}, {}]\n", node, 2 * node, 2 * node + 1);
    if (setup == "udp") t += fmt::format("address = \"127.0.0.{}:{}\"\n", node + 1, port);
    if (setup == "dpdk-memif") {
      t += fmt::format("eal_args = [\"--vdev=net_memif0,role={},bsize=9216,"
                       "socket=/run/dvmm-bench-{{instance}}.memif\"]\n",
                       node == 0 ? "server" : "client");
    }
    t += "\n";
  }
  return t;
}

// "ipi-rtt cpuN: c c c ..." lines -> samples per CPU.
std::map<unsigned, std::vector<uint64_t>> parse_samples(const std::string& out) {
  std::map<unsigned, std::vector<uint64_t>> by_cpu;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    unsigned cpu = 0;
    int used = 0;
    if (std::sscanf(line.c_str(), "ipi-rtt cpu%u:%n", &cpu, &used) != 1 || used == 0) continue;
    std::istringstream values(line.substr(static_cast<size_t>(used)));
    uint64_t v = 0;
    while (values >> v) by_cpu[cpu].push_back(v);
  }
  return by_cpu;
}

std::string path_of(const std::string& setup, unsigned cpu) {
  if (setup == "native") return "in-kernel irqchip";
  if (setup == "one-node") return "dvmm LAPIC, one node";
  return cpu < 2 ? "same node" : "cross node";
}

}  // namespace

std::string default_dvmm_binary() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "dvmm";
  return (self.parent_path() / "dvmm").string();
}

Result<IpiBenchResult> run_ipi_bench(const IpiBenchConfig& config) {
  if (access(config.dvmm_binary.c_str(), X_OK) != 0) {
    return Error::format("ipi: cannot run dvmm at '{}': build it (cmake --build) or pass --dvmm",
                         config.dvmm_binary);
  }
  char tmpl[] = "/tmp/dvmm-bench-ipi-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Error::from_errno("mkdtemp");
  const std::filesystem::path dir = tmpl;
  struct RemoveDir {
    std::filesystem::path p;
    ~RemoveDir() {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  } cleanup{dir};

  IpiBenchResult result;
  result.tsc_hz = measure_tsc_hz();
  for (const std::string& setup : config.setups) {
    if (std::find(kIpiSetups.begin(), kIpiSetups.end(), setup) == kIpiSetups.end()) {
      return Error::format("ipi: unknown set-up '{}' (choose from native, one-node, shm, udp, "
                           "dpdk-memif, dpdk-netns)",
                           setup);
    }
    if (setup.rfind("dpdk", 0) == 0 && geteuid() != 0) {
      result.skipped.emplace_back(setup, "needs root (DPDK PMDs, network namespaces)");
      continue;
    }
    std::vector<std::string> argv{config.dvmm_binary, "run"};
    if (setup == "native" || setup == "one-node") {
      argv.insert(argv.end(), {"--vcpus", "4", "--memory", "64M", "--cmdline", "bench-ipi"});
      if (setup == "native") argv.insert(argv.end(), {"--irqchip", "kernel"});
    } else {
      const auto file = dir / (setup + ".toml");
      std::ofstream(file) << cluster_toml(setup, 900 + static_cast<uint32_t>(result.series.size()));
      argv.push_back(file.string());
    }
    std::map<unsigned, std::vector<uint64_t>> pooled;
    std::string failure;
    for (unsigned boot = 0; boot < config.boots && failure.empty(); ++boot) {
      auto r = run_command(argv, kBootTimeout);
      if (!r) return r.error();
      auto samples = parse_samples(r->out);
      if (r->timed_out) {
        failure = fmt::format("did not finish within {} s", kBootTimeout.count());
      } else if (r->exit_status != 0 || samples.empty() ||
                 r->out.find("smp-test: all passed") == std::string::npos) {
        failure = fmt::format("dvmm exited with {}: {}", r->exit_status,
                              last_line(r->err.empty() ? r->out : r->err));
      }
      for (auto& [cpu, v] : samples) pooled[cpu].insert(pooled[cpu].end(), v.begin(), v.end());
    }
    if (!failure.empty()) {
      result.skipped.emplace_back(setup, failure);
      continue;
    }
    // One series per path: CPUs on the same path pool their samples.
    std::map<std::string, std::vector<uint64_t>> by_path;
    for (auto& [cpu, v] : pooled) {
      auto& dst = by_path[path_of(setup, cpu)];
      dst.insert(dst.end(), v.begin(), v.end());
    }
    for (auto& [path, v] : by_path) {
      std::sort(v.begin(), v.end());
      IpiSeries s{setup, path, std::move(v), {}};
      s.summary = summarize(s.cycles);
      result.series.push_back(std::move(s));
    }
  }
  return result;
}

Result<PlotOutcome> write_ipi_plots(const std::string& dir, const IpiBenchResult& r) {
  // The plots speak nanoseconds; the guest measured TSC cycles.
  std::vector<std::vector<uint64_t>> ns(r.series.size());
  PlotSet set;
  set.what = "IPI round trip";
  CdfChart cdf{"cdf-ipi.png", "guest-measured IPI round trips", {}};
  for (size_t i = 0; i < r.series.size(); ++i) {
    const IpiSeries& s = r.series[i];
    for (uint64_t c : s.cycles) {
      ns[i].push_back(static_cast<uint64_t>(static_cast<double>(c) * 1e9 / r.tsc_hz));
    }
    std::string stem = "ipi-" + s.setup + "-" + s.path;
    for (char& ch : stem) {
      if (ch == ' ' || ch == ',') ch = '-';
    }
    PlotCurve curve{stem, s.setup + ", " + s.path, "IPI round trip, " + s.setup + ", " + s.path,
                    &ns[i], summarize(ns[i])};
    cdf.curves.push_back(curve);
    set.histograms.push_back(curve);
  }
  set.cdfs.push_back(std::move(cdf));
  return write_plot_set(dir, read_machine_info(), set);
}

nlohmann::json ipi_result_to_json(const IpiBenchResult& r) {
  auto us = [&](uint64_t cycles) { return static_cast<double>(cycles) * 1e6 / r.tsc_hz; };
  nlohmann::json j;
  j["mode"] = "ipi";
  j["tsc_hz"] = r.tsc_hz;
  j["series"] = nlohmann::json::array();
  for (const auto& s : r.series) {
    const LatencySummary& m = s.summary;
    j["series"].push_back({{"setup", s.setup},
                           {"path", s.path},
                           {"samples", m.count},
                           {"cycles", latency_to_json(m)},
                           {"us", {{"p50", us(m.p50)}, {"p90", us(m.p90)}, {"p99", us(m.p99)},
                                   {"max", us(m.max)}}}});
  }
  j["skipped"] = nlohmann::json::array();
  for (const auto& [setup, why] : r.skipped) j["skipped"].push_back({{"setup", setup}, {"why", why}});
  return j;
}

std::string ipi_table(const IpiBenchResult& r) {
  auto us = [&](uint64_t cycles) { return static_cast<double>(cycles) * 1e6 / r.tsc_hz; };
  uint64_t native_p50 = 0;
  for (const auto& s : r.series) {
    if (s.setup == "native") native_p50 = s.summary.p50;
  }
  std::string t = fmt::format(
      "| set-up | path | samples | p50 µs | p90 µs | p99 µs | max µs | p50 / native |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& s : r.series) {
    const LatencySummary& m = s.summary;
    const std::string ratio =
        native_p50 == 0 ? "-"
                        : fmt::format("{:.2f}", static_cast<double>(m.p50) /
                                                    static_cast<double>(native_p50));
    t += fmt::format("| {} | {} | {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {} |\n", s.setup,
                     s.path, m.count, us(m.p50), us(m.p90), us(m.p99), us(m.max), ratio);
  }
  for (const auto& [setup, why] : r.skipped) t += fmt::format("| {} | skipped: {} | | | | | | |\n", setup, why);
  return t;
}

}  // namespace dvmm::bench
