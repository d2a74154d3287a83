#include "dcgan/train/step.h"

#include "dcgan/train/static_step.h"
#include "dcgan/util/errors.h"

#ifdef DCGAN_WITH_CUDA_GRAPHS
#include "dcgan/train/cuda_graph_step.h"
#endif

namespace dcgan::train {
namespace {

// train_step on batches gathered from the on-device dataset.
class EagerStep : public TrainStep {
 public:
  EagerStep(Gan& gan, torch::Tensor images, torch::Tensor labels, const StepOptions& options)
      : gan_(gan), images_(std::move(images)), labels_(std::move(labels)), options_(options) {}

  void start_epoch(const torch::Tensor& order) override { order_ = order.to(images_.device()); }

  StepLosses step(int64_t first, int64_t count) override {
    const auto batch = pick_batch(images_, labels_, order_, first, count);
    return train_step(gan_, batch.images, draw_step_noise(gan_, count, gan_.device),
                      options_.smooth_labels, options_.precision, batch.labels);
  }

  std::string name() const override { return "eager"; }

 private:
  Gan& gan_;
  torch::Tensor images_, labels_, order_;
  StepOptions options_;
};

}  // namespace

Batch pick_batch(const torch::Tensor& images, const torch::Tensor& labels,
                 const torch::Tensor& order, int64_t first, int64_t count) {
  const auto picked = order.narrow(0, first, count);
  Batch batch;
  batch.images = images.index_select(0, picked);
  if (labels.defined()) batch.labels = labels.index_select(0, picked);
  return batch;
}

bool cuda_graphs_available() {
#ifdef DCGAN_WITH_CUDA_GRAPHS
  return true;
#else
  return false;
#endif
}

StepKind resolve_step_kind(const std::string& name, torch::Device device) {
  if (name == "eager") return StepKind::kEager;
  if (name == "static") return StepKind::kStatic;
  if (name == "auto") {
    return device.is_cuda() && cuda_graphs_available() ? StepKind::kGraph : StepKind::kEager;
  }
  if (name != "graph")
    throw InputError("--step must be auto, eager, graph or static, got '" + name + "'");
  if (!cuda_graphs_available()) {
    throw InputError(
        "--step graph: this dcgan was built without CUDA graphs (needs LibTorch 2.x "
        "with CUDA); use --step eager");
  }
  if (!device.is_cuda()) throw InputError("--step graph needs a CUDA device; use --step eager");
  return StepKind::kGraph;
}

void use_channels_last(Gan& gan) {
  // Only the 4-D convolution weights change layout. The parameter objects stay the same, so the
  // optimizers still hold them; CapturableAdam lays its moments out to match.
  for (torch::nn::Module* module :
       std::initializer_list<torch::nn::Module*>{gan.generator.get(), gan.discriminator.get()}) {
    for (auto& p : module->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
}

std::unique_ptr<TrainStep> make_train_step(StepKind kind, Gan& gan, torch::Tensor images,
                                           const StepOptions& options, torch::Tensor labels) {
  if (options.channels_last) use_channels_last(gan);
  switch (kind) {
    case StepKind::kEager:
      return std::make_unique<EagerStep>(gan, std::move(images), std::move(labels), options);
    case StepKind::kStatic:
      return std::make_unique<StaticStep>(gan, std::move(images), options, std::move(labels));
    case StepKind::kGraph:
#ifdef DCGAN_WITH_CUDA_GRAPHS
      return std::make_unique<CudaGraphStep>(gan, std::move(images), options, std::move(labels));
#else
      break;
#endif
  }
  throw InputError("the CUDA-graph step is not built into this dcgan");
}

}  // namespace dcgan::train
