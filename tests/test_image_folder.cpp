#include <gtest/gtest.h>

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

TEST(ImageFolder, NamesTheUnreadableImage) {
  TempDir dir;
  dcgan::image::write_png(dir.file("good.png"), torch::zeros({3, 8, 8}, torch::kUInt8));
  dcgan::test::write_bytes(dir.file("broken.png"), "\x89PNG\r\n\x1a\nthis is not really a png");
  try {
    dcgan::data::load_image_folder(dir.path().string());
    FAIL() << "accepted a broken image";
  } catch (const dcgan::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.png: cannot decode image"), std::string::npos)
        << e.what();
  }
}

TEST(ImageFolder, RefusesAFolderWithoutImages) {
  TempDir dir;
  dcgan::test::write_bytes(dir.file("readme.txt"), "hello");
  EXPECT_THROW(dcgan::data::load_image_folder(dir.path().string()), dcgan::InputError);
}

}  // namespace
