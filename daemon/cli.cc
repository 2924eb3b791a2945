#include "daemon/cli.h"

#include <boost/program_options.hpp>

#include <charconv>
#include <iostream>
#include <string>
#include <vector>

#include "core/redact.h"
#include "daemon/commands.h"
#include "daemon/config.h"
#include "daemon/logging.h"
#include "daemon/service.h"

namespace boardsync {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage = R"(usage: boardsync [options] <command> [command options]

commands:
  sync [--connection NAME]... [--full] [--dry-run] [--retry-failed]
                      one sync cycle for the named connections (default: all)
  run                 the daemon: sync every connection on its interval
  check               validate the config and every mapping file
  test-connection [NAME]
                      check each tracker token and what it can see
  preview --connection NAME [--limit N] [--format table|json]
                      print the board items N issues map to; writes nothing
  status [--format table|json]
                      last run, result and pending board writes per connection
  sync-back [--connection NAME]... [--dry-run]
                      write board scores into tracker fields (the mapping's sync_back)

exit codes: 0 ok, 1 a connection or the board store failed, 2 usage, config or
mapping error (nothing ran), 3 another sync holds the state directory
)";

int Usage(const std::string& problem) {
  std::cerr << "boardsync: " << problem << "\n\n" << kUsage;
  return kExitBadConfig;
}

}  // namespace

int RunCli(int argc, const char* const* argv) {
  po::options_description options("options");
  options.add_options()
      ("help,h", "show this help")
      ("version", "show the version")
      ("config", po::value<std::string>(), "config file")
      ("log-level", po::value<std::string>()->default_value("info"), "error|warn|info|debug")
      ("log-format", po::value<std::string>()->default_value("text"), "text|json")
      ("connection", po::value<std::vector<std::string>>(), "a connection name (repeatable)")
      ("full", "re-read everything and archive items whose issues vanished")
      ("dry-run", "write nothing; print what would be written")
      ("retry-failed", "send board writes the board store refused again")
      ("limit", po::value<std::string>(), "issues to preview, at least 1 (default 10)")
      ("format", po::value<std::string>(), "table|json")
      ("command", po::value<std::string>(), "")
      ("args", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Usage(e.what());
  }
  if (vm.count("help") || (!vm.count("command") && !vm.count("version"))) {
    std::cout << kUsage;
    return vm.count("help") ? kExitOk : kExitBadConfig;
  }
  if (vm.count("version")) {
    std::cout << "boardsync " << BOARDSYNC_VERSION << "\n";
    return kExitOk;
  }
  auto level = ParseLogLevel(vm["log-level"].as<std::string>());
  auto format = ParseLogFormat(vm["log-format"].as<std::string>());
  if (!level || !format) {
    return Usage("--log-level takes error|warn|info|debug and --log-format text|json");
  }
  InstallStderrLogSink(*level, *format);

  const std::string command = vm["command"].as<std::string>();
  std::vector<std::string> args;
  if (vm.count("args")) {
    args = vm["args"].as<std::vector<std::string>>();
  }
  CommandOptions cmd;
  cmd.config_file = vm.count("config") ? std::filesystem::path(vm["config"].as<std::string>())
                                       : DefaultConfigPath();
  if (vm.count("connection")) {
    cmd.connections = vm["connection"].as<std::vector<std::string>>();
  }
  cmd.full = vm.count("full") > 0;
  cmd.dry_run = vm.count("dry-run") > 0;
  cmd.retry_failed = vm.count("retry-failed") > 0;
  if (vm.count("limit")) {
    // Read here rather than by program_options, which takes "-1" as the
    // largest number.
    const std::string text = vm["limit"].as<std::string>();
    std::size_t limit = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || limit < 1) {
      return Usage("--limit takes a whole number of at least 1, not \"" + text + "\"");
    }
    cmd.limit = limit;
  }
  if (vm.count("format")) {
    cmd.format = vm["format"].as<std::string>();
  }

  // Options that only make sense for some commands are refused elsewhere,
  // so a typo does not silently do something else.
  auto only = [&](std::initializer_list<const char*> names,
                  std::initializer_list<const char*> commands) -> bool {
    for (const char* name : names) {
      if (!vm.count(name)) {
        continue;
      }
      bool allowed = false;
      for (const char* c : commands) {
        allowed = allowed || command == c;
      }
      if (!allowed) {
        Usage(std::string("--") + name + " does not apply to \"" + command + "\"");
        return false;
      }
    }
    return true;
  };
  if (!only({"full", "retry-failed"}, {"sync"}) || !only({"dry-run"}, {"sync", "sync-back"}) ||
      !only({"connection"}, {"sync", "preview", "sync-back"}) ||
      !only({"limit"}, {"preview"}) || !only({"format"}, {"preview", "status"})) {
    return kExitBadConfig;
  }
  if (!args.empty() && command != "test-connection") {
    return Usage("unexpected argument \"" + args.front() + "\"");
  }

  if (command == "sync") {
    return RunSync(cmd, std::cout, std::cerr);
  }
  if (command == "sync-back") {
    return RunSyncBackCommand(cmd, std::cout, std::cerr);
  }
  if (command == "check") {
    return RunCheck(cmd, std::cout, std::cerr);
  }
  if (command == "test-connection") {
    if (args.size() > 1) {
      return Usage("test-connection takes at most one connection name");
    }
    cmd.connections = args;
    return RunTestConnection(cmd, std::cout, std::cerr);
  }
  if (command == "preview") {
    return RunPreview(cmd, std::cout, std::cerr);
  }
  if (command == "status") {
    return RunStatus(cmd, std::cout, std::cerr);
  }
  if (command == "run") {
    return RunService(cmd, std::cerr);
  }
  return Usage("unknown command \"" + command + "\"");
}

}  // namespace boardsync
