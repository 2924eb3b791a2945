#include "daemon/commands.h"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>

#include "core/log.h"
#include "core/redact.h"
#include "core/text.h"
#include "core/time.h"
#include "daemon/config.h"
#include "daemon/cycle.h"
#include "daemon/lock.h"
#include "daemon/registry.h"
#include "daemon/replica.h"
#include "daemon/sync.h"
#include "daemon/table.h"
#include "daemon/token.h"
#include "mappings/mapping.h"

namespace boardsync {
namespace {

struct Loaded {
  Config config;
  std::vector<const ConnectionConfig*> selected;
  std::map<std::string, Mapping> mappings;  // by connection name
};

void PrintDiagnostics(const Diagnostics& diagnostics, std::ostream& err) {
  for (const Diagnostic& d : diagnostics) {
    err << Redact(d.ToString()) << "\n";
  }
}

// Loads the config, picks the connections asked for, and (when
// `with_mappings`) parses their mapping files. Prints every problem.
std::optional<Loaded> Load(const CommandOptions& options, bool with_mappings, std::ostream& err) {
  auto config = LoadConfig(options.config_file);
  if (!config) {
    PrintDiagnostics(config.error(), err);
    return std::nullopt;
  }
  Loaded loaded{std::move(*config), {}, {}};
  bool ok = true;
  for (const std::string& name : options.connections) {
    const ConnectionConfig* c = loaded.config.FindConnection(name);
    if (c == nullptr) {
      err << "no connection named \"" << name << "\" in " << options.config_file.string() << "\n";
      ok = false;
    } else {
      loaded.selected.push_back(c);
    }
  }
  if (options.connections.empty()) {
    for (const ConnectionConfig& c : loaded.config.connections) {
      loaded.selected.push_back(&c);
    }
  }
  if (with_mappings) {
    auto mappings = LoadMappings(loaded.selected);
    if (!mappings) {
      PrintDiagnostics(mappings.error(), err);
      ok = false;
    } else {
      loaded.mappings = std::move(*mappings);
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  return loaded;
}

void PrintDryRun(const SyncReport& report, std::ostream& out) {
  for (const StagedWrite& staged : report.changes) {
    if (!staged.queue) {
      continue;  // only remembered: no board write
    }
    const BoardItem& item = staged.write.item;
    // Tracker text may hold a token the tracker echoes: redacted like errors.
    if (staged.write.archive) {
      out << "would archive " << ForDisplay(Redact(item.item_key)) << "\n";
    } else {
      // The fields are JSON, escaped as JSON is.
      out << "would write " << ForDisplay(Redact(item.item_key)) << " ("
          << ForDisplay(Redact(item.source_key)) << "): " << Redact(Value(item.fields).ToJson())
          << "\n";
    }
  }
}

// The state for a command that writes it: SQLite under the state
// directory's lock (a dry run writes nothing and takes none), or shared
// state under the leases of the connections it runs (DESIGN §4.3), which
// then leaves out the connections another replica holds. Prints the problem
// and returns its exit code, else kExitOk.
struct CommandState {
  std::unique_ptr<StateLock> lock;
  std::unique_ptr<HeldLeases> leases;
  std::unique_ptr<StateStore> store;
  std::size_t left_out = 0;  // connections another replica holds
};
int OpenStateFor(const Config& config, bool dry_run,
                 std::vector<const ConnectionConfig*>& connections, CommandState& state,
                 std::ostream& err) {
  if (!dry_run && !SharedState(config.state)) {
    auto acquired = StateLock::Acquire(config.state_dir);
    if (!acquired) {
      err << Redact(acquired.error().message) << "\n";
      return ExitCodeFor(acquired.error());
    }
    state.lock = std::move(*acquired);
  }
  auto opened = OpenState(config.state, config.state_dir);
  if (!opened) {
    err << Redact(opened.error().message) << "\n";
    return ExitCodeFor(opened.error());
  }
  state.store = std::move(*opened);
  if (dry_run) {
    return kExitOk;
  }
  std::vector<std::string> names;
  for (const ConnectionConfig* c : connections) {
    names.push_back(c->name);
  }
  std::vector<std::string> busy;
  auto leases = HeldLeases::Take(config, names, busy);
  if (!leases) {
    err << Redact(leases.error().message) << "\n";
    return ExitCodeFor(leases.error());
  }
  state.leases = std::move(*leases);
  std::erase_if(connections, [&](const ConnectionConfig* c) {
    std::optional<Lease> lease = state.leases->Of(c->name);
    if (lease && SharedState(config.state)) {
      state.store->Fence(*lease);  // its writes stop should another replica take over
    }
    return !lease;
  });
  for (const std::string& name : busy) {
    err << "connection " << name << ": another replica is syncing it; left out\n";
  }
  state.left_out = busy.size();
  if (!busy.empty() && connections.empty()) {
    return kExitLocked;
  }
  return kExitOk;
}

// The last sync back of `connection` and the tracker writes it refused, into
// `row` (status --format json) and `lines` (the table's notes).
void AddSyncBackStatus(StateStore& state, const ConnectionConfig& connection, Value::Object& row,
                       std::ostream& lines) {
  auto run = state.LastSyncBack(connection.name);
  if (!run || !*run) {
    return;
  }
  const SyncBackRecord& r = **run;
  const std::vector<WritebackFailure> refused =
      state.WritebackFailures(connection.name).value_or(std::vector<WritebackFailure>());
  Value::List writes;
  for (const WritebackFailure& f : refused) {
    writes.push_back(Value(Value::Object{{"key", f.source_key},
                                         {"item_key", f.item_key},
                                         {"field", f.field},
                                         {"message", Redact(f.message)},
                                         {"since", f.since}}));
  }
  row.emplace("sync_back", Value(Value::Object{{"last_run", r.started_at},
                                               {"result", r.result},
                                               {"seconds", r.seconds},
                                               {"written", r.written},
                                               {"unchanged", r.unchanged},
                                               {"failed", r.failed},
                                               {"queued", r.queued},
                                               {"last_error", Redact(r.error)},
                                               {"refused", Value(std::move(writes))}}));
  lines << "  " << connection.name << "  last " << r.started_at << "  " << r.result
        << "  written " << r.written << ", unchanged " << r.unchanged << ", refused "
        << r.failed << ", queued " << r.queued;
  if (!r.error.empty()) {
    lines << "  " << ForDisplay(Redact(r.error));
  }
  lines << "\n";
  for (const WritebackFailure& f : refused) {
    lines << "    refused " << ForDisplay(f.source_key.empty() ? f.item_key : f.source_key)
          << " field " << ForDisplay(f.field) << "  since " << f.since << "  "
          << ForDisplay(Redact(f.message)) << "\n";
  }
}

}  // namespace

int RunSyncBackCommand(const CommandOptions& options, std::ostream& out, std::ostream& err) {
  auto loaded = Load(options, /*with_mappings=*/true, err);
  if (!loaded) {
    return kExitBadConfig;
  }
  const Config& config = loaded->config;
  // Named connections must have something to write back; with none named,
  // those without a sync_back section are passed over.
  std::vector<const ConnectionConfig*> selected;
  for (const ConnectionConfig* c : loaded->selected) {
    if (loaded->mappings.at(c->name).sync_back) {
      selected.push_back(c);
    } else if (!options.connections.empty()) {
      err << "connection " << c->name << ": its mapping " << c->mapping.string()
          << " has no sync_back section\n";
      return kExitBadConfig;
    }
  }
  if (selected.empty()) {
    out << "no connection has a sync_back section in its mapping: nothing to write back\n";
    return kExitOk;
  }
  CommandState opened;
  if (int code = OpenStateFor(config, options.dry_run, selected, opened, err); code != kExitOk) {
    return code;
  }
  StateStore* state = opened.store.get();
  bool failed = opened.left_out > 0;
  auto scores = MakeScoreSource(config.board);
  if (!scores) {
    err << Redact(scores.error().message) << "\n";
    return ExitCodeFor(scores.error());
  }
  SyncBackOptions sync_back_options;
  sync_back_options.dry_run = options.dry_run;
  for (const ConnectionConfig* c : selected) {
    SyncBackReport report = RunSyncBackCycle(*c, loaded->mappings.at(c->name), *state,
                                             **scores, sync_back_options);
    for (const std::string& line : report.planned) {
      out << ForDisplay(Redact(c->name + ": " + line)) << "\n";
    }
    for (const std::string& problem : report.problems) {
      err << ForDisplay(Redact(c->name + ": " + problem)) << "\n";
    }
    out << ForDisplay(SyncBackSummaryLine(report)) << "\n";
    if (report.error) {
      err << ForDisplay(Redact(c->name + ": sync back failed: " + report.error->message)) << "\n";
    }
    failed = failed || !report.ok();
  }
  return failed ? kExitRunFailed : kExitOk;
}

namespace {

// What check shows without refusing: the mappings' warnings.
void MappingWarnings(const std::map<std::string, Mapping>& mappings,
                     std::vector<std::string>& warnings) {
  for (const auto& [name, mapping] : mappings) {
    for (const Diagnostic& warning : mapping.warnings) {
      warnings.push_back(warning.ToString());
    }
  }
}

}  // namespace


int ExitCodeFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kLocked: return kExitLocked;
    // The operator's setup is wrong, as with a bad config: nothing ran.
    case ErrorCode::kUntrusted: return kExitBadConfig;
    default: return kExitRunFailed;
  }
}

int RunSync(const CommandOptions& options, std::ostream& out, std::ostream& err) {
  auto loaded = Load(options, /*with_mappings=*/true, err);
  if (!loaded) {
    return kExitBadConfig;
  }
  const Config& config = loaded->config;
  CommandState opened;
  if (int code = OpenStateFor(config, options.dry_run, loaded->selected, opened, err);
      code != kExitOk) {
    return code;
  }
  StateStore* state = opened.store.get();
  std::unique_ptr<BoardSink> board;
  // A connection another replica holds was left out: not all requested work ran.
  bool failed = opened.left_out > 0;
  if (!options.dry_run) {
    auto opened = MakeBoard(config.board);
    if (!opened) {
      err << Redact(opened.error().message) << "\n";
      if (opened.error().code == ErrorCode::kUntrusted) {
        return ExitCodeFor(opened.error());
      }
      // Pull anyway: the writes wait in the outbox until the board is back.
      failed = true;
    } else {
      board = std::move(*opened);
    }
  }
  if (options.retry_failed && !options.dry_run) {
    for (const ConnectionConfig* c : loaded->selected) {
      auto requeued = state->RetryFailed(c->name);
      if (!requeued) {
        err << Redact(requeued.error().message) << "\n";
        return kExitRunFailed;
      }
      if (*requeued > 0) {
        out << c->name << ": " << *requeued << " refused board writes queued again\n";
      }
    }
  }
  SyncOptions sync_options;
  sync_options.dry_run = options.dry_run;
  sync_options.full = options.full;
  // On a terminal, a long first sync shows how far it got.
  const bool show_progress = &err == &std::cerr && ::isatty(STDERR_FILENO) == 1;
  for (const ConnectionConfig* c : loaded->selected) {
    if (show_progress) {
      sync_options.on_progress = [&err, name = c->name](const SyncCounts& n) {
        err << "\r" << name << ": " << n.pulled << " issues pulled…" << std::flush;
      };
    }
    CycleResult result = RunCycle(*c, loaded->mappings.at(c->name), *state, board.get(),
                                  config.board.batch_size, sync_options);
    if (show_progress) {
      err << "\r\033[K" << std::flush;  // clear the progress line
    }
    if (options.dry_run) {
      PrintDryRun(result.report, out);
    }
    for (const std::string& problem : result.report.problems) {
      err << ForDisplay(Redact(c->name + ": " + problem)) << "\n";
    }
    out << ForDisplay(SummaryLine(result)) << "\n";
    if (result.report.error) {
      err << ForDisplay(Redact(c->name + ": sync failed: " + result.report.error->message))
          << "\n";
    }
    if (result.board_error) {
      err << ForDisplay(Redact(result.board_error->message)) << "\n";
    }
    failed = failed || !result.ok();
  }
  if (board) {
    std::size_t pending = 0;
    std::size_t refused = 0;
    for (const ConnectionConfig* c : loaded->selected) {
      pending += state->PendingCount(c->name).value_or(0);
      refused += state->Failed(c->name).value_or(std::vector<RefusedItem>()).size();
    }
    if (pending > 0) {
      err << pending << " board writes are pending; the next sync delivers them\n";
      failed = true;
    }
    if (refused > 0) {
      err << refused << " board writes were refused by the board store (see boardsync status); "
                        "once fixed, send them with: boardsync sync --retry-failed\n";
      failed = true;
    }
  }
  return failed ? kExitRunFailed : kExitOk;
}

int RunCheck(const CommandOptions& options, std::ostream& out, std::ostream& err) {
  // The mappings are loaded here, not by Load, so that their problems and the
  // tokens' are reported in one go.
  auto loaded = Load(options, /*with_mappings=*/false, err);
  if (!loaded) {
    return kExitBadConfig;
  }
  Diagnostics problems;
  std::vector<std::string> unchecked;
  // The owners are the ones sync and the daemon name, so the messages agree.
  auto check_token = [&](const TokenSource& token, const std::string& owner) {
    TokenCheck check = CheckToken(token, owner);
    if (check.problem) {
      Diagnostic problem = token.where;
      problem.message = std::move(check.problem->message);
      problems.push_back(std::move(problem));
    } else if (!check.unchecked.empty()) {
      unchecked.push_back(std::move(check.unchecked));
    }
  };
  if (loaded->config.board.token) {
    check_token(*loaded->config.board.token, "the http board");
  }
  // Database URIs are read as tokens are, and hold a password as secret.
  if (loaded->config.state.database_url) {
    check_token(*loaded->config.state.database_url, "the postgres state");
  }
  if (loaded->config.board.database_url) {
    check_token(*loaded->config.board.database_url, "the postgres board");
  }
  for (const ConnectionConfig* c : loaded->selected) {
    check_token(c->token, "connection " + c->name);
  }
  auto mappings = LoadMappings(loaded->selected);
  std::vector<std::string> warnings;
  if (!mappings) {
    problems.insert(problems.end(), mappings.error().begin(), mappings.error().end());
  } else {
    MappingWarnings(*mappings, warnings);
  }
  for (const std::string& warning : warnings) {
    err << "warning: " << Redact(warning) << "\n";
  }
  if (!problems.empty()) {
    PrintDiagnostics(problems, err);
    return kExitBadConfig;
  }
  out << options.config_file.string() << ": ok, " << loaded->selected.size()
      << (loaded->selected.size() == 1 ? " connection" : " connections") << "\n";
  for (const ConnectionConfig* c : loaded->selected) {
    out << "  " << c->name << ": " << c->type << " " << c->base_url << " -> board " << c->board
        << ", mapping " << c->mapping.string() << "\n";
  }
  // Check runs in an operator's shell, not in the service's environment.
  for (const std::string& note : unchecked) {
    out << "  not checked here: " << Redact(note) << "\n";
  }
  return kExitOk;
}

int RunTestConnection(const CommandOptions& options, std::ostream& out, std::ostream& err) {
  auto loaded = Load(options, /*with_mappings=*/false, err);
  if (!loaded) {
    return kExitBadConfig;
  }
  bool failed = false;
  for (const ConnectionConfig* c : loaded->selected) {
    auto connected = ConnectTracker(*c);
    auto identity = connected ? connected->tracker->WhoAmI()
                              : Result<TrackerIdentity>(std::unexpected(connected.error()));
    if (!identity) {
      out << c->name << ": FAILED: " << ForDisplay(Redact(identity.error().message)) << "\n";
      failed = true;
      continue;
    }
    out << c->name << ": ok, the token belongs to " << ForDisplay(Redact(identity->name)) << " ("
        << ForDisplay(Redact(identity->login)) << ")";
    if (!identity->reach.empty()) {
      out << ", who sees " << ForDisplay(identity->reach);
    } else if (identity->projects >= 0) {
      out << ", who sees " << identity->projects
          << (identity->projects == 1 ? " project" : " projects");
    }
    out << "\n";
    // The mapping's source fields, where the tracker can tell which it lacks
    // (a misspelt name reads as null forever, silently). A mapping that does
    // not load is check's business, not this command's.
    auto mapping = LoadMappings({c});
    if (!mapping) {
      continue;
    }
    auto unknown = connected->tracker->UnknownFields(mapping->at(c->name).SourceFields());
    if (!unknown) {
      out << c->name << ": FAILED: " << ForDisplay(Redact(unknown.error().message)) << "\n";
      failed = true;
    } else if (!unknown->empty()) {
      std::string names;
      for (const std::string& name : *unknown) {
        names += (names.empty() ? "\"" : ", \"") + name + "\"";
      }
      out << c->name << ": warning: the mapping reads " << ForDisplay(names)
          << (unknown->size() == 1 ? ", which names no field" : ", which name no fields")
          << " of this tracker; they read as empty (null)\n";
    }
    // The sync-back targets as the tracker has them (nothing is created here).
    const Mapping& loaded_mapping = mapping->at(c->name);
    if (loaded_mapping.sync_back) {
      auto writing = ConnectTracker(*c, /*writer=*/true);
      if (writing && writing->writer) {
        std::vector<WriteTarget> targets;
        for (const SyncBackField& field : loaded_mapping.sync_back->fields) {
          targets.push_back(WriteTarget{field.target, field.type});
        }
        auto checks = writing->writer->Prepare(targets, /*create=*/false, {}, {});
        if (!checks) {
          out << c->name << ": FAILED: sync back: "
              << ForDisplay(Redact(checks.error().message)) << "\n";
          failed = true;
        } else {
          for (const TargetCheck& check : *checks) {
            if (!check.problem.empty()) {
              // With create: true, sync-back makes a missing field; this
              // only looks.
              out << c->name << ": warning: sync back: " << ForDisplay(Redact(check.problem))
                  << "\n";
            }
          }
        }
      }
    }
  }
  return failed ? kExitRunFailed : kExitOk;
}

int RunPreview(const CommandOptions& options, std::ostream& out, std::ostream& err) {
  if (options.connections.size() != 1) {
    err << "preview needs exactly one --connection NAME\n";
    return kExitBadConfig;
  }
  if (options.format != "table" && options.format != "json") {
    err << "--format must be table or json\n";
    return kExitBadConfig;
  }
  auto loaded = Load(options, /*with_mappings=*/true, err);
  if (!loaded) {
    return kExitBadConfig;
  }
  const ConnectionConfig& c = *loaded->selected.front();
  const Mapping& mapping = loaded->mappings.at(c.name);
  auto connected = ConnectTracker(c);
  if (!connected) {
    err << ForDisplay(Redact(connected.error().message)) << "\n";
    return kExitRunFailed;
  }
  std::vector<Issue> issues;
  PullRequest request;
  request.query = c.query;
  request.fields = mapping.SourceFields();
  request.page_size = static_cast<int>(std::min<std::size_t>(options.limit, c.page_size));
  request.limit = options.limit;
  auto pulled = connected->tracker->Pull(request, [&](std::vector<Issue> page) -> Result<void> {
    std::move(page.begin(), page.end(), std::back_inserter(issues));
    return {};
  });
  if (!pulled) {
    err << ForDisplay(Redact(pulled.error().message)) << "\n";
    return kExitRunFailed;
  }
  Value::List items;
  Table table("issue");
  bool failed = false;
  for (const Issue& issue : issues) {
    if (!issue.decode_error.empty()) {
      err << ForDisplay(Redact(c.name + ": " + issue.decode_error)) << "\n";
      failed = true;
      continue;
    }
    auto fields = ApplyMapping(mapping, issue);
    if (!fields) {
      err << ForDisplay(Redact(fields.error().message)) << "\n";
      failed = true;
      continue;
    }
    BoardItem item;
    item.board = c.board;
    item.item_key = ItemKey(c.name, issue.id);
    item.source_key = issue.key;
    item.source_url = issue.url;
    item.source_updated_at = FormatIsoUtc(issue.updated_ms);
    if (fields->has_value()) {
      item.fields = std::move(**fields);
    }
    Value value = BoardItemToValue(item);
    value.AsObject().emplace("skipped", !fields->has_value());
    table.AddRow(issue.key, fields->has_value() ? item.fields : Value::Object{},
                 !fields->has_value());
    items.push_back(std::move(value));
  }
  if (options.format == "json") {
    // A token the tracker echoes in an issue is redacted as in errors.
    out << Redact(Value(std::move(items)).ToJson()) << "\n";
  } else {
    table.Print(out);
  }
  return failed ? kExitRunFailed : kExitOk;
}

int RunStatus(const CommandOptions& options, std::ostream& out, std::ostream& err) {
  auto loaded = Load(options, /*with_mappings=*/false, err);
  if (!loaded) {
    return kExitBadConfig;
  }
  auto state = OpenState(loaded->config.state, loaded->config.state_dir);
  if (!state && state.error().code == ErrorCode::kStorage) {
    // A state directory it cannot write (a read-only mount, one it may only
    // read): status only reads.
    if (auto read_only =
            OpenState(loaded->config.state, loaded->config.state_dir, /*read_only=*/true);
        read_only) {
      state = std::move(read_only);
    }
  }
  if (!state) {
    err << Redact(state.error().message) << "\n";
    return ExitCodeFor(state.error());
  }
  Value::List rows;
  Table table("connection");
  // Per issue and per item, below the table: what failed on its own.
  std::ostringstream failing_lines;
  std::ostringstream refused_lines;
  std::ostringstream sync_back_lines;
  // Which replica syncs each connection (DESIGN §4.3); SQLite state has
  // one process, so none is named.
  std::map<std::string, std::string> holders;
  if (SharedState(loaded->config.state)) {
    for (const LeaseHolder& h : (*state)->Leases().value_or(std::vector<LeaseHolder>())) {
      holders[h.connection] = h.holder;
    }
  }
  for (const ConnectionConfig* c : loaded->selected) {
    Value::Object row;
    if (SharedState(loaded->config.state)) {
      auto holder = holders.find(c->name);
      row.emplace("holder", holder != holders.end() ? Value(holder->second) : Value());
    }
    row.emplace("pending", static_cast<std::int64_t>((*state)->PendingCount(c->name).value_or(0)));
    const std::vector<RefusedItem> refused =
        (*state)->Failed(c->name).value_or(std::vector<RefusedItem>());
    row.emplace("refused", static_cast<std::int64_t>(refused.size()));
    if (!refused.empty()) {
      row.emplace("board_error", Redact(refused.back().message));
    }
    const std::vector<IssueFailure> failing =
        (*state)->Failures(c->name).value_or(std::vector<IssueFailure>());
    row.emplace("failing", static_cast<std::int64_t>(failing.size()));
    auto run = (*state)->LastRun(c->name);
    if (run && *run) {
      const RunRecord& r = **run;
      row.emplace("last_run", r.started_at);
      row.emplace("result", r.result);
      row.emplace("seconds", r.seconds);
      row.emplace("pulled", r.pulled);
      row.emplace("created", r.created);
      row.emplace("updated", r.updated);
      row.emplace("archived", r.archived);
      row.emplace("unchanged", r.unchanged);
      row.emplace("failed", r.failed);
      row.emplace("board_writes", r.written);
      row.emplace("last_error", r.error);
    } else {
      row.emplace("last_run", Value());
      row.emplace("result", "never run");
    }
    table.AddRow(c->name, row, false);
    row.emplace("connection", c->name);
    Value::List issues;
    for (const IssueFailure& f : failing) {
      issues.push_back(Value(Value::Object{{"key", f.source_key},
                                           {"item_key", f.item_key},
                                           {"reason", Redact(f.reason)},
                                           {"since", f.since}}));
      failing_lines << "  " << c->name << "  " << ForDisplay(f.source_key) << "  since "
                    << f.since << "  " << ForDisplay(Redact(f.reason)) << "\n";
    }
    row.emplace("failing_issues", Value(std::move(issues)));
    Value::List items;
    for (const RefusedItem& r : refused) {
      items.push_back(Value(Value::Object{{"item_key", r.item_key},
                                          {"source_key", r.source_key},
                                          {"write", r.archive ? "archive" : "upsert"},
                                          {"message", Redact(r.message)},
                                          {"since", r.since}}));
      refused_lines << "  " << c->name << "  " << ForDisplay(r.item_key)
                    << (r.source_key.empty() ? "" : " (" + ForDisplay(r.source_key) + ")")
                    << (r.archive ? " archive" : "") << "  since " << r.since << "  "
                    << ForDisplay(Redact(r.message)) << "\n";
    }
    row.emplace("refused_items", Value(std::move(items)));
    AddSyncBackStatus(**state, *c, row, sync_back_lines);
    rows.push_back(Value(std::move(row)));
  }
  if (options.format == "json") {
    out << Value(std::move(rows)).ToJson() << "\n";
    return kExitOk;
  }
  table.Print(out);
  if (!failing_lines.str().empty()) {
    out << "\nIssues that could not be read or mapped (fetched again on every sync):\n"
        << failing_lines.str();
  }
  if (!refused_lines.str().empty()) {
    out << "\nBoard writes refused by the board store (once fixed: boardsync sync "
           "--retry-failed):\n"
        << refused_lines.str();
  }
  if (!sync_back_lines.str().empty()) {
    out << "\nSync back (board scores into tracker fields):\n" << sync_back_lines.str();
  }
  return kExitOk;
}

}  // namespace boardsync
