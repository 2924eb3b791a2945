// Replicas (DESIGN §4.3): with PostgreSQL state, every `boardsync run` and
// `boardsync sync` syncs a connection only under its lease. LeaseKeeper is
// the daemon's side: it keeps this replica's fair share of the connections,
// renewing what it holds and taking over what a dead replica left; HeldLeases
// is a one-shot command's side. With SQLite state the state directory's lock
// already makes one process the only writer, and both grant every lease
// without asking the store.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/state_store.h"
#include "daemon/config.h"

namespace boardsync {

// A lease lasts `state.lease_ttl` (default 30 s) without renewal and is
// renewed every third of it: a replica killed with SIGKILL or cut off from
// the database loses its connections to the others within 4/3 of it (40 s).
inline std::chrono::milliseconds LeaseRenewal(std::chrono::milliseconds ttl) { return ttl / 3; }

// This process as a replica: "<hostname>:<pid>".
std::string ReplicaName();

// Whether `state` is shared by replicas (so leases are asked of the store).
inline bool SharedState(const StateConfig& state) { return state.type == "postgres"; }

class LeaseKeeper {
 public:
  // `state` is the keeper's own store handle, used from one thread.
  LeaseKeeper(StateStore& state, bool shared, std::string holder, std::chrono::milliseconds ttl);

  struct Changes {
    std::vector<std::string> gained;  // leases taken in this tick
    std::vector<std::string> lost;    // leases lost (taken over, or not renewed in time)
  };

  // Once every LeaseRenewal(ttl) (and at start): records this replica as live,
  // renews what it holds, gives up what exceeds its share of `connections`
  // among the live replicas (never one in `running`: after it finishes), and
  // takes free or expired ones up to its share. A store it cannot reach
  // changes nothing but the clock: a lease not renewed for its ttl counts
  // as lost here too, so no new sync starts on it.
  Changes Tick(const std::vector<std::string>& connections, const std::set<std::string>& running);

  // The lease this replica holds on `connection`, if any.
  std::optional<Lease> Held(const std::string& connection) const;
  std::size_t held() const { return held_.size(); }

  // Gives every lease up and leaves the live replicas (shutdown: the others
  // take over at once).
  void ReleaseAll();

 private:
  struct Holding {
    Lease lease;
    std::chrono::steady_clock::time_point renewed;  // last confirmed by the store
  };

  StateStore& state_;
  const bool shared_;
  const std::string holder_;
  const std::chrono::milliseconds ttl_;
  std::map<std::string, Holding> held_;
};

// The leases a one-shot command (`sync`, `sync-back`) holds while it runs,
// renewed on a thread of its own with its own store handle.
class HeldLeases {
 public:
  // Takes the lease of each of `connections`; those another replica holds
  // are left out and listed in `busy` as "name (held by host:pid)".
  static Result<std::unique_ptr<HeldLeases>> Take(const Config& config,
                                                   const std::vector<std::string>& connections,
                                                   std::vector<std::string>& busy);
  ~HeldLeases();  // stops renewing and releases them
  HeldLeases(const HeldLeases&) = delete;
  HeldLeases& operator=(const HeldLeases&) = delete;

  std::optional<Lease> Of(const std::string& connection) const;

 private:
  HeldLeases() = default;
  std::unique_ptr<StateStore> state_;  // null with SQLite state
  std::map<std::string, Lease> leases_;
  std::jthread renewing_;
};

}  // namespace boardsync
