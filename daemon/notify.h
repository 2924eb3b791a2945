// systemd's service notification protocol (sd_notify(3)), without libsystemd:
// datagrams to $NOTIFY_SOCKET. Does nothing when the variable is unset, so the
// daemon runs the same outside systemd. Thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace boardsync {

// Sends `state`, e.g. "READY=1\nSTATUS=3 connections". False when it could not.
bool NotifySystemd(std::string_view state);

// How often to send WATCHDOG=1 (half of $WATCHDOG_USEC), when systemd asks
// this process for it.
std::optional<std::chrono::microseconds> WatchdogInterval();

}  // namespace boardsync
