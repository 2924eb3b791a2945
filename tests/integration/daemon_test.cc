// `boardsync run` end to end: the real binary as a child process, against
// sample trackers on loopback with a short interval, writing real SQLite
// files in a temporary directory. Covers what an operator relies on: items
// appear and follow the tracker, SIGHUP reloads (and keeps the running config
// when the new one is bad), SIGTERM stops in time without losing writes,
// systemd's notify protocol, a hung tracker not holding up the others (also
// among connections a reload added), /metrics, and the log formats. Every
// wait polls with a deadline; failures show the tail of the daemon's output.

#include <SQLiteCpp/SQLiteCpp.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "connectors/http/json.h"
#include "core/value.h"
#include "tests/integration/board_testing.h"
#include "tests/integration/daemon_process.h"
#include "tests/support/http_test_client.h"
#include "tests/support/sample_tracker.h"
#include "tests/support/temp_dir.h"

namespace boardsync {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// How long a test waits for something the daemon should do within a few
// intervals; generous, because the machine may be busy.
constexpr milliseconds kDeadline = seconds(20);
// DESIGN/service.h: SIGTERM ends the process within 10 seconds.
constexpr milliseconds kStopLimit = seconds(10);

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    lines.emplace_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return lines;
}

std::size_t Count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string_view::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}



std::int64_t MonotonicMicros() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec * 1'000'000LL + now.tv_nsec / 1000;
}

// ---- The Prometheus text format (exposition format 0.0.4) ----

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromText {
  std::vector<PromSample> samples;
  std::map<std::string, std::string> types;  // family -> counter, gauge, ...
  std::set<std::string> helps;
  std::vector<std::string> errors;  // "line N: what", empty when it parsed

  std::optional<double> Find(std::string_view name,
                             const std::map<std::string, std::string>& labels) const {
    for (const PromSample& s : samples) {
      if (s.name == name && s.labels == labels) {
        return s.value;
      }
    }
    return std::nullopt;
  }
};

bool IsMetricName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') {
      return false;
    }
  }
  return true;
}

bool IsLabelName(std::string_view name) {
  return IsMetricName(name) && name.find(':') == std::string_view::npos && !name.starts_with("__");
}

// A sample value as Prometheus reads it: a float, NaN or ±Inf.
std::optional<double> ParsePromNumber(std::string_view text) {
  if (text == "NaN") {
    return std::nan("");
  }
  if (text == "+Inf" || text == "Inf") {
    return HUGE_VAL;
  }
  if (text == "-Inf") {
    return -HUGE_VAL;
  }
  if (text.empty() || text.find_first_not_of("0123456789+-.eE") != std::string_view::npos) {
    return std::nullopt;
  }
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) {
    return std::nullopt;
  }
  return value;
}

// Parses strictly: every sample line is `name{label="value",...} value
// [timestamp]` or `name value [timestamp]`, label values use only the \\, \"
// and \n escapes, each family has at most one TYPE line which comes before
// its samples, a family's lines form one group, and no series repeats.
PromText ParsePrometheusText(std::string_view body) {
  PromText out;
  if (!body.empty() && body.back() != '\n') {
    out.errors.push_back("the body does not end with a newline");
  }
  static const std::set<std::string, std::less<>> kTypes = {"counter", "gauge", "histogram",
                                                            "summary", "untyped"};
  std::set<std::string> finished_families;  // groups already closed
  std::string current_family;
  std::set<std::string> series;
  auto enter_family = [&](const std::string& family, int line_no) {
    if (family == current_family) {
      return;
    }
    if (finished_families.contains(family)) {
      out.errors.push_back("line " + std::to_string(line_no) + ": family " + family +
                           " appears again after other families");
    }
    if (!current_family.empty()) {
      finished_families.insert(current_family);
    }
    current_family = family;
  };

  int line_no = 0;
  for (const std::string& line : Lines(body)) {
    ++line_no;
    auto fail = [&](const std::string& why) {
      out.errors.push_back("line " + std::to_string(line_no) + ": " + why + ": " + line);
    };
    if (line.empty()) {
      continue;
    }
    if (line[0] == '#') {
      std::istringstream words(line.substr(1));
      std::string keyword, name;
      words >> keyword >> name;
      if (keyword != "TYPE" && keyword != "HELP") {
        continue;  // a plain comment
      }
      if (!IsMetricName(name)) {
        fail("bad metric name in # " + keyword);
        continue;
      }
      if (keyword == "HELP") {
        std::string help = line.substr(line.find(name) + name.size());
        for (std::size_t i = 0; i < help.size(); ++i) {
          if (help[i] == '\\' &&
              (i + 1 == help.size() || (help[i + 1] != '\\' && help[i + 1] != 'n'))) {
            fail("bad escape in HELP text");
          } else if (help[i] == '\\') {
            ++i;
          }
        }
        if (!out.helps.insert(name).second) {
          fail("a second HELP line for " + name);
        }
        enter_family(name, line_no);
        continue;
      }
      std::string type, rest;
      words >> type;
      std::getline(words, rest);
      if (!kTypes.contains(type) || rest.find_first_not_of(' ') != std::string::npos) {
        fail("bad TYPE line");
      }
      if (out.types.contains(name)) {
        fail("a second TYPE line for " + name);
      }
      if (name == current_family &&
          std::any_of(out.samples.begin(), out.samples.end(),
                      [&](const PromSample& s) { return s.name == name; })) {
        fail("TYPE after samples of " + name);
      }
      out.types[name] = type;
      enter_family(name, line_no);
      continue;
    }

    PromSample sample;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') {
      ++i;
    }
    sample.name = line.substr(0, i);
    if (!IsMetricName(sample.name)) {
      fail("bad metric name");
      continue;
    }
    bool ok = true;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (ok && i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) {
          ok = false;
          break;
        }
        std::string label = line.substr(i, eq - i);
        if (!IsLabelName(label) || eq + 1 >= line.size() || line[eq + 1] != '"') {
          ok = false;
          break;
        }
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (j + 1 >= line.size()) {
              ok = false;
              break;
            }
            char escaped = line[++j];
            if (escaped == '\\' || escaped == '"') {
              value += escaped;
            } else if (escaped == 'n') {
              value += '\n';
            } else {
              ok = false;
              break;
            }
          } else {
            value += line[j];
          }
        }
        if (!ok || j >= line.size()) {
          ok = false;
          break;
        }
        if (!sample.labels.emplace(label, value).second) {
          fail("label " + label + " given twice");
        }
        i = j + 1;
        if (i < line.size() && line[i] == ',') {
          ++i;
        } else if (i >= line.size() || line[i] != '}') {
          ok = false;
        }
      }
      if (!ok || i >= line.size()) {
        fail("bad label set");
        continue;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      fail("no space before the value");
      continue;
    }
    std::istringstream rest(line.substr(i + 1));
    std::string value_text, timestamp, extra;
    rest >> value_text >> timestamp >> extra;
    auto value = ParsePromNumber(value_text);
    if (!value) {
      fail("the value is not a number");
      continue;
    }
    if (!extra.empty() ||
        (!timestamp.empty() && timestamp.find_first_not_of("-0123456789") != std::string::npos)) {
      fail("bad timestamp or trailing text");
      continue;
    }
    sample.value = *value;

    // counter and gauge samples carry the family name; histograms and
    // summaries add suffixes.
    std::string family = sample.name;
    if (!out.types.contains(family)) {
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (family.ends_with(suffix)) {
          std::string base = family.substr(0, family.size() - suffix.size());
          auto it = out.types.find(base);
          if (it != out.types.end() && (it->second == "histogram" || it->second == "summary")) {
            family = base;
          }
        }
      }
    }
    if (!out.types.contains(family)) {
      fail("no # TYPE line before this sample");
    }
    enter_family(family, line_no);
    std::string key = sample.name;
    for (const auto& [k, v] : sample.labels) {
      key += "|" + k + "=" + v;
    }
    if (!series.insert(key).second) {
      fail("the same series twice");
    }
    out.samples.push_back(std::move(sample));
  }
  return out;
}

TEST(DaemonPrometheusParserTest, AcceptsValidTextAndRejectsBrokenLines) {
  PromText good = ParsePrometheusText(
      "# HELP a_total Things.\n# TYPE a_total counter\n"
      "a_total{x=\"q\\\"uo\\\\te\\n\",y=\"\"} 3\na_total{x=\"b\",} 1e+09 1700000000000\n"
      "# TYPE g gauge\ng NaN\n");
  EXPECT_TRUE(good.errors.empty()) << testing::PrintToString(good.errors);
  EXPECT_EQ(good.Find("a_total", {{"x", "q\"uo\\te\n"}, {"y", ""}}), 3.0);
  EXPECT_EQ(good.Find("a_total", {{"x", "b"}}), 1e9);

  for (const char* bad : {
           "a 1\n",                                                     // no TYPE
           "# TYPE a gauge\na{x=\"\\t\"} 1\n",                          // bad escape
           "# TYPE a gauge\na{x=\"1} 1\n",                              // unterminated value
           "# TYPE a gauge\na one\n",                                   // not a number
           "# TYPE a gauge\n1a 1\n",                                    // bad name
           "# TYPE a gauge\na{1x=\"1\"} 1\n",                           // bad label name
           "# TYPE a gauge\na 1\na 2\n",                                // the same series twice
           "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x=\"y\"} 1\n",  // not grouped
           "# TYPE a gauge\na 1",                                       // no final newline
       }) {
    EXPECT_FALSE(ParsePrometheusText(bad).errors.empty()) << bad;
  }
}

// ---- systemd's notify socket, as the service manager holds it ----

// The line of `text` equal to `prefix`, or for a prefix ending in '=' (as
// "STATUS=") the first line starting with it.
std::optional<std::string> FindLine(std::string_view text, std::string_view prefix) {
  for (const std::string& line : Lines(text)) {
    if (prefix.ends_with('=') ? line.starts_with(prefix) : line == prefix) {
      return line;
    }
  }
  return std::nullopt;
}

class NotifyListener {
 public:
  struct Message {
    std::string text;
    Clock::time_point at;
  };

  // `address`: a file path, or "@name" for a socket in the abstract namespace.
  explicit NotifyListener(std::string address) : address_(std::move(address)) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (address_.empty() || address_.size() >= sizeof(a.sun_path)) {
      error_ = "address too long";
      return;
    }
    std::memcpy(a.sun_path, address_.data(), address_.size());
    if (address_[0] == '@') {
      a.sun_path[0] = '\0';
    }
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), size) != 0) {
      error_ = std::strerror(errno);
    }
  }
  ~NotifyListener() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    if (!address_.empty() && address_[0] != '@') {
      ::unlink(address_.c_str());
    }
  }
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  bool bound() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& address() const { return address_; }

  // The next datagram within `timeout`.
  std::optional<Message> Receive(milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long long>(timeout.count(), 0))) <= 0) {
      return std::nullopt;
    }
    char buffer[4096];
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) {
      return std::nullopt;
    }
    Message message{std::string(buffer, static_cast<std::size_t>(n)), Clock::now()};
    history_.push_back(message);
    return message;
  }

  // Receives until a datagram has the line `line` (a prefix when it ends
  // with '='); nullopt when none came within `timeout`.
  std::optional<Message> ReceiveUntil(std::string_view line, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (auto now = Clock::now(); now < deadline; now = Clock::now()) {
      auto message = Receive(std::chrono::duration_cast<milliseconds>(deadline - now));
      if (message && FindLine(message->text, line)) {
        return message;
      }
    }
    return std::nullopt;
  }

  // Counts the datagrams with `line` until `until`.
  int CountUntil(std::string_view line, Clock::time_point until) {
    int n = 0;
    for (auto now = Clock::now(); now < until; now = Clock::now()) {
      auto message = Receive(std::chrono::duration_cast<milliseconds>(until - now));
      if (message && FindLine(message->text, line)) {
        ++n;
      }
    }
    return n;
  }

  // Every datagram so far, one a line, for failure messages.
  std::string History() const {
    std::string out = "\n---- datagrams received on " + address_ + " ----\n";
    for (const Message& m : history_) {
      std::string text = m.text;
      for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at)) {
        text.replace(at, 1, "\\n");
      }
      out += text + "\n";
    }
    return out + "---- end ----\n";
  }

 private:
  std::string address_;
  int fd_ = -1;
  std::string error_;
  std::vector<Message> history_;
};

// ---- The fixture ----

struct Connection {
  std::string name;
  std::string base_url;
  std::string board = "roadmap";
  std::string extra;  // more keys of the connection, each "    key: value\n"
};

class DaemonTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(Binary()))
        << "build the boardsync target first: " << Binary();
    ASSERT_TRUE(tracker_.LoadIssues(SampleIssuesPath()));
    auto token = dir_.Write("tracker.token", std::string(kSampleTrackerToken) + "\n");
    ::chmod(token.c_str(), 0600);
    // A copy, so a test can change the mapping under the running daemon.
    std::filesystem::copy_file(SourceDir() / "mappings/examples/youtrack.yaml",
                               dir_.path() / "mapping.yaml");
    WriteConfig({Sample()});
  }

  static std::filesystem::path Binary() { return BinaryDir() / "boardsync"; }
  std::filesystem::path ConfigPath() const { return dir_.path() / "boardsync.yaml"; }
  std::filesystem::path StateDir() const { return dir_.path() / "state"; }
  Connection Sample() const { return Connection{"sample", tracker_.base_url()}; }

  // `top`: more top-level keys, each "key: value\n".
  void WriteConfig(const std::vector<Connection>& connections, const std::string& top = "") {
    std::string text = "state_dir: state\n" + top + "connections:\n";
    for (const Connection& c : connections) {
      text += "  - name: " + c.name + "\n";
      text += "    type: youtrack\n";
      text += "    base_url: " + c.base_url + "\n";
      text += "    token_file: tracker.token\n";
      text += "    mapping: mapping.yaml\n";
      text += "    board: " + c.board + "\n";
      text += "    interval: 1s\n";  // the shortest there is
      text += "    page_size: 4\n";
      text += c.extra;
    }
    dir_.Write("boardsync.yaml", text);
  }

  // Starts `boardsync run` (after `options`, e.g. --log-format json), with
  // `env` added to its environment.
  void Start(const std::vector<std::string>& env = {},
             const std::vector<std::string>& options = {}) {
    std::vector<std::string> argv = {Binary().string()};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"run", "--config", ConfigPath().string()});
    StartProcess(argv, env);
  }

  void StartProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    daemon_ = std::make_unique<DaemonProcess>(argv, env, dir_.path() / "daemon.log");
    ASSERT_TRUE(daemon_->started()) << daemon_->error();
  }

  // What went wrong with the daemon, for failure messages.
  std::string Why() const {
    return daemon_ == nullptr ? "(no daemon)"
                              : "the daemon " + daemon_->DescribeStatus() + daemon_->Tail();
  }
  std::string Log() const { return daemon_ == nullptr ? "" : daemon_->Log(); }

  // Polls until `condition` holds; false at the deadline or when the
  // daemon has exited meanwhile.
  bool Eventually(const std::function<bool()>& condition, milliseconds timeout = kDeadline) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (condition()) {
        return true;
      }
      if (Clock::now() >= deadline || (daemon_ != nullptr && !daemon_->Running())) {
        return condition();
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  // nullopt while board.db is missing or half made, or busy.
  std::optional<Board> TryReadBoard(std::string_view board = "roadmap") const {
    const std::filesystem::path file = StateDir() / "board.db";
    if (!std::filesystem::exists(file)) {
      return std::nullopt;
    }
    try {
      return ReadBoard(file, board);
    } catch (const SQLite::Exception&) {
      return std::nullopt;
    }
  }

  // The board now, waiting out a moment when it cannot be read; empty (and
  // a test failure) when it stays unreadable.
  Board CurrentBoard() {
    std::optional<Board> board;
    if (!Eventually([&] { return (board = TryReadBoard()).has_value(); }, seconds(5))) {
      ADD_FAILURE() << "cannot read " << StateDir() / "board.db";
      return Board();
    }
    return *board;
  }

  // An item's string field, "(no item)" when there is no such item.
  std::string ItemField(std::string_view item_key, std::string_view field) {
    const Board board = CurrentBoard();
    const BoardRow* row = board.Find(item_key);
    return row == nullptr ? "(no item)" : row->Field(field);
  }

  // The live items are exactly the tracker's non-duplicate issues in their
  // latest version, with the summary in `title_field`. Remembers the
  // differences for the failure message.
  bool BoardMatchesTracker(std::string_view title_field = "title") {
    auto board = TryReadBoard();
    if (!board) {
      differences_ = "no board yet";
      return false;
    }
    BoardDifferences d = CompareBoard(*board, tracker_, "sample", NotDuplicate, title_field);
    differences_ = "board vs tracker: " + d.ToString();
    return d.empty();
  }

  // Signals the daemon and expects exit status 0 within kStopLimit; returns
  // how long it took in seconds.
  double StopAndExpectCleanExit(int signal = SIGTERM) {
    const auto start = Clock::now();
    EXPECT_TRUE(daemon_->Signal(signal)) << Why();
    std::optional<int> code = daemon_->WaitForExit(kStopLimit);
    const double took = std::chrono::duration<double>(Clock::now() - start).count();
    EXPECT_EQ(code, 0) << "after " << took << "s, " << Why();
    ExpectNoSecretInLog();
    return took;
  }

  // DESIGN §5: the token never appears in any output.
  void ExpectNoSecretInLog() const {
    std::string_view token = kSampleTrackerToken;
    std::string secret(token.substr(token.rfind('.') + 1));
    EXPECT_EQ(Log().find(secret), std::string::npos) << "the token leaked into the log" << Why();
  }

  // The port the daemon reports serving metrics on.
  std::optional<int> MetricsPort() const {
    static const std::regex kServing(R"(Serving metrics\..* port=(\d+))");
    std::smatch match;
    const std::string log = Log();
    if (std::regex_search(log, match, kServing)) {
      return std::stoi(match[1]);
    }
    return std::nullopt;
  }

  // Runs `boardsync <args>` to the end; its exit code (-1 when it did not
  // exit by itself within a minute) and output.
  std::pair<int, std::string> RunOnce(std::vector<std::string> args) {
    args.insert(args.begin(), Binary().string());
    DaemonProcess once(args, {}, dir_.path() / "once.log");
    std::optional<int> code = once.WaitForExit(seconds(60));
    return {code.value_or(-1), once.Log()};
  }

  SampleTracker tracker_;
  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::string differences_;
};

// ---- Tests ----

TEST_F(DaemonTest, SyncsEveryIssueAndKeepsFollowingTheTracker) {
  WriteConfig({Sample()});
  ASSERT_NO_FATAL_FAILURE(Start());

  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker(); })) << differences_ << Why();
  Board board = CurrentBoard();
  EXPECT_EQ(board.row_count, 13u);  // 15 issues, 2 of them Duplicate
  EXPECT_EQ(board.live(), 13u);
  for (const auto& [key, row] : board.rows) {
    EXPECT_NE(row.source_key, "RAP-4");
    EXPECT_NE(row.source_key, "SRV-5");
  }
  const BoardRow* rap2 = board.Find("sample:2-17");
  ASSERT_NE(rap2, nullptr);
  EXPECT_EQ(rap2->source_key, "RAP-2");
  EXPECT_EQ(rap2->Field("headline"), "RAP-2: Show priority score next to each board card");
  EXPECT_EQ(rap2->source_url, tracker_.base_url() + "/issue/RAP-2");

  // It keeps polling: a change, a new issue and (on the full pass) a
  // deletion all reach the board without a restart.
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "Changed while the daemon runs"));
  auto added = tracker_.AddIssue(Value(Value::Object{
      {"summary", "Added while the daemon runs"},
      {"project", Value(Value::Object{{"$type", "Project"}, {"shortName", "RAP"}})}}));
  ASSERT_TRUE(added.has_value()) << added.error().message;
  const std::string deleted = std::string(tracker_.GetIssue("SRV-1")->StringOr("id"));
  ASSERT_TRUE(tracker_.DeleteIssue("SRV-1"));
  // The deletion is found by the next reconciliation (full_resync, 24h by
  // default): as far as the state database knows, there never was one. (Again
  // on every look: a cycle in flight writes the cursor it started with.)
  auto never_reconciled = [&] {
    SQLite::Database state((StateDir() / "state.db").string(), SQLite::OPEN_READWRITE);
    state.setBusyTimeout(10'000);
    state.exec("UPDATE cursors SET last_full_ms = 0");
  };
  ASSERT_TRUE(Eventually([&] {
    never_reconciled();
    return BoardMatchesTracker();
  })) << differences_
      << Why();
  board = CurrentBoard();
  EXPECT_EQ(ItemField("sample:" + *added, "title"), "Added while the daemon runs");
  ASSERT_NE(board.Find("sample:" + deleted), nullptr);
  EXPECT_TRUE(board.Find("sample:" + deleted)->archived());
  EXPECT_EQ(board.live(), 13u);

  StopAndExpectCleanExit();
  EXPECT_NE(Log().find("Stopped."), std::string::npos) << Why();
}

TEST_F(DaemonTest, SighupWithAChangedMappingRemapsTheItems) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker("title"); })) << differences_ << Why();
  // Before the reload, the running mapping keeps syncing.
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "Before the reload"));
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker("title"); })) << differences_ << Why();

  std::string mapping = ReadFile(dir_.path() / "mapping.yaml");
  const std::string from = "\n  title: summary\n";
  ASSERT_NE(mapping.find(from), std::string::npos) << mapping;
  mapping.replace(mapping.find(from), from.size(), "\n  name: summary\n");
  dir_.Write("mapping.yaml", mapping);
  ASSERT_TRUE(daemon_->Signal(SIGHUP));

  // Every item is re-mapped, though no issue changed.
  auto remapped = [&] {
    if (!BoardMatchesTracker("name")) {
      return false;
    }
    std::optional<Board> board = TryReadBoard();
    if (!board) {
      return false;
    }
    for (const auto& [key, row] : board->rows) {
      if (!row.archived() && row.fields.Find("title") != nullptr) {
        differences_ = key + " still has a title";
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(Eventually(remapped)) << differences_ << Why();
  EXPECT_NE(Log().find("Reloaded the config and mappings."), std::string::npos) << Why();
  EXPECT_EQ(ItemField("sample:2-17", "name"), "Show priority score next to each board card");

  // And the new mapping keeps syncing.
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "After the reload"));
  ASSERT_TRUE(Eventually(remapped)) << differences_ << Why();
  StopAndExpectCleanExit();
}

TEST_F(DaemonTest, AnInvalidConfigOnSighupKeepsTheRunningOne) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker(); })) << differences_ << Why();
  const std::string good = ReadFile(ConfigPath());
  const std::string kInvalid = "The new config is invalid; keeping the running one.";

  // An unknown key, on the last line.
  dir_.Write("boardsync.yaml", good + "    colour: blue\n");
  const std::string where =
      ConfigPath().string() + ":" + std::to_string(Count(good, "\n") + 1) + ":5: ";
  ASSERT_TRUE(daemon_->Signal(SIGHUP));
  ASSERT_TRUE(Eventually([&] { return Log().find(kInvalid) != std::string::npos; })) << Why();
  EXPECT_NE(Log().find(where + "unknown key \\\"colour\\\""), std::string::npos)
      << "expected " << where << Why();
  EXPECT_TRUE(daemon_->Running());
  // The running config still syncs.
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "After a bad config"));
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker("title"); })) << differences_ << Why();

  // A good config whose mapping has an unknown transform: refused the same
  // way, naming the mapping file's place.
  dir_.Write("boardsync.yaml", good);
  dir_.Write("mapping.yaml",
             "fields:\n  title: summary\n  effort: { from: Estimation, as: hourz }\n");
  ASSERT_TRUE(daemon_->Signal(SIGHUP));
  ASSERT_TRUE(Eventually([&] { return Count(Log(), kInvalid) == 2; })) << Why();
  EXPECT_NE(Log().find((dir_.path() / "mapping.yaml").string() + ":3:35: "), std::string::npos)
      << Why();
  EXPECT_EQ(Log().find("Reloaded the config"), std::string::npos) << Why();
  // Items are still made by the old mapping (the new one has no headline).
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "After a bad mapping"));
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker("title"); })) << differences_ << Why();
  const std::string rap3 = std::string(tracker_.GetIssue("RAP-3")->StringOr("id"));
  EXPECT_EQ(ItemField("sample:" + rap3, "headline"), "RAP-3: After a bad mapping");
  StopAndExpectCleanExit();
}

TEST_F(DaemonTest, SigtermInTheMiddleOfACycleExitsInTimeAndLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker(); })) << differences_ << Why();

  // Change every issue; the next cycle pages through them, 4 a page, and
  // SIGTERM arrives while it is at the second page.
  for (const std::string& id : tracker_.IssueIds()) {
    ASSERT_TRUE(tracker_.SetSummary(id, "Changed before SIGTERM: " + id));
  }
  auto signalled = std::make_shared<std::atomic<bool>>(false);
  const std::size_t base = tracker_.RequestCount("/api/issues");
  const pid_t pid = daemon_->pid();
  tracker_.OnIssuesRequest([signalled, base, pid](std::size_t n) {
    if (n >= base + 2 && !signalled->exchange(true)) {
      ::kill(pid, SIGTERM);
    }
  });
  ASSERT_TRUE(Eventually([&] { return signalled->load(); })) << Why();
  const auto start = Clock::now();
  std::optional<int> code = daemon_->WaitForExit(kStopLimit);
  tracker_.OnIssuesRequest({});
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_EQ(code, 0) << "after " << took << "s, " << Why();

  // Every change is on the board, waits in the outbox, or is not older than
  // the saved cursor, where the next run starts reading. (The changes above
  // share a millisecond or a few, so a page can end in the middle of a run
  // of equal `updated` values: the cursor then equals theirs.)
  std::set<std::string> queued;
  std::int64_t cursor = 0;
  {
    SQLite::Database state((StateDir() / "state.db").string(), SQLite::OPEN_READONLY);
    SQLite::Statement outbox(state, "SELECT item_key FROM outbox WHERE connection = 'sample'");
    while (outbox.executeStep()) {
      queued.insert(outbox.getColumn(0).getString());
    }
    SQLite::Statement cursors(state, "SELECT updated_ms FROM cursors WHERE connection = 'sample'");
    if (cursors.executeStep()) {
      cursor = cursors.getColumn(0).getInt64();
    }
  }
  Board board = CurrentBoard();
  int delivered = 0, in_outbox = 0, not_yet_read = 0;
  for (const std::string& id : tracker_.IssueIds()) {
    Value issue = *tracker_.GetIssue(id);
    if (!NotDuplicate(issue)) {
      continue;
    }
    const std::string key = "sample:" + id;
    const BoardRow* row = board.Find(key);
    if (row != nullptr && row->Field("title") == issue.StringOr("summary")) {
      ++delivered;
    } else if (queued.contains(key)) {
      ++in_outbox;
    } else if (issue.Find("updated")->AsInt() >= cursor) {
      ++not_yet_read;
    } else {
      ADD_FAILURE() << key << " (" << issue.StringOr("idReadable")
                    << ") was read, but is neither on the board nor in the outbox"
                    << " (updated " << issue.Find("updated")->AsInt() << ", cursor " << cursor
                    << ")";
    }
  }
  RecordProperty("delivered", delivered);
  RecordProperty("in_outbox", in_outbox);
  RecordProperty("not_yet_read", not_yet_read);
  EXPECT_EQ(IntegrityCheck(StateDir() / "state.db"), "ok");
  EXPECT_EQ(IntegrityCheck(StateDir() / "board.db"), "ok");

  // One `boardsync sync` afterwards brings the board level with the tracker
  // and empties the outbox (the daemon left no lock behind either).
  auto [sync_code, sync_log] = RunOnce({"sync", "--config", ConfigPath().string()});
  ASSERT_EQ(sync_code, 0) << sync_log;
  EXPECT_TRUE(BoardMatchesTracker()) << differences_;
  SQLite::Database state((StateDir() / "state.db").string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(state.execAndGet("SELECT COUNT(*) FROM outbox").getInt(), 0);
  ExpectNoSecretInLog();
}

TEST_F(DaemonTest, TellsSystemdReadyWatchdogReloadingAndStopping) {
  NotifyListener notify((dir_.path() / "notify.sock").string());
  ASSERT_TRUE(notify.bound()) << notify.error();
  ASSERT_NO_FATAL_FAILURE(Start({"NOTIFY_SOCKET=" + notify.address(), "WATCHDOG_USEC=400000"}));

  auto ready = notify.Receive(kDeadline);
  ASSERT_TRUE(ready) << "nothing on NOTIFY_SOCKET" << Why();
  EXPECT_TRUE(FindLine(ready->text, "READY=1")) << "the first message: " << ready->text;
  auto status = FindLine(ready->text, "STATUS=");
  ASSERT_TRUE(status) << ready->text;
  EXPECT_NE(status->find("1 connection"), std::string::npos) << *status;

  // WATCHDOG_USEC=400000: a ping at least every 200ms, so at least two in
  // two seconds, however busy the machine.
  const int pings = notify.CountUntil("WATCHDOG=1", ready->at + seconds(2));
  EXPECT_GE(pings, 2) << notify.History() << Why();
  EXPECT_LE(pings, 30) << notify.History();

  // Finished syncs update the status.
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker(); })) << differences_ << Why();
  auto after_sync = notify.ReceiveUntil("STATUS=", seconds(5));
  ASSERT_TRUE(after_sync) << notify.History() << Why();
  EXPECT_NE(FindLine(after_sync->text, "STATUS=")->find("board writes pending"), std::string::npos)
      << after_sync->text;

  ASSERT_TRUE(daemon_->Signal(SIGHUP));
  auto reloading = notify.ReceiveUntil("RELOADING=1", seconds(5));
  ASSERT_TRUE(reloading) << notify.History() << Why();
  // systemd (Type=notify-reload) wants the reload's start on CLOCK_MONOTONIC.
  auto monotonic = FindLine(reloading->text, "MONOTONIC_USEC=");
  ASSERT_TRUE(monotonic) << reloading->text;
  const std::int64_t sent = std::stoll(monotonic->substr(std::strlen("MONOTONIC_USEC=")));
  EXPECT_LE(std::llabs(MonotonicMicros() - sent), 10'000'000LL) << *monotonic;
  EXPECT_TRUE(notify.ReceiveUntil("READY=1", seconds(5))) << notify.History() << Why();

  ASSERT_TRUE(daemon_->Signal(SIGTERM));
  EXPECT_TRUE(notify.ReceiveUntil("STOPPING=1", kStopLimit)) << notify.History() << Why();
  std::optional<int> code = daemon_->WaitForExit(kStopLimit);
  EXPECT_EQ(code, 0) << Why();
}

TEST_F(DaemonTest, NotifiesAnAbstractSocketAndPingsWhenWatchdogPidIsItsOwn) {
  NotifyListener notify("@boardsync-test-" + std::to_string(::getpid()) + "-" +
                        dir_.path().filename().string());
  ASSERT_TRUE(notify.bound()) << notify.error();
  // The shell learns the pid the daemon will have ($$, kept by exec), as
  // systemd sets WATCHDOG_PID to the main process.
  ASSERT_NO_FATAL_FAILURE(
      StartProcess({"/bin/sh", "-c", "export WATCHDOG_PID=$$; exec \"$0\" \"$@\"",
                    Binary().string(), "run", "--config", ConfigPath().string()},
                   {"NOTIFY_SOCKET=" + notify.address(), "WATCHDOG_USEC=400000"}));

  auto ready = notify.ReceiveUntil("READY=1", kDeadline);
  ASSERT_TRUE(ready) << notify.History() << Why();
  EXPECT_GE(notify.CountUntil("WATCHDOG=1", ready->at + seconds(2)), 2) << notify.History();
  ASSERT_TRUE(daemon_->Signal(SIGTERM));
  EXPECT_TRUE(notify.ReceiveUntil("STOPPING=1", kStopLimit)) << notify.History() << Why();
  EXPECT_EQ(daemon_->WaitForExit(kStopLimit), 0) << Why();
}

TEST_F(DaemonTest, NoWatchdogPingsWhenWatchdogPidNamesAnotherProcess) {
  NotifyListener notify((dir_.path() / "notify.sock").string());
  ASSERT_TRUE(notify.bound()) << notify.error();
  ASSERT_NO_FATAL_FAILURE(Start({"NOTIFY_SOCKET=" + notify.address(), "WATCHDOG_USEC=400000",
                                 "WATCHDOG_PID=" + std::to_string(::getpid())}));
  auto ready = notify.ReceiveUntil("READY=1", kDeadline);
  ASSERT_TRUE(ready) << notify.History() << Why();
  EXPECT_EQ(notify.CountUntil("WATCHDOG=1", ready->at + milliseconds(1200)), 0) << notify.History();
  StopAndExpectCleanExit();
}

TEST_F(DaemonTest, AHangingTrackerDoesNotHoldUpAnotherConnection) {
  SampleTracker hung;
  ASSERT_TRUE(hung.LoadIssues(SampleIssuesPath()));
  hung.InjectFault(SampleTracker::Fault::Hang().Times(1000));  // every request, from the first
  WriteConfig({Sample(), Connection{"stuck", hung.base_url(), "stuck", "    timeout: 30s\n"}},
              "metrics_listen: 127.0.0.1:0\n");
  ASSERT_NO_FATAL_FAILURE(Start());

  ASSERT_TRUE(Eventually([&] { return hung.total_requests() >= 1; })) << Why();
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker(); })) << differences_ << Why();
  // The healthy connection goes on syncing on its interval while the other
  // one's first request is still unanswered.
  const std::size_t before = tracker_.RequestCount("/api/issues");
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "Synced while another tracker hangs"));
  ASSERT_TRUE(Eventually([&] {
    return BoardMatchesTracker() && tracker_.RequestCount("/api/issues") >= before + 3;
  })) << differences_
      << Why();
  EXPECT_EQ(hung.total_requests(), 1u);

  auto port = MetricsPort();
  ASSERT_TRUE(port) << Why();
  HttpTestResponse metrics = HttpGet("http://127.0.0.1:" + std::to_string(*port) + "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.error;
  PromText text = ParsePrometheusText(metrics.body);
  EXPECT_TRUE(text.errors.empty()) << testing::PrintToString(text.errors) << metrics.body;
  EXPECT_GE(
      text.Find("boardsync_syncs_total", {{"connection", "sample"}, {"result", "ok"}}).value_or(0),
      2)
      << metrics.body;
  EXPECT_EQ(text.Find("boardsync_syncs_total", {{"connection", "stuck"}, {"result", "ok"}}), 0.0)
      << metrics.body;
  EXPECT_EQ(text.Find("boardsync_syncs_total", {{"connection", "stuck"}, {"result", "failed"}}),
            0.0)
      << metrics.body;
  auto stuck_board = TryReadBoard("stuck");
  ASSERT_TRUE(stuck_board);
  EXPECT_EQ(stuck_board->row_count, 0u);

  // The hung request does not hold up the exit either: SIGTERM cancels it.
  const double took = StopAndExpectCleanExit();
  RecordProperty("stop_seconds", std::to_string(took));
  EXPECT_LT(took, 3.0) << Why();
  EXPECT_EQ(Log().find("Stopping without waiting for a hung request"), std::string::npos) << Why();
  EXPECT_NE(Log().find("connection=stuck"), std::string::npos) << Why();
}

TEST_F(DaemonTest, AnIssueThatCannotBeReadNeverBacksItsConnectionOff) {
  const Value spoilt(Value::Object{{"minutes", "lots"}, {"$type", "PeriodValue"}});
  ASSERT_TRUE(tracker_.SetFieldValue("RAP-2", "Estimation", spoilt));
  WriteConfig({Sample()});
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(Eventually([&] {
    return Log().find("some issues or items failed on their own") != std::string::npos;
  })) << Why();
  // Each sync asks for the changes and then for RAP-2 by key, and the next
  // one is due after the interval (1 s, ±5%), never after a backoff (1 s,
  // 2 s, 4 s, ...): the log says when each next sync is due.
  const std::size_t before = tracker_.RequestCount("/api/issues");
  ASSERT_TRUE(Eventually([&] { return tracker_.RequestCount("/api/issues") >= before + 6; }))
      << Why();
  const std::string log = Log();
  EXPECT_EQ(log.find("retrying with backoff"), std::string::npos) << Why();
  EXPECT_NE(log.find("issue=RAP-2"), std::string::npos) << Why();
  std::vector<long> next_in_ms;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find("next_in_ms=");
    if (line.find("some issues or items failed on their own") != std::string::npos &&
        at != std::string::npos) {
      next_in_ms.push_back(std::stol(line.substr(at + 11)));
    }
  }
  ASSERT_GE(next_in_ms.size(), 3u) << Why();
  for (long ms : next_in_ms) {
    EXPECT_LE(ms, 1050) << Why();
  }

  // Mended without a new `updated`: the retry by key brings it.
  ASSERT_TRUE(tracker_.EditIssueInPlace("RAP-2", [](Value& issue) {
    for (Value& field : issue.AsObject()["customFields"].AsList()) {
      if (field.StringOr("name") == "Estimation") {
        field.AsObject()["value"] =
            Value(Value::Object{{"minutes", 90}, {"$type", "PeriodValue"}});
      }
    }
  }));
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker(); })) << differences_ << Why();
  StopAndExpectCleanExit();
}

TEST_F(DaemonTest, ConnectionsAddedOnSighupGetWorkersOfTheirOwn) {
  // One connection at start, so one worker.
  WriteConfig({Sample()}, "metrics_listen: 127.0.0.1:0\n");
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker(); })) << differences_ << Why();

  // The reload adds five: one whose tracker never answers (its timeout
  // outlasts the test, so whichever worker takes it stays taken) and four
  // healthy ones, each with its own tracker and board.
  SampleTracker hung;
  ASSERT_TRUE(hung.LoadIssues(SampleIssuesPath()));
  hung.InjectFault(SampleTracker::Fault::Hang().Times(1000));  // every request, from the first
  std::vector<Connection> connections = {
      Sample(), Connection{"stuck", hung.base_url(), "stuck", "    timeout: 10m\n"}};
  std::vector<std::string> names;
  std::vector<std::unique_ptr<SampleTracker>> trackers;
  for (int i = 1; i <= 4; ++i) {
    names.push_back("added" + std::to_string(i));
    trackers.push_back(std::make_unique<SampleTracker>());
    ASSERT_TRUE(trackers.back()->LoadIssues(SampleIssuesPath()));
    connections.push_back(Connection{names.back(), trackers.back()->base_url(), names.back()});
  }
  WriteConfig(connections, "metrics_listen: 127.0.0.1:0\n");
  ASSERT_TRUE(daemon_->Signal(SIGHUP));
  ASSERT_TRUE(Eventually([&] { return hung.total_requests() >= 1; })) << Why();

  // Connection `i` of the added healthy ones has every issue on its board.
  auto synced = [&](std::size_t i) {
    std::optional<Board> board = TryReadBoard(names[i]);
    if (!board) {
      differences_ = names[i] + ": no board yet";
      return false;
    }
    BoardDifferences d = CompareBoard(*board, *trackers[i], names[i], NotDuplicate);
    differences_ = names[i] + " vs its tracker: " + d.ToString();
    return d.empty();
  };
  for (std::size_t i = 0; i < trackers.size(); ++i) {
    ASSERT_TRUE(Eventually([&] { return synced(i); })) << differences_ << Why();
  }

  // While the request to the hung tracker is still unanswered, each of them
  // (and the first connection) goes on syncing on its interval: a change
  // made now reaches every board, and every tracker is asked again and again.
  std::vector<std::size_t> before;
  for (std::size_t i = 0; i < trackers.size(); ++i) {
    before.push_back(trackers[i]->RequestCount("/api/issues"));
    ASSERT_TRUE(trackers[i]->SetSummary("RAP-3", "Synced while another tracker hangs"));
  }
  ASSERT_TRUE(tracker_.SetSummary("RAP-3", "Synced while another tracker hangs"));
  for (std::size_t i = 0; i < trackers.size(); ++i) {
    ASSERT_TRUE(Eventually([&] {
      return synced(i) && trackers[i]->RequestCount("/api/issues") >= before[i] + 3;
    })) << differences_
        << " (" << trackers[i]->RequestCount("/api/issues") - before[i]
        << " requests since the change)" << Why();
  }
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker(); })) << differences_ << Why();
  EXPECT_EQ(hung.total_requests(), 1u);
  EXPECT_NE(Log().find("workers=6"), std::string::npos) << Why();

  // Their runs, as /metrics counts them.
  auto port = MetricsPort();
  ASSERT_TRUE(port) << Why();
  HttpTestResponse metrics = HttpGet("http://127.0.0.1:" + std::to_string(*port) + "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.error;
  PromText text = ParsePrometheusText(metrics.body);
  for (const std::string& name : names) {
    EXPECT_GE(
        text.Find("boardsync_syncs_total", {{"connection", name}, {"result", "ok"}}).value_or(0), 2)
        << name << "\n"
        << metrics.body;
  }
  EXPECT_EQ(text.Find("boardsync_syncs_total", {{"connection", "stuck"}, {"result", "ok"}}), 0.0)
      << metrics.body;

  // Six workers, one of them hung, stop as fast as one: SIGTERM cancels it.
  const double took = StopAndExpectCleanExit();
  RecordProperty("stop_seconds", std::to_string(took));
  EXPECT_LT(took, 3.0) << Why();
  EXPECT_EQ(Log().find("Stopping without waiting for a hung request"), std::string::npos) << Why();
}

TEST_F(DaemonTest, ServesMetricsInThePrometheusTextFormatAndHealthz) {
  const std::uint16_t port = FreeLoopbackPort();
  ASSERT_NE(port, 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  WriteConfig({Sample()}, "metrics_listen: 127.0.0.1:" + std::to_string(port) + "\n");
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(Eventually([&] { return BoardMatchesTracker(); })) << differences_ << Why();

  HttpTestResponse metrics;
  PromText text;
  auto synced = [&] {
    metrics = HttpGet(base + "/metrics");
    text = ParsePrometheusText(metrics.body);
    return text.Find("boardsync_syncs_total", {{"connection", "sample"}, {"result", "ok"}})
               .value_or(0) > 0;
  };
  ASSERT_TRUE(Eventually(synced)) << metrics.status << " " << metrics.error << "\n"
                                  << metrics.body << Why();
  EXPECT_EQ(metrics.status, 200);
  EXPECT_TRUE(metrics.Header("content-type").value_or("").starts_with("text/plain; version=0.0.4"))
      << metrics.Header("content-type").value_or("(none)");
  EXPECT_TRUE(text.errors.empty()) << testing::PrintToString(text.errors) << "\n" << metrics.body;

  const std::map<std::string, std::string> sample = {{"connection", "sample"}};
  EXPECT_EQ(text.types["boardsync_syncs_total"], "counter");
  EXPECT_EQ(text.types["boardsync_pending_board_writes"], "gauge");
  for (const auto& [family, type] : text.types) {
    EXPECT_TRUE(text.helps.contains(family)) << family << " has no HELP";
    EXPECT_TRUE(!family.starts_with("boardsync_") || type != "counter" ||
                family.ends_with("_total"))
        << family;
  }
  EXPECT_EQ(text.Find("boardsync_syncs_total", {{"connection", "sample"}, {"result", "failed"}}),
            0.0);
  EXPECT_GE(text.Find("boardsync_issues_pulled_total", sample).value_or(0), 15);
  EXPECT_GE(text.Find("boardsync_board_writes_total", sample).value_or(0), 13);
  EXPECT_EQ(text.Find("boardsync_pending_board_writes", sample), 0.0);
  EXPECT_GE(text.Find("boardsync_last_sync_duration_seconds", sample).value_or(-1), 0);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(text.Find("boardsync_last_success_timestamp_seconds", sample).value_or(0), now, 60);

  HttpTestResponse health = HttpGet(base + "/healthz");
  EXPECT_EQ(health.status, 200) << health.error;
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(HttpGet(base + "/nope").status, 404);
  StopAndExpectCleanExit();
}

TEST_F(DaemonTest, LogsWithJournalPrioritiesWhenStderrIsTheJournal) {
  SampleTracker other;  // refuses our token: a warning every retry
  other.SetToken("perm:b3RoZXI=.b3RoZXI=.OtherTrackerTokenOtherTrackerTok");
  WriteConfig({Sample(), Connection{"refused", other.base_url(), "refused"}});
  // systemd names the stream it connected by device and inode; the daemon
  // checks that stderr is that stream. The log file keeps its inode when the
  // child reopens it with O_TRUNC.
  dir_.Write("daemon.log", "");
  struct stat log_stat {};
  ASSERT_EQ(::stat((dir_.path() / "daemon.log").c_str(), &log_stat), 0);
  ASSERT_NO_FATAL_FAILURE(Start({"JOURNAL_STREAM=" + std::to_string(log_stat.st_dev) + ":" +
                                 std::to_string(log_stat.st_ino)}));
  ASSERT_TRUE(Eventually([&] {
    const std::string log = Log();
    return log.find("Sync finished.") != std::string::npos &&
           log.find("Sync failed; retrying with backoff.") != std::string::npos;
  })) << Why();
  StopAndExpectCleanExit();

  // journald reads the priority from the prefix and adds the time itself.
  static const std::regex kLine(R"(<([0-7])>(error|warn|info|debug) \S.*)");
  const std::map<std::string, std::string> priorities = {
      {"error", "3"}, {"warn", "4"}, {"info", "6"}, {"debug", "7"}};
  int info = 0, warn = 0;
  for (const std::string& line : Lines(Log())) {
    std::smatch match;
    if (!std::regex_match(line, match, kLine)) {
      ADD_FAILURE() << "not a journald line: " << line;
      continue;
    }
    EXPECT_EQ(match[1].str(), priorities.at(match[2].str())) << line;
    info += line.starts_with("<6>info Sync finished.") ? 1 : 0;
    warn += line.starts_with("<4>warn Sync failed; retrying with backoff.") ? 1 : 0;
  }
  EXPECT_GE(info, 1) << Why();
  EXPECT_GE(warn, 1) << Why();
}

TEST_F(DaemonTest, NoJournalPrefixesWhenStderrIsNotTheJournalStream) {
  WriteConfig({Sample()});
  // Inherited from a shell started by a systemd unit, but stderr is a file.
  ASSERT_NO_FATAL_FAILURE(Start({"JOURNAL_STREAM=8:123456"}));
  ASSERT_TRUE(Eventually([&] { return Log().find("Sync finished.") != std::string::npos; }))
      << Why();
  StopAndExpectCleanExit();
  EXPECT_EQ(Log().find("<6>"), std::string::npos) << Why();
}

TEST_F(DaemonTest, LogsJsonLinesWithLogFormatJsonAndStopsOnSigint) {
  ASSERT_NO_FATAL_FAILURE(Start({}, {"--log-format", "json"}));
  ASSERT_TRUE(Eventually([&] { return Log().find("Sync finished.") != std::string::npos; }))
      << Why();
  StopAndExpectCleanExit(SIGINT);

  static const std::set<std::string> kLevels = {"error", "warn", "info", "debug"};
  std::set<std::string> messages;
  for (const std::string& line : Lines(Log())) {
    auto json = ParseJson(line);
    if (!json || !json->IsObject()) {
      ADD_FAILURE() << "not a JSON object: " << line;
      continue;
    }
    const Value* level = json->Find("level");
    const Value* msg = json->Find("msg");
    EXPECT_TRUE(level != nullptr && level->IsString() && kLevels.contains(level->AsString()))
        << line;
    EXPECT_TRUE(msg != nullptr && msg->IsString() && !msg->AsString().empty()) << line;
    EXPECT_TRUE(json->Find("time") != nullptr && json->Find("time")->IsString()) << line;
    if (msg != nullptr && msg->IsString()) {
      messages.insert(msg->AsString());
      if (msg->AsString() == "Sync finished.") {
        EXPECT_EQ(json->StringOr("connection"), "sample") << line;
        EXPECT_EQ(json->StringOr("level"), "info") << line;
      }
    }
  }
  EXPECT_TRUE(messages.contains("boardsync is running.")) << Why();
  EXPECT_TRUE(messages.contains("Stopped.")) << Why();
}

}  // namespace
}  // namespace boardsync
