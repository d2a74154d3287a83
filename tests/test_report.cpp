// report/: the HTML writer and its escaping, the SVG plots (scales, ticks, thinning, empty and
// one-point series), the pages built from run folders (half-written CSVs, missing samples,
// thousands of epochs), and end to end: report.html of a tiny training run, and `dcgan report`.
// Pages are checked for well-formedness by tests/check_html.py (Python's html.parser).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dcgan/report/html.h"
#include "dcgan/report/pages.h"
#include "dcgan/report/run_data.h"
#include "dcgan/report/svg_plot.h"
#include "dcgan/train/config.h"
#include "test_helpers.h"
#include "tiny_train_args.h"

namespace fs = std::filesystem;
using dcgan::test::read_bytes;
using dcgan::test::TempDir;
using dcgan::test::write_bytes;
using namespace dcgan::report;

namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Opening and closing tags of `markup` balance, in order (void elements and <x/> excepted).
std::string tag_balance_problem(const std::string& markup) {
  static const std::regex tag(R"(<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>)");
  static const std::vector<std::string> kVoid = {"meta", "img", "input", "br", "hr", "link"};
  std::vector<std::string> open;
  for (auto it = std::sregex_iterator(markup.begin(), markup.end(), tag);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[2];
    if ((*it)[3] == "/" || std::find(kVoid.begin(), kVoid.end(), name) != kVoid.end()) continue;
    if ((*it)[1] == "") {
      open.push_back(name);
    } else if (open.empty() || open.back() != name) {
      return "</" + name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">");
    } else {
      open.pop_back();
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

// tests/check_html.py on `page`: "" when well formed and self-contained, else its output.
std::string check_html(const std::string& page) {
  const std::string log = page + ".check.log";
  const std::string command = std::string(DCGAN_TEST_PYTHON_FOR_HTML) + " " +
                              DCGAN_CHECK_HTML_SCRIPT + " '" + page + "' > '" + log + "' 2>&1";
  const int status = std::system(command.c_str());
  const auto output = read_bytes(log);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "check_html.py failed (" + std::to_string(status) + "): " + output;
  if (output.find("html=1") == std::string::npos) return "no <html> element seen: " + output;
  return "";
}

// The (x, y) of every hover circle in an SVG plot, in page coordinates.
std::vector<Point> circles(const std::string& svg) {
  static const std::regex circle(R"re(<circle cx="([-0-9.]+)" cy="([-0-9.]+)")re");
  std::vector<Point> points;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), circle); it != std::sregex_iterator();
       ++it)
    points.push_back({std::stod((*it)[1]), std::stod((*it)[2])});
  return points;
}

// --- the HTML writer ------------------------------------------------------------------------

TEST(ReportHtml, EscapesEveryHtmlSpecialCharacter) {
  EXPECT_EQ(escape(R"(<a href="x">Tom & 'Jerry'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  EXPECT_EQ(escape("plain text, 123"), "plain text, 123");
  EXPECT_EQ(escape("ü \xE2\x96\xA0"), "ü \xE2\x96\xA0") << "UTF-8 passes through";
}

TEST(ReportHtml, WriterEscapesTextAndAttributesAndClosesInOrder) {
  HtmlWriter w;
  w.open("div", {{"title", R"("><script>alert(1)</script>)"}});
  w.text("<b>bold?</b> & more").empty("img", {{"src", "a.png"}}).empty("circle", {{"r", "1"}});
  w.element("span", "x<y");
  w.close();
  const auto html = w.str();
  EXPECT_EQ(html,
            "<div title=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\">&lt;b&gt;bold?&lt;/"
            "b&gt; &amp; more<img src=\"a.png\"><circle r=\"1\"/><span>x&lt;y</span></div>\n");
  EXPECT_EQ(tag_balance_problem(html), "");

  HtmlWriter unclosed;
  unclosed.open("p");
  EXPECT_THROW(unclosed.str(), std::logic_error);
  HtmlWriter empty;
  EXPECT_THROW(empty.close(), std::logic_error);
  EXPECT_THROW(HtmlWriter().code("script", "var s = '</script>';"), std::logic_error);
  EXPECT_EQ(HtmlWriter().code("script", "var a = 1 < 2 && 3 > 2;").str(),
            "<script>var a = 1 < 2 && 3 > 2;</script>\n")
      << "script code is not escaped (the browser would not unescape it)";
}

TEST(ReportHtml, UrlPathPercentEncodesWhatAUrlCannotHold) {
  EXPECT_EQ(url_path("samples/epoch_001.png"), "samples/epoch_001.png");
  EXPECT_EQ(url_path("../runs/a #1/50%?.png"), "../runs/a%20%231/50%25%3F.png");
  EXPECT_EQ(url_path("r\xC3\xBC\"n"), "r%C3%BC%22n");
}

// --- scales, ticks, thinning ---------------------------------------------------------------

TEST(SvgPlot, NiceTicksForTypicalRanges) {
  auto t = nice_ticks(0, 1);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  EXPECT_EQ(t.values, (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  t = nice_ticks(3, 97);
  EXPECT_DOUBLE_EQ(t.step, 20);
  EXPECT_EQ(t.values, (std::vector<double>{0, 20, 40, 60, 80, 100}));
  t = nice_ticks(1200, 4700, 6);
  EXPECT_DOUBLE_EQ(t.step, 1000);
  EXPECT_DOUBLE_EQ(t.lo(), 1000);
  EXPECT_DOUBLE_EQ(t.hi(), 5000);
  t = nice_ticks(-3, 7);
  EXPECT_DOUBLE_EQ(t.step, 2);
  EXPECT_DOUBLE_EQ(t.lo(), -4);
  EXPECT_DOUBLE_EQ(t.hi(), 8);
  EXPECT_NE(std::find(t.values.begin(), t.values.end(), 0.0), t.values.end());
  for (const double v : t.values) EXPECT_FALSE(v == 0 && std::signbit(v)) << "a -0 tick";
  // 0.1 to 0.3 in steps of 0.05: rounding must not add a tick past 0.3.
  t = nice_ticks(0.1, 0.30000000000000004, 4);
  EXPECT_DOUBLE_EQ(t.step, 0.05);
  EXPECT_EQ(t.values.size(), 5u);
}

TEST(SvgPlot, NiceTicksCoverAnyRangeWithAFewRoundSteps) {
  std::mt19937 random(3);
  std::uniform_real_distribution<double> exponent(-6, 8), unit(-1, 1);
  for (int i = 0; i < 2000; ++i) {
    const double scale = std::pow(10, exponent(random));
    const double a = unit(random) * scale, b = unit(random) * scale;
    const auto t = nice_ticks(a, b);
    SCOPED_TRACE(std::to_string(a) + " .. " + std::to_string(b));
    ASSERT_GE(t.values.size(), 2u);
    EXPECT_LE(t.values.size(), 12u);
    EXPECT_LE(t.lo(), std::min(a, b) + std::fabs(t.step) * 1e-6);
    EXPECT_GE(t.hi(), std::max(a, b) - std::fabs(t.step) * 1e-6);
    const double mantissa = t.step / std::pow(10, std::floor(std::log10(t.step) + 1e-9));
    EXPECT_TRUE(std::fabs(mantissa - 1) < 1e-9 || std::fabs(mantissa - 2) < 1e-9 ||
                std::fabs(mantissa - 5) < 1e-9)
        << "step " << t.step;
    for (size_t k = 1; k < t.values.size(); ++k)
      EXPECT_NEAR(t.values[k] - t.values[k - 1], t.step, t.step * 1e-9);
  }
}

TEST(SvgPlot, NiceTicksWidenAnEmptyOrNonFiniteRange) {
  auto t = nice_ticks(5, 5);
  EXPECT_LT(t.lo(), 5);
  EXPECT_GT(t.hi(), 5);
  t = nice_ticks(0, 0);
  EXPECT_LT(t.lo(), 0);
  EXPECT_GT(t.hi(), 0);
  t = nice_ticks(NAN, 3);
  EXPECT_DOUBLE_EQ(t.lo(), 0);
  EXPECT_DOUBLE_EQ(t.hi(), 1);
  t = nice_ticks(7, 2);  // reversed
  EXPECT_LE(t.lo(), 2);
  EXPECT_GE(t.hi(), 7);
}

TEST(SvgPlot, TickLabelsHaveTheDecimalsTheirStepNeeds) {
  EXPECT_EQ(format_tick(0.25, 0.05), "0.25");
  EXPECT_EQ(format_tick(0.4, 0.2), "0.4");
  EXPECT_EQ(format_tick(1500, 500), "1500");
  EXPECT_EQ(format_tick(3, 1), "3");
  EXPECT_EQ(format_tick(-1e-17, 0.1), "0.0") << "no -0.0 from rounding";
  EXPECT_EQ(format_tick(2e6, 1e6), "2e+06");
}

TEST(SvgPlot, LinearScaleMapsTheDomainOntoTheRange) {
  const LinearScale x{0, 10, 100, 600};
  EXPECT_DOUBLE_EQ(x(0), 100);
  EXPECT_DOUBLE_EQ(x(10), 600);
  EXPECT_DOUBLE_EQ(x(2.5), 225);
  const LinearScale y{-1, 1, 300, 20};  // SVG's y grows downwards
  EXPECT_DOUBLE_EQ(y(-1), 300);
  EXPECT_DOUBLE_EQ(y(1), 20);
  EXPECT_DOUBLE_EQ((LinearScale{4, 4, 0, 100})(4), 50) << "an empty domain maps to the middle";
}

TEST(SvgPlot, ThinningKeepsTheFirstAndLastAndAtMostMax) {
  std::vector<Point> points;
  for (int i = 0; i < 10007; ++i) points.push_back({static_cast<double>(i), std::sin(i)});
  const auto kept = thin(points, 1000);
  ASSERT_EQ(kept.size(), 1000u);
  EXPECT_EQ(kept.front().x, 0);
  EXPECT_EQ(kept.back().x, 10006);
  for (size_t i = 1; i < kept.size(); ++i) EXPECT_GT(kept[i].x, kept[i - 1].x);
  EXPECT_EQ(thin(points, 1).front().x, 10006) << "one point: the newest";
  EXPECT_EQ(thin({{1, 2}, {3, 4}}, 1000).size(), 2u);
  EXPECT_TRUE(thin({}, 1000).empty());
}

// --- the SVG plot ------------------------------------------------------------------------------

PlotOptions options_for_test() {
  PlotOptions o;
  o.title = "Losses";
  o.x_label = "step";
  o.y_label = "loss";
  return o;
}

TEST(SvgPlot, EmptySeriesDrawAxesAndSayThereIsNoData) {
  const auto svg = svg_plot({Series{"D loss", {}, "", false}}, options_for_test());
  EXPECT_EQ(tag_balance_problem(svg), "");
  EXPECT_NE(svg.find("no data yet"), std::string::npos);
  EXPECT_NE(svg.find("D loss (no data)"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 0u);
  EXPECT_EQ(count(svg, "<circle"), 0u);
  EXPECT_NE(svg.find(">step</text>"), std::string::npos) << "the x axis is labelled";
  EXPECT_NE(svg.find(">loss</text>"), std::string::npos) << "the y axis is labelled";
  const auto none = svg_plot({}, options_for_test());
  EXPECT_EQ(tag_balance_problem(none), "");
  EXPECT_NE(none.find("no data yet"), std::string::npos);
}

TEST(SvgPlot, OnePointGetsACircleWithItsValuesAndTicksAroundIt) {
  const auto svg = svg_plot({Series{"D loss", {{3, 0.5}}, "", false}}, options_for_test());
  EXPECT_EQ(tag_balance_problem(svg), "");
  EXPECT_EQ(count(svg, "<polyline"), 0u) << "a line needs two points";
  ASSERT_EQ(circles(svg).size(), 1u);
  EXPECT_NE(svg.find("<title>D loss: step 3, loss 0.5</title>"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("no data yet"), std::string::npos);
  // The point sits strictly inside the plot area, between its ticks.
  const auto c = circles(svg).front();
  EXPECT_GT(c.x, 64);
  EXPECT_LT(c.x, 640 - 16);
  EXPECT_GT(c.y, 0);
  EXPECT_LT(c.y, 300 - 44);
}

TEST(SvgPlot, PointsLandWhereTheirTicksSay) {
  Series d{"D", {{0, 0}, {100, 2}}, "", false};
  Series g{"G", {{50, 1}}, "", false};
  const auto svg = svg_plot({d, g}, options_for_test());
  EXPECT_EQ(tag_balance_problem(svg), "");
  EXPECT_EQ(count(svg, "<polyline"), 1u);
  const auto points = circles(svg);
  ASSERT_EQ(points.size(), 3u);
  // x ticks 0..100 span the plot's width, y ticks 0..2 its height (upwards).
  EXPECT_DOUBLE_EQ(points[0].x, 64);
  EXPECT_DOUBLE_EQ(points[1].x, 640 - 16);
  EXPECT_NEAR(points[2].x, (64 + 624) / 2.0, 0.051);
  EXPECT_GT(points[0].y, points[2].y);
  EXPECT_GT(points[2].y, points[1].y);
  EXPECT_NEAR(points[2].y, (points[0].y + points[1].y) / 2, 0.051);
  for (const auto* label : {">0</text>", ">100</text>", ">0.0</text>", ">2.0</text>"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  EXPECT_NE(svg.find("stroke=\"" + palette_color(0) + "\""), std::string::npos);
}

TEST(SvgPlot, LongSeriesAreThinnedAndNonFiniteValuesLeftOut) {
  Series s{"D", {}, "", false};
  for (int i = 0; i < 5000; ++i) s.points.push_back({static_cast<double>(i), 1.0 / (i + 1)});
  s.points[10].y = NAN;
  s.points[20].y = INFINITY;
  auto options = options_for_test();
  options.max_points = 1000;
  const auto svg = svg_plot({s}, options);
  EXPECT_EQ(circles(svg).size(), 1000u);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  EXPECT_LT(svg.size(), 200000u);
}

TEST(SvgPlot, EscapesNamesTitlesAndLabels) {
  auto options = options_for_test();
  options.title = "<script>alert('t')</script>";
  options.x_label = "a & b";
  const auto svg =
      svg_plot({Series{"\"><img src=x onerror=alert(1)>", {{1, 1}}, "", false}}, options);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("<img"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(svg.find(">a &amp; b</text>"), std::string::npos);
  EXPECT_EQ(tag_balance_problem(svg), "");
}

// --- pages from run folders, made by hand ------------------------------------------------------

nlohmann::json config_for_test(double lr = 0.0002) {
  return {{"data", {"data/train_32x32.mat"}},
          {"out", "runs/x"},
          {"epochs", 10},
          {"batch_size", 4},
          {"lr", lr},
          {"seed", 1},
          {"dataset_images", 12},
          {"device_name", "cpu"},
          {"step_used", "eager"},
          {"precision", "fp32"},
          {"versions", {{"dcgan", "0.1.0"}, {"libtorch", "1.13.1"}}},
          {"command_line", "dcgan train --epochs 10"}};
}

// A run folder with `epochs` epochs of records, a sample PNG for each listed in `with_samples`.
fs::path make_run(const fs::path& dir, int epochs, const std::vector<int>& with_samples,
                  double lr = 0.0002) {
  fs::create_directories(dir / "samples");
  fs::create_directories(dir / "checkpoints");
  write_bytes((dir / "config.json").string(), config_for_test(lr).dump(2));
  std::string losses = "epoch,batch,d_loss,g_loss,step\n", epochs_csv =
                                                               "epoch,seconds,images_per_second,"
                                                               "step\n";
  std::string quality = "epoch,frechet_distance,confident_share,step\n";
  for (int e = 1; e <= epochs; ++e) {
    for (int b = 1; b <= 3; ++b) {
      const int step = (e - 1) * 3 + b;
      losses += std::to_string(e) + "," + std::to_string(b) + "," + std::to_string(1.0 + step) +
                "," + std::to_string(2.0 + step) + "," + std::to_string(step) + "\n";
    }
    epochs_csv +=
        std::to_string(e) + ",2.5," + std::to_string(100 + e) + "," + std::to_string(3 * e) + "\n";
    if (e % 2 == 0)
      quality += std::to_string(e) + "," + std::to_string(300.0 / e) + ",0.5," +
                 std::to_string(3 * e) + "\n";
  }
  write_bytes((dir / "losses.csv").string(), losses);
  write_bytes((dir / "epochs.csv").string(), epochs_csv);
  write_bytes((dir / "quality.csv").string(), quality);
  char name[32];
  for (const int e : with_samples) {
    std::snprintf(name, sizeof(name), "epoch_%03d.png", e);
    write_bytes((dir / "samples" / name).string(), "png");
  }
  write_bytes((dir / "checkpoints" / "last.pt").string(), "pt");
  return dir;
}

TEST(RunReport, ReadsHalfWrittenCsvsAndMissingSamples) {
  TempDir tmp;
  const auto run = make_run(tmp.path() / "run", 3, {1, 3});  // epoch 2's grid is missing
  // A torn last row (no newline: the writer is mid-line), and a malformed one.
  std::ofstream(run / "losses.csv", std::ios::app) << "oops,1,2,3,4\n3,4,0.7";
  std::ofstream(run / "quality.csv", std::ios::app) << "4,12.";
  const auto data = read_run(run.string());
  EXPECT_EQ(data.losses.size(), 9u);
  EXPECT_EQ(data.losses.back().step, 9);
  EXPECT_EQ(data.quality.size(), 1u);
  EXPECT_EQ(data.epochs.size(), 3u);
  ASSERT_EQ(data.samples.size(), 2u);
  EXPECT_EQ(data.samples[1].path, "samples/epoch_003.png");
  EXPECT_EQ(data.epochs_done(), 3);
  EXPECT_EQ(data.epochs_total(), 10);
  ASSERT_EQ(data.checkpoints.size(), 1u);

  const auto page = run_page(data, RunStatus::kRunning, std::time(nullptr));
  write_bytes((run / "report.html").string(), page);
  EXPECT_EQ(check_html((run / "report.html").string()), "");
  EXPECT_NE(page.find("data-src=\"samples/epoch_001.png\""), std::string::npos);
  EXPECT_NE(page.find("data-src=\"samples/epoch_003.png\""), std::string::npos);
  EXPECT_EQ(page.find("epoch_002.png"), std::string::npos);
  EXPECT_NE(page.find("<meta http-equiv=\"refresh\" content=\"5\">"), std::string::npos);
  // ETA: 7 epochs left at 2.5 s each.
  EXPECT_NE(page.find("<th>ETA</th><td>18 s (7 epochs of about 3 s)"), std::string::npos) << page;
  EXPECT_NE(page.find("dcgan train --epochs 10"), std::string::npos) << "the command line";
  EXPECT_NE(page.find("libtorch 1.13.1"), std::string::npos) << "the versions";
  EXPECT_NE(page.find("href=\"checkpoints/last.pt\""), std::string::npos);
  EXPECT_EQ(read_run(run.string()).recorded_status, "running");
}

TEST(RunReport, FinishedRunsDoNotReloadOrShowAnEta) {
  TempDir tmp;
  const auto run = make_run(tmp.path() / "run", 5, {5});  // 5 of 10 epochs
  for (const auto status : {RunStatus::kDone, RunStatus::kInterrupted, RunStatus::kDiverged}) {
    const auto page = run_page(read_run(run.string()), status, std::time(nullptr));
    EXPECT_EQ(page.find("http-equiv=\"refresh\""), std::string::npos) << status_name(status);
    EXPECT_EQ(page.find("<th>ETA</th>"), std::string::npos) << status_name(status);
    EXPECT_NE(page.find(std::string("<span class=\"status ") + status_name(status) + "\">"),
              std::string::npos);
  }
}

TEST(RunReport, ThousandsOfEpochsGiveASmallPageWithAThinnedSlider) {
  TempDir tmp;
  std::vector<int> all;
  for (int e = 1; e <= 3000; ++e) all.push_back(e);
  const auto run = make_run(tmp.path() / "run", 3000, all);
  const auto page = run_page(read_run(run.string()), RunStatus::kDone, std::time(nullptr));
  EXPECT_LT(page.size(), 1000000u) << "far below the 10 MB limit";
  EXPECT_EQ(count(page, "data-src=\"samples/epoch_"), kMaxSliderImages);
  EXPECT_NE(page.find("data-src=\"samples/epoch_001.png\""), std::string::npos);
  EXPECT_NE(page.find("data-src=\"samples/epoch_3000.png\""), std::string::npos);
  // Each curve is thinned: D and G (9,000 rows each), FD and share (1,500), speed (3,000).
  EXPECT_EQ(count(page, "<circle"), 5 * kMaxPlotPoints);
  write_bytes((run / "report.html").string(), page);
  EXPECT_EQ(check_html((run / "report.html").string()), "");
}

TEST(RunReport, EscapesConfigStringsAndPaths) {
  TempDir tmp;
  const auto run = make_run(tmp.path() / "run <b>&\"x\" #1", 2, {1});
  auto config = config_for_test();
  config["data"] = {"<img src=x onerror=alert(1)>.mat"};
  config["command_line"] = "dcgan train --out '<script>alert(2)</script>'";
  write_bytes((run / "config.json").string(), config.dump());
  const auto page = run_page(read_run(run.string()), RunStatus::kDone, std::time(nullptr));
  EXPECT_EQ(page.find("<img src=x"), std::string::npos);
  EXPECT_EQ(page.find("<script>alert"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_NE(page.find("&lt;img src=x onerror=alert(1)&gt;.mat"), std::string::npos);
  EXPECT_NE(page.find("run &lt;b&gt;&amp;&quot;x&quot; #1"), std::string::npos);
  write_bytes((run / "report.html").string(), page);
  EXPECT_EQ(check_html((run / "report.html").string()), "");
}

TEST(RunReport, NotARunFolderIsAOneLineInputError) {
  TempDir tmp;
  dcgan::test::expect_error([&] { read_run(tmp.file("missing")); }, {"missing", "no such folder"});
  write_bytes(tmp.file("file"), "x");
  dcgan::test::expect_error([&] { read_run(tmp.file("file")); }, {"file", "not a folder"});
  dcgan::test::expect_error([&] { read_run(tmp.path().string()); },
                            {tmp.path().string(), "not a dcgan run folder"});
  write_bytes(tmp.file("config.json"), "{\"epochs\": ");
  dcgan::test::expect_error([&] { read_run(tmp.path().string()); },
                            {"config.json", "unreadable run config"});
}

TEST(RunReport, AFailedUpdateNeverThrows) {
  TempDir tmp;
  EXPECT_NO_THROW(update_run_report(tmp.file("no_such_run"), RunStatus::kRunning));
  EXPECT_FALSE(fs::exists(tmp.path() / "no_such_run" / "report.html"));
  const auto run = make_run(tmp.path() / "run", 1, {1});
  update_run_report(run.string(), RunStatus::kRunning);
  EXPECT_TRUE(fs::exists(run / "report.html"));
}

// The <svg> of `page` whose aria-label is `title`, or "".
std::string plot_titled(const std::string& page, const std::string& title) {
  const auto at = page.find("aria-label=\"" + title + "\"");
  if (at == std::string::npos) return "";
  const auto start = page.rfind("<svg", at), end = page.find("</svg>", at);
  return page.substr(start, end + 6 - start);
}

// The labels of a plot's y ticks (right-aligned at x = 58) in order, with the y of each.
std::vector<std::pair<std::string, double>> y_ticks(const std::string& svg) {
  static const std::regex label(R"re(<text x="58.0" y="([-0-9.]+)" text-anchor="end">([^<]*)</text>)re");
  std::vector<std::pair<std::string, double>> ticks;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), label); it != std::sregex_iterator();
       ++it)
    ticks.emplace_back((*it)[2], std::stod((*it)[1]));
  return ticks;
}

// The geometry of a page's plots, pinned: every y axis starts at 0 (loss and FD alike), ticks are
// round steps, and a point lands where the axes say. A page plot is 530 x 280 with the plot area
// from x 64 to 514 and, under one legend row, from y 54 (top) to 236 (bottom).
TEST(PlotGeometry, RunPageAxesStartAtZeroAndPointsLandOnTheirPixels) {
  TempDir tmp;
  // Steps 1..9 of D loss 2..10 and G loss 3..11; FD 150 at epoch 2.
  const auto run = make_run(tmp.path() / "run", 3, {});
  const auto page = run_page(read_run(run.string()), RunStatus::kDone, std::time(nullptr));

  const auto losses = plot_titled(page, "Losses");
  ASSERT_FALSE(losses.empty()) << page;
  const std::vector<std::pair<std::string, double>> loss_ticks = {
      {"0", 240}, {"5", 240 - 182 / 3.0}, {"10", 240 - 2 * 182 / 3.0}, {"15", 58}};
  const auto seen = y_ticks(losses);
  ASSERT_EQ(seen.size(), loss_ticks.size()) << losses;
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].first, loss_ticks[i].first);
    EXPECT_NEAR(seen[i].second, loss_ticks[i].second, 0.051);  // labels sit 4 px below their line
  }
  // x ticks 0, 2, ..., 10 over 64..514; y ticks 0..15 over 236..54.
  for (const auto* label : {">0</text>", ">2</text>", ">10</text>"})
    EXPECT_NE(losses.find(label), std::string::npos) << label;
  const auto points = circles(losses);
  ASSERT_EQ(points.size(), 18u);
  EXPECT_NEAR(points.front().x, 64 + 450 * 1 / 10.0, 0.051);  // D at step 1: loss 2
  EXPECT_NEAR(points.front().y, 236 - 182 * 2 / 15.0, 0.051);
  EXPECT_NEAR(points.back().x, 64 + 450 * 9 / 10.0, 0.051);  // G at step 9: loss 11
  EXPECT_NEAR(points.back().y, 236 - 182 * 11 / 15.0, 0.051);

  // FD: 0 at the bottom, although the only value is 150, which sits at the top tick.
  const auto fd = plot_titled(page, "Sample quality (lower is better)");
  ASSERT_FALSE(fd.empty());
  const auto fd_ticks = y_ticks(fd);
  ASSERT_EQ(fd_ticks.size(), 4u) << fd;
  EXPECT_EQ(fd_ticks.front().first, "0");
  EXPECT_NEAR(fd_ticks.front().second, 240, 0.051);
  EXPECT_EQ(fd_ticks.back().first, "150");
  ASSERT_EQ(circles(fd).size(), 1u);
  EXPECT_NEAR(circles(fd).front().y, 54, 0.051);
}

// The compare page's loss axes start at 0 too.
TEST(PlotGeometry, ComparePageLossAxesStartAtZero) {
  TempDir tmp;
  const auto a = make_run(tmp.path() / "a", 3, {});
  const auto page = compare_page({read_run(a.string())}, tmp.file("compare.html"), std::time(nullptr));
  for (const auto* title : {"D loss", "G loss", "Sample quality (lower is better)"}) {
    const auto ticks = y_ticks(plot_titled(page, title));
    ASSERT_FALSE(ticks.empty()) << title;
    EXPECT_EQ(ticks.front().first, "0") << title;
  }
}

TEST(ComparePage, OverlaysRunsAndNamesTheSettingsThatDiffer) {
  TempDir tmp;
  const auto a = make_run(tmp.path() / "runs" / "a", 4, {1, 4});
  const auto b = make_run(tmp.path() / "runs" / "b", 2, {2}, /*lr=*/0.001);
  // Whole configs, as the trainer writes them; b's is from before --minibatch-std and the acgan
  // projection term, so it lacks their keys: it trained with their defaults, no difference.
  const auto whole = [](double lr) {
    auto config = dcgan::train::to_json(dcgan::train::TrainConfig{});
    config.update(config_for_test(lr));
    return config;
  };
  write_bytes((a / "config.json").string(), whole(0.0002).dump(2));
  auto older = whole(0.001);
  older.erase("minibatch_std");
  older.erase("acgan_projection");
  write_bytes((b / "config.json").string(), older.dump(2));
  write_bytes((a / "summary.json").string(), R"({"epochs": 4, "images_per_second": 123.4})");
  write_bytes((b / "report.html").string(),
              "<!DOCTYPE html>\n<html><head><meta name=\"dcgan-status\" content=\"interrupted\">");
  fs::create_directories(tmp.path() / "out");
  const auto out = tmp.file("out/compare.html");
  const auto page =
      compare_page({read_run(a.string()), read_run(b.string())}, out, std::time(nullptr));
  write_bytes(out, page);
  EXPECT_EQ(check_html(out), "") << "links and images resolve relative to the page";
  EXPECT_NE(page.find("href=\"../runs/b/report.html\""), std::string::npos);
  EXPECT_NE(page.find("src=\"../runs/a/samples/epoch_004.png\""), std::string::npos);
  EXPECT_NE(page.find("<td>lr 0.0002</td>"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>lr 0.001</td>"), std::string::npos);
  EXPECT_EQ(page.find("lr 0.0002; "), std::string::npos) << "lr is the only setting that differs";
  EXPECT_NE(page.find("class=\"status done\""), std::string::npos);
  EXPECT_NE(page.find("class=\"status interrupted\""), std::string::npos);
  EXPECT_NE(page.find("<td class=\"num\">123</td>"), std::string::npos) << "summary's images/s";
  EXPECT_NE(page.find("<td class=\"num\">4 / 10</td>"), std::string::npos);
  EXPECT_NE(page.find("<td class=\"num\">75.00 (epoch 4)</td>"), std::string::npos) << "final FD";
  // D loss, G loss, FD, share and speed: each run a series in each plot.
  EXPECT_EQ(count(page, "<svg"), 5u);
  EXPECT_EQ(count(page, "<polyline"), 5u * 2 - 2) << "b's one FD point draws no line";
  EXPECT_EQ(page.find("http-equiv=\"refresh\""), std::string::npos);
}

// A conditional run's quality.csv has a fifth column, class_accuracy; older runs and
// unconditional ones (empty field) have none. The table shows it, or "-", and a curve is drawn for
// the runs that have it.
TEST(ComparePage, ShowsTheClassAccuracyOfConditionalRuns) {
  TempDir tmp;
  const auto plain = make_run(tmp.path() / "plain", 2, {2});  // 4 columns, as before
  const auto conditional = make_run(tmp.path() / "acgan", 2, {2}, /*lr=*/0.001);
  write_bytes((conditional / "quality.csv").string(),
              "epoch,frechet_distance,confident_share,step,class_accuracy\n"
              "1,90,0.4,3,0.25\n2,80,0.5,6,0.625\n");
  const auto unmeasured = make_run(tmp.path() / "none", 2, {2}, /*lr=*/0.003);
  write_bytes((unmeasured / "quality.csv").string(),
              "epoch,frechet_distance,confident_share,step,class_accuracy\n2,70,0.5,6,\n");
  const auto runs = std::vector<RunData>{read_run(plain.string()), read_run(conditional.string()),
                                         read_run(unmeasured.string())};
  ASSERT_EQ(runs[1].quality.size(), 2u);
  EXPECT_DOUBLE_EQ(runs[1].quality[0].class_accuracy, 0.25);
  EXPECT_FALSE(runs[0].quality.back().has_class_accuracy());
  ASSERT_EQ(runs[2].quality.size(), 1u);
  EXPECT_FALSE(runs[2].quality.back().has_class_accuracy());
  const auto page = compare_page(runs, tmp.file("compare.html"), std::time(nullptr));
  EXPECT_NE(page.find("<th>class accuracy</th>"), std::string::npos);
  EXPECT_NE(page.find("<td class=\"num\">62.5%</td>"), std::string::npos) << "acgan's last";
  EXPECT_EQ(count(page, "<td class=\"num\">-</td>"), 2u) << "the other two have none";
  EXPECT_NE(page.find("Class accuracy (higher is better)"), std::string::npos);
  EXPECT_EQ(count(page, "<svg"), 6u) << "losses x2, FD, share, class accuracy, speed";
  const auto plain_page = compare_page({runs[0]}, tmp.file("compare.html"), std::time(nullptr));
  EXPECT_EQ(plain_page.find("Class accuracy"), std::string::npos);
}

TEST(ComparePage, ManyLongRunsStayFarBelowTenMegabytes) {
  TempDir tmp;
  std::vector<RunData> runs;
  for (int i = 0; i < 16; ++i)
    runs.push_back(read_run(make_run(tmp.path() / std::to_string(i), 2000, {}).string()));
  const auto page = compare_page(runs, tmp.file("compare.html"), std::time(nullptr));
  // 5 plots of 16 runs, each run's curve thinned to 4,000 / 16 points.
  EXPECT_EQ(count(page, "<circle"), 5u * 16 * 250);
  EXPECT_LT(page.size(), 4000000u);
}

// --- end to end: the binary ------------------------------------------------------------------

struct Result {
  int code = -1;
  std::string out, err;
};

// Runs the dcgan binary with `args` (no shell quoting inside: test paths are plain).
Result dcgan_run(const std::vector<std::string>& args, const TempDir& tmp) {
  std::string command = std::string("OMP_NUM_THREADS=1 '") + DCGAN_BINARY + "'";
  for (const auto& arg : args) command += " '" + arg + "'";
  command += " < /dev/null > '" + tmp.file("stdout") + "' 2> '" + tmp.file("stderr") + "'";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_bytes(tmp.file("stdout")),
          read_bytes(tmp.file("stderr"))};
}

std::vector<std::string> tiny_train(const fs::path& out, const std::string& epochs,
                                    const std::vector<std::string>& extra = {}) {
  auto args =
      dcgan::test::tiny_train_args(dcgan::test::data_path("tiny_v5_compressed.mat"), out, 1);
  args.insert(args.end(), {"--epochs", epochs, "--print-every", "1"});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::string hover_value(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.4g", value);
  return text;
}

TEST(ReportEndToEnd, TinyRunReportIsWellFormedAndHoldsEverySampleAndLossPoint) {
  TempDir tmp;
  const auto run = tmp.path() / "run";
  const auto r = dcgan_run(tiny_train(run, "3"), tmp);
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const auto page_path = (run / "report.html").string();
  ASSERT_TRUE(fs::is_regular_file(page_path));
  EXPECT_EQ(check_html(page_path), "");
  const auto page = read_bytes(page_path);
  EXPECT_LT(page.size(), 10u << 20);
  EXPECT_NE(page.find("<span class=\"status done\">done</span>"), std::string::npos);
  EXPECT_EQ(page.find("http-equiv=\"refresh\""), std::string::npos) << "a finished run";
  EXPECT_NE(page.find("<th>epochs</th><td>3 of 3</td>"), std::string::npos);
  for (const auto* grid :
       {"samples/epoch_001.png", "samples/epoch_002.png", "samples/epoch_003.png"})
    EXPECT_NE(page.find(std::string("data-src=\"") + grid + "\""), std::string::npos) << grid;

  // Each of losses.csv's 9 rows is a point of the loss plot whose hover shows its values.
  const auto rows = dcgan::test::file_lines((run / "losses.csv").string());
  ASSERT_EQ(rows.size(), 10u);
  for (size_t i = 1; i < rows.size(); ++i) {
    std::vector<std::string> f;
    std::stringstream line(rows[i]);
    for (std::string field; std::getline(line, field, ',');) f.push_back(field);
    ASSERT_EQ(f.size(), 5u) << rows[i];
    EXPECT_NE(page.find("<title>D loss: step " + f[4] + ", loss " + hover_value(std::stod(f[2]))),
              std::string::npos)
        << rows[i];
    EXPECT_NE(page.find("<title>G loss: step " + f[4] + ", loss " + hover_value(std::stod(f[3]))),
              std::string::npos)
        << rows[i];
  }
  // epochs.csv: one row per epoch, for the speed curve.
  const auto epochs = dcgan::test::file_lines((run / "epochs.csv").string());
  ASSERT_EQ(epochs.size(), 4u);
  EXPECT_EQ(epochs[0], "epoch,seconds,images_per_second,step");
  EXPECT_EQ(epochs[3].substr(0, 2), "3,");
  EXPECT_EQ(epochs[3].substr(epochs[3].rfind(',')), ",9");
  EXPECT_NE(page.find("<title>images/s: epoch 3, images/s "), std::string::npos);

  const auto config = nlohmann::json::parse(read_bytes((run / "config.json").string()));
  const auto command = config.at("command_line").get<std::string>();
  EXPECT_EQ(command.rfind("dcgan train --data ", 0), 0u) << command;
  EXPECT_NE(command.find(" --epochs 3 "), std::string::npos) << command;
  EXPECT_NE(page.find("<pre>" + command + "</pre>"), std::string::npos);
  for (const auto& entry : fs::recursive_directory_iterator(run))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
}

// The page is rewritten while the run goes on: read in a loop during training, it shows every
// finished epoch as running, with the ETA, before the run ends as done.
TEST(ReportEndToEnd, RewrittenAfterEveryEpochWhileRunning) {
  TempDir tmp;
  const auto data = tmp.file("data.mat");
  dcgan::test::write_svhn(data, 256);  // 64 steps per epoch: long enough to be seen
  const auto run = tmp.path() / "run";
  std::atomic<bool> finished{false};
  Result result;
  std::thread training([&] {
    result = dcgan_run(tiny_train(run, "3", {"--data", data, "--print-every", "16"}), tmp);
    finished = true;
  });
  std::set<std::string> seen;  // "epochs" rows of running pages
  const std::regex epochs_row("<th>epochs</th><td>([0-9]+ of 3)</td>");
  while (!finished) {
    const auto page = read_bytes((run / "report.html").string());
    std::smatch match;
    if (page.find("status running") != std::string::npos &&
        page.find("http-equiv=\"refresh\"") != std::string::npos &&
        std::regex_search(page, match, epochs_row)) {
      seen.insert(match[1]);
      if (match[1] == "1 of 3" || match[1] == "2 of 3") {
        EXPECT_NE(page.find("<th>ETA</th>"), std::string::npos) << page;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  training.join();
  ASSERT_EQ(result.code, 0) << result.err << result.out;
  EXPECT_TRUE(seen.count("1 of 3")) << ::testing::PrintToString(seen);
  EXPECT_TRUE(seen.count("2 of 3")) << ::testing::PrintToString(seen);
  EXPECT_NE(read_bytes((run / "report.html").string()).find("status done"), std::string::npos);
}

TEST(ReportEndToEnd, DivergedRunSaysSo) {
  TempDir tmp;
  const auto run = tmp.path() / "run";
  const auto r = dcgan_run(tiny_train(run, "1", {"--lr", "1e30"}), tmp);
  ASSERT_EQ(r.code, 3) << r.err << r.out;
  const auto page = read_bytes((run / "report.html").string());
  EXPECT_NE(page.find("<span class=\"status diverged\">diverged</span>"), std::string::npos);
  EXPECT_EQ(page.find("http-equiv=\"refresh\""), std::string::npos);
}

TEST(ReportEndToEnd, ReportCommandComparesRunsAndRefusesWhatIsNotARun) {
  TempDir tmp;
  const auto a = tmp.path() / "a", b = tmp.path() / "b";
  ASSERT_EQ(dcgan_run(tiny_train(a, "1"), tmp).code, 0);
  ASSERT_EQ(dcgan_run(tiny_train(b, "1", {"--lr", "0.001"}), tmp).code, 0);
  const auto out = tmp.file("compare.html");
  const auto r = dcgan_run({"report", a.string(), b.string(), "--out", out}, tmp);
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_EQ(check_html(out), "");
  const auto page = read_bytes(out);
  EXPECT_NE(page.find("href=\"a/report.html\""), std::string::npos);
  EXPECT_NE(page.find("href=\"b/report.html\""), std::string::npos);
  EXPECT_NE(page.find("<td>lr 0.001</td>"), std::string::npos);
  EXPECT_EQ(count(page, "class=\"status done\""), 2u);

  fs::create_directories(tmp.path() / "empty");
  for (const auto& bad : {tmp.file("empty"), tmp.file("missing")}) {
    const auto refused = dcgan_run({"report", a.string(), bad, "--out", tmp.file("bad.html")}, tmp);
    EXPECT_EQ(refused.code, 2) << refused.err;
    EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
    EXPECT_NE(refused.err.find(bad), std::string::npos) << refused.err;
    EXPECT_FALSE(fs::exists(tmp.file("bad.html")));
  }
  const auto none = dcgan_run({"report", "--out", tmp.file("bad.html")}, tmp);
  EXPECT_EQ(none.code, 2) << none.err;
  EXPECT_NE(none.err.find("no run folders given"), std::string::npos) << none.err;
  const auto own = dcgan_run({"report", a.string(), "--out", (a / "report.html").string()}, tmp);
  EXPECT_EQ(own.code, 2) << own.err;
}

}  // namespace
