#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "dcgan/data/dataset.h"
#include "dcgan/data/image_folder.h"
#include "dcgan/image/png.h"
#include "dcgan/util/errors.h"
#include "test_helpers.h"

using dcgan::test::TempDir;

namespace {

// Folder tests never leave cache files in the user's cache folder.
dcgan::data::ImageFolderOptions no_cache() {
  dcgan::data::ImageFolderOptions options;
  options.use_cache = false;
  options.progress = "none";
  return options;
}

TEST(ImageFolder, CropsAndResizesEveryImageTo32x32) {
  TempDir dir;
  // A wide image: left and right thirds black, centre square white -> the crop keeps only white.
  auto wide = torch::zeros({3, 64, 96}, torch::kUInt8);
  wide.narrow(2, 16, 64).fill_(255);
  dcgan::image::write_png(dir.file("a_wide.png"), wide);
  // A small image is scaled up.
  dcgan::image::write_png(dir.file("b_small.png"), torch::full({3, 16, 16}, 77, torch::kUInt8));
  // An exact 32x32 image passes through unchanged.
  auto exact = torch::randint(0, 256, {3, 32, 32}, torch::kUInt8);
  dcgan::image::write_png(dir.file("c_exact.png"), exact);
  dcgan::test::write_bytes(dir.file("notes.txt"), "not an image, ignored");

  const auto set = dcgan::data::load_images(dir.path().string(), no_cache());
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_EQ(set.format, "image folder");
  EXPECT_EQ(set.images[0].min().item<int>(), 255);
  EXPECT_TRUE(torch::equal(set.images[1], torch::full({3, 32, 32}, 77, torch::kUInt8)));
  EXPECT_TRUE(torch::equal(set.images[2], exact));
  EXPECT_EQ(set.labels[0].item<int64_t>(), -1);
  const auto stats = dcgan::data::describe(set);
  EXPECT_TRUE(stats.label_counts.empty());  // a flat folder has no labels
}

// Expected 32x32 images worked out pixel by pixel, independently of the interpolate call: a tall
// image is cropped to its vertical centre and shrunk 3:1 by averaging 3x3 blocks (area), a small
// one is enlarged 1:2 bilinearly (align_corners false: output i samples input i/2 - 1/4, clamped).
torch::Tensor area_shrink_by_3(const torch::Tensor& chw) {
  auto out = torch::empty({3, 32, 32}, torch::kUInt8);
  auto in = chw.accessor<uint8_t, 3>();
  auto o = out.accessor<uint8_t, 3>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t r = 0; r < 32; ++r)
      for (int64_t q = 0; q < 32; ++q) {
        int sum = 0;
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t j = 0; j < 3; ++j) sum += in[c][3 * r + i][3 * q + j];
        o[c][r][q] = static_cast<uint8_t>(std::lround(sum / 9.0));  // never a tie: sum/9 != k.5
      }
  return out;
}

torch::Tensor bilinear_double(const torch::Tensor& chw) {
  const int64_t side = chw.size(1);
  auto in = chw.to(torch::kFloat64);
  auto out = torch::empty({3, 2 * side, 2 * side}, torch::kFloat64);
  auto src = [&](int64_t i, int64_t& i0, int64_t& i1, double& t) {
    const double x = std::max(0.0, (i + 0.5) / 2 - 0.5);
    i0 = static_cast<int64_t>(x);
    i1 = std::min(i0 + 1, side - 1);
    t = x - static_cast<double>(i0);
  };
  auto a = in.accessor<double, 3>();
  auto o = out.accessor<double, 3>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t r = 0; r < 2 * side; ++r)
      for (int64_t q = 0; q < 2 * side; ++q) {
        int64_t r0, r1, q0, q1;
        double tr, tq;
        src(r, r0, r1, tr);
        src(q, q0, q1, tq);
        o[c][r][q] = (1 - tr) * ((1 - tq) * a[c][r0][q0] + tq * a[c][r0][q1]) +
                     tr * ((1 - tq) * a[c][r1][q0] + tq * a[c][r1][q1]);
      }
  return out;
}

TEST(ImageFolder, CropsTheCentreAndResizesByArea_Down_OrBilinear_Up) {
  TempDir dir;
  torch::manual_seed(12);
  // Tall: 120 rows x 96 columns; the centre square is rows 12-107.
  const auto tall = torch::randint(0, 256, {3, 120, 96}, torch::kUInt8);
  dcgan::image::write_png(dir.file("a_tall.png"), tall);
  // Wide: 96 rows x 130 columns; the centre square is columns 17-112.
  const auto wide = torch::randint(0, 256, {3, 96, 130}, torch::kUInt8);
  dcgan::image::write_png(dir.file("b_wide.png"), wide);
  const auto small = torch::randint(0, 256, {3, 16, 16}, torch::kUInt8);
  dcgan::image::write_png(dir.file("c_small.png"), small);

  const auto set = dcgan::data::load_images(dir.path().string(), no_cache());
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(set.images[0], area_shrink_by_3(tall.narrow(1, 12, 96))));
  EXPECT_TRUE(torch::equal(set.images[1], area_shrink_by_3(wide.narrow(2, 17, 96))));
  // Rounding of exact .5 values may go either way: allow 1 of 255.
  const auto diff = (set.images[2].to(torch::kFloat64) - bilinear_double(small)).abs().max();
  EXPECT_LE(diff.item<double>(), 0.5 + 1e-6);
}

TEST(ImageFolder, SkipsTheUnreadableImageOrNamesItWhenStrict) {
  TempDir dir;
  dcgan::image::write_png(dir.file("good.png"), torch::zeros({3, 8, 8}, torch::kUInt8));
  dcgan::test::write_bytes(dir.file("broken.png"), "\x89PNG\r\n\x1a\nthis is not really a png");
  EXPECT_EQ(dcgan::data::load_image_folder(dir.path().string(), no_cache()).size(), 1);
  auto strict = no_cache();
  strict.strict = true;
  dcgan::test::expect_error([&] { dcgan::data::load_image_folder(dir.path().string(), strict); },
                            {"broken.png: cannot decode image", "--strict"});
}

TEST(ImageFolder, RefusesAFolderWithoutImages) {
  TempDir dir;
  dcgan::test::write_bytes(dir.file("readme.txt"), "hello");
  EXPECT_THROW(dcgan::data::load_image_folder(dir.path().string(), no_cache()), dcgan::InputError);
}

// A 16-bit RGB PNG (stb_image_write has no 16-bit mode): signature, IHDR, one zlib IDAT, IEND.
void write_png16(const std::string& path, const std::vector<uint16_t>& rgb, uint32_t w,
                 uint32_t h) {
  auto be32 = [](std::string& s, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xFF);
  };
  auto chunk = [&](std::string& out, const char* type, const std::string& data) {
    be32(out, static_cast<uint32_t>(data.size()));
    const std::string body = std::string(type, 4) + data;
    out += body;
    be32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                          static_cast<uInt>(body.size()))));
  };
  std::string raw;
  for (uint32_t y = 0; y < h; ++y) {
    raw += '\0';  // filter: none
    for (uint32_t i = 0; i < w * 3; ++i) {
      const uint16_t v = rgb[y * w * 3 + i];
      raw += static_cast<char>(v >> 8);
      raw += static_cast<char>(v & 0xFF);
    }
  }
  std::string packed(compressBound(raw.size()), '\0');
  uLongf packed_size = packed.size();
  compress(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
           reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  packed.resize(packed_size);
  std::string ihdr;
  be32(ihdr, w);
  be32(ihdr, h);
  ihdr += std::string("\x10\x02\x00\x00\x00", 5);  // 16 bits, RGB, deflate, no filter, no interlace
  std::string png = "\x89PNG\r\n\x1a\n";
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", packed);
  chunk(png, "IEND", "");
  dcgan::test::write_bytes(path, png);
}

void write_jpeg(const std::string& path, const torch::Tensor& chw) {
  const auto hwc = chw.permute({1, 2, 0}).contiguous();
  ASSERT_TRUE(stbi_write_jpg(path.c_str(), static_cast<int>(chw.size(2)),
                             static_cast<int>(chw.size(1)), 3, hwc.data_ptr<uint8_t>(), 95));
}

void write_bmp(const std::string& path, const torch::Tensor& chw) {
  const auto hwc = chw.permute({1, 2, 0}).contiguous();
  ASSERT_TRUE(stbi_write_bmp(path.c_str(), static_cast<int>(chw.size(2)),
                             static_cast<int>(chw.size(1)), 3, hwc.data_ptr<uint8_t>()));
}

torch::Tensor solid(int64_t value, int64_t side = 32) {
  return torch::full({3, side, side}, value, torch::kUInt8);
}

// torchvision's ImageFolder: subfolders are classes in sorted name order, read recursively, files
// directly in the root left out; `inspect` then shows the names and counts.
TEST(ImageFolder, SubfoldersAreClassesInSortedOrder) {
  TempDir dir;
  namespace fs = std::filesystem;
  fs::create_directories(dir.path() / "cat" / "indoors");
  fs::create_directories(dir.path() / "Dog");
  fs::create_directories(dir.path() / "bird");
  fs::create_directories(dir.path() / ".ipynb_checkpoints");
  dcgan::image::write_png(dir.file("cat/b.png"), solid(20));
  dcgan::image::write_png(dir.file("cat/indoors/a.png"), solid(21));
  dcgan::image::write_png(dir.file("cat/a.png"), solid(22));
  dcgan::image::write_png(dir.file("Dog/x.png"), solid(30));
  dcgan::image::write_png(dir.file("bird/y.png"), solid(40));
  dcgan::image::write_png(dir.file("bird/z.png"), solid(41));
  dcgan::image::write_png(dir.file(".ipynb_checkpoints/h.png"), solid(99));
  dcgan::image::write_png(dir.file("root_level.png"), solid(98));

  const auto set = dcgan::data::load_image_folder(dir.path().string(), no_cache());
  // Byte order, as Python's sorted(): upper case first.
  EXPECT_EQ(set.classes, (std::vector<std::string>{"Dog", "bird", "cat"}));
  ASSERT_EQ(set.size(), 6);
  EXPECT_EQ(set.labels.to(torch::kInt64).contiguous().data_ptr<int64_t>()[0], 0);
  const std::vector<int64_t> labels(set.labels.data_ptr<int64_t>(),
                                    set.labels.data_ptr<int64_t>() + 6);
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 1, 1, 2, 2, 2}));
  // Within a class: sorted by folder, then name: cat/a, cat/b, cat/indoors/a.
  std::vector<int64_t> firsts;
  for (int64_t i = 0; i < 6; ++i) firsts.push_back(set.images[i][0][0][0].item<int64_t>());
  EXPECT_EQ(firsts, (std::vector<int64_t>{30, 40, 41, 22, 20, 21}));
  const auto stats = dcgan::data::describe(set);
  EXPECT_EQ(stats.label_counts, (std::vector<int64_t>{1, 2, 3}));
  const auto table = dcgan::data::to_table("x", set, stats);
  EXPECT_NE(table.find("cat"), std::string::npos) << table;
  EXPECT_EQ(dcgan::data::to_json("x", set, stats).at("classes"),
            nlohmann::json({"Dog", "bird", "cat"}));
}

// Junk nested in a class folder: a text file (not an image by name: left out), an empty PNG, a
// text file named .png, a truncated JPEG (skipped and counted, or refused with strict), a 16-bit
// PNG, a grayscale and an RGBA one (read), and a symlink loop (read once, no hang).
TEST(ImageFolder, JunkIsSkippedAndCountedOrRefusedWhenStrict) {
  TempDir dir;
  namespace fs = std::filesystem;
  fs::create_directories(dir.path() / "a" / "deep");
  dcgan::image::write_png(dir.file("a/good.png"), solid(10));
  dcgan::test::write_bytes(dir.file("a/deep/notes.txt"), "hello");
  dcgan::test::write_bytes(dir.file("a/deep/empty.png"), "");
  dcgan::test::write_bytes(dir.file("a/deep/text.png"), "just some text");
  write_jpeg(dir.file("a/deep/whole.jpg"), torch::randint(0, 256, {3, 40, 40}, torch::kUInt8));
  const auto jpeg = dcgan::test::read_bytes(dir.file("a/deep/whole.jpg"));
  dcgan::test::write_bytes(dir.file("a/deep/truncated.jpg"), jpeg.substr(0, jpeg.size() / 2));
  std::vector<uint16_t> rgb16(32 * 32 * 3);
  for (size_t i = 0; i < rgb16.size(); ++i)
    rgb16[i] = static_cast<uint16_t>(i % 3 == 0 ? 0xABCD : 0x1234);
  write_png16(dir.file("a/deep/sixteen.png"), rgb16, 32, 32);
  dcgan::image::write_png(dir.file("a/gray.png"), torch::full({1, 32, 32}, 77, torch::kUInt8));
  fs::create_directory_symlink("..", dir.path() / "a" / "deep" / "loop");

  const auto set = dcgan::data::load_image_folder(dir.path().string(), no_cache());
  EXPECT_EQ(set.classes, (std::vector<std::string>{"a"}));
  // Kept, in torchvision's order (folder, then name): a/good.png, a/gray.png, a/deep/sixteen.png,
  // a/deep/whole.jpg.
  ASSERT_EQ(set.size(), 4);
  EXPECT_TRUE(torch::equal(set.images[0], solid(10)));
  EXPECT_TRUE(torch::equal(set.images[1], solid(77)));      // gray -> R = G = B
  EXPECT_EQ(set.images[2][0][5][5].item<int64_t>(), 0xAB);  // the high byte of 16-bit samples
  EXPECT_EQ(set.images[2][1][5][5].item<int64_t>(), 0x12);

  auto strict = no_cache();
  strict.strict = true;
  const auto message = dcgan::test::expect_error(
      [&] { dcgan::data::load_image_folder(dir.path().string(), strict); }, {"--strict"});
  EXPECT_TRUE(message.find("empty.png: empty file") != std::string::npos ||
              message.find("text.png: cannot decode") != std::string::npos ||
              message.find("truncated.jpg: truncated JPEG") != std::string::npos)
      << message;
}

TEST(ImageFolder, ResizesToTheRequestedSide) {
  TempDir dir;
  dcgan::image::write_png(dir.file("a.png"), solid(5, 100));
  auto options = no_cache();
  options.image_size = 64;
  const auto set = dcgan::data::load_image_folder(dir.path().string(), options);
  EXPECT_EQ(set.side(), 64);
  EXPECT_TRUE(torch::equal(set.images[0], solid(5, 64)));
}

// The cache is used while the folder is unchanged, rebuilt when a file changes, is added or is
// removed, and rebuilt (never trusted) when corrupt.
TEST(ImageFolder, CacheIsReusedAndRebuiltOnChangeAndCorruption) {
  TempDir data, cache;
  namespace fs = std::filesystem;
  dcgan::data::ImageFolderOptions options;
  options.cache_dir = cache.path().string();
  options.progress = "none";
  // BMP: uncompressed, so another image of the same size is a file of the same size.
  write_bmp(data.file("a.bmp"), solid(1));
  write_bmp(data.file("b.bmp"), solid(2));
  const auto first = dcgan::data::load_image_folder(data.path().string(), options);
  ASSERT_EQ(first.size(), 2);
  std::vector<fs::path> caches;
  for (const auto& e : fs::recursive_directory_iterator(cache.path()))
    if (e.is_regular_file()) caches.push_back(e.path());
  ASSERT_EQ(caches.size(), 1u);
  const auto cache_file = caches.front().string();

  // Same size and time, other pixels: the cache is what answers (it is keyed by size and mtime).
  const auto stamp = fs::last_write_time(data.file("b.bmp"));
  const auto size = fs::file_size(data.file("b.bmp"));
  write_bmp(data.file("b.bmp"), solid(3));
  ASSERT_EQ(fs::file_size(data.file("b.bmp")), size);
  fs::last_write_time(data.file("b.bmp"), stamp);
  EXPECT_TRUE(torch::equal(dcgan::data::load_image_folder(data.path().string(), options).images[1],
                           solid(2)));

  // A changed time: rebuilt.
  fs::last_write_time(data.file("b.bmp"), stamp + std::chrono::seconds(5));
  EXPECT_TRUE(torch::equal(dcgan::data::load_image_folder(data.path().string(), options).images[1],
                           solid(3)));
  // Added, removed.
  write_bmp(data.file("c.bmp"), solid(4));
  EXPECT_EQ(dcgan::data::load_image_folder(data.path().string(), options).size(), 3);
  fs::remove(data.file("a.bmp"));
  const auto removed = dcgan::data::load_image_folder(data.path().string(), options);
  ASSERT_EQ(removed.size(), 2);
  EXPECT_TRUE(torch::equal(removed.images[0], solid(3)));

  // Corrupt pixels (last byte), header, or a truncated file: detected and rebuilt.
  for (int damage = 0; damage < 3; ++damage) {
    std::string bytes = dcgan::test::read_bytes(cache_file);
    ASSERT_GT(bytes.size(), 4096u);
    if (damage == 0) bytes.back() = static_cast<char>(bytes.back() ^ 0x40);
    if (damage == 1) bytes[20] = static_cast<char>(bytes[20] ^ 1);
    if (damage == 2) bytes.resize(bytes.size() - 100);
    dcgan::test::write_bytes(cache_file, bytes);
    const auto reread = dcgan::data::load_image_folder(data.path().string(), options);
    ASSERT_EQ(reread.size(), 2) << damage;
    EXPECT_TRUE(torch::equal(reread.images[1], solid(4))) << damage;
    // ... and the rewritten cache is whole again.
    EXPECT_TRUE(torch::equal(
        dcgan::data::load_image_folder(data.path().string(), options).images[1], solid(4)));
  }
  options.use_cache = false;
  fs::remove_all(cache.path() / "folders");
  dcgan::data::load_image_folder(data.path().string(), options);
  EXPECT_FALSE(fs::exists(cache.path() / "folders"));  // --no-cache writes nothing
}

// `dcgan pack`'s writer: the folder's images, labels and class names read back unchanged; a folder
// of digit classes "0".."9" becomes a true SVHN file (y 1-10, 10 for digit 0, no `classes`).
TEST(PackRoundTrip, ReadBackEqualsTheFolder) {
  TempDir dir;
  namespace fs = std::filesystem;
  fs::create_directories(dir.path() / "in" / "cat");
  fs::create_directories(dir.path() / "in" / "dog");
  torch::manual_seed(4);
  for (int i = 0; i < 3; ++i) {
    dcgan::image::write_png(dir.file("in/cat/" + std::to_string(i) + ".png"),
                            torch::randint(0, 256, {3, 48, 40}, torch::kUInt8));
  }
  dcgan::image::write_png(dir.file("in/dog/x.png"),
                          torch::randint(0, 256, {3, 20, 20}, torch::kUInt8));
  for (int64_t side : {32, 64}) {
    auto options = no_cache();
    options.image_size = side;
    const auto folder = dcgan::data::load_image_folder(dir.file("in"), options);
    dcgan::data::write_svhn_mat(dir.file("packed.mat"), folder);
    const auto back = dcgan::data::load_svhn_mat(dir.file("packed.mat"));
    EXPECT_EQ(back.side(), side);
    EXPECT_TRUE(torch::equal(back.images, folder.images));
    EXPECT_TRUE(torch::equal(back.labels, folder.labels));
    EXPECT_EQ(back.classes, (std::vector<std::string>{"cat", "dog"}));
  }

  // Digit classes: SVHN's own labels.
  dcgan::data::ImageSet digits;
  digits.images = torch::randint(0, 256, {10, 3, 32, 32}, torch::kUInt8);
  digits.labels = torch::arange(10, torch::kInt64);
  for (int d = 0; d < 10; ++d) digits.classes.push_back(std::to_string(d));
  dcgan::data::write_svhn_mat(dir.file("digits.mat"), digits);
  const auto svhn = dcgan::data::load_svhn_mat(dir.file("digits.mat"));
  EXPECT_TRUE(torch::equal(svhn.labels, digits.labels));
  EXPECT_TRUE(svhn.classes.empty());
  mat_t* mat = Mat_Open(dir.file("digits.mat").c_str(), MAT_ACC_RDONLY);
  ASSERT_NE(mat, nullptr);
  matvar_t* y = Mat_VarRead(mat, "y");
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(static_cast<const double*>(y->data)[0], 10.0);  // digit 0 is SVHN's label 10
  EXPECT_EQ(static_cast<const double*>(y->data)[3], 3.0);
  EXPECT_EQ(Mat_VarReadInfo(mat, "classes"), nullptr);
  Mat_VarFree(y);
  Mat_Close(mat);

  // No labels: y all 0, read back label-less.
  digits.classes.clear();
  digits.labels = torch::full({10}, -1, torch::kInt64);
  dcgan::data::write_svhn_mat(dir.file("none.mat"), digits);
  EXPECT_TRUE(torch::equal(dcgan::data::load_svhn_mat(dir.file("none.mat")).labels, digits.labels));
}

}  // namespace
