// The MAT v5 size checks that guard matio: every size field of a file's top-level variables is
// checked against the file and its variable before matio reads them.
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "dcgan/util/errors.h"
#include "mat5_reader.h"

namespace dcgan::data::detail {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw InputError(path + ": " + problem);
}

using ReadU32 = std::function<uint32_t(int64_t)>;

// Checks one miMATRIX element spanning [pos, end): its dims and name tags must end inside it, and a
// cell array must have room for a tag per cell. `at` names the element in messages.
void check_matrix_element(const std::string& path, const ReadU32& read_u32, int64_t pos,
                          int64_t end, const std::string& at) {
  // A tag is (type, byte count) in 8 bytes, or (count << 16 | type, up to 4 data bytes) when small.
  auto tag_bytes = [&](int64_t tag) -> int64_t {
    const uint32_t first = read_u32(tag);
    return (first >> 16) ? int64_t{8} : 8 + int64_t{read_u32(tag + 4)};
  };
  // Array flags (16 bytes), then the dims and name tags; each must end inside this element.
  const int64_t dims_at = pos + 8 + 16;
  const int64_t name_at = dims_at + 8 <= end ? dims_at + (tag_bytes(dims_at) + 7) / 8 * 8 : end;
  if (name_at + 8 > end || name_at + tag_bytes(name_at) > end) {
    fail(path,
         "MAT v5 variable " + at + " has a dims or name size larger than the variable (corrupt)");
  }
  // Cell arrays: matio callocs a pointer per cell before reading any, so a 32x32x4e6 cell in a
  // 3 KB file asked for 32 GB. Each cell needs at least an 8-byte tag. (Structs are not checked:
  // a valid struct with no fields holds no bytes per element.)
  constexpr uint32_t kMxCell = 1;
  if ((read_u32(pos + 16) & 0xFF) == kMxCell && read_u32(dims_at) >> 16 == 0) {
    const int64_t limit = end - pos;
    int64_t elements = 1;
    for (int64_t dim_at = dims_at + 8; dim_at + 4 <= dims_at + tag_bytes(dims_at); dim_at += 4) {
      const int64_t dim = read_u32(dim_at);
      elements = dim && elements > limit / dim ? limit + 1 : elements * dim;  // no overflow
    }
    if (elements * 8 > limit)
      fail(path, "MAT v5 variable " + at + " claims more cells than it can hold (corrupt)");
  }
}

// A compressed variable's header is only visible after inflating: inflate its first few KB and
// check the miMATRIX inside like an uncompressed one. zlib cannot expand more than ~1032x, so the
// inner element may not claim more than that of its compressed size either. (Found by fuzzing: a
// 276-byte file made matio allocate 2.9 GB, a 499-byte one 4.9 GB.)
void check_compressed_element(const std::string& path, std::ifstream& in, bool swap, int64_t pos,
                              int64_t end, std::vector<Mat5Variable>& seen) {
  constexpr uint32_t kMiMatrix = 14;
  constexpr int64_t kHeaderBytes = 4096;  // flags, dims and name of any sane variable fit easily
  const int64_t compressed = end - pos - 8;
  std::string input(static_cast<size_t>(std::min<int64_t>(compressed, 64 * 1024)), '\0');
  in.clear();
  in.seekg(pos + 8);
  in.read(input.data(), static_cast<std::streamsize>(input.size()));
  unsigned char header[kHeaderBytes];
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw std::runtime_error("zlib: inflateInit failed");
  z.next_in = reinterpret_cast<Bytef*>(input.data());
  z.avail_in = static_cast<uInt>(in.gcount());
  z.next_out = header;
  z.avail_out = kHeaderBytes;
  const int status = inflate(&z, Z_SYNC_FLUSH);
  const int64_t have = kHeaderBytes - z.avail_out;
  inflateEnd(&z);
  const std::string at = "at byte " + std::to_string(pos) + " (compressed)";
  if ((status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) || have < 8) {
    fail(path, "MAT v5 variable " + at + " does not decompress (corrupt)");
  }
  if (to_u32(header, swap) != kMiMatrix) return;  // matio refuses anything else itself
  seen.push_back({pos, end, true, std::vector<unsigned char>(header, header + have)});
  const int64_t inner_end = 8 + int64_t{to_u32(header + 4, swap)};
  if (inner_end > compressed * 1100 + 1024) {
    fail(path, "MAT v5 variable " + at + " claims " + std::to_string(inner_end) +
                   " bytes, more than " + std::to_string(compressed) +
                   " compressed bytes can hold (corrupt)");
  }
  const ReadU32 read_u32 = [&](int64_t offset) {
    if (offset < 0 || offset + 4 > have)
      fail(path, "MAT v5 variable " + at + " has an oversized header (corrupt)");
    return to_u32(header + offset, swap);
  };
  check_matrix_element(path, read_u32, 0, inner_end, at);
}

}  // namespace

// matio 1.5.23 trusts the size fields of a MAT v5 file: a variable whose dims or name tag claims
// gigabytes makes Mat_VarReadInfo malloc that much and then read it 4 bytes at a time (seconds per
// file; found by fuzzing). So walk the top-level elements first and refuse any size that cannot fit
// in the file or in its variable.
std::vector<Mat5Variable> check_mat5_sizes(const std::string& path, int64_t file_bytes,
                                           bool& swap_out) {
  std::vector<Mat5Variable> seen;
  constexpr uint32_t kMiMatrix = 14, kMiCompressed = 15;
  constexpr int64_t kFirstElement =
      128;  // after the text header, subsystem offset, version, endian
  std::ifstream in(path, std::ios::binary);
  char endian[2] = {};
  in.seekg(126);
  in.read(endian, 2);
  const bool swap = endian[0] == 'M' && endian[1] == 'I';  // written on a big-endian machine
  swap_out = swap;
  const ReadU32 read_u32 = [&](int64_t at) {
    unsigned char b[4] = {};
    in.seekg(at);
    in.read(reinterpret_cast<char*>(b), 4);
    if (!in)
      fail(path,
           "MAT v5 element header at byte " + std::to_string(at) + " is cut off (file truncated)");
    return to_u32(b, swap);
  };
  for (int64_t pos = kFirstElement; pos + 8 <= file_bytes;) {
    const uint32_t type = read_u32(pos);
    if (type >> 16) {  // small data element at top level: 8 bytes, nothing to allocate
      pos += 8;
      continue;
    }
    const int64_t end = pos + 8 + read_u32(pos + 4);
    if (end > file_bytes) {
      fail(path, "MAT v5 element at byte " + std::to_string(pos) + " runs " +
                     std::to_string(end - file_bytes) +
                     " bytes past the end of the file (truncated or corrupt)");
    }
    if (type == kMiMatrix && end > pos + 8) {
      check_matrix_element(path, read_u32, pos, end, "at byte " + std::to_string(pos));
      Mat5Variable variable{pos, end, false, {}};
      variable.header.resize(static_cast<size_t>(std::min<int64_t>(end - pos, 4096)));
      in.clear();
      in.seekg(pos);
      in.read(reinterpret_cast<char*>(variable.header.data()),
              static_cast<std::streamsize>(variable.header.size()));
      seen.push_back(std::move(variable));
    } else if (type == kMiCompressed && end > pos + 8) {
      check_compressed_element(path, in, swap, pos, end, seen);
    }
    pos = end;
  }
  return seen;
}

MatrixLayout parse_matrix_layout(const std::vector<unsigned char>& header, bool swap) {
  MatrixLayout layout;
  const auto have = static_cast<int64_t>(header.size());
  auto u32 = [&](int64_t at) { return to_u32(header.data() + at, swap); };
  // A tag: (type, bytes) in 8 bytes then the data padded to 8, or (bytes << 16 | type) with up to
  // 4 data bytes inside the tag itself.
  struct Tag {
    uint32_t type;
    int64_t bytes, data_at, next;
  };
  auto tag = [&](int64_t at, Tag& t) {
    if (at + 8 > have) return false;
    const uint32_t first = u32(at);
    if (first >> 16) {
      t = {first & 0xFFFF, int64_t{first >> 16}, at + 4, at + 8};
    } else {
      t = {first, int64_t{u32(at + 4)}, at + 8, at + 8 + (int64_t{u32(at + 4)} + 7) / 8 * 8};
    }
    return true;
  };
  Tag flags{}, dims{}, name{}, data{};
  if (!tag(8, flags) || flags.bytes < 8 || flags.data_at + 4 > have) return layout;
  const uint32_t flag_word = u32(flags.data_at);
  layout.mx_class = flag_word & 0xFF;
  layout.complex = (flag_word & 0x800) != 0;
  if (!tag(flags.next, dims) || !tag(dims.next, name) || name.data_at + name.bytes > have ||
      !tag(name.next, data) || data.data_at != data.next - ((data.bytes + 7) / 8 * 8))
    return layout;
  layout.name.assign(reinterpret_cast<const char*>(header.data() + name.data_at),
                     static_cast<size_t>(name.bytes));
  layout.data_type = data.type;
  layout.data_at = data.data_at;
  layout.data_bytes = data.bytes;
  layout.ok = true;
  return layout;
}

}  // namespace dcgan::data::detail
