#!/usr/bin/env bash
# Mutation testing: plants one known bug at a time in a scratch copy of the tree, rebuilds it
# incrementally and runs the test suite, which must fail ("killed"). A mutation the suite does not
# notice ("survived") is a gap in the tests. See docs/TESTING.md.
#
#   scripts/mutation_test.sh                 every mutation (slow: a build and a suite run each)
#   scripts/mutation_test.sh --only NAME     one mutation, by name or 1-based index (CI runs one);
#                                            a comma-separated list runs several
#   scripts/mutation_test.sh --list          names and what each breaks
#   scripts/mutation_test.sh --check         only check that every search text is found once
#   scripts/mutation_test.sh --in-place ...  mutate the tree itself and rebuild build/ incrementally
#                                            (CI: no second full build); the file is put back
#                                            afterwards, and by the next run if this one is killed
#   options: --scratch DIR (default build-mutation/), --jobs N (build and ctest, default 2),
#            --timeout S (per test, default 600), --tests REGEX (run only the CTest tests whose
#            names match, e.g. in CI; default: the whole suite)
#
# Each mutation is (name, file, exact search text, replacement, what it breaks). The search text
# must occur exactly once in the file: a text that is missing or not unique is reported as an
# ERROR, so the list cannot rot silently when code moves. Exit status: 0 when every mutation run was
# killed, 1 when one survived, 2 on an ERROR.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SCRATCH="$ROOT/build-mutation"
JOBS=2
TIMEOUT=600
ONLY=""
TESTS=""
MODE=run
IN_PLACE=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) ONLY="$2"; shift 2 ;;
    --list) MODE=list; shift ;;
    --check) MODE=check; shift ;;
    --in-place) IN_PLACE=1; shift ;;
    --scratch) SCRATCH="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --tests) TESTS="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "mutation_test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

NAMES=() FILES=() SEARCHES=() REPLACEMENTS=() BREAKS=()
mutation() {
  NAMES+=("$1") FILES+=("$2") SEARCHES+=("$3") REPLACEMENTS+=("$4") BREAKS+=("$5")
}

# --- loader -------------------------------------------------------------------------------------
mutation loader_label_10_is_digit_0 src/data/mat_variables.cpp \
  '(v == 10 ? 0 : v)' '(v == 10 ? 10 : v)' \
  "SVHN's label 10 is no longer read as digit 0."
mutation loader_column_major src/data/svhn.cpp \
  'plane[static_cast<size_t>(col * side + row)];' 'plane[static_cast<size_t>(row * side + col)];' \
  "Images come out transposed: MATLAB's column-major order is ignored."
mutation loader_uint16_widening src/data/svhn.cpp \
  'return tensor.to(torch::kInt32).bitwise_and_(0xFFFF);' 'return tensor.to(torch::kInt32);' \
  'uint16 values of 32768 and more are read as negative numbers.'
mutation loader_pixel_range src/data/svhn.cpp \
  'if (!all_whole_in_range(flat, 0, 255)) {' 'if (!all_whole_in_range(flat, 0, 65535)) {' \
  'Non-uint8 pixels above 255 are accepted and wrap around in the uint8 conversion.'
mutation loader_row_of_labels src/data/svhn.cpp \
  '(y_info->dims[0] == 1 || y_info->dims[1] == 1)' '(y_info->dims[1] == 1)' \
  'A 1xN y (labels stored as a row) is refused.'
mutation loader_big_endian_precheck src/data/mat5_size_checks.cpp \
  "const bool swap = endian[0] == 'M' && endian[1] == 'I';" 'const bool swap = false;' \
  'The size pre-check reads big-endian files as little-endian and refuses them.'

# --- scaling ------------------------------------------------------------------------------------
mutation scale_range src/data/scale.cpp \
  '.mul_((hi - lo) / 255.0).add_(lo)' '.mul_((hi - lo) / 256.0).add_(lo)' \
  'Pixel 255 no longer maps to 1: real images are not in [-1, 1].'
mutation unscale_rounds src/data/scale.cpp \
  '.add_(0.5)' '.add_(0.0)' \
  'unscale truncates instead of rounding, so scale/unscale do not round-trip.'

# --- models -------------------------------------------------------------------------------------
mutation generator_convT_padding src/models/generator.cpp \
  '.padding(1)' '.padding(2)' \
  "The generator's ConvTranspose2d modules (used on CUDA) lose the padding the CPU path assumes."
mutation generator_relu src/models/generator.cpp \
  'x = seen("relu" + n, torch::relu(x));' 'x = seen("relu" + n, x);' \
  'The ReLUs between the generator'"'"'s transposed convolutions are dropped.'
mutation generator_tanh src/models/generator.cpp \
  'return seen("tanh", torch::tanh(x));' 'return seen("tanh", torch::sigmoid(x));' \
  'The generator ends in sigmoid (0..1) instead of tanh (-1..1).'
mutation discriminator_leaky_slope src/models/discriminator.cpp \
  'x = seen("leaky_relu" + n, torch::leaky_relu(x, 0.2));' 'x = seen("leaky_relu" + n, torch::leaky_relu(x, 0.02));' \
  "The discriminator's leaky ReLUs have slope 0.02 instead of the notebook's 0.2."
mutation discriminator_stride src/models/discriminator.cpp \
  'return torch::nn::Conv2dOptions(in, out, /*kernel_size=*/4).stride(2).padding(1).bias(bias);' \
  'return torch::nn::Conv2dOptions(in, out, /*kernel_size=*/4).stride(1).padding(1).bias(bias);' \
  'The discriminator convs no longer halve the image.'
mutation spec_widths_not_halved src/models/spec.cpp \
  'width /= 2;' 'width -= width / 4;' \
  'Each doubling of the side takes off a quarter of the channels instead of half.'
mutation examples_batchnorm_index src/interop/state_dict_layout.cpp \
  'main_index(3 * i + 1)' 'main_index(3 * i + 2)' \
  "pytorch/examples' generator BatchNorm keys are read from the ReLU's index."
mutation examples_latent_uniform src/models/spec.cpp \
  'return arch == Arch::kNotebook ? LatentDistribution::kUniform : LatentDistribution::kNormal;' \
  'return LatentDistribution::kUniform;' \
  "--arch pytorch-examples draws z ~ U(-1, 1) instead of main.py's N(0, 1)."
mutation torchscript_without_batchnorm_statistics src/interop/torchscript.cpp \
  'if (b.value().defined() && !is_training_state(b.key()))' \
  'if (b.value().defined() && !is_training_state(b.key()) && b.key().rfind("running_", 0) != 0)' \
  "The TorchScript export leaves BatchNorm's running statistics out: it normalises by each batch's."
mutation non_finite_weights_accepted src/util/finite.cpp \
  'if (bad == 0) continue;' 'continue;' \
  'Models holding NaN or Inf are imported, sampled and resumed as if they were sound.'
mutation subpixel_taps src/models/subpixel.cpp \
  'torch::tensor({3, 1, 4, 4, 2, 0}, torch::kInt64)' 'torch::tensor({3, 1, 4, 4, 0, 2}, torch::kInt64)' \
  'The CPU sub-pixel path uses the wrong kernel taps for odd output pixels.'

# --- weight init --------------------------------------------------------------------------------
mutation init_conv_std src/models/init.cpp \
  'normal_(0.0, 0.02)' 'normal_(0.0, 0.2)' \
  '--weights-init normal draws conv/linear weights with std 0.2 instead of 0.02.'
mutation init_skips_convT src/models/init.cpp \
  'child->as<torch::nn::ConvTranspose2d>() ||' 'false ||' \
  "ConvTranspose2d falls out of the paper's init."
mutation init_skips_linear src/models/init.cpp \
  'child->as<torch::nn::Linear>();' 'false;' \
  "Linear layers fall out of the paper's init."
mutation init_batchnorm_mean src/models/init.cpp \
  'normal_(1.0, 0.02)' 'normal_(0.0, 0.02)' \
  'BatchNorm weights are drawn around 0 instead of 1.'
mutation init_default_touches_weights src/models/init.cpp \
  'if (init == WeightsInit::kDefault) return;' 'if (init == WeightsInit::kNormal) return;' \
  '--weights-init default re-initialises the layers (and normal does nothing).'

# --- losses -------------------------------------------------------------------------------------
mutation loss_fake_target src/train/gan.cpp \
  'bce_with_logits(fake_logits, 0.0)' 'bce_with_logits(fake_logits, 1.0)' \
  "D is trained to call fake images real: the GAN's losses are wrong."
mutation loss_smooth_labels src/train/gan.cpp \
  'smooth_labels ? 0.9 : 1.0' 'smooth_labels ? 1.0 : 1.0' \
  '--smooth-labels does nothing.'
mutation loss_generator_target src/train/gan.cpp \
  'return bce_with_logits(fake_logits, 1.0);' 'return bce_with_logits(fake_logits, 0.0);' \
  'G is trained to make its images look fake.'
mutation latent_range src/train/gan.cpp \
  'return (torch::rand({count, z_size}) * 2 - 1).to(device);' 'return torch::rand({count, z_size}).to(device);' \
  'z is drawn from U(0, 1) instead of the notebook'"'"'s U(-1, 1).'
mutation real_images_unscaled src/train/gan.cpp \
  'discriminator_loss(gan, data::scale(real_images),' 'discriminator_loss(gan, real_images.to(torch::kFloat32),' \
  'D sees real images in 0..255 instead of [-1, 1].'

# --- training levers (issue 20) -----------------------------------------------------------------
mutation lever_hinge_margin src/train/gan.cpp \
  'torch::relu(1 + fake_logits)' 'torch::relu(fake_logits)' \
  "The hinge loss loses its margin on fake logits."
mutation lever_lr_d_ignored src/train/gan.cpp \
  'adam_options(opts, opts.d_lr())' 'adam_options(opts, opts.lr)' \
  "--lr-d never reaches D's optimizer."
mutation lever_fakes_not_augmented src/train/gan.cpp \
  'discriminate(gan, fake, precision, augment_fake, fake_labels)' 'discriminate(gan, fake, precision, {}, fake_labels)' \
  "D sees augmented real images but plain fakes: the augmentation leaks into what G learns."
mutation lever_augment_not_random src/train/augment.cpp \
  'return torch::rand({count, kAugmentUniforms});' 'return torch::full({count, kAugmentUniforms}, 0.9);' \
  "--augment draws no random numbers: every image, every step, gets the same transform."
mutation lever_translation_direction src/train/augment.cpp \
  'const auto cols = positions - offsets' 'const auto cols = positions + offsets' \
  "Translation moves images the other way from its random numbers (caught by the hand-worked test)."
mutation lever_spectral_norm_no_power_iteration src/models/spectral_norm.cpp \
  'u.copy_(normalized(torch::mv(matrix, v)));' '(void)0;' \
  "Spectral norm never refines u: sigma stays a random projection, not the top singular value."
mutation lever_minibatch_std_channel_blank src/models/minibatch_std.cpp \
  'return torch::cat({x, map}, /*dim=*/1);' 'return torch::cat({x, torch::zeros_like(map)}, /*dim=*/1);' \
  "D's minibatch standard deviation channel holds zeros: the logit cannot see how varied a batch is."
mutation lever_minibatch_std_groups_adjacent src/models/minibatch_std.cpp \
  'spread.repeat({group})' 'spread.repeat_interleave(group)' \
  "Each image gets another group's deviation (adjacent images, not image i % (N / size))."
mutation lever_acgan_projection_dropped src/models/discriminator.cpp \
  'if (options_.conditioning() == Conditioning::kProjection || options_.acgan_projection())' \
  'if (options_.conditioning() == Conditioning::kProjection)' \
  "AC-GAN's D never gets the projection term: its logit judges any image, not the image as its class."
mutation lever_batch_norm_kept src/models/generator.cpp \
  'if (hidden && norm)' 'if (hidden)' \
  "--no-batch-norm leaves G's BatchNorm layers in."

# --- optimizer use ------------------------------------------------------------------------------
mutation adam_betas_swapped src/train/gan.cpp \
  '.betas(std::make_tuple(o.beta1, o.beta2))' '.betas(std::make_tuple(o.beta2, o.beta1))' \
  "Adam's beta1 and beta2 are swapped."
mutation d_zero_grad_missing src/train/gan.cpp \
  'gan.d_optimizer->zero_grad();' '(void)0;' \
  "D's gradients accumulate across steps (and pick up G's backward pass)."
mutation g_step_missing src/train/gan.cpp \
  'gan.g_optimizer->step();' '(void)0;' \
  'G never takes an optimizer step.'

# --- trainer ------------------------------------------------------------------------------------
mutation samples_in_train_mode src/sampling/sampling.cpp \
  'generator->eval();' '(void)0;' \
  'Per-epoch samples use batch statistics and update the BatchNorm buffers that get checkpointed.'
mutation resume_reshuffles_mid_epoch src/train/trainer.cpp \
  'if (progress_.batch_in_epoch > 0 && progress_.epoch_order.defined()) return progress_.epoch_order;' \
  'if (false) return progress_.epoch_order;' \
  'Resuming mid-epoch draws a new order, so images are skipped or seen twice.'
mutation images_seen_counts_full_batches src/train/trainer.cpp \
  'progress_.images_seen += size * comm_->world_size();' 'progress_.images_seen += batch_size * comm_->world_size();' \
  'A partial last batch is counted as a full one.'
mutation loss_rows_not_trimmed src/train/run_folder.cpp \
  'std::stoll(match[1].str()) <= last_step' 'std::stoll(match[1].str()) <= last_step + 1000' \
  'Resuming keeps loss rows logged after the last checkpoint, so steps appear twice.'
mutation stale_temp_files_kept src/train/run_folder.cpp \
  'for (const char* folder : {"", "checkpoints", "samples"}) remove_stale_temp_files(file(folder));' \
  'for (const char* folder : {"", "samples"}) remove_stale_temp_files(file(folder));' \
  'Half-written checkpoint temp files of a killed run are never cleaned up.'
mutation keep_checkpoints_off_by_one src/train/run_folder.cpp \
  'static_cast<int64_t>(epoch_files.size()) - keep;' \
  'static_cast<int64_t>(epoch_files.size()) - keep - 1;' \
  '--keep-checkpoints keeps one epoch file fewer than asked.'
mutation last_epoch_checkpoint_skipped src/train/trainer.cpp \
  'epoch % config_.checkpoint_every == 0 || epoch == config_.epochs' 'epoch % config_.checkpoint_every == 0' \
  'With --checkpoint-every, the final epoch gets no epoch_NNN.pt.'
mutation g_ema_not_recalibrated src/train/trainer.cpp \
  'void Trainer::end_epoch(int64_t epoch) {
  recalibrate_g_ema(*gan_);' 'void Trainer::end_epoch(int64_t epoch) {' \
  "G-EMA samples and checkpoints keep the generator's BatchNorm statistics, which do not fit the averaged weights."
mutation divergence_unchecked src/train/trainer.cpp \
  'if (std::isfinite(last_d_loss_) && std::isfinite(last_g_loss_)) return true;' 'return true;' \
  'NaN losses are not noticed: the run goes on and checkpoints NaN weights.'

# --- checkpoints --------------------------------------------------------------------------------
mutation load_generator_skips_weights src/train/checkpoint.cpp \
  '    generator->load(g);' '    (void)g;' \
  '`generate` uses a freshly initialised generator instead of the trained one.'
mutation resume_skips_generator src/train/checkpoint.cpp \
  'gan.generator->load(g);' '(void)g;' \
  'Resuming restarts the generator from random weights.'
mutation rng_state_not_restored src/train/checkpoint.cpp \
  'generator.set_state(rng.cpu());' '(void)rng;' \
  'Resuming does not restore the RNG, so the run does not continue exactly.'
mutation sample_history_not_restored src/train/checkpoint.cpp \
  'archive.try_read("sample_history", progress.sample_history);' '(void)0;' \
  'After a resume, progress.png loses the epochs before it.'
mutation checksum_ignored src/train/checkpoint.cpp \
  'if (static_cast<uint64_t>(read_int(envelope, "payload_checksum")) != fnv1a64(bytes, size)) {' \
  'if (false) {' \
  'A flipped byte in a checkpoint loads as silently different weights.'
mutation newer_format_accepted src/train/checkpoint.cpp \
  'if (version > kCheckpointFormatVersion || version < 1) {' 'if (version < 1) {' \
  'Checkpoints of a newer format version are read as if they were this one.'

# --- grids --------------------------------------------------------------------------------------
mutation grid_column_padding src/image/grid.cpp \
  'x = (i % columns) * width + padding;' 'x = (i % columns) * width;' \
  'Grid tiles lose their left padding and overlap.'
mutation progress_sheet_rows src/train/run_folder.cpp \
  'image::make_grid(selected.flatten(0, 1), per_row)' 'image::make_grid(selected.flatten(0, 1), 8)' \
  'progress.png no longer has one row per epoch.'

# --- command line -------------------------------------------------------------------------------
mutation generate_one_chunk_only src/sampling/sampling.cpp \
  'for (int64_t start = 0; start < total || parts.empty(); start += kChunk) {' \
  'for (int64_t start = 0; start < std::min(total, kChunk) || parts.empty(); start += kChunk) {' \
  '`generate --count` above 1024 writes only the first 1024 images.'
mutation divergence_exit_code src/cli/train_command.cpp \
  '      return 3;' '      return 0;' \
  'A diverged run exits 0 instead of 3.'
mutation limit_ignored src/cli/train_command.cpp \
  'config.limit = args["limit"].as<int64_t>();' 'config.limit = 0;' \
  '--limit is ignored.'
mutation smooth_labels_flag_ignored src/cli/train_command.cpp \
  'config.smooth_labels = args["smooth-labels"].as<bool>();' 'config.smooth_labels = false;' \
  '--smooth-labels on the command line is ignored.'
mutation recipe_not_applied src/cli/train_command.cpp \
  'train::apply_recipe(config, given);' '(void)given;' \
  '`--recipe improved` changes nothing.'
mutation recipe_flag_given_ignored src/train/config.cpp \
  'if (!given.count(option)) set_option(c, option, value);' 'set_option(c, option, value);' \
  'A recipe overrides the flags the user typed.'
mutation high_lr_recipe_rate src/train/config.cpp \
  '{"high-lr", {{"lr", "0.001"},' '{"high-lr", {{"lr", "0.0002"},' \
  '`--recipe high-lr` trains at the notebook'"'"'s learning rate.'
mutation version_flag src/cli/commands.cpp \
  'if (name == "--version" || name == "version") {' 'if (name == "version") {' \
  '`dcgan --version` becomes an unknown command.'
mutation rank_agreement_not_compared src/distributed/communicator.cpp \
  'if (const auto difference = first_disagreement(descriptions)) throw' \
  'if (const auto difference = std::optional<std::string>()) throw' \
  'Ranks that disagree on an option or their data are no longer refused at join time.'
mutation rank_agreement_skips_values src/distributed/communicator.cpp \
  'if (root != nullptr && other != nullptr && *root == *other) continue;' \
  'if (root != nullptr && other != nullptr) continue;' \
  'Ranks that disagree on the value of an option (not its presence) are let through.'
mutation start_up_stop_ignored src/cli/train_command.cpp \
  '  train::stop_at_once_during_start_up();' '' \
  'A SIGINT or SIGTERM during the start-up of train (loading data, the ranks meeting) is lost.'
mutation special_file_read src/data/image_folder.cpp \
  'if (!S_ISREG(info.st_mode)) {' 'if (false) {' \
  'A FIFO or a symlink to /dev/zero in an image folder is read (a hang or no end).'

# --- guards: each check that protects a result or a file, weakened (docs/TESTING.md, "Guards") ---
mutation conv_check_tolerance_x1000 src/train/cpu_convolution_check.cpp \
  'if (error > kCpuConvolutionTolerance * scale) check.passed = false;' \
  'if (error > kCpuConvolutionTolerance * 1000 * scale) check.passed = false;' \
  'The start-up convolution check lets wrong float32 convolutions (up to 100% off) pass.'
mutation conv_check_nan_passes src/train/cpu_convolution_check.cpp \
  'if (std::isnan(error)) error = std::numeric_limits<double>::infinity();' '' \
  'A convolution that gives NaN passes the start-up check.'
mutation conv_check_failure_ignored src/train/cpu_convolution_check.cpp \
  'if (check.passed) return std::nullopt;' 'return std::nullopt;' \
  'A failed convolution check leaves oneDNN on and warns nobody.'
mutation checkpoint_sizes_unchecked src/train/checkpoint.cpp \
  'if (info.conv_dim < 1 || info.z_size < 1 || !models::is_supported_image_size(info.image_size))' \
  'if (false)' \
  'A checkpoint with impossible model sizes is not refused as such.'
mutation checkpoint_unknown_arch_accepted src/train/checkpoint.cpp \
  'if (name != "notebook" && name != "pytorch-examples")' 'if (false)' \
  'A checkpoint of an unknown architecture is not named as such.'
mutation checkpoint_image_size_not_compared src/train/checkpoint.cpp \
  'info.image_size != gan.options.image_size || info.arch != gan.options.arch ||' \
  'info.arch != gan.options.arch ||' \
  'Resuming a checkpoint of another image size is not refused as another architecture.'
mutation checkpoint_fixed_z_unchecked src/train/checkpoint.cpp \
  'if (progress.fixed_z.dim() != 2 || progress.fixed_z.size(1) != gan.options.z_size) {' \
  'if (false) {' \
  'A checkpoint whose fixed z does not fit the generator is resumed.'
mutation folder_cache_mtime_not_keyed src/data/folder_cache.cpp \
  'put_u64(out, static_cast<uint64_t>(f.mtime_ns));' 'put_u64(out, 0);' \
  'An image rewritten at the same size is served from the stale cache.'
mutation folder_cache_size_not_keyed src/data/folder_cache.cpp \
  'put_u64(out, static_cast<uint64_t>(f.size));' 'put_u64(out, 0);' \
  'An image of another size (same time) is served from the stale cache.'
mutation folder_cache_decoder_version_not_keyed src/data/folder_cache.cpp \
  '  put_u64(out, kDecoderVersion);
  put_u64(out, static_cast<uint64_t>(side));' '  put_u64(out, static_cast<uint64_t>(side));' \
  'A cache made by another version of the decoder is trusted.'
mutation folder_cache_side_unchecked src/data/folder_cache.cpp \
  'if (h.side != static_cast<uint64_t>(side)) {' 'if (false) {' \
  'A cache of another image size is returned (a 4x4 cache for 8x8).'
mutation folder_cache_pixels_unchecked src/data/folder_cache.cpp \
  'if (crc(base + h.pixels_offset, pixels) != h.pixels_crc) {' 'if (false) {' \
  'A cache whose pixels were damaged is trusted.'
mutation mat5_past_end_unchecked src/data/mat5_size_checks.cpp \
  'if (end > file_bytes) {' 'if (false) {' \
  'A MAT v5 element that runs past the end of its file reaches matio.'
mutation mat5_dims_or_name_unchecked src/data/mat5_size_checks.cpp \
  'if (name_at + 8 > end || name_at + tag_bytes(name_at) > end) {' 'if (false) {' \
  'A MAT v5 dims or name tag larger than its variable reaches matio (gigabytes allocated).'
mutation mat5_cells_unchecked src/data/mat5_size_checks.cpp \
  'if (elements * 8 > limit)' 'if (false)' \
  'A MAT v5 cell array claiming more cells than it can hold reaches matio (32 GB of pointers).'
mutation mat5_compressed_claim_unchecked src/data/mat5_size_checks.cpp \
  'if (inner_end > compressed * 1100 + 1024) {' 'if (false) {' \
  'A compressed MAT v5 variable claiming more than zlib can expand reaches matio.'
mutation strict_ignored src/data/image_folder.cpp \
  '    if (options.strict) {' '    if (false) {' \
  '--strict no longer refuses a folder holding an unreadable image.'
mutation strict_ignored_on_cache_hit src/data/image_folder.cpp \
  'if (options.strict && cached_outcome.skipped) {' 'if (false) {' \
  '--strict lets through a folder whose unreadable images the cache remembers.'
mutation g_ema_recalibration_moving_average src/train/gan.cpp \
  'norm->options.momentum(c10::nullopt);  // a plain average over the batches below' '' \
  "G-EMA's recalibrated statistics are a moving average of the batches, not their statistics."
mutation plot_axis_not_from_zero src/report/page_parts.cpp \
  'options.y_from_zero = true;' 'options.y_from_zero = false;' \
  "The report's loss and FD axes start at their smallest value, not at 0."
mutation plot_y_from_zero_ignored src/report/svg_plot.cpp \
  'if (options.y_from_zero && has_data) y_lo = std::min(y_lo, 0.0);' '' \
  'SVG plots ignore y_from_zero.'
mutation plot_y_axis_upside_down src/report/svg_plot.cpp \
  'const LinearScale sy{y_ticks.lo(), y_ticks.hi(), height - bottom, top};' \
  'const LinearScale sy{y_ticks.lo(), y_ticks.hi(), top, height - bottom};' \
  'Plots draw larger values lower.'

# --- class-conditional training (--conditional) -------------------------------------------------
mutation conditional_labels_apart_from_images src/train/step.cpp \
  'if (labels.defined()) batch.labels = labels.index_select(0, picked);' \
  'if (labels.defined()) batch.labels = labels.narrow(0, first, count);' \
  "A batch's labels are not those of its shuffled images."
mutation static_step_labels_apart_from_images src/train/static_step.cpp \
  'labels_.defined() ? labels_.index_select(0, index) : torch::Tensor()' \
  'labels_.defined() ? labels_.index_select(0, index.flip(0)) : torch::Tensor()' \
  "The static (and CUDA-graph) step gathers the real labels in another order than the images."
mutation conditional_class_embedding_ignored src/models/discriminator.cpp \
  'judgement.logit + projection_term(features, labels.to(features.device()), embed)' \
  'judgement.logit' \
  "The projection discriminator ignores the class: its logit lacks the class term."
mutation conditional_auxiliary_loss_dropped src/train/gan.cpp \
  'if (!judgement.class_logits.defined()) return torch::zeros({}, judgement.logit.options());' \
  'return torch::zeros({}, judgement.logit.options());' \
  "AC-GAN's auxiliary classifier loss is left out of both losses."

mutation acgan_classifier_learns_from_fakes src/train/gan.cpp \
  'class_loss(real_judgement, real_labels);  // real images only: see gan.h' \
  'class_loss(real_judgement, real_labels) + class_loss(fake_judgement, fake_labels);' \
  "D's AC-GAN classifier also learns the fakes' classes (the original AC-GAN, which measured worse)."
mutation acgan_g_class_weight_ignored src/train/gan.cpp \
  'gan.options.g_class_weight * class_loss(judgement, labels);' \
  'class_loss(judgement, labels);' \
  "G's AC-GAN class loss ignores --g-class-weight."

main() {
count_in_file() {  # occurrences of the exact text $2 in file $1
  python3 - "$1" "$2" <<'EOF'
import sys
print(open(sys.argv[1], encoding="utf-8").read().count(sys.argv[2]))
EOF
}

apply_mutation() {  # file, search, replacement (text replaced in place)
  python3 - "$1" "$2" "$3" <<'EOF'
import sys
path, search, replacement = sys.argv[1:]
text = open(path, encoding="utf-8").read()
open(path, "w", encoding="utf-8").write(text.replace(search, replacement, 1))
EOF
}

# Which mutations to handle.
SELECTED=()
if [[ -z "$ONLY" ]]; then
  SELECTED=("${!NAMES[@]}")
else
  # In the order given.
  IFS=, read -ra WANTED <<<"$ONLY"
  for want in "${WANTED[@]}"; do
    found=""
    for i in "${!NAMES[@]}"; do
      if [[ "$want" == "${NAMES[$i]}" || "$want" == "$((i + 1))" ]]; then found=$i; fi
    done
    if [[ -z "$found" ]]; then
      echo "mutation_test.sh: no mutation named '$want' (see --list)" >&2
      exit 2
    fi
    SELECTED+=("$found")
  done
fi

if [[ $MODE == list ]]; then
  for i in "${SELECTED[@]}"; do printf '%2d %-34s %-28s %s\n' "$((i + 1))" "${NAMES[$i]}" "${FILES[$i]}" "${BREAKS[$i]}"; done
  exit 0
fi

# Every search text must be found exactly once in the current tree.
errors=0
for i in "${SELECTED[@]}"; do
  file="$ROOT/${FILES[$i]}"
  if [[ ! -f "$file" ]]; then
    echo "ERROR ${NAMES[$i]}: ${FILES[$i]} does not exist"
    errors=$((errors + 1))
    continue
  fi
  n=$(count_in_file "$file" "${SEARCHES[$i]}")
  if [[ "$n" != 1 ]]; then
    echo "ERROR ${NAMES[$i]}: search text found $n times in ${FILES[$i]} (must be exactly once): ${SEARCHES[$i]}"
    errors=$((errors + 1))
  fi
done
if [[ $MODE == check ]]; then
  echo "${#SELECTED[@]} mutations checked, $errors errors"
  [[ $errors -eq 0 ]] && exit 0 || exit 2
fi

mkdir -p "$SCRATCH"
if [[ $IN_PLACE == 1 ]]; then
  # The tree and its build/ themselves; a run killed mid-mutation left the original beside
  # `pending`, which is put back first.
  SRC="$ROOT" BUILD="$ROOT/build"
  [[ -f "$BUILD/build.ninja" || -f "$BUILD/Makefile" ]] ||
    { echo "ERROR: --in-place needs a configured $BUILD (run scripts/build.sh first)"; exit 2; }
  # Puts the original back only while the file still holds the mutation: after a checkout or an
  # edit since the interrupted run, the saved original is stale and would overwrite newer code.
  restore_pending() {
    [[ -f "$SCRATCH/pending" ]] || return 0
    local file; file="$(cat "$SCRATCH/pending")"
    if cmp -s "$SRC/$file" "$SCRATCH/mutated"; then
      cp "$SCRATCH/original" "$SRC/$file"
    else
      echo "note: $file changed since an interrupted mutation run; left as it is" >&2
    fi
    rm -f "$SCRATCH/pending"
  }
  restore_pending
  trap restore_pending EXIT
  trap 'exit 130' INT TERM
else
  # The scratch copy: the working tree without build folders or git, synced before the run. Its
  # build folder sits at the same place relative to its sources as build/ does in the tree, so that
  # ccache (with a base dir above both) reuses the objects of the normal build.
  SRC="$SCRATCH/tree" BUILD="$SCRATCH/tree/build"
  mkdir -p "$SRC" "$BUILD"
  # tar keeps modification times, so a second run rebuilds only what changed.
  tar -C "$ROOT" --exclude='./build*' --exclude='./.git' --exclude='./runs' --exclude='./Testing' -cf - . |
    tar -C "$SRC" -xf -
  # A run that was stopped mid-mutation left the file listed in `pending`; tar put the original back
  # with its old time, which make tools would take for up to date.
  if [[ -f "$SCRATCH/pending" ]]; then
    while read -r file; do touch "$SRC/$file"; done <"$SCRATCH/pending"
    rm -f "$SCRATCH/pending"
  fi
  case "$SCRATCH" in "$ROOT"/*) base="$ROOT" ;; *) base=/ ;; esac
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$base}"
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null || exit 2
fi
# Every target: a test program left out would run stale and let its mutations survive.
build() { cmake --build "$BUILD" -j "$JOBS" >"$SCRATCH/build.log" 2>&1; }
echo "building the unmutated tree in $BUILD"
if ! build; then
  tail -30 "$SCRATCH/build.log"
  echo "ERROR: the unmutated tree does not build"
  exit 2
fi

killed=0 survived=0 start_all=$SECONDS
SURVIVORS=()
for i in "${SELECTED[@]}"; do
  name="${NAMES[$i]}" file="${FILES[$i]}"
  n=$(count_in_file "$SRC/$file" "${SEARCHES[$i]}")
  if [[ "$n" != 1 ]]; then continue; fi  # reported as ERROR above
  start=$SECONDS
  cp "$SRC/$file" "$SCRATCH/original"
  cp "$SRC/$file" "$SCRATCH/mutated"
  apply_mutation "$SCRATCH/mutated" "${SEARCHES[$i]}" "${REPLACEMENTS[$i]}"
  echo "$file" >"$SCRATCH/pending"
  cp "$SCRATCH/mutated" "$SRC/$file"
  if ! build; then
    result="ERROR (does not build)"
    errors=$((errors + 1))
  elif ctest --test-dir "$BUILD" -j "$JOBS" --stop-on-failure --no-tests=error --timeout "$TIMEOUT" \
      ${TESTS:+-R "$TESTS"} >"$SCRATCH/ctest_$name.log" 2>&1; then
    result="SURVIVED"
    survived=$((survived + 1))
    SURVIVORS+=("$name")
  else
    failed=$(sed -n '/tests FAILED:/,$p' "$SCRATCH/ctest_$name.log" | grep -m3 -oE '[0-9]+ - [A-Za-z0-9_./]+' |
      sed 's/^[0-9]* - //' | paste -sd, -)
    result="killed by ${failed:-a test}"
    killed=$((killed + 1))
  fi
  cp "$SCRATCH/original" "$SRC/$file"  # a new modification time: rebuilt next time
  rm -f "$SCRATCH/pending"
  printf '%-8s %2d/%d %-34s %4ds  %s\n' "${result%% *}" "$((i + 1))" "${#NAMES[@]}" "$name" \
    "$((SECONDS - start))" "$result"
done

total=$((killed + survived))
echo
echo "mutation score: $killed/$total killed, $survived survived, $errors errors ($((SECONDS - start_all)) s)"
for name in "${SURVIVORS[@]}"; do echo "  survived: $name"; done
[[ $errors -gt 0 ]] && exit 2
[[ $survived -gt 0 ]] && exit 1
exit 0
}

main "$@"
