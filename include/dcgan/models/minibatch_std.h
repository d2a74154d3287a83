#pragma once

#include <torch/torch.h>

#include "dcgan/models/conditioning.h"

namespace dcgan::models {

// The minibatch standard deviation layer (Karras et al. 2018, "Progressive Growing of GANs", 3):
// x (N x C x H x W) gains one more channel holding, for each image, the standard deviation of every
// feature over the images of its group, averaged into one number. D can then tell a batch of
// look-alike fakes from a varied real batch, which pushes G to vary what it draws (within a class,
// for a conditional run; docs/QUALITY.md).
//
// Groups hold `group_size` images, or fewer when the batch is smaller or group_size does not divide
// it: then the largest size below that divides N. Image i belongs to group i % (N / size), as in
// Karras et al.'s reshape, so a group mixes images from across the batch. The statistic is computed
// in fp32 and returned in x's dtype. N x (C + 1) x H x W.
torch::Tensor append_minibatch_std(const torch::Tensor& x, int64_t group_size);

// The group size append_minibatch_std uses for a batch of n images.
int64_t minibatch_std_group(int64_t n, int64_t group_size);

// The largest group size a run, a checkpoint or an exported module may ask for.
constexpr int64_t kMaxMinibatchStdGroup = 1024;

// AC-GAN's group size unless --minibatch-std says otherwise: what measured best for CAS and FD
// together (docs/QUALITY.md).
constexpr int64_t kAcganMinibatchStd = 4;

// The group size a run with this conditioning gets when --minibatch-std is not given (train, the
// fresh D that import builds, summary): kAcganMinibatchStd for acgan, else 0 (off).
int64_t default_minibatch_std(Conditioning conditioning);

// InputError "--minibatch-std must be 0 (off) or a group size up to 1024, got N" outside 0-1024.
void check_minibatch_std_option(int64_t group_size);

}  // namespace dcgan::models
