#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "dcgan/data/dataset.h"
#include "dcgan/data/scale.h"
#include "dcgan/data/svhn.h"
#include "dcgan/util/errors.h"
#include "test_helpers.h"

using dcgan::InputError;
using dcgan::data::load_svhn_mat;
using dcgan::test::data_path;
using dcgan::test::MatVariable;
using dcgan::test::TempDir;
using dcgan::test::write_mat;

namespace {

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kInt64).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

class FixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureTest, MatchesIndependentWriters) {
  std::ifstream json_file(data_path("tiny_expected.json"));
  const auto expected = nlohmann::json::parse(json_file);
  const auto set = load_svhn_mat(data_path(GetParam()));

  ASSERT_EQ(set.images.scalar_type(), torch::kUInt8);
  ASSERT_EQ(set.labels.scalar_type(), torch::kInt64);
  const int64_t n = expected["count"];
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{n, 3, 32, 32}));
  EXPECT_EQ(to_vector(set.labels), expected["digits"].get<std::vector<int64_t>>());
  EXPECT_EQ(to_vector(set.images[0][0][0]),
            expected["image0_channel0_row0"].get<std::vector<int64_t>>());
  EXPECT_EQ(to_vector(set.images[0][2].select(1, 5)),
            expected["image0_channel2_column5"].get<std::vector<int64_t>>());
  EXPECT_EQ(to_vector(set.images[11].select(1, 3).select(1, 7)),
            expected["image11_pixel_r3_c7_rgb"].get<std::vector<int64_t>>());
  EXPECT_EQ(to_vector(set.images.sum({1, 2, 3}, false, torch::kInt64)),
            expected["sum_per_image"].get<std::vector<int64_t>>());
  const auto stats = dcgan::data::describe(set);
  const auto means = expected["mean_per_channel_0_255"].get<std::vector<double>>();
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(stats.pixel_mean[c], means[c], 1e-9);
}

INSTANTIATE_TEST_SUITE_P(AllWriters, FixtureTest,
                         ::testing::Values("tiny_v5_compressed.mat", "tiny_v5_uncompressed.mat",
                                           "tiny_v73.mat"));

TEST(SvhnLoader, ReportsFormat) {
  EXPECT_EQ(load_svhn_mat(data_path("tiny_v5_compressed.mat")).format, "MAT v5");
  EXPECT_EQ(load_svhn_mat(data_path("tiny_v73.mat")).format, "MAT v7.3");
}

TEST(SvhnLoader, RoundTripsItsOwnWriterInEveryFormat) {
  TempDir dir;
  for (auto [version, compression] :
       {std::pair{MAT_FT_MAT5, MAT_COMPRESSION_ZLIB}, std::pair{MAT_FT_MAT5, MAT_COMPRESSION_NONE},
        std::pair{MAT_FT_MAT73, MAT_COMPRESSION_NONE}}) {
    torch::manual_seed(3);
    const auto path = dir.file("set.mat");
    std::filesystem::remove(path);
    dcgan::test::write_svhn(path, 25, version, compression);
    torch::manual_seed(3);
    const auto raw = torch::randint(0, 256, {25 * 3072}, torch::kUInt8);
    const auto set = load_svhn_mat(path);
    // MATLAB order is (row, col, channel, image) column-major, i.e. image-major (image, channel,
    // col, row).
    EXPECT_TRUE(torch::equal(set.images, raw.view({25, 3, 32, 32}).transpose(2, 3)));
    EXPECT_EQ(set.labels[9].item<int64_t>(), 0);  // label 10 is digit 0
    EXPECT_EQ(set.labels[3].item<int64_t>(), 4);
  }
}

TEST(SvhnLoader, ConvertsWholeNumberDoublePixels) {
  TempDir dir;
  auto x = torch::randint(0, 256, {2 * 3072}, torch::kFloat64);
  write_mat(dir.file("d.mat"),
            {{"X", {32, 32, 3, 2}, x}, {"y", {2, 1}, torch::tensor({1.0, 10.0}, torch::kFloat64)}});
  const auto set = load_svhn_mat(dir.file("d.mat"));
  EXPECT_EQ(set.images.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(set.images, x.to(torch::kUInt8).view({2, 3, 32, 32}).transpose(2, 3)));
}

TEST(SvhnLoader, AcceptsSingleImageWithDroppedTrailingDimension) {
  TempDir dir;
  write_mat(dir.file("one.mat"), {{"X", {32, 32, 3}, torch::zeros({3072}, torch::kUInt8)},
                                  {"y", {1, 1}, torch::tensor({5.0}, torch::kFloat64)}});
  const auto set = load_svhn_mat(dir.file("one.mat"));
  EXPECT_EQ(set.size(), 1);
  EXPECT_EQ(set.labels[0].item<int64_t>(), 5);
}

// uint16 and uint32 pixels and labels (MATLAB's other unsigned classes), and y stored as 1xN.
TEST(SvhnLoader, ConvertsUnsignedPixelsAndARowOfLabels) {
  TempDir dir;
  torch::manual_seed(8);
  const auto pixels = torch::randint(0, 256, {3 * 3072}, torch::kInt64);
  const auto expected = pixels.to(torch::kUInt8).view({3, 3, 32, 32}).transpose(2, 3);
  const auto y = torch::tensor({10, 1, 7}, torch::kInt64);
  for (auto cls : {MAT_C_UINT16, MAT_C_UINT32}) {
    const auto dtype = cls == MAT_C_UINT16 ? torch::kInt16 : torch::kInt32;
    const auto path = dir.file(cls == MAT_C_UINT16 ? "u16.mat" : "u32.mat");
    MatVariable x{"X", {32, 32, 3, 3}, pixels.to(dtype)};
    x.unsigned_class = cls;
    MatVariable labels{"y", {1, 3}, y.to(dtype)};
    labels.unsigned_class = cls;
    write_mat(path, {x, labels});
    const auto set = load_svhn_mat(path);
    EXPECT_TRUE(torch::equal(set.images, expected)) << path;
    EXPECT_EQ(to_vector(set.labels), (std::vector<int64_t>{0, 1, 7})) << path;
  }
}

// The largest uint16/uint32 values must be read as such (torch has no unsigned 16/32-bit type), so
// the message about labels out of range names them, not -1.
TEST(SvhnLoaderRefuses, LargestUnsignedLabelsAreNamedAsTheyAre) {
  TempDir dir;
  for (auto [cls, largest] : {std::pair{MAT_C_UINT16, std::string("65535")},
                              std::pair{MAT_C_UINT32, std::string("4294967295")}}) {
    const auto dtype = cls == MAT_C_UINT16 ? torch::kInt16 : torch::kInt32;
    MatVariable labels{"y", {2, 1}, torch::tensor({1, -1}, torch::kInt64).to(dtype)};
    labels.unsigned_class = cls;
    const auto path = dir.file("big_" + largest + ".mat");
    write_mat(path, {{"X", {32, 32, 3, 2}, torch::zeros({2 * 3072}, torch::kUInt8)}, labels});
    dcgan::test::expect_load_refused(path, "labels outside 1-10 (min 1.000000, max " + largest);
  }
}

// An uncompressed MAT v5 file rewritten as a big-endian machine writes it: header version and
// endian indicator swapped, every tag and every numeric element byte-swapped. Handles what
// write_mat produces: top-level miMATRIX elements of flags, dims, name and real data.
std::string to_big_endian_v5(std::string bytes) {
  auto swap = [&](size_t at, size_t width) {
    std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                 bytes.begin() + static_cast<std::ptrdiff_t>(at + width));
  };
  auto u32 = [&](size_t at) {  // little-endian, as matio wrote it here
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  auto width_of = [](uint32_t type) -> size_t {
    switch (type) {
      case 3:
      case 4:
        return 2;  // miINT16, miUINT16
      case 5:
      case 6:
      case 7:
        return 4;  // miINT32, miUINT32, miSINGLE
      case 9:
      case 12:
      case 13:
        return 8;  // miDOUBLE, miINT64, miUINT64
      default:
        return 1;
    }
  };
  EXPECT_EQ(bytes.substr(126, 2), "IM");
  swap(124, 2);
  bytes[126] = 'M';
  bytes[127] = 'I';
  for (size_t pos = 128; pos + 8 <= bytes.size();) {
    const uint32_t type = u32(pos), size = u32(pos + 4);
    EXPECT_EQ(type, 14u) << "expected only uncompressed miMATRIX elements";
    swap(pos, 4);
    swap(pos + 4, 4);
    const size_t end = pos + 8 + size;
    for (size_t sub = pos + 8; sub < end;) {
      const uint32_t first = u32(sub);
      const bool small = (first >> 16) != 0;  // (bytes << 16 | type) with the data in the tag
      const uint32_t sub_type = small ? first & 0xFFFF : first;
      const size_t sub_bytes = small ? first >> 16 : u32(sub + 4);
      const size_t data = sub + (small ? 4 : 8);
      swap(sub, 4);
      if (!small) swap(sub + 4, 4);
      const size_t width = width_of(sub_type);
      for (size_t at = data; at + width <= data + sub_bytes; at += width) swap(at, width);
      sub = small ? sub + 8 : data + (sub_bytes + 7) / 8 * 8;
    }
    pos = end;
  }
  return bytes;
}

TEST(SvhnLoader, ReadsBigEndianFiles) {
  TempDir dir;
  torch::manual_seed(9);
  const auto pixels = torch::randint(0, 256, {2 * 3072}, torch::kInt64);
  const auto expected = pixels.to(torch::kUInt8).view({2, 3, 32, 32}).transpose(2, 3);
  MatVariable x16{"X", {32, 32, 3, 2}, pixels.to(torch::kInt16)};
  x16.unsigned_class = MAT_C_UINT16;
  const MatVariable y{"y", {2, 1}, torch::tensor({3.0, 10.0}, torch::kFloat64)};
  const std::vector<std::vector<MatVariable>> files = {
      {{"X", {32, 32, 3, 2}, pixels.to(torch::kUInt8)}, y}, {x16, y}};
  for (size_t i = 0; i < files.size(); ++i) {
    const auto little = dir.file("le" + std::to_string(i) + ".mat");
    const auto big = dir.file("be" + std::to_string(i) + ".mat");
    write_mat(little, files[i], MAT_FT_MAT5, MAT_COMPRESSION_NONE);
    dcgan::test::write_bytes(big, to_big_endian_v5(dcgan::test::read_bytes(little)));
    ASSERT_NE(dcgan::test::read_bytes(big), dcgan::test::read_bytes(little));
    const auto set = load_svhn_mat(big);
    EXPECT_TRUE(torch::equal(set.images, expected)) << big;
    EXPECT_EQ(to_vector(set.labels), (std::vector<int64_t>{3, 0})) << big;
  }
}

// Each bad input gives an InputError whose message names the file and contains `problem`.
void expect_refused(const std::string& path, const std::string& problem) {
  dcgan::test::expect_load_refused(path, problem);
}

TEST(SvhnLoaderRefuses, MissingPath) {
  expect_refused("/nonexistent/train_32x32.mat", "no such file");
}

TEST(SvhnLoaderRefuses, Directory) {
  TempDir dir;
  expect_refused(dir.path().string(), "is a directory");
}

TEST(SvhnLoaderRefuses, EmptyFile) {
  TempDir dir;
  dcgan::test::write_bytes(dir.file("empty.mat"), "");
  expect_refused(dir.file("empty.mat"), "empty");
}

TEST(SvhnLoaderRefuses, TextPngAndRandomBytes) {
  TempDir dir;
  dcgan::test::write_bytes(dir.file("text.mat"),
                           std::string(400, 'a') + "\nthis is not a MAT file\n");
  expect_refused(dir.file("text.mat"), "not a MAT file");
  dcgan::test::write_bytes(dir.file("image.mat"),
                           std::string("\x89PNG\r\n\x1a\n", 8) + std::string(300, '\0'));
  expect_refused(dir.file("image.mat"), "not a MAT file");
  torch::manual_seed(0);
  auto noise = torch::randint(0, 256, {4096}, torch::kUInt8);
  dcgan::test::write_bytes(dir.file("noise.mat"),
                           std::string(reinterpret_cast<const char*>(noise.data_ptr()), 4096));
  expect_refused(dir.file("noise.mat"), "not a MAT file");
  dcgan::test::write_bytes(dir.file("short.mat"), "MATLAB 5.0");
  expect_refused(dir.file("short.mat"), "not a MAT file");
}

TEST(SvhnLoaderRefuses, TruncatedFiles) {
  TempDir dir;
  for (const char* name : {"tiny_v5_compressed.mat", "tiny_v5_uncompressed.mat", "tiny_v73.mat"}) {
    const auto bytes = dcgan::test::read_bytes(data_path(name));
    for (double keep : {0.9, 0.5, 0.1}) {
      const auto path =
          dir.file(std::string("cut_") + std::to_string(static_cast<int>(keep * 100)) + name);
      dcgan::test::write_bytes(path, bytes.substr(0, static_cast<size_t>(bytes.size() * keep)));
      EXPECT_THROW(load_svhn_mat(path), InputError) << path;
    }
  }
}

TEST(SvhnLoaderRefuses, NoVariableX) {
  TempDir dir;
  write_mat(dir.file("nox.mat"), {{"images", {2, 1}, torch::zeros({2}, torch::kFloat64)}});
  expect_refused(dir.file("nox.mat"), "no variable 'X'");
}

TEST(SvhnLoaderRefuses, XOfWrongShape) {
  TempDir dir;
  const auto y = torch::ones({2}, torch::kFloat64);
  write_mat(
      dir.file("a.mat"),
      {{"X", {28, 32, 3, 2}, torch::zeros({28 * 32 * 3 * 2}, torch::kUInt8)}, {"y", {2, 1}, y}});
  expect_refused(dir.file("a.mat"), "is 28x32x3x2, expected SxSx3xN");
  write_mat(
      dir.file("b.mat"),
      {{"X", {32, 32, 4, 2}, torch::zeros({32 * 32 * 4 * 2}, torch::kUInt8)}, {"y", {2, 1}, y}});
  expect_refused(dir.file("b.mat"), "expected SxSx3xN");
  write_mat(dir.file("c.mat"),
            {{"X", {3072, 2}, torch::zeros({3072 * 2}, torch::kUInt8)}, {"y", {2, 1}, y}});
  expect_refused(dir.file("c.mat"), "is 3072x2");
  write_mat(dir.file("d.mat"),
            {{"X", {32, 32, 3, 2, 2}, torch::zeros({3072 * 4}, torch::kUInt8)}, {"y", {2, 1}, y}});
  expect_refused(dir.file("d.mat"), "expected SxSx3xN");
}

// Any square side loads (issue 17's 64, 128, 256 and odd ones), in every format, and reports it.
TEST(SvhnLoader, ReadsAnySquareSideInEveryFormat) {
  TempDir dir;
  for (int64_t side : {5, 64, 128}) {
    for (auto [version, compression] : {std::pair{MAT_FT_MAT5, MAT_COMPRESSION_ZLIB},
                                        std::pair{MAT_FT_MAT5, MAT_COMPRESSION_NONE},
                                        std::pair{MAT_FT_MAT73, MAT_COMPRESSION_NONE}}) {
      torch::manual_seed(side);
      const auto raw = torch::randint(0, 256, {2 * 3 * side * side}, torch::kUInt8);
      const auto path = dir.file("s" + std::to_string(side) + "_" + std::to_string(version) + "_" +
                                 std::to_string(compression) + ".mat");
      const auto s = static_cast<size_t>(side);
      write_mat(
          path,
          {{"X", {s, s, 3, 2}, raw}, {"y", {2, 1}, torch::tensor({3.0, 10.0}, torch::kFloat64)}},
          version, compression);
      const auto set = load_svhn_mat(path);
      EXPECT_EQ(set.side(), side) << path;
      EXPECT_TRUE(torch::equal(set.images, raw.view({2, 3, side, side}).transpose(2, 3))) << path;
      EXPECT_EQ(to_vector(set.labels), (std::vector<int64_t>{3, 0})) << path;
    }
  }
}

TEST(SvhnLoaderRefuses, XNotPixels) {
  TempDir dir;
  const auto y = torch::ones({1}, torch::kFloat64);
  auto fractional = torch::full({3072}, 0.5, torch::kFloat64);
  write_mat(dir.file("frac.mat"), {{"X", {32, 32, 3, 1}, fractional}, {"y", {1, 1}, y}});
  expect_refused(dir.file("frac.mat"), "outside whole numbers 0-255");
  auto big = torch::full({3072}, 300.0, torch::kFloat64);
  write_mat(dir.file("big.mat"), {{"X", {32, 32, 3, 1}, big}, {"y", {1, 1}, y}});
  expect_refused(dir.file("big.mat"), "outside whole numbers 0-255");
  write_mat(dir.file("char.mat"),
            {{"X", {32, 32, 3, 1}, torch::zeros({3072}, torch::kUInt8), true}, {"y", {1, 1}, y}});
  expect_refused(dir.file("char.mat"), "variable 'X' is char");
}

TEST(SvhnLoaderRefuses, ZeroImages) {
  TempDir dir;
  write_mat(dir.file("zero.mat"), {{"X", {32, 32, 3, 0}, torch::zeros({0}, torch::kUInt8)},
                                   {"y", {0, 1}, torch::zeros({0}, torch::kFloat64)}});
  expect_refused(dir.file("zero.mat"), "zero images");
}

TEST(SvhnLoaderRefuses, LabelsMissingOrWrongLength) {
  TempDir dir;
  const auto x = torch::zeros({3 * 3072}, torch::kUInt8);
  write_mat(dir.file("noy.mat"), {{"X", {32, 32, 3, 3}, x}});
  expect_refused(dir.file("noy.mat"), "no variable 'y'");
  write_mat(dir.file("shorty.mat"),
            {{"X", {32, 32, 3, 3}, x}, {"y", {2, 1}, torch::ones({2}, torch::kFloat64)}});
  expect_refused(dir.file("shorty.mat"), "variable 'y' is 2x1, expected 3x1");
  write_mat(dir.file("matrixy.mat"),
            {{"X", {32, 32, 3, 3}, x}, {"y", {3, 3}, torch::ones({9}, torch::kFloat64)}});
  expect_refused(dir.file("matrixy.mat"), "variable 'y' is 3x3");
}

TEST(SvhnLoaderRefuses, LabelsOutside1To10) {
  TempDir dir;
  const auto x = torch::zeros({3 * 3072}, torch::kUInt8);
  write_mat(dir.file("zero.mat"), {{"X", {32, 32, 3, 3}, x},
                                   {"y", {3, 1}, torch::tensor({1.0, 0.0, 2.0}, torch::kFloat64)}});
  expect_refused(dir.file("zero.mat"), "labels outside 1-10");
  write_mat(
      dir.file("eleven.mat"),
      {{"X", {32, 32, 3, 3}, x}, {"y", {3, 1}, torch::tensor({1.0, 11.0, 2.0}, torch::kFloat64)}});
  expect_refused(dir.file("eleven.mat"), "labels outside 1-10");
  write_mat(dir.file("half.mat"), {{"X", {32, 32, 3, 3}, x},
                                   {"y", {3, 1}, torch::tensor({1.0, 2.5, 2.0}, torch::kFloat64)}});
  expect_refused(dir.file("half.mat"), "labels outside 1-10");
}

TEST(Scale, MapsPixelsToFeatureRangeAndBack) {
  auto pixels = torch::tensor({0, 1, 127, 128, 254, 255}, torch::kUInt8);
  auto scaled = dcgan::data::scale(pixels);
  EXPECT_EQ(scaled.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(scaled[0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(scaled[5].item<float>(), 1.0f);
  EXPECT_TRUE(torch::equal(dcgan::data::unscale(scaled), pixels));
  auto unit = dcgan::data::scale(pixels, 0.0, 1.0);
  EXPECT_FLOAT_EQ(unit[5].item<float>(), 1.0f);
  EXPECT_TRUE(torch::equal(dcgan::data::unscale(unit, 0.0, 1.0), pixels));
  // Values between two pixel levels round to the nearest: (-0.9 + 1) * 127.5 = 12.75 -> 13.
  EXPECT_TRUE(torch::equal(dcgan::data::unscale(torch::tensor({-0.9f, 0.999f})),
                           torch::tensor({13, 255}, torch::kUInt8)));
  // Out-of-range values clamp rather than wrap.
  EXPECT_TRUE(torch::equal(dcgan::data::unscale(torch::tensor({-3.0f, 3.0f})),
                           torch::tensor({0, 255}, torch::kUInt8)));
}

TEST(Describe, CountsDigitsAndMeans) {
  dcgan::data::ImageSet set;
  set.images = torch::zeros({4, 3, 32, 32}, torch::kUInt8);
  set.images.select(1, 0).fill_(200);
  set.images[0].select(0, 2).fill_(100);
  set.labels = torch::tensor({0, 0, 9, 3}, torch::kInt64);
  const auto stats = dcgan::data::describe(set);
  EXPECT_EQ(stats.label_counts[0], 2);
  EXPECT_EQ(stats.label_counts[9], 1);
  EXPECT_EQ(stats.label_counts[3], 1);
  EXPECT_DOUBLE_EQ(stats.pixel_mean[0], 200.0);
  EXPECT_DOUBLE_EQ(stats.pixel_mean[1], 0.0);
  EXPECT_DOUBLE_EQ(stats.pixel_mean[2], 25.0);
}

}  // namespace

namespace {

// tests/data/make_v73_h5py.py's formula: X(row, col, c, n) = (7n + 11c + 3row + 5col) % 256.
torch::Tensor h5py_fixture_pixels(int64_t count, int64_t side) {
  auto out = torch::empty({count, 3, side, side}, torch::kUInt8);
  auto o = out.accessor<uint8_t, 4>();
  for (int64_t n = 0; n < count; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t row = 0; row < side; ++row)
        for (int64_t col = 0; col < side; ++col)
          o[n][c][row][col] = static_cast<uint8_t>((7 * n + 11 * c + 3 * row + 5 * col) % 256);
  return out;
}

// h5py writes MATLAB_class as np.bytes_('uint8'): a fixed-length NULLPAD string, which matio read
// as 'uint' ("variable 'X' is non-numeric"). MATLAB's NULLTERM strings load too, and chunked gzip
// files whose chunks cut images apart and overhang the edge give the same pixels.
TEST(SvhnLoader, ReadsH5pyFilesWithNullpadClassStrings) {
  const auto expected = h5py_fixture_pixels(5, 32);
  for (const char* name :
       {"h5py_nullpad_v73.mat", "h5py_nullpad_chunked_v73.mat", "h5py_nullterm_chunked_v73.mat"}) {
    const auto set = load_svhn_mat(data_path(name));
    EXPECT_EQ(set.format, "MAT v7.3") << name;
    ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{5, 3, 32, 32})) << name;
    EXPECT_TRUE(torch::equal(set.images, expected)) << name;
    // y(n) = n % 10 + 1, 10 meaning digit 0.
    EXPECT_EQ(to_vector(set.labels), (std::vector<int64_t>{1, 2, 3, 4, 5})) << name;
  }
}

}  // namespace
