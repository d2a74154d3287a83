#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "dcgan/data/dataset.h"
#include "dcgan/data/image_folder.h"
#include "dcgan/image/png.h"
#include "dcgan/util/errors.h"
#include "test_helpers.h"

using dcgan::test::TempDir;

namespace {

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

  const auto set = dcgan::data::load_images(dir.path().string());
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_EQ(set.format, "image folder");
  EXPECT_EQ(set.images[0].min().item<int>(), 255);
  EXPECT_TRUE(torch::equal(set.images[1], torch::full({3, 32, 32}, 77, torch::kUInt8)));
  EXPECT_TRUE(torch::equal(set.images[2], exact));
  EXPECT_EQ(set.labels[0].item<int64_t>(), -1);
  const auto stats = dcgan::data::describe(set);
  EXPECT_EQ(stats.label_counts[0], 0);
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

  const auto set = dcgan::data::load_images(dir.path().string());
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(set.images[0], area_shrink_by_3(tall.narrow(1, 12, 96))));
  EXPECT_TRUE(torch::equal(set.images[1], area_shrink_by_3(wide.narrow(2, 17, 96))));
  // Rounding of exact .5 values may go either way: allow 1 of 255.
  const auto diff = (set.images[2].to(torch::kFloat64) - bilinear_double(small)).abs().max();
  EXPECT_LE(diff.item<double>(), 0.5 + 1e-6);
}

TEST(ImageFolder, NamesTheUnreadableImage) {
  TempDir dir;
  dcgan::image::write_png(dir.file("good.png"), torch::zeros({3, 8, 8}, torch::kUInt8));
  dcgan::test::write_bytes(dir.file("broken.png"), "\x89PNG\r\n\x1a\nthis is not really a png");
  dcgan::test::expect_error([&] { dcgan::data::load_image_folder(dir.path().string()); },
                            {"broken.png: cannot decode image"});
}

TEST(ImageFolder, RefusesAFolderWithoutImages) {
  TempDir dir;
  dcgan::test::write_bytes(dir.file("readme.txt"), "hello");
  EXPECT_THROW(dcgan::data::load_image_folder(dir.path().string()), dcgan::InputError);
}

}  // namespace
