// End-to-end tests of the dcgan binary: exit codes, one-line errors that write nothing, signals
// with resume, and the train -> generate user flow. Every test runs DCGAN_BINARY as a child
// process with its stdout and stderr captured to files; models are tiny (conv_dim 4).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dcgan/image/grid.h"
#include "dcgan/image/png.h"
#include "dcgan/models/generator.h"
#include "dcgan/models/minibatch_std.h"
#include "dcgan/sampling/sampling.h"
#include "dcgan/train/checkpoint.h"
#include "dcgan/train/config.h"
#include "test_helpers.h"
#include "tiny_train_args.h"

extern char** environ;

namespace fs = std::filesystem;
using dcgan::test::data_path;
using dcgan::test::lines_of;
using dcgan::test::read_bytes;
using dcgan::test::png_size;
using dcgan::test::TempDir;
using dcgan::test::write_bytes;

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kRunTimeout = std::chrono::seconds(120);

struct Result {
  int code = -1;  // exit status, or 128 + signal
  std::string out, err;
};

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// A running dcgan process whose stdout and stderr go to files in `logs`.
class Process {
 public:
  // `cwd`, when given, is the child's working folder.
  Process(const std::vector<std::string>& args, const fs::path& logs, const fs::path& cwd = {}) {
    static int counter = 0;
    const auto id = std::to_string(counter++);
    out_path_ = (logs / ("stdout." + id)).string();
    err_path_ = (logs / ("stderr." + id)).string();
    std::vector<std::string> all = {DCGAN_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error(std::string("cannot start ") + DCGAN_BINARY);
  }
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }
  std::string out() const { return read_bytes(out_path_); }

  // Waits up to `timeout`; on timeout the process is killed and the code is -1.
  Result wait(std::chrono::milliseconds timeout = kRunTimeout) {
    Result result;
    const auto deadline = Clock::now() + timeout;
    int status = 0;
    while (true) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        result.code = status_code(status);
        break;
      }
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    result.out = read_bytes(out_path_);
    result.err = read_bytes(err_path_);
    return result;
  }

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
};

Result dcgan(const std::vector<std::string>& args, const fs::path& logs) {
  return Process(args, logs).wait();
}

std::string describe(const Result& r) {
  return "exit " + std::to_string(r.code) + "\n--- stderr:\n" + r.err + "--- stdout (tail):\n" +
         (r.out.size() > 1500 ? r.out.substr(r.out.size() - 1500) : r.out);
}

// Exactly one non-empty line, newline-terminated.
bool one_line(const std::string& text) {
  return text.size() > 1 && text.back() == '\n' && text.find('\n') == text.size() - 1;
}

// Exit 2 with one line on stderr that mentions `needle`.
void expect_input_error(const Result& r, const std::string& needle) {
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_TRUE(one_line(r.err)) << "stderr is not exactly one line:\n" << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr does not name '" << needle << "':\n"
                                                   << r.err;
}

bool missing_or_empty(const fs::path& dir) {
  return !fs::exists(dir) || (fs::is_directory(dir) && fs::is_empty(dir));
}

// Every file under `dir` with its bytes: equal snapshots mean nothing was written.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const auto rel = fs::relative(entry.path(), dir).string();
    files[rel] = entry.is_regular_file() ? read_bytes(entry.path().string()) : std::string("<dir>");
  }
  return files;
}

std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    names.push_back(fs::relative(entry.path(), dir));
  std::sort(names.begin(), names.end());
  return names;
}

const std::string kTinyData = data_path("tiny_v5_compressed.mat");  // 12 images

// Tiny, fast training options: conv_dim 4, one epoch of batches of 4 on `data` (by default the
// 12-image fixture: 3 batches). `extra` is appended; later options win (--data adds a file).
std::vector<std::string> train_args(const fs::path& out, const std::vector<std::string>& extra = {},
                                    const std::string& data = kTinyData) {
  auto args = dcgan::test::tiny_train_args(data, out, /*seed=*/1);
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// One finished 1-epoch run, shared by the tests that need a real run folder or checkpoint.
class Shared {
 public:
  static const Shared& get() {
    static Shared shared;
    return shared;
  }
  fs::path run() const { return dir_.path() / "run"; }
  std::string checkpoint() const { return (run() / "checkpoints" / "last.pt").string(); }
  bool ok() const { return ok_; }
  const std::string& failure() const { return failure_; }

 private:
  Shared() {
    const auto r = dcgan(train_args(run()), dir_.path());
    ok_ = r.code == 0 && fs::exists(checkpoint());
    if (!ok_) failure_ = describe(r);
  }
  TempDir dir_;
  bool ok_ = false;
  std::string failure_;
};

#define REQUIRE_SHARED_RUN() \
  ASSERT_TRUE(Shared::get().ok()) << "the shared training run failed: " << Shared::get().failure()

// A copy of the shared run folder to damage.
fs::path copy_run(const TempDir& tmp) {
  const auto copy = tmp.path() / "copy";
  fs::copy(Shared::get().run(), copy, fs::copy_options::recursive);
  return copy;
}

// --- (a) invalid `dcgan train` options: exit 2, one line, nothing written ---------------------

struct BadTrain {
  const char* name;
  std::vector<std::string> extra;  // appended to train_args (later options win)
  const char* needle;              // what the error line must mention
};

void PrintTo(const BadTrain& bad, std::ostream* os) {
  *os << bad.name;
}

class TrainRejects : public ::testing::TestWithParam<BadTrain> {};

TEST_P(TrainRejects, ExitsTwoWithOneLineAndWritesNothing) {
  TempDir tmp;
  const auto out = tmp.path() / "run";
  auto extra = GetParam().extra;
  for (auto& arg : extra) arg = std::regex_replace(arg, std::regex("TMP"), tmp.path().string());
  const auto r = dcgan(train_args(out, extra), tmp.path());
  expect_input_error(r, GetParam().needle);
  EXPECT_TRUE(missing_or_empty(out))
      << out << " was written: " << ::testing::PrintToString(file_names(out));
}

INSTANTIATE_TEST_SUITE_P(
    Cli, TrainRejects,
    ::testing::Values(
        BadTrain{"BatchSizeZero", {"--batch-size", "0"}, "--batch-size"},
        BadTrain{"BatchSizeNegative", {"--batch-size=-4"}, "--batch-size"},
        BadTrain{"BatchLargerThanData", {"--batch-size", "13"}, "larger than the data (12 images)"},
        BadTrain{
            "BatchLargerThanLimit", {"--limit", "6", "--batch-size", "8"}, "larger than the data"},
        BadTrain{"EpochsZero", {"--epochs", "0"}, "--epochs"},
        BadTrain{"ConvDimZero", {"--conv-dim", "0"}, "--conv-dim"},
        BadTrain{"ZSizeZero", {"--z-size", "0"}, "--z-size"},
        BadTrain{"UnknownDevice", {"--device", "tpu"}, "tpu"},
        BadTrain{"LrZero", {"--lr", "0"}, "--lr"}, BadTrain{"LrNegative", {"--lr=-0.001"}, "--lr"},
        BadTrain{"LrNotANumber", {"--lr", "fast"}, "fast"},
        BadTrain{"Beta1One", {"--beta1", "1"}, "--beta1"},
        BadTrain{"UnknownWeightsInit", {"--weights-init", "xavier"}, "xavier"},
        BadTrain{"UnknownOption", {"--bogus"}, "bogus"},
        BadTrain{"StrayArgument", {"stray"}, "stray"},
        BadTrain{"MissingData", {"--data", "TMP/missing.mat"}, "missing.mat"},
        BadTrain{"ResumeNonexistentFolder", {"--resume", "TMP/run"}, "no config.json"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TrainRejects, DataFileThatIsNotMat) {
  TempDir tmp;
  write_bytes(tmp.file("text.mat"),
              "this is not a MAT file, just some text that is long enough to look like a header "
              "of one hundred and twenty-eight bytes or so, padded out to be sure it is.\n");
  std::string random(4096, '\0');
  for (size_t i = 0; i < random.size(); ++i) random[i] = static_cast<char>((i * 2654435761u) >> 13);
  write_bytes(tmp.file("random.mat"), random);
  for (const auto* name : {"text.mat", "random.mat"}) {
    const auto out = tmp.path() / "run";
    const auto r = dcgan(train_args(out, {"--data", tmp.file(name)}), tmp.path());
    expect_input_error(r, name);
    EXPECT_NE(r.err.find("not a MAT file"), std::string::npos) << r.err;
    EXPECT_TRUE(missing_or_empty(out));
  }
}

TEST(TrainRejects, OutputFolderUnderARegularFile) {
  TempDir tmp;
  write_bytes(tmp.file("FILE"), "keep me");
  const auto r = dcgan(train_args(tmp.path() / "FILE" / "sub"), tmp.path());
  expect_input_error(r, "FILE/sub");
  EXPECT_EQ(read_bytes(tmp.file("FILE")), "keep me");
}

TEST(TrainRejects, OutputFolderThatIsARegularFile) {
  TempDir tmp;
  write_bytes(tmp.file("FILE"), "keep me");
  const auto r = dcgan(train_args(tmp.path() / "FILE"), tmp.path());
  expect_input_error(r, "FILE");
  EXPECT_EQ(read_bytes(tmp.file("FILE")), "keep me");
}

TEST(TrainRejects, CudaWhenUnavailable) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA is available here";
  TempDir tmp;
  const auto out = tmp.path() / "run";
  const auto r = dcgan(train_args(out, {"--device", "cuda"}), tmp.path());
  expect_input_error(r, "CUDA is not available");
  EXPECT_TRUE(missing_or_empty(out));
}

TEST(TrainRejects, OutFolderThatAlreadyHoldsARun) {
  REQUIRE_SHARED_RUN();
  TempDir tmp;
  const auto run = copy_run(tmp);
  const auto before = snapshot(run);
  const auto r = dcgan(train_args(run), tmp.path());
  expect_input_error(r, "already holds a run");
  EXPECT_EQ(snapshot(run), before);
}

// --- --resume on folders that cannot be resumed: exit 2, one line, the folder untouched ---------

TEST(ResumeRejects, EmptyFolder) {
  TempDir tmp;
  fs::create_directory(tmp.path() / "run");
  const auto r = dcgan({"train", "--resume", (tmp.path() / "run").string()}, tmp.path());
  expect_input_error(r, (tmp.path() / "run").string() + ": no config.json, not a dcgan run folder");
  EXPECT_TRUE(missing_or_empty(tmp.path() / "run"));
}

TEST(ResumeRejects, FolderWithoutCheckpoint) {
  REQUIRE_SHARED_RUN();
  TempDir tmp;
  const auto run = copy_run(tmp);
  fs::remove(run / "checkpoints" / "last.pt");
  const auto before = snapshot(run);
  const auto r = dcgan({"train", "--resume", run.string(), "--epochs", "2"}, tmp.path());
  expect_input_error(r, "no checkpoint");
  EXPECT_EQ(snapshot(run), before);
}

class DamagedCheckpoint : public ::testing::TestWithParam<const char*> {
 protected:
  // The shared checkpoint, damaged as the parameter says.
  static std::string damaged(const std::string& how) {
    const auto good = read_bytes(Shared::get().checkpoint());
    if (how == "empty") return "";
    if (how == "truncated_half") return good.substr(0, good.size() / 2);
    if (how == "truncated_end")
      return good.substr(0, good.size() - 10);  // inside the zip's end record
    std::string random(good.size(), '\0');
    for (size_t i = 0; i < random.size(); ++i)
      random[i] = static_cast<char>((i * 2654435761u) >> 11);
    return random;
  }
};

TEST_P(DamagedCheckpoint, ResumeRefusesIt) {
  REQUIRE_SHARED_RUN();
  TempDir tmp;
  const auto run = copy_run(tmp);
  write_bytes((run / "checkpoints" / "last.pt").string(), damaged(GetParam()));
  const auto before = snapshot(run);
  const auto r = dcgan({"train", "--resume", run.string(), "--epochs", "2"}, tmp.path());
  expect_input_error(r, "last.pt");
  EXPECT_EQ(snapshot(run), before);
}

// --- (b) generate with a missing or damaged checkpoint -------------------------------------

TEST_P(DamagedCheckpoint, GenerateRefusesIt) {
  REQUIRE_SHARED_RUN();
  TempDir tmp;
  write_bytes(tmp.file("bad.pt"), damaged(GetParam()));
  const auto r = dcgan(
      {"generate", "--checkpoint", tmp.file("bad.pt"), "--out", tmp.file("grid.png")}, tmp.path());
  expect_input_error(r, "bad.pt");
  EXPECT_FALSE(fs::exists(tmp.file("grid.png")));
}

INSTANTIATE_TEST_SUITE_P(Cli, DamagedCheckpoint,
                         ::testing::Values("empty", "truncated_half", "truncated_end",
                                           "random_bytes"),
                         [](const auto& info) { return std::string(info.param); });

TEST(GenerateRejects, MissingCheckpoint) {
  TempDir tmp;
  const auto r = dcgan(
      {"generate", "--checkpoint", tmp.file("none.pt"), "--out", tmp.file("grid.png")}, tmp.path());
  expect_input_error(r, "none.pt");
  EXPECT_FALSE(fs::exists(tmp.file("grid.png")));
}

TEST(GenerateRejects, FolderInsteadOfCheckpoint) {
  TempDir tmp;
  const auto r = dcgan(
      {"generate", "--checkpoint", tmp.path().string(), "--out", tmp.file("grid.png")}, tmp.path());
  expect_input_error(r, tmp.path().string());
  EXPECT_FALSE(fs::exists(tmp.file("grid.png")));
}

TEST(GenerateRejects, UnwritableOutput) {
  REQUIRE_SHARED_RUN();
  TempDir tmp;
  write_bytes(tmp.file("FILE"), "keep me");
  const auto out = tmp.file("FILE") + "/grid.png";
  const auto r =
      dcgan({"generate", "--checkpoint", Shared::get().checkpoint(), "--count", "4", "--out", out},
            tmp.path());
  expect_input_error(r, out);
  EXPECT_EQ(read_bytes(tmp.file("FILE")), "keep me");
}

// --- (c) checkpoints of an unknown format version ------------------------------------------

// A checkpoint that is well-formed except for its format version; returns its generator.
dcgan::models::Generator write_checkpoint_with_version(const std::string& path, int64_t version) {
  torch::serialize::OutputArchive archive, g;
  auto tensor = [](int64_t v) { return torch::tensor(v, torch::kInt64); };
  archive.write("format_version", tensor(version));
  archive.write("conv_dim", tensor(4));
  archive.write("z_size", tensor(8));
  archive.write("epochs_done", tensor(1));
  dcgan::models::Generator generator(dcgan::models::GeneratorOptions(8, 4));
  generator->save(g);
  archive.write("generator", g);
  std::ostringstream payload;
  archive.save_to(payload);
  write_bytes(path, dcgan::train::seal_checkpoint(payload.str(), version));
  return generator;
}

TEST(CheckpointVersion, CraftedCurrentVersionLoads) {
  // Guards the tests below: the crafted file differs from a real one only in what they change.
  TempDir tmp;
  auto generator =
      write_checkpoint_with_version(tmp.file("v.pt"), dcgan::train::kCheckpointFormatVersion);
  // On the CPU, as the images it is compared with (a GPU rounds differently; auto picks it).
  const auto r = dcgan({"generate", "--checkpoint", tmp.file("v.pt"), "--count", "4", "--seed", "1",
                        "--device", "cpu", "--out", tmp.file("grid.png")},
                       tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  // The images are those of the generator that was written.
  const auto expected = dcgan::image::make_grid(
      dcgan::sampling::render(generator, dcgan::sampling::seeded_z(4, 8, 1)), /*nrow=*/8);
  EXPECT_TRUE(torch::equal(dcgan::image::read_image(tmp.file("grid.png")), expected));
}

TEST(CheckpointVersion, NewerVersionIsRefusedByGenerate) {
  TempDir tmp;
  const auto newer = dcgan::train::kCheckpointFormatVersion + 1;
  write_checkpoint_with_version(tmp.file("v.pt"), newer);
  const auto r = dcgan(
      {"generate", "--checkpoint", tmp.file("v.pt"), "--out", tmp.file("grid.png")}, tmp.path());
  expect_input_error(r, "format version " + std::to_string(newer));
  EXPECT_FALSE(fs::exists(tmp.file("grid.png")));
}

TEST(CheckpointVersion, VersionZeroIsRefused) {
  TempDir tmp;
  write_checkpoint_with_version(tmp.file("v.pt"), 0);
  const auto r = dcgan(
      {"generate", "--checkpoint", tmp.file("v.pt"), "--out", tmp.file("grid.png")}, tmp.path());
  expect_input_error(r, "format version 0");
}

TEST(CheckpointVersion, NewerVersionIsRefusedByResume) {
  REQUIRE_SHARED_RUN();
  TempDir tmp;
  const auto run = copy_run(tmp);
  write_checkpoint_with_version((run / "checkpoints" / "last.pt").string(),
                                dcgan::train::kCheckpointFormatVersion + 1);
  const auto before = snapshot(run);
  const auto r = dcgan({"train", "--resume", run.string(), "--epochs", "2"}, tmp.path());
  expect_input_error(r, "not supported");
  EXPECT_EQ(snapshot(run), before);
}

// --- (d) SIGINT / SIGTERM during training: checkpoint, exit 128+signal, exact resume ----------

// 256 random images: 32 batches of 8 per epoch, so a signal lands well inside an epoch.
std::vector<std::string> signal_train(const fs::path& out, const std::string& data,
                                      int64_t epochs) {
  return train_args(out,
                    {"--batch-size", "8", "--epochs", std::to_string(epochs), "--seed", "5",
                     "--print-every", "1"},
                    data);
}

bool has_data_row(const fs::path& csv) {
  return lines_of(read_bytes(csv.string())).size() >= 2;
}

struct Interrupted {
  Result result;
  double seconds_to_exit = 0;
};

// Starts a long run, waits for its first losses.csv row, sends `sig` and waits for the exit.
Interrupted interrupt_run(const TempDir& tmp, const fs::path& run, const std::string& data,
                          int sig) {
  Process p(signal_train(run, data, 1000), tmp.path());
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!has_data_row(run / "losses.csv") && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  Interrupted interrupted;
  if (!has_data_row(run / "losses.csv")) {
    interrupted.result = p.wait(std::chrono::milliseconds(1));
    ADD_FAILURE() << "no losses.csv row within 60 s: " << describe(interrupted.result);
    return interrupted;
  }
  const auto sent = Clock::now();
  p.signal(sig);
  interrupted.result = p.wait(std::chrono::seconds(30));
  interrupted.seconds_to_exit = std::chrono::duration<double>(Clock::now() - sent).count();
  return interrupted;
}

// The epoch the run stopped in, from "interrupted at epoch E, ..." or "interrupted after epoch E".
int64_t interrupted_epoch(const std::string& log) {
  std::smatch match;
  if (std::regex_search(log, match, std::regex("interrupted (at|after) epoch ([0-9]+)")))
    return std::stoll(match[2]);
  return -1;
}

Result generate(const fs::path& checkpoint, const std::string& out, const TempDir& tmp) {
  return dcgan({"generate", "--checkpoint", checkpoint.string(), "--count", "16", "--seed", "1",
                "--out", out},
               tmp.path());
}

TEST(Signals, SigintSavesExitsWith130AndResumesExactly) {
  TempDir tmp;
  const auto data = tmp.file("data.mat");
  torch::manual_seed(11);
  dcgan::test::write_svhn(data, 256);
  const auto run = tmp.path() / "run";
  const auto interrupted = interrupt_run(tmp, run, data, SIGINT);
  const auto& r = interrupted.result;
  ASSERT_EQ(r.code, 130) << describe(r);
  EXPECT_LT(interrupted.seconds_to_exit, 5.0);
  EXPECT_NE(r.out.find("resume with: dcgan train --resume " + run.string()), std::string::npos)
      << describe(r);
  const auto last = run / "checkpoints" / "last.pt";
  ASSERT_EQ(generate(last, tmp.file("interrupted.png"), tmp).code, 0);

  // Resume to one epoch past the interrupted one, then compare with an uninterrupted run.
  const auto epoch = interrupted_epoch(r.out);
  ASSERT_GE(epoch, 1) << describe(r);
  const auto epochs = std::to_string(epoch + 1);
  const auto resumed = dcgan({"train", "--resume", run.string(), "--epochs", epochs}, tmp.path());
  ASSERT_EQ(resumed.code, 0) << describe(resumed);
  EXPECT_TRUE(fs::exists(run / "summary.json"));
  EXPECT_TRUE(fs::exists(run / "samples" / ("epoch_00" + epochs + ".png")));

  const auto reference = tmp.path() / "reference";
  const auto straight = dcgan(signal_train(reference, data, epoch + 1), tmp.path());
  ASSERT_EQ(straight.code, 0) << describe(straight);
  ASSERT_EQ(generate(last, tmp.file("resumed.png"), tmp).code, 0);
  ASSERT_EQ(generate(reference / "checkpoints" / "last.pt", tmp.file("reference.png"), tmp).code,
            0);
  EXPECT_EQ(read_bytes(tmp.file("resumed.png")), read_bytes(tmp.file("reference.png")))
      << "resuming after SIGINT is not bit-identical to the uninterrupted run";
  EXPECT_EQ(read_bytes((run / "losses.csv").string()),
            read_bytes((reference / "losses.csv").string()));
}

TEST(Signals, SigtermSavesAndExitsWith143) {
  TempDir tmp;
  const auto data = tmp.file("data.mat");
  dcgan::test::write_svhn(data, 256);
  const auto run = tmp.path() / "run";
  const auto interrupted = interrupt_run(tmp, run, data, SIGTERM);
  const auto& r = interrupted.result;
  ASSERT_EQ(r.code, 143) << describe(r);
  EXPECT_LT(interrupted.seconds_to_exit, 5.0);
  EXPECT_NE(r.out.find("resume with"), std::string::npos) << describe(r);
  const auto g = generate(run / "checkpoints" / "last.pt", tmp.file("g.png"), tmp);
  EXPECT_EQ(g.code, 0) << describe(g);
}

// --- (e) the user flow: train, then generate reproducibly -----------------------------------

TEST(UserFlow, TrainThenGenerate) {
  TempDir tmp;
  const auto run = tmp.path() / "run";
  const auto trained = dcgan(train_args(run, {"--epochs", "2", "--print-every", "1"}), tmp.path());
  ASSERT_EQ(trained.code, 0) << describe(trained);
  EXPECT_TRUE(trained.err.empty()) << trained.err;
  for (const auto* file :
       {"config.json", "losses.csv", "samples/epoch_001.png", "samples/epoch_002.png",
        "samples/progress.png", "checkpoints/last.pt", "summary.json"}) {
    EXPECT_TRUE(fs::is_regular_file(run / file))
        << file << " missing; run folder: " << ::testing::PrintToString(file_names(run));
  }
  for (const auto& name : file_names(run)) EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;

  const auto rows = lines_of(read_bytes((run / "losses.csv").string()));
  ASSERT_EQ(rows.size(), 1u + 2 * 3) << "one row per batch: 2 epochs of 3 batches";
  EXPECT_EQ(rows[0], "epoch,batch,d_loss,g_loss,step");
  EXPECT_EQ(rows.back().substr(0, 4), "2,3,");
  EXPECT_EQ(rows.back().substr(rows.back().rfind(',') + 1), "6");

  const auto summary = nlohmann::json::parse(read_bytes((run / "summary.json").string()));
  EXPECT_EQ(summary.at("epochs"), 2);
  EXPECT_EQ(summary.at("steps"), 6);
  const auto config = nlohmann::json::parse(read_bytes((run / "config.json").string()));
  EXPECT_EQ(config.at("seed"), 1);
  EXPECT_EQ(config.at("conv_dim"), 4);

  const auto checkpoint = (run / "checkpoints" / "last.pt").string();
  auto generate_into = [&](const std::string& name, const std::string& seed) {
    return dcgan({"generate", "--checkpoint", checkpoint, "--count", "16", "--nrow", "8", "--seed",
                  seed, "--out", tmp.file(name + ".png"), "--individual", tmp.file(name)},
                 tmp.path());
  };
  for (const auto* name : {"a", "b"}) {
    const auto r = generate_into(name, "3");
    ASSERT_EQ(r.code, 0) << describe(r);
  }
  const auto a = read_bytes(tmp.file("a.png"));
  EXPECT_EQ(a, read_bytes(tmp.file("b.png"))) << "the same seed must give the same PNG bytes";
  EXPECT_EQ(png_size(a), (std::pair<uint32_t, uint32_t>{274, 70}))
      << "8 x 2 tiles of 32 with padding 2";
  const auto individual = file_names(tmp.path() / "a");
  EXPECT_EQ(individual.size(), 16u) << ::testing::PrintToString(individual);
  EXPECT_EQ(snapshot(tmp.path() / "a"), snapshot(tmp.path() / "b"));
  for (const auto& name : individual) {
    EXPECT_EQ(png_size(read_bytes((tmp.path() / "a" / name).string())),
              (std::pair<uint32_t, uint32_t>{32, 32}))
        << name;
  }

  const auto other = generate_into("c", "4");
  ASSERT_EQ(other.code, 0) << describe(other);
  EXPECT_NE(read_bytes(tmp.file("c.png")), a) << "another seed must give other images";
}

// --- (f) the other commands and the top-level options --------------------------------------

TEST(Commands, VersionHelpAndUnknownCommand) {
  TempDir tmp;
  const auto version = dcgan({"--version"}, tmp.path());
  EXPECT_EQ(version.code, 0) << describe(version);
  EXPECT_TRUE(std::regex_search(version.out, std::regex(R"(^dcgan \S+ \(LibTorch [0-9.]+)")))
      << version.out;
  const auto help = dcgan({"--help"}, tmp.path());
  EXPECT_EQ(help.code, 0) << describe(help);
  for (const auto* command : {"inspect", "summary", "train", "generate", "interpolate"})
    EXPECT_TRUE(std::regex_search(help.out, std::regex(std::string("\n  ") + command + " ")))
        << command << " missing from:\n"
        << help.out;
  const auto none = dcgan({}, tmp.path());
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("Usage: dcgan <command>"), std::string::npos) << none.err;
  const auto unknown = dcgan({"trian"}, tmp.path());
  expect_input_error(unknown, "unknown command 'trian'");
  const auto train_help = dcgan({"train", "--help"}, tmp.path());
  EXPECT_EQ(train_help.code, 0);
  EXPECT_NE(train_help.out.find("--smooth-labels"), std::string::npos) << train_help.out;
}

TEST(Commands, InspectCountsTheFixtureDigits) {
  TempDir tmp;
  const auto r = dcgan({"inspect", "--data", kTinyData, "--json"}, tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json.at("images"), 12);
  // The fixture's digits (tiny_expected.json): 0-9, then 0 and 1 again.
  EXPECT_EQ(json.at("label_counts").get<std::vector<int64_t>>(),
            (std::vector<int64_t>{2, 2, 1, 1, 1, 1, 1, 1, 1, 1}));
  const std::vector<double> mean = {95.21736653645833, 105.47932942708333, 89.610107421875};
  for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(json.at("pixel_mean")[c].get<double>(), mean[c], 1e-3);
  const auto table = dcgan({"inspect", "--data", kTinyData}, tmp.path());
  ASSERT_EQ(table.code, 0) << describe(table);
  EXPECT_NE(table.out.find("Images    12 x 3 x 32 x 32"), std::string::npos) << table.out;
  expect_input_error(dcgan({"inspect", "--data", tmp.file("none.mat")}, tmp.path()), "none.mat");
}

// A class folder through the binary: inspect lists the classes (data messages on stderr, so
// --json stays one object), pack writes a .mat that inspects the same, a junk file is skipped or,
// with --strict, refused with exit 2.
TEST(Commands, InspectAndPackAClassFolder) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "pets" / "cat");
  fs::create_directories(tmp.path() / "pets" / "dog");
  for (int i = 0; i < 3; ++i)
    dcgan::image::write_png(tmp.file("pets/cat/" + std::to_string(i) + ".png"),
                            torch::full({3, 40, 40}, 10 * i, torch::kUInt8));
  dcgan::image::write_png(tmp.file("pets/dog/a.png"), torch::full({3, 40, 40}, 200, torch::kUInt8));
  dcgan::test::write_bytes(tmp.file("pets/dog/bad.jpg"), "not a jpeg");
  const std::vector<std::string> cache = {"--cache-dir", tmp.file("cache")};
  auto with_cache = [&](std::vector<std::string> args) {
    args.insert(args.end(), cache.begin(), cache.end());
    return args;
  };
  const auto r = dcgan(with_cache({"inspect", "--data", tmp.file("pets"), "--json"}), tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json.at("classes"), nlohmann::json({"cat", "dog"}));
  EXPECT_EQ(json.at("label_counts"), nlohmann::json({3, 1}));
  EXPECT_NE(r.err.find("skipped 1 unreadable files"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(tmp.path() / "cache" / "folders"));

  const auto strict = dcgan(with_cache({"inspect", "--data", tmp.file("pets"), "--strict"}), tmp.path());
  EXPECT_EQ(strict.code, 2) << describe(strict);
  EXPECT_NE(strict.err.find("bad.jpg"), std::string::npos) << strict.err;

  const auto packed = dcgan(with_cache({"pack", tmp.file("pets"), "--out", tmp.file("pets.mat"),
                                        "--image-size", "64"}),
                            tmp.path());
  ASSERT_EQ(packed.code, 0) << describe(packed);
  const auto back = dcgan({"inspect", "--data", tmp.file("pets.mat"), "--json"}, tmp.path());
  ASSERT_EQ(back.code, 0) << describe(back);
  const auto back_json = nlohmann::json::parse(back.out);
  EXPECT_EQ(back_json.at("classes"), nlohmann::json({"cat", "dog"}));
  EXPECT_EQ(back_json.at("label_counts"), nlohmann::json({3, 1}));
  EXPECT_EQ(back_json.at("height"), 64);
  const auto table = dcgan({"inspect", "--data", tmp.file("pets.mat")}, tmp.path());
  EXPECT_NE(table.out.find("cat"), std::string::npos) << table.out;
  expect_input_error(dcgan({"pack", tmp.file("nothing"), "--out", tmp.file("x.mat")}, tmp.path()),
                     "not a folder");
}

TEST(Commands, SummaryGivesTheNotebookParameterCounts) {
  TempDir tmp;
  const auto r = dcgan({"summary", "--conv-dim", "32", "--json"}, tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  const auto json = nlohmann::json::parse(r.out);
  // The notebook's models (conv_dim 32, z_size 100) as torchsummary counts them.
  EXPECT_EQ(json.at("generator").at("total_params"), 372416) << r.out;
  EXPECT_EQ(json.at("discriminator").at("total_params"), 167809) << r.out;
  expect_input_error(dcgan({"summary", "--conv-dim", "0"}, tmp.path()), "--conv-dim");
  // AC-GAN: fc takes 10 more inputs (10 x 2,048 weights); D's classifier maps 2,048 features to
  // 10 classes (20,480 weights and 10 biases), its minibatch std channel (4 x 4 positions)
  // gives fc 16 more weights, and the projection term a 10 x 128 class embedding. The counts
  // `train --conditional acgan` logs.
  const auto acgan =
      dcgan({"summary", "--conv-dim", "32", "--conditional", "acgan", "--json"}, tmp.path());
  ASSERT_EQ(acgan.code, 0) << describe(acgan);
  const auto acgan_json = nlohmann::json::parse(acgan.out);
  EXPECT_EQ(acgan_json.at("generator").at("total_params"), 372416 + 20480) << acgan.out;
  EXPECT_EQ(acgan_json.at("discriminator").at("total_params"), 167809 + 20490 + 16 + 1280)
      << acgan.out;
  const auto& d_layers = acgan_json.at("discriminator").at("layers");
  EXPECT_EQ(d_layers.back().at("name"), "classifier");
  EXPECT_EQ(d_layers.back().at("params"), 20490);
  const auto std_layer = std::find_if(d_layers.begin(), d_layers.end(), [](const auto& layer) {
    return layer.at("name") == "minibatch_std";
  });
  ASSERT_NE(std_layer, d_layers.end()) << acgan.out;
  EXPECT_EQ(std_layer->at("output_shape"), nlohmann::json({1, 129, 4, 4}));
  const auto plain = dcgan({"summary", "--conv-dim", "32", "--conditional", "acgan",
                            "--minibatch-std", "0", "--no-acgan-projection", "--json"},
                           tmp.path());
  ASSERT_EQ(plain.code, 0) << describe(plain);
  EXPECT_EQ(nlohmann::json::parse(plain.out).at("discriminator").at("total_params"),
            167809 + 20490);
  expect_input_error(
      dcgan({"summary", "--conditional", "acgan", "--classes", "1"}, tmp.path()), "--classes");
}

TEST(Commands, InterpolateDrawsTheLatentWalk) {
  REQUIRE_SHARED_RUN();
  TempDir tmp;
  const auto r = dcgan({"interpolate", "--checkpoint", Shared::get().checkpoint(), "--rows", "2",
                        "--steps", "5", "--seed", "9", "--device", "cpu", "--out",
                        tmp.file("walk.png")},
                       tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  auto generator = dcgan::train::load_generator(Shared::get().checkpoint(), torch::kCPU);
  const auto expected = dcgan::image::make_grid(
      dcgan::sampling::render(generator, dcgan::sampling::latent_walk(2, 5, 8, 9)), /*nrow=*/5);
  const auto walk = dcgan::image::read_image(tmp.file("walk.png"));
  EXPECT_EQ(walk.sizes(), (std::vector<int64_t>{3, 2 * 34 + 2, 5 * 34 + 2}));
  EXPECT_TRUE(torch::equal(walk, expected));
}

// More than 1024 images are rendered in chunks; the grid must still be G(z) of every z in order.
TEST(Commands, GenerateMoreThanOneChunk) {
  REQUIRE_SHARED_RUN();
  TempDir tmp;
  const auto r = dcgan({"generate", "--checkpoint", Shared::get().checkpoint(), "--count", "1030",
                        "--nrow", "40", "--seed", "2", "--device", "cpu", "--out",
                        tmp.file("many.png")},
                       tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  auto generator = dcgan::train::load_generator(Shared::get().checkpoint(), torch::kCPU);
  const auto z = dcgan::sampling::seeded_z(1030, 8, 2);
  const auto images = dcgan::sampling::render(generator, z);
  // render works 1,024 images at a time: the ones past the first chunk are there, each as the
  // generator makes it alone.
  ASSERT_EQ(images.size(0), 1030);
  EXPECT_TRUE(torch::equal(images[1029], dcgan::sampling::render(generator, z.narrow(0, 1029, 1))[0]));
  const auto expected = dcgan::image::make_grid(images, /*nrow=*/40);
  const auto grid = dcgan::image::read_image(tmp.file("many.png"));
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{3, 26 * 34 + 2, 40 * 34 + 2}));
  EXPECT_TRUE(torch::equal(grid, expected));
}

// --- (g) training options end to end --------------------------------------------------------

nlohmann::json json_file(const fs::path& path) {
  return nlohmann::json::parse(read_bytes(path.string()));
}

TEST(TrainOptions, SeveralDataFilesAndLimit) {
  TempDir tmp;
  const auto run = tmp.path() / "run";
  // Two 12-image files (24 images), limited to the first 20: 5 batches of 4.
  const auto r = dcgan(train_args(run, {"--data", data_path("tiny_v73.mat"), "--limit", "20",
                                        "--print-every", "1", "--smooth-labels"}),
                       tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(json_file(run / "config.json").at("dataset_images"), 20);
  EXPECT_EQ(json_file(run / "config.json").at("smooth_labels"), true);
  EXPECT_EQ(json_file(run / "summary.json").at("steps"), 5);
  EXPECT_EQ(json_file(run / "summary.json").at("images_seen"), 20);
  EXPECT_EQ(lines_of(read_bytes((run / "losses.csv").string())).size(), 1u + 5);
}

TEST(TrainOptions, ImageFolder) {
  TempDir tmp;
  fs::create_directory(tmp.path() / "images");
  for (int i = 0; i < 8; ++i)
    dcgan::image::write_png(tmp.file("images/" + std::to_string(i) + ".png"),
                            torch::randint(0, 256, {3, 40, 48}, torch::kUInt8));
  const auto run = tmp.path() / "run";
  const auto r = dcgan(train_args(run, {"--no-cache"}, tmp.file("images")), tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  const auto config = json_file(run / "config.json");
  EXPECT_EQ(config.at("dataset_images"), 8);
  EXPECT_EQ(config.at("dataset_format"), "image folder");
  EXPECT_EQ(json_file(run / "summary.json").at("steps"), 2);
}

// Without --data and without data/train_32x32.mat in the working folder, the bundled sample trains.
TEST(TrainOptions, FallsBackToTheBundledSample) {
  TempDir tmp;
  const auto run = tmp.path() / "run";
  const auto r = Process({"train",
                          "--out",
                          run.string(),
                          "--limit",
                          "64",
                          "--conv-dim",
                          "4",
                          "--z-size",
                          "8",
                          "--batch-size",
                          "32",
                          "--epochs",
                          "1",
                          "--seed",
                          "1",
                          "--progress",
                          "log",
                          "--no-plot",
                          "--sample-size",
                          "4"},
                         tmp.path(), tmp.path())
                     .wait();
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_NE(r.out.find("using the bundled sample"), std::string::npos) << describe(r);
  const auto data = json_file(run / "config.json").at("data");
  ASSERT_EQ(data.size(), 1u) << data;
  EXPECT_NE(data[0].get<std::string>().find("svhn_sample_32x32.mat"), std::string::npos) << data;
  EXPECT_EQ(json_file(run / "config.json").at("dataset_images"), 64);
  // No --recipe: the notebook's training.
  EXPECT_EQ(json_file(run / "config.json").at("recipe"), "notebook");
  EXPECT_EQ(json_file(run / "config.json").at("weights_init"), "default");
  EXPECT_EQ(json_file(run / "config.json").at("g_ema"), 0.0);
}

TEST(TrainOptions, RecipesAndAFlagThatOverridesThem) {
  TempDir tmp;
  const auto run = tmp.path() / "run";
  const auto r = dcgan(train_args(run, {"--recipe", "improved", "--g-ema", "0.9"}), tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  const auto config = json_file(run / "config.json");
  EXPECT_EQ(config.at("recipe"), "improved");
  EXPECT_EQ(config.at("weights_init"), "normal");
  EXPECT_EQ(config.at("g_ema"), 0.9);
  EXPECT_EQ(config.at("batch_size"), 4);  // given by train_args
  EXPECT_TRUE(dcgan::train::read_checkpoint_info((run / "checkpoints/last.pt").string()).has_g_ema);
  const auto high_lr_run = tmp.path() / "high_lr";
  const auto h = dcgan(train_args(high_lr_run, {"--recipe", "high-lr"}), tmp.path());
  ASSERT_EQ(h.code, 0) << describe(h);
  EXPECT_NE(h.out.find("recipe high-lr: --lr 0.001 --g-ema 0.995 --batch-size 64"), std::string::npos)
      << describe(h);
  EXPECT_EQ(json_file(high_lr_run / "config.json").at("lr"), 0.001);
  EXPECT_EQ(json_file(high_lr_run / "config.json").at("weights_init"), "default");
  expect_input_error(dcgan(train_args(tmp.path() / "bad", {"--recipe", "best"}), tmp.path()),
                     "--recipe must be notebook, improved or high-lr");
}

// The levers of issue 20 from the command line: recorded in config.json and the checkpoint, and a
// bad value is one line naming the option.
TEST(TrainOptions, LeversReachTheRunAndBadValuesAreRefused) {
  TempDir tmp;
  const auto run = tmp.path() / "run";
  const auto r =
      dcgan(train_args(run, {"--augment", "translation,cutout", "--augment-strength", "0.5",
                             "--loss", "hinge", "--spectral-norm", "--no-batch-norm", "--lr-d",
                             "0.0004", "--lr-g", "0.0001", "--minibatch-std", "2"}),
            tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  const auto config = json_file(run / "config.json");
  EXPECT_EQ(config.at("augment"), "translation,cutout");
  EXPECT_EQ(config.at("augment_strength"), 0.5);
  EXPECT_EQ(config.at("loss"), "hinge");
  EXPECT_EQ(config.at("spectral_norm"), true);
  EXPECT_EQ(config.at("batch_norm"), false);
  EXPECT_EQ(config.at("lr_d"), 0.0004);
  EXPECT_EQ(config.at("lr_g"), 0.0001);
  EXPECT_EQ(config.at("minibatch_std"), 2);
  const auto info = dcgan::train::read_checkpoint_info((run / "checkpoints/last.pt").string());
  EXPECT_TRUE(info.spectral_norm);
  EXPECT_FALSE(info.batch_norm);
  EXPECT_EQ(info.minibatch_std, 2);
  // A resumed run keeps its D: another group size is refused before anything is written.
  expect_input_error(
      dcgan({"train", "--resume", run.string(), "--epochs", "2", "--minibatch-std", "4"},
            tmp.path()),
      "--minibatch-std 4 disagrees with the resumed run's 2");
  EXPECT_EQ(dcgan::train::read_checkpoint_info((run / "checkpoints/last.pt").string()).epochs_done,
            info.epochs_done);
  expect_input_error(dcgan(train_args(tmp.path() / "b1", {"--augment", "flip"}), tmp.path()),
                     "--augment: unknown augmentation 'flip'");
  expect_input_error(
      dcgan(train_args(tmp.path() / "b2", {"--loss", "hinge", "--smooth-labels"}), tmp.path()),
      "--smooth-labels is for the BCE loss");
  expect_input_error(dcgan(train_args(tmp.path() / "b3", {"--lr-g=0"}), tmp.path()),
                     "--lr-g must be a positive number");
  expect_input_error(dcgan(train_args(tmp.path() / "b4", {"--minibatch-std=-1"}), tmp.path()),
                     "--minibatch-std must be 0 (off) or a group size up to 1024, got -1");
}

TEST(TrainOptions, CheckpointEveryAndKeepCheckpointsZero) {
  TempDir tmp;
  const auto every = tmp.path() / "every";
  auto r = dcgan(train_args(every, {"--epochs", "3", "--checkpoint-every", "2"}), tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  // Epoch 2 by --checkpoint-every, epoch 3 because it is the last.
  EXPECT_EQ(file_names(every / "checkpoints"),
            (std::vector<std::string>{"epoch_002.pt", "epoch_003.pt", "last.pt"}));
  const auto none = tmp.path() / "none";
  r = dcgan(train_args(none, {"--keep-checkpoints", "0"}), tmp.path());
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(file_names(none / "checkpoints"), (std::vector<std::string>{"last.pt"}));
}

TEST(TrainOptions, ResumeRefusesAChangedOption) {
  REQUIRE_SHARED_RUN();
  TempDir tmp;
  const auto run = copy_run(tmp);
  const auto before = snapshot(run);
  const auto r =
      dcgan({"train", "--resume", run.string(), "--epochs", "2", "--conv-dim", "8"}, tmp.path());
  expect_input_error(r, "--conv-dim");
  EXPECT_NE(r.err.find('4'), std::string::npos) << "names the saved value: " << r.err;
  EXPECT_EQ(snapshot(run), before);
}

// A learning rate of 1e30 sends the weights to +-1e30 in the first Adam step; the next forward
// overflows and the losses become NaN or inf.
TEST(TrainOptions, DivergenceExitsWith3AndKeepsNoBadCheckpoint) {
  TempDir tmp;
  const auto run = tmp.path() / "run";
  const auto r = dcgan(train_args(run, {"--lr", "1e30", "--print-every", "1"}), tmp.path());
  EXPECT_EQ(r.code, 3) << describe(r);
  EXPECT_NE(r.out.find("training diverged"), std::string::npos) << describe(r);
  EXPECT_FALSE(fs::exists(run / "checkpoints" / "last.pt"));
  EXPECT_FALSE(fs::exists(run / "summary.json"));
}

// A second signal while the first is being handled exits at once, without a checkpoint. Two
// different signals, because two pending SIGINTs would merge into one.
TEST(Signals, SecondSignalExitsAtOnceWithoutSaving) {
  TempDir tmp;
  const auto data = tmp.file("data.mat");
  dcgan::test::write_svhn(data, 256);
  const auto run = tmp.path() / "run";
  Process p(signal_train(run, data, 1000), tmp.path());
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!has_data_row(run / "losses.csv") && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(has_data_row(run / "losses.csv")) << describe(p.wait(std::chrono::milliseconds(1)));
  p.signal(SIGINT);
  p.signal(SIGTERM);
  const auto r = p.wait(std::chrono::seconds(30));
  EXPECT_TRUE(r.code == 130 || r.code == 143) << describe(r);
  EXPECT_NE(r.err.find("Second interrupt: exiting now without saving"), std::string::npos)
      << describe(r);
  EXPECT_FALSE(fs::exists(run / "checkpoints" / "last.pt")) << "saved although told not to wait";
}

// --progress takes the same values in every command that has it: none is quiet in train as in
// pack, and a value neither knows is refused by both with the same line.
TEST(Progress, SameValuesInEveryCommand) {
  TempDir tmp;
  const auto run = tmp.path() / "run";
  const auto quiet =
      dcgan(train_args(run, {"--progress", "none", "--print-every", "1"}), tmp.path());
  ASSERT_EQ(quiet.code, 0) << describe(quiet);
  EXPECT_EQ(quiet.out.find("Epoch ["), std::string::npos)
      << "per-batch lines printed: " << describe(quiet);
  EXPECT_TRUE(fs::exists(run / "checkpoints" / "last.pt"));
  const std::string refusal = "--progress must be auto, bar, log or none, got 'loud'";
  const auto train = dcgan(train_args(tmp.path() / "other", {"--progress", "loud"}), tmp.path());
  EXPECT_EQ(train.code, 2) << describe(train);
  EXPECT_NE(train.err.find(refusal), std::string::npos) << describe(train);
  const auto pack =
      dcgan({"pack", tmp.path().string(), "--out", tmp.file("packed.mat"), "--progress", "loud"},
            tmp.path());
  EXPECT_EQ(pack.code, 2) << describe(pack);
  EXPECT_NE(pack.err.find(refusal), std::string::npos) << describe(pack);
  EXPECT_FALSE(fs::exists(tmp.file("packed.mat")));
}


// --- class-conditional runs (--conditional) ---------------------------------------------------

// Through the binary: data without labels is refused; a conditional run's grid has one row per
// class; its checkpoint generates the classes asked for (and a per-class folder that reads back as
// a class folder) and house-number plates; a class it does not have, a typo in --digits and
// --count are each one line and exit 2, writing nothing; export writes the conditional generator.
TEST(Conditional, TrainThenGenerateClassesAndPlates) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "flat");
  for (int i = 0; i < 4; ++i)
    dcgan::image::write_png(tmp.file("flat/" + std::to_string(i) + ".png"),
                            torch::full({3, 32, 32}, 40 * i, torch::kUInt8));
  auto flat = dcgan::test::tiny_train_args(tmp.file("flat"), tmp.path() / "flat_run", 1);
  flat.insert(flat.end(), {"--conditional", "projection", "--no-cache"});
  expect_input_error(dcgan(flat, tmp.path()), "needs a label for every image");
  EXPECT_FALSE(fs::exists(tmp.path() / "flat_run"));

  torch::manual_seed(12);
  dcgan::test::write_svhn(tmp.file("digits.mat"), 40);
  auto args = dcgan::test::tiny_train_args(tmp.file("digits.mat"), tmp.path() / "run", 3);
  // --conditional alone is acgan, the method that measures better.
  args.insert(args.end(), {"--conditional", "--g-class-weight", "0.5", "--nrow", "3"});
  const auto trained = dcgan(args, tmp.path());
  ASSERT_EQ(trained.code, 0) << describe(trained);
  const auto config = json_file(tmp.path() / "run" / "config.json");
  EXPECT_EQ(config.at("g_class_weight"), 0.5);
  // AC-GAN's D judges with the minibatch standard deviation unless told otherwise.
  EXPECT_EQ(config.at("minibatch_std"), dcgan::models::kAcganMinibatchStd);
  // ... and with projection's class term in its logit.
  EXPECT_EQ(config.at("acgan_projection"), true);
  // 10 rows (the digits) of 3 columns, 34 px a cell.
  EXPECT_EQ(png_size(read_bytes((tmp.path() / "run" / "samples" / "epoch_001.png").string())),
            (std::pair<uint32_t, uint32_t>{3 * 34 + 2, 10 * 34 + 2}));
  const auto checkpoint = (tmp.path() / "run" / "checkpoints" / "last.pt").string();
  const auto info = dcgan::train::read_checkpoint_info(checkpoint);
  EXPECT_EQ(info.conditioning, dcgan::models::Conditioning::kAcgan);
  EXPECT_EQ(info.minibatch_std, dcgan::models::kAcganMinibatchStd);
  EXPECT_TRUE(info.acgan_projection);
  EXPECT_EQ(info.class_names,
            (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));

  const auto picked = dcgan({"generate", "--checkpoint", checkpoint, "--class", "0,3,7",
                             "--per-class", "5", "--seed", "1", "--out", tmp.file("classes.png"),
                             "--individual", tmp.file("per_class")},
                            tmp.path());
  ASSERT_EQ(picked.code, 0) << describe(picked);
  EXPECT_EQ(png_size(read_bytes(tmp.file("classes.png"))),
            (std::pair<uint32_t, uint32_t>{5 * 34 + 2, 3 * 34 + 2}));
  const auto folder = dcgan({"inspect", "--data", tmp.file("per_class"), "--json", "--no-cache"},
                            tmp.path());
  ASSERT_EQ(folder.code, 0) << describe(folder);
  const auto json = nlohmann::json::parse(folder.out);
  EXPECT_EQ(json.at("classes"), nlohmann::json({"0", "3", "7"}));
  EXPECT_EQ(json.at("label_counts"), nlohmann::json({5, 5, 5}));

  // Two plates of four digits, each digit a 32 px crop with no gap between them.
  const auto plates = dcgan({"generate", "--checkpoint", checkpoint, "--digits", "4021",
                             "--per-class", "2", "--seed", "1", "--out", tmp.file("plates.png")},
                            tmp.path());
  ASSERT_EQ(plates.code, 0) << describe(plates);
  EXPECT_EQ(png_size(read_bytes(tmp.file("plates.png"))),
            (std::pair<uint32_t, uint32_t>{4 * 32 + 4, 2 * 34 + 2}));

  // evaluate reads the classes asked for with a feature net trained on the same labels.
  const auto evaluated =
      dcgan({"evaluate", "--checkpoint", checkpoint, "--data", tmp.file("digits.mat"),
             "--train-data", tmp.file("digits.mat"), "--probe-labels", "20", "--count", "20",
             "--json"},
            tmp.path());
  ASSERT_EQ(evaluated.code, 0) << describe(evaluated);
  const auto measured = nlohmann::json::parse(evaluated.out).at("classes");
  EXPECT_EQ(measured.at("images_per_class"), 2);
  EXPECT_EQ(measured.at("accuracy").size(), 10u);
  EXPECT_EQ(measured.at("intra_class_fd").size(), 10u);
  EXPECT_GE(measured.at("mean_accuracy").get<double>(), 0.0);
  EXPECT_LE(measured.at("mean_accuracy").get<double>(), 1.0);
  const auto& cas = measured.at("classification_accuracy_score");
  EXPECT_EQ(cas.at("images"), 20);
  EXPECT_GE(cas.at("real_trained_accuracy").get<double>(), 0.0);

  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--class", "10"}, "--class 10: '10' is not a class of this checkpoint (its classes: 0, 1, "},
      {{"--digits", "4a"}, "--digits 4a: 'a' is not a class of this checkpoint"},
      {{"--count", "4"}, "use --per-class N"},
  };
  for (const auto& [options, message] : refused) {
    std::vector<std::string> command = {"generate", "--checkpoint", checkpoint, "--out",
                                        tmp.file("refused.png")};
    command.insert(command.end(), options.begin(), options.end());
    expect_input_error(dcgan(command, tmp.path()), message);
    EXPECT_FALSE(fs::exists(tmp.file("refused.png")));
  }
  const auto exported =
      dcgan({"export", "--checkpoint", checkpoint, "--out", tmp.file("g.pt")}, tmp.path());
  EXPECT_EQ(exported.code, 0) << describe(exported);
  EXPECT_TRUE(fs::exists(tmp.file("g.pt")));
}

TEST(Conditional, ClassesOfAnUnconditionalCheckpointAndBadConditionalOptionsAreRefused) {
  REQUIRE_SHARED_RUN();
  TempDir tmp;
  for (const auto* option : {"--class", "--digits"}) {
    expect_input_error(dcgan({"generate", "--checkpoint", Shared::get().checkpoint(), option, "3",
                              "--out", tmp.file("grid.png")},
                             tmp.path()),
                       std::string(option) + " needs a conditional checkpoint");
    EXPECT_FALSE(fs::exists(tmp.file("grid.png")));
  }
  torch::manual_seed(12);
  dcgan::test::write_svhn(tmp.file("digits.mat"), 8);
  auto args = dcgan::test::tiny_train_args(tmp.file("digits.mat"), tmp.path() / "run", 3);
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--conditional", "projection", "--no-batch-norm"},
       "cannot be combined with --no-batch-norm"},
      {{"--conditional", "projection", "--g-class-weight", "0.5"},
       "--g-class-weight weighs AC-GAN's class loss; it needs --conditional acgan"},
      {{"--conditional", "acgan", "--g-class-weight=-1"},
       "--g-class-weight must be 0 or a positive"},
      {{"--conditional", "projection", "--no-acgan-projection"},
       "--no-acgan-projection is AC-GAN's discriminator; it needs --conditional acgan"},
  };
  for (const auto& [options, message] : refused) {
    auto command = args;
    command.insert(command.end(), options.begin(), options.end());
    expect_input_error(dcgan(command, tmp.path()), message);
    EXPECT_FALSE(fs::exists(tmp.path() / "run"));
  }
}

}  // namespace
