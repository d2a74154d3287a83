#pragma once

#include <string>

namespace dcgan::train {

// Renders losses.csv (epoch,batch,d_loss,g_loss,step) as a PNG "Training Losses" plot of D and G
// loss over training steps, like the notebook's figure, by running gnuplot. Returns false (and
// logs a warning once per process) when gnuplot is not installed or fails; training carries on.
bool plot_losses(const std::string& csv_path, const std::string& png_path);

// Renders quality.csv (epoch,frechet_distance,confident_share,step,class_accuracy) as a PNG of the
// Frechet distance over epochs (--eval-every), with `class_accuracy` (a conditional run) also the
// class accuracy in percent on the right axis. Same conditions as plot_losses.
bool plot_quality(const std::string& csv_path, const std::string& png_path,
                  bool class_accuracy = false);

}  // namespace dcgan::train
