// Failures at the edges of a run, through the dcgan binary: a stop during start-up (also from a
// non-interactive shell, where SIGINT arrives ignored), image folders holding a FIFO or a symlink
// to /dev/zero, error hints that must be commands that work, and data-parallel ranks that disagree
// (on 127.0.0.1 only). Models are tiny (tests/tiny_train_args.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <vector>

#include "../src/distributed/process_group_communicator.h"
#include "dcgan/data/folder_cache.h"
#include "dcgan/distributed/communicator.h"
#include "dcgan/distributed/launcher.h"
#include "dcgan/image/png.h"
#include "dcgan/models/spec.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/gan.h"
#include "dcgan/train/trainer.h"
#include "dcgan/util/version.h"
#include "folder_cache_bytes.h"
#include "test_helpers.h"
#include "tiny_train_args.h"

extern char** environ;

namespace fs = std::filesystem;
using dcgan::test::lines_of;
using dcgan::test::read_bytes;
using dcgan::test::TempDir;

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  int code = -1;  // exit status, 128 + signal, or -1 when it ran past its time and was killed
  std::string out, err;
  double seconds = 0;
};

std::string describe(const Result& r) {
  return "exit " + std::to_string(r.code) + " after " + std::to_string(r.seconds) +
         " s\n--- stderr:\n" + r.err + "--- stdout (tail):\n" +
         (r.out.size() > 1500 ? r.out.substr(r.out.size() - 1500) : r.out);
}

bool one_line(const std::string& text) {
  return text.size() > 1 && text.back() == '\n' && text.find('\n') == text.size() - 1;
}

// A dcgan process, its output in files under `logs`, with `env` added to this one's environment
// and `cwd` as its folder. `via_shell`: started as `cmd &` of a non-interactive bash, which starts
// it with SIGINT ignored (as a script does); pid() is then dcgan's own.
class Process {
 public:
  Process(const std::vector<std::string>& args, const fs::path& logs,
          const std::map<std::string, std::string>& env = {}, const fs::path& cwd = {},
          bool via_shell = false) {
    static int counter = 0;
    const auto id = std::to_string(counter++);
    out_ = (logs / ("out." + id)).string();
    err_ = (logs / ("err." + id)).string();
    const auto pid_file = (logs / ("pid." + id)).string();
    std::vector<std::string> all;
    if (via_shell) {
      all = {"/bin/bash", "-c", "\"$@\" & echo $! > " + pid_file + "; wait $!", "bash"};
    }
    all.push_back(DCGAN_BINARY);
    all.insert(all.end(), args.begin(), args.end());
    std::vector<std::string> environment;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      if (!env.count(entry.substr(0, entry.find('=')))) environment.push_back(entry);
    }
    for (const auto& [k, v] : env) environment.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + all[0]);
    target_ = pid_;
    if (via_shell) {
      const auto deadline = Clock::now() + std::chrono::seconds(10);
      while (Clock::now() < deadline) {
        const auto text = read_bytes(pid_file);
        if (!text.empty() && text.back() == '\n') {
          target_ = std::stoi(text);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
  }
  ~Process() {
    if (target_ > 0 && target_ != pid_) ::kill(target_, SIGKILL);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return target_; }
  void signal(int sig) const { ::kill(target_, sig); }

  // Whether dcgan catches `sig` (its handler is installed), or ignores it, from /proc/PID/status.
  bool catches(int sig) const { return in_signal_set("SigCgt:", sig); }
  // Whether the process is dcgan yet: bash's child for `cmd &` starts as a copy of bash (which
  // ignores SIGINT only once it has set up the job) and becomes dcgan at exec.
  bool runs_dcgan() const {
    std::error_code ec;
    return fs::read_symlink("/proc/" + std::to_string(target_) + "/exe", ec) ==
           fs::canonical(DCGAN_BINARY, ec);
  }
  bool ignores(int sig) const { return in_signal_set("SigIgn:", sig); }

  Result wait(std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    Result r;
    const auto start = Clock::now();
    int status = 0;
    while (true) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) r.code = 128 + WTERMSIG(status);
        break;
      }
      if (Clock::now() - start > timeout) {
        if (target_ != pid_) ::kill(target_, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = target_ = -1;
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    r.out = read_bytes(out_);
    r.err = read_bytes(err_);
    return r;
  }

 private:
  bool in_signal_set(const std::string& field, int sig) const {
    for (const auto& line : lines_of(read_bytes("/proc/" + std::to_string(target_) + "/status")))
      if (line.rfind(field, 0) == 0)
        return (std::stoull(line.substr(field.size()), nullptr, 16) >> (sig - 1)) & 1;
    return false;
  }

  pid_t pid_ = -1, target_ = -1;
  std::string out_, err_;
};

Result run_dcgan(const std::vector<std::string>& args, const fs::path& logs,
                 std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  return Process(args, logs).wait(timeout);
}

std::vector<std::string> tiny_train(const std::string& data, const fs::path& out,
                                    const std::vector<std::string>& extra = {}) {
  auto args = dcgan::test::tiny_train_args(data, out, /*seed=*/2);
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec))
    if (entry.path().filename().string().find(".tmp.") != std::string::npos)
      found.push_back(entry.path().string());
  return found;
}

bool checkpoint_loads(const fs::path& checkpoint) {
  try {
    dcgan::train::Gan gan(dcgan::train::GanOptions{4, 8}, torch::kCPU);
    dcgan::train::load_checkpoint(checkpoint.string(), gan);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// A folder of `count` random images of side x side: slow enough to decode that a stop can land
// while it does.
void write_image_folder(const fs::path& dir, int count, int64_t side) {
  fs::create_directories(dir);
  for (int i = 0; i < count; ++i) {
    dcgan::image::write_png((dir / (std::to_string(i) + ".png")).string(),
                            torch::randint(0, 256, {3, side, side}, torch::kUInt8));
  }
}

std::map<std::string, std::string> rank_env(int rank, int world, int port) {
  return {{"RANK", std::to_string(rank)},        {"LOCAL_RANK", std::to_string(rank)},
          {"WORLD_SIZE", std::to_string(world)}, {"MASTER_ADDR", "127.0.0.1"},
          {"MASTER_PORT", std::to_string(port)}, {"OMP_NUM_THREADS", "1"}};
}

}  // namespace

// --- A stop during start-up ---------------------------------------------------------------------

// Rank 0 of two waits for a rank 1 that never comes; a SIGINT from a script (started with SIGINT
// ignored) must end it at once with 130, before anything is written. It used to wait out the
// rendezvous and train on.
TEST(StartUpStop, SigintWhileTheRanksMeetEndsAScriptsRunAtOnce) {
  TempDir tmp;
  torch::manual_seed(41);
  const auto data = tmp.file("data.mat");
  dcgan::test::write_svhn(data, 8);
  const auto run = tmp.path() / "run";
  Process p(tiny_train(data, run, {"--dist-timeout", "30", "--epochs", "1000"}), tmp.path(),
            rank_env(0, 2, dcgan::distributed::free_port()), {}, /*via_shell=*/true);
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (!p.catches(SIGINT) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(p.catches(SIGINT)) << "no SIGINT handler during start-up";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // in the rendezvous by now
  const auto sent = Clock::now();
  p.signal(SIGINT);
  const auto r = p.wait(std::chrono::seconds(40));
  EXPECT_EQ(r.code, 130) << describe(r);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - sent).count(), 5.0) << describe(r);
  EXPECT_NE(r.err.find("interrupted (SIGINT) during start-up"), std::string::npos) << describe(r);
  EXPECT_FALSE(fs::exists(run)) << describe(r);
}

// SIGINT and SIGTERM at several moments of start-up (LibTorch loading, the image folder decoding,
// its cache being written, the model set up, the first steps), from a script: each ends the run
// promptly with 128 + signal, leaving no temporary file and either no run folder or one whose
// checkpoint loads.
TEST(StartUpStop, StopsAtSeveralMomentsLeaveNothingHalfWritten) {
  TempDir tmp;
  torch::manual_seed(42);
  const auto images = tmp.path() / "images";
  write_image_folder(images, 200, 128);
  int during_start_up = 0;
  const std::vector<int> delays_ms = {0, 30, 80, 150, 300, 600};
  for (size_t i = 0; i < delays_ms.size(); ++i) {
    const int sig = i % 2 == 0 ? SIGINT : SIGTERM;
    const auto run = tmp.path() / ("run" + std::to_string(i));
    const auto cache = tmp.path() / ("cache" + std::to_string(i));
    Process p(tiny_train(images.string(), run,
                         {"--epochs", "1000", "--cache-dir", cache.string(), "--threads", "1"}),
              tmp.path(), {{"OMP_NUM_THREADS", "1"}}, {}, /*via_shell=*/true);
    // From the moment the script's ignored SIGINT is undone (the process's first instant).
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while ((!p.runs_dcgan() || p.ignores(SIGINT) || p.ignores(SIGTERM)) &&
           Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_TRUE(p.runs_dcgan()) << "dcgan did not start";
    EXPECT_FALSE(p.ignores(SIGINT)) << "SIGINT still ignored";
    std::this_thread::sleep_for(std::chrono::milliseconds(delays_ms[i]));
    const auto sent = Clock::now();
    p.signal(sig);
    const auto r = p.wait(std::chrono::seconds(30));
    SCOPED_TRACE("signal " + std::to_string(sig) + " " + std::to_string(delays_ms[i]) +
                 " ms after its handler");
    EXPECT_EQ(r.code, 128 + sig) << describe(r);
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - sent).count(), 10.0) << describe(r);
    EXPECT_EQ(temp_files(cache), std::vector<std::string>{}) << describe(r);
    EXPECT_EQ(temp_files(run), std::vector<std::string>{}) << describe(r);
    if (fs::exists(run)) {
      EXPECT_TRUE(checkpoint_loads(run / "checkpoints" / "last.pt")) << describe(r);
    } else {
      ++during_start_up;
    }
  }
  EXPECT_GE(during_start_up, 2) << "too few stops landed during start-up to test it";
}

// --- Folder entries that are not regular files ---------------------------------------------------

// A symlink to /dev/zero and a FIFO named like images: every command that reads a folder skips them
// with the warning that counts skipped files (no endless read, no hang), and --strict refuses them.
TEST(FolderSpecialFiles, DevZeroAndFifoAreSkippedOrRefusedByEveryCommand) {
  TempDir tmp;
  torch::manual_seed(43);
  const auto images = tmp.path() / "images";
  write_image_folder(images, 4, 32);
  fs::create_symlink("/dev/zero", images / "zero.png");
  ASSERT_EQ(::mkfifo((images / "fifo.png").c_str(), 0644), 0);
  const auto dir = images.string();
  const auto limit = std::chrono::seconds(30);
  auto expect_skipped = [](const Result& r) {
    EXPECT_NE(r.err.find("skipped 2 unreadable files of 6"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << describe(r);
  };
  auto expect_refused = [](const Result& r) {
    EXPECT_EQ(r.code, 2) << describe(r);
    EXPECT_TRUE(one_line(r.err)) << describe(r);
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("--strict"), std::string::npos) << describe(r);
  };

  const auto inspect =
      run_dcgan({"inspect", "--data", dir, "--no-cache", "--json"}, tmp.path(), limit);
  EXPECT_EQ(inspect.code, 0) << describe(inspect);
  expect_skipped(inspect);
  expect_refused(
      run_dcgan({"inspect", "--data", dir, "--no-cache", "--strict"}, tmp.path(), limit));

  const auto pack =
      run_dcgan({"pack", dir, "--out", tmp.file("images.mat"), "--no-cache"}, tmp.path(), limit);
  EXPECT_EQ(pack.code, 0) << describe(pack);
  expect_skipped(pack);
  expect_refused(run_dcgan({"pack", dir, "--out", tmp.file("strict.mat"), "--no-cache", "--strict"},
                           tmp.path(), limit));

  const auto run = tmp.path() / "run";
  const auto train = run_dcgan(tiny_train(dir, run, {"--no-cache"}), tmp.path(), limit);
  EXPECT_EQ(train.code, 0) << describe(train);
  expect_skipped(train);
  expect_refused(run_dcgan(tiny_train(dir, tmp.path() / "strict", {"--no-cache", "--strict"}),
                           tmp.path(), limit));

  // evaluate reads its --data before it needs the (here missing) feature net.
  const std::vector<std::string> evaluate = {"evaluate",
                                             "--checkpoint",
                                             (run / "checkpoints" / "last.pt").string(),
                                             "--data",
                                             dir,
                                             "--feature-net",
                                             tmp.file("none.featnet.pt"),
                                             "--count",
                                             "4",
                                             "--no-cache"};
  const auto measured = run_dcgan(evaluate, tmp.path(), limit);
  EXPECT_NE(measured.code, -1) << describe(measured);
  expect_skipped(measured);
  auto strict = evaluate;
  strict.push_back("--strict");
  expect_refused(run_dcgan(strict, tmp.path(), limit));
}

// --- Hints
// -----------------------------------------------------------------------------------------

// Each error hint that names an option is run as it says, and works.
TEST(Hints, EveryHintThatNamesAnOptionIsACommandThatWorks) {
  TempDir tmp;
  torch::manual_seed(44);
  // Data of a size the model can make: the hint's --image-size trains.
  const auto data64 = tmp.file("data64.mat");
  dcgan::test::write_svhn(data64, 8, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB, 64);
  const auto refused = run_dcgan(tiny_train(data64, tmp.path() / "a"), tmp.path());
  EXPECT_EQ(refused.code, 2) << describe(refused);
  EXPECT_NE(refused.err.find("pass --image-size 64"), std::string::npos) << describe(refused);
  const auto taken =
      run_dcgan(tiny_train(data64, tmp.path() / "a", {"--image-size", "64"}), tmp.path());
  EXPECT_EQ(taken.code, 0) << describe(taken);

  // Data of a size it cannot make: no --image-size that would be refused is suggested.
  const auto data28 = tmp.file("data28.mat");
  dcgan::test::write_svhn(data28, 8, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB, 28);
  const auto odd = run_dcgan(tiny_train(data28, tmp.path() / "b"), tmp.path());
  EXPECT_EQ(odd.code, 2) << describe(odd);
  EXPECT_TRUE(one_line(odd.err)) << describe(odd);
  EXPECT_NE(odd.err.find("28x28"), std::string::npos) << describe(odd);
  std::smatch match;
  for (auto rest = odd.err; std::regex_search(rest, match, std::regex("--image-size ([0-9]+)"));
       rest = match.suffix()) {
    EXPECT_TRUE(dcgan::models::is_supported_image_size(std::stoll(match[1])))
        << "the hint suggests a size --image-size refuses: " << odd.err;
  }

  // A folder that holds a run: "continue it with --resume DIR", then "pass a larger --epochs".
  const auto data = tmp.file("data.mat");
  dcgan::test::write_svhn(data, 8);
  const auto run = tmp.path() / "run";
  ASSERT_EQ(run_dcgan(tiny_train(data, run), tmp.path()).code, 0);
  const auto again = run_dcgan(tiny_train(data, run), tmp.path());
  EXPECT_EQ(again.code, 2) << describe(again);
  EXPECT_NE(again.err.find("continue it with --resume " + run.string()), std::string::npos)
      << describe(again);
  const auto finished = run_dcgan({"train", "--resume", run.string()}, tmp.path());
  EXPECT_EQ(finished.code, 2) << describe(finished);
  EXPECT_NE(finished.err.find("pass a larger --epochs"), std::string::npos) << describe(finished);
  const auto resumed = run_dcgan({"train", "--resume", run.string(), "--epochs", "2"}, tmp.path());
  EXPECT_EQ(resumed.code, 0) << describe(resumed);

  // CUDA-only options on the CPU: "use --step eager", "use --precision fp32", "use --device cpu".
  if (!torch::cuda::is_available()) {
    const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cuda_only = {
        {{"--precision", "bf16"}, {"--precision", "fp32"}},
        {{"--device", "cuda"}, {"--device", "cpu"}}};
    for (const auto& [refused_flags, hinted_flags] : cuda_only) {
      const auto no = run_dcgan(tiny_train(data, tmp.path() / "d", refused_flags), tmp.path());
      EXPECT_EQ(no.code, 2) << describe(no);
      EXPECT_NE(no.err.find("use " + hinted_flags[0] + " " + hinted_flags[1]), std::string::npos)
          << describe(no);
      const auto yes = run_dcgan(tiny_train(data, tmp.path() / "d", hinted_flags), tmp.path());
      EXPECT_EQ(yes.code, 0) << describe(yes);
      std::filesystem::remove_all(tmp.path() / "d");
    }
    const auto graph =
        run_dcgan(tiny_train(data, tmp.path() / "c", {"--step", "graph"}), tmp.path());
    EXPECT_EQ(graph.code, 2) << describe(graph);
    EXPECT_NE(graph.err.find("use --step eager"), std::string::npos) << describe(graph);
    const auto eager =
        run_dcgan(tiny_train(data, tmp.path() / "c", {"--step", "eager"}), tmp.path());
    EXPECT_EQ(eager.code, 0) << describe(eager);
  }
}

// --- Ranks that disagree
// --------------------------------------------------------------------------

TEST(DistAgreement, FirstDisagreementNamesTheKeyAndBothValues) {
  using dcgan::distributed::first_disagreement;
  const nlohmann::json a = {{"--conv-dim", 8}, {"--data", "x.mat"}};
  EXPECT_EQ(first_disagreement({a, a, a}), std::nullopt);
  auto b = a;
  b["--conv-dim"] = 16;
  EXPECT_EQ(first_disagreement({a, a, b}),
            "ranks disagree on --conv-dim: rank 0 has 8, rank 2 has 16 (every rank must run "
            "with the same options and data)");
  auto c = a;
  c.erase("--data");
  EXPECT_NE(first_disagreement({a, c})->find("--data: rank 0 has x.mat, rank 1 has nothing"),
            std::string::npos);
}

// Ranks of another dcgan or LibTorch build are refused at join time too: their tensors may be laid
// out or exchanged differently, which Gloo finds only on its own thread (an abort).
TEST(DistAgreement, TheRunDescriptionHoldsTheVersionsOfDcganAndLibTorch) {
  dcgan::train::TrainConfig config;
  dcgan::data::ImageSet data;
  data.images = torch::zeros({4, 3, 32, 32}, torch::kUInt8);
  data.labels = torch::zeros({4}, torch::kInt64);
  const auto description = dcgan::train::run_description(config, data);
  EXPECT_EQ(description.at("dcgan version"), dcgan::version());
  EXPECT_EQ(description.at("LibTorch version"), dcgan::torch_version());
  EXPECT_EQ(description.at("images loaded"), 4);
  auto other = description;
  other["LibTorch version"] = "9.9.9";
  EXPECT_EQ(dcgan::distributed::first_disagreement({description, other}),
            "ranks disagree on LibTorch version: rank 0 has " + dcgan::torch_version() +
                ", rank 1 has 9.9.9 (every rank must run with the same options and data)");
}

// Two ranks with different --conv-dim, then with different data under one name: both exit 2 with
// the same line naming the option (or file) and both values, and no run folder is made. They used
// to crash inside Gloo (terminate called, exit 134).
TEST(DistAgreement, RanksThatDisagreeExit2WithOneLineAndWriteNothing) {
  TempDir tmp;
  torch::manual_seed(45);
  for (const auto* folder : {"node0", "node1"}) fs::create_directories(tmp.path() / folder);
  dcgan::test::write_svhn((tmp.path() / "node0" / "data.mat").string(), 12);
  dcgan::test::write_svhn((tmp.path() / "node1" / "data.mat").string(), 16);
  struct Case {
    std::vector<std::string> rank1_extra;
    std::string rank1_folder;
    std::string line;
  };
  const std::vector<Case> cases = {
      {{"--conv-dim", "8"}, "node0", "ranks disagree on --conv-dim: rank 0 has 4, rank 1 has 8"},
      {{}, "node1", "ranks disagree on data file data.mat (bytes): rank 0 has "}};
  for (const auto& c : cases) {
    const auto run = tmp.path() / "run";
    const int port = dcgan::distributed::free_port();
    const std::vector<std::string> quick = {"--dist-timeout", "10"};
    auto rank1_args = tiny_train("data.mat", run, quick);
    rank1_args.insert(rank1_args.end(), c.rank1_extra.begin(), c.rank1_extra.end());
    Process rank0(tiny_train("data.mat", run, quick), tmp.path(), rank_env(0, 2, port),
                  tmp.path() / "node0");
    Process rank1(rank1_args, tmp.path(), rank_env(1, 2, port), tmp.path() / c.rank1_folder);
    for (auto* rank : {&rank0, &rank1}) {
      const auto r = rank->wait(std::chrono::seconds(60));
      EXPECT_EQ(r.code, 2) << describe(r);
      EXPECT_TRUE(one_line(r.err)) << describe(r);
      EXPECT_NE(r.err.find(c.line), std::string::npos) << describe(r);
    }
    EXPECT_FALSE(fs::exists(run)) << "a run folder was written";
  }
}

// Whatever a backend's collective throws (Gloo's EnforceNotMet is a std::exception, c10::Error,
// or a type of no known base) comes out as one RankLost line naming the collective.
TEST(DistAgreement, EveryExceptionOfACollectiveBecomesOneRankLostLine) {
  struct PlantedEnforceNotMet : std::exception {
    const char* what() const noexcept override { return "[enforce fail at pair.cc] planted"; }
  };
  auto store = c10::make_intrusive<c10d::HashStore>();
  dcgan::distributed::RankEnvironment env;
  env.rank = 0;
  env.world_size = 2;
  // Rank 0 has joined (its heartbeat's connection marks it so); rank 1 never checks in.
  store->set(dcgan::distributed::detail::joined_key(0), std::vector<uint8_t>{'1'});
  struct NoWork {
    void wait() {}
  };
  const std::vector<std::function<void()>> failures = {
      [] { throw PlantedEnforceNotMet(); }, [] { TORCH_CHECK(false, "planted c10 error"); },
      [] { throw 7; }};
  for (const auto& fail : failures) {
    const auto message = dcgan::test::expect_error<dcgan::distributed::RankLost>(
        [&] {
          dcgan::distributed::detail::run_collective(*store, env, "gloo", std::chrono::milliseconds(50),
                                              "planted collective", [&] {
                                                fail();
                                                return std::make_shared<NoWork>();
                                              });
        },
        {"rank 1 of 2 lost during the planted collective (gloo: "});
    EXPECT_EQ(message.find("terminate"), std::string::npos) << message;
  }
}

// --- Regressions of the folder cache and torch.save readers (docs/RELIABILITY.md) ---------------

// Cache files whose checksums are right but whose content is not: a header that says 4x4 images
// where 8x8 are asked for (it was returned as 4x4), and a manifest whose class count is 2^61 (it
// sized a vector and threw out of the reader). Both are refused with a reason, to be rebuilt.
TEST(FuzzRegressions, FolderCacheOfAnotherSideOrAnImpossibleCountIsRebuilt) {
  using dcgan::test::fix_crcs;
  using dcgan::test::put_u64;
  TempDir tmp;
  torch::manual_seed(46);
  dcgan::data::FolderListing listing;
  listing.root = "/regression/pets";
  listing.classes = {"cat", "dog"};
  listing.files = {{"cat/a.png", 1, 1, 0}, {"cat/b.png", 2, 2, 0}, {"dog/c.png", 3, 3, 1}};
  const std::string valid = dcgan::test::valid_cache(tmp, listing);
  const uint64_t pixels_at = dcgan::test::get_u64(valid, dcgan::test::kCachePixelsOffsetAt);

  auto read = [&](const std::string& bytes, std::string& why) {
    dcgan::test::write_bytes(tmp.file("mutated.u8cache"), bytes);
    dcgan::data::DecodeOutcome outcome;
    return dcgan::data::read_folder_cache(tmp.file("mutated.u8cache"), listing, 8, outcome, why);
  };
  std::string why;
  ASSERT_TRUE(read(valid, why)) << why;

  auto small = valid.substr(0, pixels_at + 2 * 3 * 4 * 4);
  put_u64(small, dcgan::test::kCacheSideAt, 4);
  fix_crcs(small);
  EXPECT_FALSE(read(small, why)) << "a 4x4 cache was returned for 8x8";
  EXPECT_FALSE(why.empty());

  auto huge = valid;
  const size_t classes_at = dcgan::test::kCacheManifestAt + 8 + 8 + 8 + listing.root.size();
  put_u64(huge, classes_at, uint64_t{1} << 61);
  fix_crcs(huge);
  EXPECT_NO_THROW(EXPECT_FALSE(read(huge, why)));
  EXPECT_EQ(why, "its manifest is unreadable");
}

// A corrupt torch.save zip (found by fuzz_torch_file: LibTorch leaks inside its zip reader on it,
// see scripts/lsan.supp) is one line and exit 2 from `dcgan import`.
TEST(FuzzRegressions, CorruptTorchSaveZipIsOneLine) {
  TempDir tmp;
  const auto file = dcgan::test::data_path("fuzz/torch_zip_reader_leak.pt");
  const auto r = run_dcgan({"import", "--generator", file, "--out", tmp.file("run")}, tmp.path());
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_TRUE(one_line(r.err)) << describe(r);
  EXPECT_NE(r.err.find("torch_zip_reader_leak.pt"), std::string::npos) << describe(r);
}
