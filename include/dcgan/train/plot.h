#pragma once

#include <string>

namespace dcgan::train {

// Renders losses.csv (epoch,batch,d_loss,g_loss,step) as a PNG "Training Losses" plot of D and G
// loss over training steps, like the notebook's figure, by running gnuplot. Returns false (and
// logs a warning once per process) when gnuplot is not installed or fails; training carries on.
bool plot_losses(const std::string& csv_path, const std::string& png_path);

// Renders quality.csv (epoch,frechet_distance,confident_share,step) as a PNG of the Frechet
// distance over epochs (--eval-every). Same conditions as plot_losses.
bool plot_quality(const std::string& csv_path, const std::string& png_path);

}  // namespace dcgan::train
