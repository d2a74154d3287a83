#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace dcgan::serialization {

// Names and tensors in order, as in a PyTorch state_dict.
using TensorDict = std::vector<std::pair<std::string, torch::Tensor>>;

// Reads a file written by Python's torch.save(model.state_dict(), path) (the zip format of
// PyTorch 1.6 and later; tensors saved on a GPU come back on the CPU). Our own reader of the few
// pickle opcodes torch.save uses: LibTorch 1.13's torch::pickle_load turns the OrderedDict of a
// state_dict into None and cannot read dicts at all. Like torch.load(weights_only=True) it builds
// nothing but dicts, tuples, numbers, strings and tensors, so a file cannot run code. Throws
// dcgan::InputError naming the file when it is not such a file, is corrupt, or pickles something
// other than a flat dict of tensors (a whole model, a dict of dicts).
TensorDict read_state_dict(const std::string& path);

// Serialises `tensors` (moved to the CPU) exactly as torch.save(state_dict) does: an
// OrderedDict of tensors in the zip format. Python's torch.load opens it, also with
// weights_only=True (the default from PyTorch 2.6).
std::string state_dict_bytes(const TensorDict& tensors);

// What a model file is, judged from its first bytes and zip records (and, for a TorchScript
// archive, its attributes), so that every command can name what it was given and say what to do
// with it.
enum class FileKind {
  kTorchSave,        // Python's torch.save in the zip format of PyTorch 1.6 and later
  kLegacyTorchSave,  // torch.save's format before PyTorch 1.6
                     // (_use_new_zipfile_serialization=False)
  kTorchScript,      // a TorchScript module: torch.jit.save, or dcgan export --format torchscript
  kDcganCheckpoint,  // a dcgan checkpoint (run/checkpoints/last.pt)
  kOther,            // none of these (or no such file)
};
FileKind file_kind(const std::string& path);

}  // namespace dcgan::serialization
