#include "dcgan/serialization/torch_file.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/script.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <unordered_map>

#include "dcgan/util/errors.h"

namespace dcgan::serialization {
namespace {

// The first line of a LibTorch error, without its C++ backtrace.
std::string first_line(const c10::Error& e) {
  const std::string text = e.what_without_backtrace();
  return text.substr(0, text.find('\n'));
}

// torch.<Name>Storage, as torch.save names the element type of each storage.
const std::map<std::string, torch::ScalarType>& storage_types() {
  static const std::map<std::string, torch::ScalarType> types = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool},
  };
  return types;
}

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor_v2";

bool allowed_global(const std::string& name) {
  return name == kOrderedDict || name == kRebuildTensor ||
         name == "torch._utils._rebuild_parameter" ||
         name == "torch._utils._rebuild_parameter_with_state" || storage_types().count(name) > 0;
}

// A value on the unpickler's stack. Only what a state_dict needs.
struct Value;
using ValuePtr = std::shared_ptr<Value>;
struct Value {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kTensor,
    kMark
  };
  Kind kind = Kind::kNone;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;             // a string, or a global's "module.name"
  std::vector<ValuePtr> items;  // tuple and list items; dict keys and values, alternating
  torch::Tensor tensor;         // a tensor, or the flat storage a persistent id names

  Value() = default;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  // Frees nested containers with a loop: a crafted file nesting tuples a million deep must not
  // overflow the stack through recursive destructors.
  ~Value() {
    std::vector<std::shared_ptr<Value>> pending = std::move(items);
    while (!pending.empty()) {
      auto v = std::move(pending.back());
      pending.pop_back();
      if (v && v.use_count() == 1) {
        for (auto& child : v->items) pending.push_back(std::move(child));
        v->items.clear();
      }
    }
  }
};

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNone:
      return "None";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kFloat:
      return "float";
    case Value::Kind::kString:
      return "string";
    case Value::Kind::kTuple:
      return "tuple";
    case Value::Kind::kList:
      return "list";
    case Value::Kind::kDict:
      return "dict";
    case Value::Kind::kGlobal:
      return "class or function";
    case Value::Kind::kTensor:
      return "tensor";
    case Value::Kind::kMark:
      return "mark";
  }
  return "value";
}

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

// Unpickles torch.save's data.pkl (protocol 2, and the few protocol 4 opcodes as well).
class Unpickler {
 public:
  using StorageLoader = std::function<torch::Tensor(const std::string& key, torch::ScalarType)>;

  Unpickler(const std::string& source, const char* data, size_t size, StorageLoader load_storage)
      : source_(source),
        pos_(reinterpret_cast<const uint8_t*>(data)),
        end_(pos_ + size),
        load_storage_(std::move(load_storage)) {}

  ValuePtr run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          bytes(8);
          break;  // FRAME
        case '.':
          return pop();  // STOP
        case '(':
          stack_.push_back(make(Value::Kind::kMark));
          break;
        case 'N':
          stack_.push_back(make(Value::Kind::kNone));
          break;
        case 0x88:
        case 0x89: {  // NEWTRUE, NEWFALSE
          auto v = make(Value::Kind::kBool);
          v->integer = op == 0x88;
          stack_.push_back(v);
          break;
        }
        case 'J':
          push_int(static_cast<int32_t>(little(4)));
          break;  // BININT
        case 'K':
          push_int(static_cast<int64_t>(little(1)));
          break;  // BININT1
        case 'M':
          push_int(static_cast<int64_t>(little(2)));
          break;      // BININT2
        case 0x8a: {  // LONG1
          const size_t n = byte();
          if (n > 8) fail("integer too large");
          uint64_t u = little(n);
          if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~uint64_t{0} << (8 * n);  // sign
          push_int(static_cast<int64_t>(u));
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (const uint8_t b : bytes(8)) bits = (bits << 8) | b;
          auto v = make(Value::Kind::kFloat);
          std::memcpy(&v->real, &bits, sizeof bits);
          stack_.push_back(v);
          break;
        }
        case 'X':
          push_string(little(4));
          break;  // BINUNICODE
        case 0x8c:
          push_string(byte());
          break;     // SHORT_BINUNICODE
        case 'c': {  // GLOBAL "module\nname\n"
          const auto module = line();
          push_global(module + "." + line());
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          const auto name = pop_string(), module = pop_string();
          push_global(module + "." + name);
          break;
        }
        case 'q':
          memo_[byte()] = top();
          break;  // BINPUT
        case 'r':
          memo_[static_cast<uint32_t>(little(4))] = top();
          break;  // LONG_BINPUT
        case 0x94:
          memo_[static_cast<uint32_t>(memo_.size())] = top();
          break;  // MEMOIZE
        case 'h':
          stack_.push_back(memo(byte()));
          break;  // BINGET
        case 'j':
          stack_.push_back(memo(static_cast<uint32_t>(little(4))));
          break;  // LONG_BINGET
        case ')':
          stack_.push_back(make(Value::Kind::kTuple));
          break;  // EMPTY_TUPLE
        case ']':
          stack_.push_back(make(Value::Kind::kList));
          break;  // EMPTY_LIST
        case '}':
          stack_.push_back(make(Value::Kind::kDict));
          break;     // EMPTY_DICT
        case 't': {  // TUPLE
          auto v = make(Value::Kind::kTuple);
          v->items = pop_to_mark();
          stack_.push_back(v);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
          auto v = make(Value::Kind::kTuple);
          v->items.resize(op - 0x84);
          for (auto it = v->items.rbegin(); it != v->items.rend(); ++it) *it = pop();
          stack_.push_back(v);
          break;
        }
        case 'a': {  // APPEND
          auto item = pop();
          expect(top(), Value::Kind::kList)->items.push_back(item);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_to_mark();
          auto& list = expect(top(), Value::Kind::kList)->items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case 's': {  // SETITEM
          auto value = pop(), key = pop();
          auto& dict = expect(top(), Value::Kind::kDict)->items;
          dict.push_back(key);
          dict.push_back(value);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_to_mark();
          if (items.size() % 2 != 0) fail("odd number of dict items");
          auto& dict = expect(top(), Value::Kind::kDict)->items;
          dict.insert(dict.end(), items.begin(), items.end());
          break;
        }
        case 'b': {  // BUILD: the attributes of an OrderedDict (its _metadata) are not needed
          pop();
          if (top()->kind != Value::Kind::kDict && top()->kind != Value::Kind::kTensor)
            fail("BUILD on a " + std::string(kind_name(top()->kind)));
          break;
        }
        case 'R': {  // REDUCE
          auto args = expect(pop(), Value::Kind::kTuple);
          auto callable = expect(pop(), Value::Kind::kGlobal);
          stack_.push_back(reduce(callable->text, args->items));
          break;
        }
        case 'Q': {  // BINPERSID: ('storage', torch.XStorage, key, location, numel)
          auto id = expect(pop(), Value::Kind::kTuple);
          if (id->items.size() < 5 || id->items[0]->text != "storage")
            fail("unknown persistent id");
          const auto type = expect(id->items[1], Value::Kind::kGlobal)->text;
          const auto key = expect(id->items[2], Value::Kind::kString)->text;
          const int64_t numel = expect(id->items[4], Value::Kind::kInt)->integer;
          auto v = make(Value::Kind::kTensor);
          auto cached = storages_.find(key);
          if (cached == storages_.end())
            cached = storages_.emplace(key, load_storage_(key, storage_types().at(type))).first;
          v->tensor = cached->second;
          if (v->tensor.numel() < numel) fail("storage " + key + " is shorter than recorded");
          stack_.push_back(v);
          break;
        }
        default:
          fail("unsupported pickle opcode 0x" + hex(op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw InputError(source_ + ": not a readable PyTorch state_dict (" + why + ")");
  }

  static std::string hex(uint8_t b) {
    static const char* digits = "0123456789abcdef";
    return {digits[b >> 4], digits[b & 15]};
  }

  uint8_t byte() {
    if (pos_ >= end_) fail("data.pkl ends early");
    return *pos_++;
  }
  std::vector<uint8_t> bytes(size_t n) {
    if (static_cast<size_t>(end_ - pos_) < n) fail("data.pkl ends early");
    std::vector<uint8_t> out(pos_, pos_ + n);
    pos_ += n;
    return out;
  }
  uint64_t little(size_t n) {
    uint64_t value = 0;
    const auto b = bytes(n);
    for (size_t i = 0; i < n; ++i) value |= uint64_t{b[i]} << (8 * i);
    return value;
  }
  std::string line() {
    std::string out;
    for (uint8_t c = byte(); c != '\n'; c = byte()) out.push_back(static_cast<char>(c));
    return out;
  }

  void push_int(int64_t i) {
    auto v = make(Value::Kind::kInt);
    v->integer = i;
    stack_.push_back(v);
  }
  void push_string(uint64_t length) {
    const auto b = bytes(length);
    auto v = make(Value::Kind::kString);
    v->text.assign(b.begin(), b.end());
    stack_.push_back(v);
  }
  void push_global(const std::string& name) {
    if (!allowed_global(name)) {
      throw InputError(source_ + ": not a state_dict: the file pickles a Python object (" + name +
                       "); in Python save model.state_dict(), not the model");
    }
    auto v = make(Value::Kind::kGlobal);
    v->text = name;
    stack_.push_back(v);
  }

  ValuePtr pop() {
    if (stack_.empty() || stack_.back()->kind == Value::Kind::kMark) fail("stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  const ValuePtr& top() const {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }
  std::string pop_string() { return expect(pop(), Value::Kind::kString)->text; }
  std::vector<ValuePtr> pop_to_mark() {
    std::vector<ValuePtr> items;
    while (true) {
      if (stack_.empty()) fail("missing mark");
      auto v = stack_.back();
      stack_.pop_back();
      if (v->kind == Value::Kind::kMark) break;
      items.push_back(v);
    }
    return {items.rbegin(), items.rend()};
  }
  ValuePtr memo(uint32_t index) const {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("unknown memo entry");
    return it->second;
  }
  const ValuePtr& expect(const ValuePtr& v, Value::Kind kind) const {
    if (v->kind != kind)
      fail(std::string("expected a ") + kind_name(kind) + ", found a " + kind_name(v->kind));
    return v;
  }
  std::vector<int64_t> ints(const ValuePtr& tuple) const {
    std::vector<int64_t> out;
    for (const auto& item : expect(tuple, Value::Kind::kTuple)->items) {
      out.push_back(expect(item, Value::Kind::kInt)->integer);
    }
    return out;
  }

  ValuePtr reduce(const std::string& callable, const std::vector<ValuePtr>& args) {
    if (callable == kOrderedDict) {
      if (!args.empty()) fail("OrderedDict with arguments");
      return make(Value::Kind::kDict);
    }
    if (callable == kRebuildTensor) return rebuild_tensor(args);
    // _rebuild_parameter(data, requires_grad, hooks[, state]): state_dict(keep_vars=True).
    if (args.empty()) fail(callable + " without arguments");
    return expect(args[0], Value::Kind::kTensor);
  }

  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args) {
    if (args.size() < 4) fail("tensor with too few arguments");
    const auto storage = expect(args[0], Value::Kind::kTensor)->tensor;
    const int64_t offset = expect(args[1], Value::Kind::kInt)->integer;
    const auto size = ints(args[2]), stride = ints(args[3]);
    if (size.size() != stride.size()) fail("tensor size and stride differ in length");
    // The last element the view reaches must lie inside the storage, or as_strided would read
    // past it.
    int64_t last = offset, count = 1;
    for (size_t i = 0; i < size.size(); ++i) {
      int64_t reach = 0;
      if (size[i] < 0 || stride[i] < 0 ||
          __builtin_mul_overflow(size[i] == 0 ? 0 : size[i] - 1, stride[i], &reach) ||
          __builtin_add_overflow(last, reach, &last) ||
          __builtin_mul_overflow(count, size[i], &count))
        fail("tensor with invalid size or stride");
    }
    if (offset < 0 || (count > 0 && last >= storage.numel()))
      fail("tensor reaches past its storage");
    auto v = make(Value::Kind::kTensor);
    v->tensor = count == 0 ? torch::empty(size, storage.options())
                           : storage.as_strided(size, stride, offset).clone();
    return v;
  }

  std::string source_;
  const uint8_t* pos_;
  const uint8_t* end_;
  StorageLoader load_storage_;
  std::vector<ValuePtr> stack_;
  std::unordered_map<uint32_t, ValuePtr> memo_;
  std::map<std::string, torch::Tensor> storages_;
};

std::unique_ptr<caffe2::serialize::PyTorchStreamReader> open_zip(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(path + ": no such file");
  try {
    return std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw InputError(path + ": not a PyTorch file (" + first_line(e) +
                     "); expected torch.save(model.state_dict(), path) from PyTorch 1.6 or later");
  }
}

std::string record_string(caffe2::serialize::PyTorchStreamReader& zip, const std::string& name) {
  auto [data, size] = zip.getRecord(name);
  return std::string(static_cast<const char*>(data.get()), size);
}

// Pickle helpers for the writer: protocol 2, as torch.save uses.
struct PickleWriter {
  std::string out;
  void op(char c) { out.push_back(c); }
  void global(const std::string& module, const std::string& name) {
    out += 'c' + module + '\n' + name + '\n';
  }
  void string(const std::string& s) {
    op('X');
    raw32(static_cast<uint32_t>(s.size()));
    out += s;
  }
  void integer(int64_t i) {
    if (i >= std::numeric_limits<int32_t>::min() && i <= std::numeric_limits<int32_t>::max()) {
      op('J');
      raw32(static_cast<uint32_t>(static_cast<int32_t>(i)));
    } else {
      out += '\x8a';
      out += '\x08';
      for (int b = 0; b < 8; ++b)
        out.push_back(static_cast<char>((static_cast<uint64_t>(i) >> (8 * b)) & 0xff));
    }
  }
  void int_tuple(c10::IntArrayRef values) {
    op('(');
    for (const auto v : values) integer(v);
    op('t');
  }
  void raw32(uint32_t v) {
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  }
};

std::string storage_type_name(torch::ScalarType type) {
  for (const auto& [name, t] : storage_types()) {
    if (t == type) return name.substr(std::strlen("torch."));
  }
  throw std::invalid_argument(std::string("state_dict_bytes: unsupported dtype ") +
                              c10::toString(type));
}

}  // namespace

TensorDict read_state_dict(const std::string& path) {
  auto zip = open_zip(path);
  if (zip->hasRecord("constants.pkl")) {
    throw InputError(path + (file_kind(path) == FileKind::kDcganCheckpoint
                                 ? ": is a dcgan checkpoint, not a PyTorch state_dict (it needs no "
                                   "import: use it with generate/interpolate, or make a PyTorch "
                                   "file with `dcgan export`)"
                                 : ": is a TorchScript module, not a PyTorch state_dict"));
  }
  if (!zip->hasRecord("data.pkl")) throw InputError(path + ": not a torch.save file (no data.pkl)");
  try {
    if (zip->hasRecord("byteorder") && record_string(*zip, "byteorder") != "little")
      throw InputError(path + ": saved on a big-endian machine, which is not supported");
    const auto pickle = record_string(*zip, "data.pkl");
    auto load_storage = [&](const std::string& key, torch::ScalarType type) {
      if (!zip->hasRecord("data/" + key))
        throw InputError(path + ": storage data/" + key + " is missing");
      auto [data, size] = zip->getRecord("data/" + key);
      const auto item = static_cast<size_t>(c10::elementSize(type));
      auto storage = torch::empty({static_cast<int64_t>(size / item)}, torch::dtype(type));
      if (size >= item) std::memcpy(storage.data_ptr(), data.get(), (size / item) * item);
      return storage;
    };
    Unpickler unpickler(path, pickle.data(), pickle.size(), load_storage);
    const auto root = unpickler.run();
    if (root->kind != Value::Kind::kDict) {
      throw InputError(path + ": not a state_dict (the file holds a " + kind_name(root->kind) +
                       "); in Python save model.state_dict()");
    }
    TensorDict tensors;
    for (size_t i = 0; i + 1 < root->items.size(); i += 2) {
      const auto& key = root->items[i];
      const auto& value = root->items[i + 1];
      if (key->kind != Value::Kind::kString)
        throw InputError(path + ": not a state_dict (a key is a " + kind_name(key->kind) + ")");
      if (value->kind != Value::Kind::kTensor) {
        throw InputError(path + ": not a state_dict ('" + key->text + "' holds a " +
                         kind_name(value->kind) +
                         ", not a tensor); in Python save each model.state_dict() on its own");
      }
      tensors.emplace_back(key->text, value->tensor);
    }
    return tensors;
  } catch (const c10::Error& e) {
    throw InputError(path + ": PyTorch file is incomplete or corrupt (" + first_line(e) + ")");
  } catch (const std::out_of_range&) {
    throw InputError(path + ": not a readable PyTorch state_dict (unknown storage type)");
  }
}

std::string state_dict_bytes(const TensorDict& tensors) {
  PickleWriter p;
  p.out += "\x80\x02";  // PROTO 2
  p.global("collections", "OrderedDict");
  p.op(')');
  p.op('R');
  std::vector<torch::Tensor> storages;
  for (const auto& [name, tensor] : tensors) {
    const auto t = tensor.detach().to(torch::kCPU).contiguous();
    const std::string key = std::to_string(storages.size());
    storages.push_back(t);
    p.string(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');  // persistent id: ('storage', torch.XStorage, key, location, numel)
    p.string("storage");
    p.global("torch", storage_type_name(t.scalar_type()));
    p.string(key);
    p.string("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);  // storage offset
    p.int_tuple(t.sizes());
    p.int_tuple(t.strides());
    p.op('\x89');                            // requires_grad False
    p.global("collections", "OrderedDict");  // backward hooks: none
    p.op(')');
    p.op('R');
    p.op('t');
    p.op('R');
    p.op('s');
  }
  p.op('.');

  std::string bytes;
  caffe2::serialize::PyTorchStreamWriter zip([&bytes](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  zip.writeRecord("data.pkl", p.out.data(), p.out.size());
  zip.writeRecord("byteorder", "little", 6);
  for (size_t i = 0; i < storages.size(); ++i) {
    const auto& t = storages[i];
    zip.writeRecord("data/" + std::to_string(i), t.data_ptr(), t.numel() * t.element_size());
  }
  zip.writeEndOfFile();
  return bytes;
}

FileKind file_kind(const std::string& path) {
  // The legacy format is a bare pickle stream starting with torch's magic number (a LONG1 of 10
  // bytes, 0x1950a86a20f9469cfc6c).
  static const std::string kLegacyMagic("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19",
                                        14);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return FileKind::kOther;  // a FIFO would block
  std::ifstream in(path, std::ios::binary);
  std::string head(kLegacyMagic.size(), '\0');
  if (!in.read(head.data(), static_cast<std::streamsize>(head.size()))) return FileKind::kOther;
  if (head == kLegacyMagic) return FileKind::kLegacyTorchSave;
  in.close();
  try {
    caffe2::serialize::PyTorchStreamReader zip(path);
    if (!zip.hasRecord("constants.pkl"))
      return zip.hasRecord("data.pkl") ? FileKind::kTorchSave : FileKind::kOther;
  } catch (const c10::Error&) {
    return FileKind::kOther;
  }
  // Both a checkpoint and a TorchScript module are TorchScript archives: a checkpoint is the one
  // whose root holds dcgan's envelope.
  try {
    const auto module = torch::jit::load(path, torch::kCPU);
    if (module.hasattr("format_version") && module.hasattr("payload_checksum"))
      return FileKind::kDcganCheckpoint;
  } catch (const c10::Error&) {
  }
  return FileKind::kTorchScript;
}

}  // namespace dcgan::serialization
