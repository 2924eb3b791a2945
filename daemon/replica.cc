#include "daemon/replica.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "core/log.h"
#include "core/redact.h"
#include "daemon/registry.h"

namespace boardsync {

std::string ReplicaName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "localhost");
  }
  return std::string(host) + ":" + std::to_string(::getpid());
}

LeaseKeeper::LeaseKeeper(StateStore& state, bool shared, std::string holder,
                         std::chrono::milliseconds ttl)
    : state_(state), shared_(shared), holder_(std::move(holder)), ttl_(ttl) {}

LeaseKeeper::Changes LeaseKeeper::Tick(const std::vector<std::string>& connections,
                                       const std::set<std::string>& running) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point now = Clock::now();
  Changes changes;
  auto lose = [&](const std::string& name) {
    held_.erase(name);
    changes.lost.push_back(name);
  };
  // Connections a reload removed are given up.
  for (auto it = held_.begin(); it != held_.end();) {
    const std::string name = (it++)->first;
    if (std::find(connections.begin(), connections.end(), name) == connections.end() &&
        !running.contains(name)) {
      if (shared_) {
        (void)state_.ReleaseLease(held_.at(name).lease);
      }
      held_.erase(name);
    }
  }
  if (!shared_) {
    // One process per state directory: every connection is this one's.
    for (const std::string& name : connections) {
      if (!held_.contains(name)) {
        held_.emplace(name, Holding{Lease{name, holder_, 0}, now});
        changes.gained.push_back(name);
      }
    }
    return changes;
  }

  auto replicas = state_.Heartbeat(holder_, ttl_);
  if (!replicas) {
    Log(LogLevel::kWarn, "Cannot reach the state database; holding on to the leases it confirmed.",
        {{"error", Redact(replicas.error().message)}});
    for (auto it = held_.begin(); it != held_.end();) {
      const std::string name = (it++)->first;
      if (now - held_.at(name).renewed >= ttl_) {
        lose(name);
      }
    }
    return changes;
  }
  // Renew what is held.
  for (auto it = held_.begin(); it != held_.end();) {
    const std::string name = (it++)->first;
    Holding& holding = held_.at(name);
    auto renewed = state_.RenewLease(holding.lease, ttl_);
    if (renewed && *renewed) {
      holding.renewed = now;
    } else if ((renewed && !*renewed) || now - holding.renewed >= ttl_) {
      lose(name);
    }
  }
  // This replica's share: the connections over the live replicas, rounded up.
  const std::size_t live = std::max<std::size_t>(1, replicas->size());
  const std::size_t share = (connections.size() + live - 1) / live;
  // Over its share (another replica joined): give up idle ones, the
  // last in name order first, so replicas agree on which move.
  std::vector<std::string> idle;
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
    if (!running.contains(it->first)) {
      idle.push_back(it->first);
    }
  }
  for (const std::string& name : idle) {
    if (held_.size() <= share) {
      break;
    }
    (void)state_.ReleaseLease(held_.at(name).lease);
    held_.erase(name);
    changes.lost.push_back(name);
  }
  // Under it: take free or expired leases. Each replica starts at its own
  // place in the list, so that joining replicas do not all race for the
  // same connection first.
  if (held_.size() < share && !connections.empty()) {
    const auto me = std::find(replicas->begin(), replicas->end(), holder_);
    const std::size_t rank = me == replicas->end() ? 0 : me - replicas->begin();
    const std::size_t start = rank * connections.size() / live;
    for (std::size_t i = 0; i < connections.size() && held_.size() < share; ++i) {
      const std::string& name = connections[(start + i) % connections.size()];
      if (held_.contains(name)) {
        continue;
      }
      auto taken = state_.AcquireLease(name, holder_, ttl_);
      if (!taken) {
        Log(LogLevel::kWarn, "Cannot take a lease.",
            {{"connection", name}, {"error", Redact(taken.error().message)}});
        break;
      }
      if (*taken) {
        held_.emplace(name, Holding{**taken, now});
        changes.gained.push_back(name);
      }
    }
  }
  return changes;
}

std::optional<Lease> LeaseKeeper::Held(const std::string& connection) const {
  auto it = held_.find(connection);
  if (it == held_.end()) {
    return std::nullopt;
  }
  return it->second.lease;
}

void LeaseKeeper::ReleaseAll() {
  if (shared_) {
    for (const auto& [name, holding] : held_) {
      (void)state_.ReleaseLease(holding.lease);
    }
    // No longer live either: the others' shares grow to cover everything now.
    (void)state_.Heartbeat(holder_, std::chrono::milliseconds(0));
  }
  held_.clear();
}

Result<std::unique_ptr<HeldLeases>> HeldLeases::Take(const Config& config,
                                                     const std::vector<std::string>& connections,
                                                     std::vector<std::string>& busy) {
  std::unique_ptr<HeldLeases> held(new HeldLeases());
  const std::string holder = ReplicaName();
  if (!SharedState(config.state)) {
    for (const std::string& name : connections) {
      held->leases_.emplace(name, Lease{name, holder, 0});
    }
    return held;
  }
  auto state = OpenState(config.state, config.state_dir);
  if (!state) {
    return std::unexpected(state.error());
  }
  held->state_ = std::move(*state);
  for (const std::string& name : connections) {
    auto taken = held->state_->AcquireLease(name, holder, config.state.lease_ttl);
    if (!taken) {
      return std::unexpected(taken.error());
    }
    if (*taken) {
      held->leases_.emplace(name, **taken);
      continue;
    }
    std::string holder_name = "another replica";
    if (auto leases = held->state_->Leases(); leases) {
      for (const LeaseHolder& h : *leases) {
        if (h.connection == name) {
          holder_name = h.holder;
        }
      }
    }
    busy.push_back(name + " (held by " + holder_name + ")");
  }
  held->renewing_ = std::jthread([raw = held.get(), ttl = config.state.lease_ttl](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any wake;
    for (;;) {
      std::unique_lock lock(mu);
      if (wake.wait_for(lock, stop, LeaseRenewal(ttl), [] { return false; }); stop.stop_requested()) {
        return;
      }
      for (const auto& [name, lease] : raw->leases_) {
        auto renewed = raw->state_->RenewLease(lease, ttl);
        if (!renewed || !*renewed) {
          Log(LogLevel::kWarn, "Lost the lease of a connection; its writes are refused from now on.",
              {{"connection", name},
               {"error", renewed ? std::string("taken over") : Redact(renewed.error().message)}});
        }
      }
    }
  });
  return held;
}

HeldLeases::~HeldLeases() {
  if (renewing_.joinable()) {
    renewing_.request_stop();
    renewing_.join();
  }
  if (state_) {
    for (const auto& [name, lease] : leases_) {
      (void)state_->ReleaseLease(lease);
    }
  }
}

std::optional<Lease> HeldLeases::Of(const std::string& connection) const {
  auto it = leases_.find(connection);
  if (it == leases_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace boardsync
