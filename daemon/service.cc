#include "daemon/service.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/redact.h"
#include "core/time.h"
#include "daemon/cycle.h"
#include "daemon/lock.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/registry.h"
#include "daemon/replica.h"

namespace boardsync {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Past this, in-flight work is abandoned: every step is crash-safe, so the
// next start picks up where this one stopped.
constexpr auto kStopDeadline = std::chrono::seconds(8);
constexpr std::size_t kMaxWorkers = 8;
constexpr auto kMaxBackoff = std::chrono::minutes(30);

struct Setup {
  Config config;
  std::map<std::string, std::shared_ptr<const Mapping>> mappings;
};

std::expected<Setup, Diagnostics> LoadSetup(const std::filesystem::path& file) {
  auto config = LoadConfig(file);
  if (!config) {
    return std::unexpected(config.error());
  }
  std::vector<const ConnectionConfig*> all;
  for (const ConnectionConfig& c : config->connections) {
    all.push_back(&c);
  }
  auto mappings = LoadMappings(all);
  if (!mappings) {
    return std::unexpected(mappings.error());
  }
  Setup setup{std::move(*config), {}};
  for (auto& [name, mapping] : *mappings) {
    setup.mappings.emplace(name, std::make_shared<const Mapping>(std::move(mapping)));
  }
  return setup;
}

std::string DiagnosticsText(const Diagnostics& diagnostics) {
  std::string text;
  for (const Diagnostic& d : diagnostics) {
    text += (text.empty() ? "" : "; ") + Redact(d.ToString());
  }
  return text;
}

struct Job {
  ConnectionConfig connection;
  std::shared_ptr<const Mapping> mapping;
  BoardConfig board;
  StateConfig state;
  std::filesystem::path state_dir;
  Lease lease;             // this replica's lease on the connection
  bool sync_back = false;  // write board scores back instead of pulling
};

struct Done {
  std::string connection;
  CycleResult result;
  std::int64_t pending = 0;
  std::optional<SyncBackReport> sync_back;  // set when the job was a sync back
};

// One worker per connection, up to kMaxWorkers: below the cap a hanging
// tracker holds up only its own connection. The same rule at start and on
// every reload.
std::size_t WorkersFor(const Config& config) {
  return std::min(kMaxWorkers, config.connections.size());
}

// Runs jobs on a set of threads that grows with the config. Each job opens its
// own state and board connections (SQLite handles are not shared between
// threads).
class WorkerPool {
 public:
  explicit WorkerPool(std::size_t size) { Grow(size); }

  // Starts workers until there are `size`. A pool never shrinks: when a
  // reload removes connections, the surplus workers stay, idle on the
  // condition variable (at most kMaxWorkers threads, no CPU). A removed
  // connection's cycle may still be running on one until its timeout, and
  // retiring threads would mean joining them from the scheduler loop.
  // Shutdown stops and waits for them all alike (RequestStop, WaitIdle).
  void Grow(std::size_t size) {
    while (threads_.size() < size) {
      threads_.emplace_back([this](std::stop_token stop) { Work(stop); });
    }
  }

  std::size_t size() const { return threads_.size(); }

  ~WorkerPool() {
    RequestStop();
    // std::jthread joins here.
  }

  void Submit(Job job) {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
    wake_.notify_one();
  }

  std::vector<Done> TakeFinished() {
    std::lock_guard lock(mu_);
    std::vector<Done> finished = std::move(finished_);
    finished_.clear();
    return finished;
  }

  void RequestStop() {
    {
      std::lock_guard lock(mu_);
      jobs_.clear();  // not started: nothing to abandon
    }
    for (auto& t : threads_) {
      t.request_stop();
    }
    wake_.notify_all();
  }

  // After RequestStop(): waits for running jobs; false if they outlast `deadline`.
  bool WaitIdle(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return idle_.wait_until(lock, deadline, [this] { return running_ == 0; });
  }

 private:
  void Work(std::stop_token stop) {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, stop, [this] { return !jobs_.empty(); });
        if (stop.stop_requested()) {
          return;
        }
        job = std::move(jobs_.front());
        jobs_.pop_front();
        ++running_;
      }
      Done done = Run(job, stop);
      std::lock_guard lock(mu_);
      finished_.push_back(std::move(done));
      --running_;
      idle_.notify_all();
    }
  }

  static Done Run(const Job& job, std::stop_token stop) {
    Done done;
    done.connection = job.connection.name;
    auto state = OpenState(job.state, job.state_dir);
    if (state && SharedState(job.state)) {
      // Every write of this job is refused once another replica took over.
      (*state)->Fence(job.lease);
    }
    if (job.sync_back) {
      SyncBackReport& report = done.sync_back.emplace();
      report.connection = job.connection.name;
      auto scores = state ? MakeScoreSource(job.board, stop)
                          : Result<std::unique_ptr<ScoreSource>>(std::unexpected(state.error()));
      if (!scores) {
        report.error = scores.error();
        return done;
      }
      SyncBackOptions options;
      options.stop = stop;
      report = RunSyncBackCycle(job.connection, *job.mapping, **state, **scores, options);
      return done;
    }
    if (!state) {
      done.result.report.connection = job.connection.name;
      done.result.report.error = state.error();
      return done;
    }
    auto board = MakeBoard(job.board, stop);
    SyncOptions options;
    options.stop = stop;
    done.result = RunCycle(job.connection, *job.mapping, **state, board ? board->get() : nullptr,
                           job.board.batch_size, options);
    if (!board) {
      done.result.board_error = board.error();
    }
    done.pending = static_cast<std::int64_t>((*state)->PendingCount(job.connection.name).value_or(0));
    return done;
  }

  std::mutex mu_;
  std::condition_variable_any wake_;
  std::condition_variable_any idle_;
  std::deque<Job> jobs_;
  std::vector<Done> finished_;
  std::size_t running_ = 0;
  std::vector<std::jthread> threads_;
};

// When each connection runs next, and how it has been doing.
class Schedule {
 public:
  struct Slot {
    ConnectionConfig connection;
    std::shared_ptr<const Mapping> mapping;
    Clock::time_point due;
    int failures = 0;
    bool running = false;
    std::string last_result = "not run yet";
    // When board scores go back next; max when its mapping has no sync_back.
    Clock::time_point sync_back_due = Clock::time_point::max();
  };

  // Whether the slot's next job is a sync back rather than a pull.
  static bool SyncBackFirst(const Slot& slot, Clock::time_point now) {
    return slot.sync_back_due <= now && (slot.due > now || slot.sync_back_due < slot.due);
  }

  // Adopts a (re)loaded setup: new connections start soon, known ones keep
  // their timing, removed ones go.
  void Adopt(const Setup& setup, Clock::time_point now) {
    std::map<std::string, Slot> next;
    for (const ConnectionConfig& c : setup.config.connections) {
      auto it = slots_.find(c.name);
      Slot slot = it != slots_.end() ? std::move(it->second) : Slot{};
      if (it == slots_.end()) {
        slot.due = now + Jitter(std::min<milliseconds>(c.interval, std::chrono::seconds(10)));
      }
      slot.connection = c;
      slot.mapping = setup.mappings.at(c.name);
      if (!slot.mapping->sync_back) {
        slot.sync_back_due = Clock::time_point::max();
      } else if (slot.sync_back_due == Clock::time_point::max()) {
        // Soon, after the first pull: the board's scores are for its items.
        slot.sync_back_due = slot.due + std::chrono::seconds(1);
      }
      next.emplace(c.name, std::move(slot));
    }
    slots_ = std::move(next);
  }

  // The slots due now among those this replica holds.
  std::vector<Slot*> Due(Clock::time_point now, const LeaseKeeper& leases) {
    std::vector<Slot*> due;
    for (auto& [name, slot] : slots_) {
      if (!slot.running && (slot.due <= now || slot.sync_back_due <= now) &&
          leases.Held(name)) {
        due.push_back(&slot);
      }
    }
    return due;
  }

  // Plans the next run after a finished one; returns the delay.
  std::optional<milliseconds> Finished(const std::string& name, bool ok, Clock::time_point now) {
    auto it = slots_.find(name);
    if (it == slots_.end()) {
      return std::nullopt;  // removed by a reload while it ran
    }
    Slot& slot = it->second;
    slot.running = false;
    const milliseconds interval = slot.connection.interval;
    milliseconds delay;
    if (ok) {
      slot.failures = 0;
      // ±5% so that connections with one interval drift apart.
      delay = interval - interval / 20 + Jitter(interval / 10);
    } else {
      ++slot.failures;
      const milliseconds base = std::min<milliseconds>(interval, std::chrono::seconds(30));
      const milliseconds cap = std::max<milliseconds>(interval, kMaxBackoff);
      delay = std::min<milliseconds>(base * (1LL << std::min(slot.failures - 1, 20)), cap);
    }
    slot.due = now + delay;
    return delay;
  }

  // Plans the next sync back after a finished one. A failed one (the board
  // or the tracker unavailable) is tried again within a minute or its
  // interval, whichever is sooner; issues the tracker refused wait for the next.
  void SyncBackFinished(const std::string& name, bool ok, Clock::time_point now) {
    auto it = slots_.find(name);
    if (it == slots_.end()) {
      return;
    }
    Slot& slot = it->second;
    slot.running = false;
    if (!slot.mapping->sync_back) {
      slot.sync_back_due = Clock::time_point::max();
      return;
    }
    const milliseconds interval = slot.connection.sync_back_interval;
    slot.sync_back_due =
        now + (ok ? interval - interval / 20 + Jitter(interval / 10)
                  : std::min<milliseconds>(interval, std::chrono::minutes(1)));
  }

  Clock::time_point NextDue(const LeaseKeeper& leases) const {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [name, slot] : slots_) {
      if (!slot.running && leases.Held(name)) {
        next = std::min({next, slot.due, slot.sync_back_due});
      }
    }
    return next;
  }

  // A connection this replica just took over: it runs soon, unless its
  // last holder left it backed off (kept in the state: DESIGN §4.3).
  void TakenOver(const std::string& name, const std::optional<Backoff>& backoff,
                 Clock::time_point now) {
    auto it = slots_.find(name);
    if (it == slots_.end()) {
      return;
    }
    Slot& slot = it->second;
    slot.due = std::min(slot.due, now + Jitter(std::min<milliseconds>(slot.connection.interval,
                                                                      std::chrono::seconds(2))));
    if (backoff && backoff->failures > 0) {
      slot.failures = backoff->failures;
      const auto wait = milliseconds(std::max<std::int64_t>(0, backoff->until_ms - NowMs()));
      slot.due = std::max(slot.due, now + wait);
    }
  }

  std::map<std::string, Slot>& slots() { return slots_; }

 private:
  milliseconds Jitter(milliseconds range) {
    if (range.count() <= 0) {
      return milliseconds(0);
    }
    return milliseconds(std::uniform_int_distribution<long long>(0, range.count())(rng_));
  }

  std::map<std::string, Slot> slots_;
  std::mt19937_64 rng_{std::random_device{}()};
};

std::string StatusLine(Schedule& schedule, std::int64_t pending) {
  std::size_t failing = 0;
  for (const auto& [name, slot] : schedule.slots()) {
    failing += slot.failures > 0 ? 1 : 0;
  }
  const std::size_t n = schedule.slots().size();
  std::string status = std::to_string(n) + (n == 1 ? " connection" : " connections");
  if (failing > 0) {
    status += ", " + std::to_string(failing) + " failing";
  }
  status += ", " + std::to_string(pending) + " board writes pending";
  return status;
}

std::string MonotonicUsec() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return std::to_string(now.tv_sec * 1'000'000LL + now.tv_nsec / 1000);
}

}  // namespace

int RunService(const CommandOptions& options, std::ostream& err) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  // Every thread started from here on inherits the mask: signals are taken
  // only by sigtimedwait() below.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto setup = LoadSetup(options.config_file);
  if (!setup) {
    for (const Diagnostic& d : setup.error()) {
      err << Redact(d.ToString()) << "\n";
    }
    return kExitBadConfig;
  }
  const std::filesystem::path state_dir = setup->config.state_dir;
  const StateConfig state_config = setup->config.state;
  const bool shared = SharedState(state_config);
  // SQLite state: one process per state directory, under its lock. Shared
  // state: any number of replicas, each connection under a lease.
  std::unique_ptr<StateLock> lock;
  if (!shared) {
    auto acquired = StateLock::Acquire(state_dir);
    if (!acquired) {
      err << Redact(acquired.error().message) << "\n";
      return ExitCodeFor(acquired.error());
    }
    lock = std::move(*acquired);
  }
  auto lease_state = OpenState(state_config, state_dir);
  if (!lease_state) {
    err << Redact(lease_state.error().message) << "\n";
    return ExitCodeFor(lease_state.error());
  }
  const std::string replica = ReplicaName();
  LeaseKeeper leases(**lease_state, shared, replica, state_config.lease_ttl);
  Clock::time_point next_lease_tick = Clock::now();

  Metrics metrics;
  std::unique_ptr<MetricsServer> metrics_server;
  if (!setup->config.metrics_listen.empty()) {
    auto started = MetricsServer::Start(setup->config.metrics_listen, metrics);
    if (!started) {
      err << Redact(started.error().message) << "\n";
      return kExitBadConfig;
    }
    metrics_server = std::move(*started);
    Log(LogLevel::kInfo, "Serving metrics.",
        {{"listen", setup->config.metrics_listen}, {"port", std::to_string(metrics_server->port())}});
  }

  Schedule schedule;
  schedule.Adopt(*setup, Clock::now());
  {
    std::vector<std::string> names;
    for (const ConnectionConfig& c : setup->config.connections) {
      names.push_back(c.name);
    }
    metrics.Retain(names);
  }
  WorkerPool pool(WorkersFor(setup->config));
  std::map<std::string, std::int64_t> pending;  // per connection, as last seen

  auto total_pending = [&] {
    std::int64_t total = 0;
    for (const auto& [name, n] : pending) {
      total += n;
    }
    return total;
  };
  const auto watchdog = WatchdogInterval();
  Clock::time_point next_watchdog = Clock::now();
  NotifySystemd("READY=1\nSTATUS=" + StatusLine(schedule, 0));
  Log(LogLevel::kInfo, "boardsync is running.",
      {{"connections", std::to_string(setup->config.connections.size())},
       {"workers", std::to_string(pool.size())},
       {"replica", replica},
       {"state", shared ? "postgres" : state_dir.string()}});

  for (;;) {
    const Clock::time_point now = Clock::now();
    for (Done& done : pool.TakeFinished()) {
      if (done.sync_back) {
        const SyncBackReport& report = *done.sync_back;
        metrics.RecordSyncBack(done.connection, report);
        schedule.SyncBackFinished(done.connection, !report.error, now);
        LogFields fields = {{"connection", done.connection},
                            {"summary", SyncBackSummaryLine(report)}};
        if (report.error) {
          fields.emplace_back("error", Redact(report.error->message));
          Log(LogLevel::kWarn, "Sync back failed; trying again soon.", std::move(fields));
        } else if (!report.problems.empty()) {
          fields.emplace_back("error", Redact(report.problems.front()));
          Log(LogLevel::kWarn, "Sync back finished; some fields or issues could not be written.",
              std::move(fields));
        } else {
          Log(LogLevel::kInfo, "Sync back finished.", std::move(fields));
        }
        continue;
      }
      // Issues or items that failed on their own never back a connection
      // off (DESIGN §5): they are retried by the next sync on its interval.
      const bool ok = !done.result.connection_failed();
      pending[done.connection] = done.pending;
      metrics.Record(done.connection, done.result, done.pending, NowMs());
      auto delay = schedule.Finished(done.connection, ok, now);
      if (!delay) {
        continue;
      }
      if (shared && leases.Held(done.connection)) {
        // So that a replica taking the connection over keeps backing it off.
        const int failures = ok ? 0 : schedule.slots().at(done.connection).failures;
        (void)(*lease_state)->SetBackoff(done.connection,
                                         Backoff{failures, NowMs() + delay->count()});
      }
      LogFields fields = {{"connection", done.connection},
                          {"summary", SummaryLine(done.result)},
                          {"pending", std::to_string(done.pending)},
                          {"next_in_ms", std::to_string(delay->count())}};
      if (ok && !done.result.ok()) {
        fields.emplace_back("error", done.result.FirstError());
        Log(LogLevel::kWarn, "Sync finished; some issues or items failed on their own.",
            std::move(fields));
      } else if (ok) {
        Log(LogLevel::kInfo, "Sync finished.", std::move(fields));
      } else {
        fields.emplace_back("error", done.result.FirstError());
        Log(LogLevel::kWarn, "Sync failed; retrying with backoff.", std::move(fields));
      }
      NotifySystemd("STATUS=" + StatusLine(schedule, total_pending()));
    }
    if (now >= next_lease_tick) {
      std::vector<std::string> names;
      std::set<std::string> running;
      for (const auto& [name, slot] : schedule.slots()) {
        names.push_back(name);
        if (slot.running) {
          running.insert(name);
        }
      }
      const LeaseKeeper::Changes changes = leases.Tick(names, running);
      for (const std::string& name : changes.gained) {
        std::optional<Backoff> backoff;
        if (shared) {
          (*lease_state)->Fence(*leases.Held(name));
          backoff = (*lease_state)->BackoffOf(name).value_or(std::nullopt);
          Log(LogLevel::kInfo, "Took the lease of a connection.",
              {{"connection", name}, {"replica", replica}});
        }
        schedule.TakenOver(name, backoff, now);
      }
      for (const std::string& name : changes.lost) {
        Log(LogLevel::kInfo, "Gave up or lost the lease of a connection.",
            {{"connection", name}, {"replica", replica}});
      }
      next_lease_tick = now + LeaseRenewal(state_config.lease_ttl);
    }
    for (Schedule::Slot* slot : schedule.Due(now, leases)) {
      // One job per connection at a time: a sync back never runs beside
      // its connection's pull.
      slot->running = true;
      pool.Submit(Job{slot->connection, slot->mapping, setup->config.board, state_config,
                      state_dir, *leases.Held(slot->connection.name),
                      Schedule::SyncBackFirst(*slot, now)});
    }
    if (watchdog && now >= next_watchdog) {
      // From this loop, so a stuck scheduler stops the pings.
      NotifySystemd("WATCHDOG=1");
      next_watchdog = now + *watchdog;
    }

    // Sleep until something is due, waking for signals and finished work.
    Clock::time_point wake =
        std::min({schedule.NextDue(leases), now + milliseconds(250), next_lease_tick});
    if (watchdog) {
      wake = std::min(wake, next_watchdog);
    }
    auto wait = std::max(std::chrono::duration_cast<std::chrono::nanoseconds>(wake - now),
                         std::chrono::nanoseconds(1'000'000));
    timespec timeout{static_cast<time_t>(wait.count() / 1'000'000'000),
                     static_cast<long>(wait.count() % 1'000'000'000)};
    const int signal = sigtimedwait(&signals, nullptr, &timeout);
    if (signal == SIGHUP) {
      NotifySystemd("RELOADING=1\nMONOTONIC_USEC=" + MonotonicUsec());
      auto reloaded = LoadSetup(options.config_file);
      if (!reloaded) {
        Log(LogLevel::kError, "The new config is invalid; keeping the running one.",
            {{"errors", DiagnosticsText(reloaded.error())}});
      } else if (reloaded->config.state_dir != state_dir) {
        Log(LogLevel::kError, "state_dir cannot change on reload; keeping the running config.",
            {{"running", state_dir.string()}, {"new", reloaded->config.state_dir.string()}});
      } else if (reloaded->config.state.type != state_config.type ||
                 reloaded->config.state.lease_ttl != state_config.lease_ttl) {
        Log(LogLevel::kError, "state cannot change on reload; keeping the running config.");
      } else {
        setup = std::move(reloaded);
        // Before the new connections become due, so each has a worker.
        pool.Grow(WorkersFor(setup->config));
        schedule.Adopt(*setup, Clock::now());
        // New connections are taken (and removed ones given up) right away.
        next_lease_tick = Clock::now();
        std::vector<std::string> names;
        for (const ConnectionConfig& c : setup->config.connections) {
          names.push_back(c.name);
        }
        metrics.Retain(names);
        Log(LogLevel::kInfo, "Reloaded the config and mappings.",
            {{"connections", std::to_string(setup->config.connections.size())},
             {"workers", std::to_string(pool.size())}});
      }
      NotifySystemd("READY=1\nSTATUS=" + StatusLine(schedule, total_pending()));
    } else if (signal == SIGTERM || signal == SIGINT) {
      break;
    }
  }

  NotifySystemd("STOPPING=1\nSTATUS=stopping");
  Log(LogLevel::kInfo, "Stopping: finishing the pages in flight.");
  pool.RequestStop();
  if (!pool.WaitIdle(Clock::now() + kStopDeadline)) {
    Log(LogLevel::kWarn, "Stopping without waiting for a hung request; nothing staged is lost.");
    std::fflush(nullptr);
    std::_Exit(kExitOk);
  }
  for (const Done& done : pool.TakeFinished()) {
    if (done.sync_back) {
      Log(done.sync_back->ok() ? LogLevel::kInfo : LogLevel::kWarn, "Last sync back before stopping.",
          {{"connection", done.connection}, {"summary", SyncBackSummaryLine(*done.sync_back)}});
      continue;
    }
    Log(done.result.ok() ? LogLevel::kInfo : LogLevel::kWarn, "Last sync before stopping.",
        {{"connection", done.connection},
         {"summary", SummaryLine(done.result)},
         {"error", done.result.FirstError()}});
  }
  // The other replicas take these connections over at once.
  leases.ReleaseAll();
  Log(LogLevel::kInfo, "Stopped.");
  return kExitOk;
}

}  // namespace boardsync
