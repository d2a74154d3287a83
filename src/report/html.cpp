#include "dcgan/report/html.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace dcgan::report {
namespace {

bool is_void(const std::string& tag) {
  static const char* const kVoid[] = {"area",  "base", "br",   "col",   "embed",  "hr",    "img",
                                      "input", "link", "meta", "param", "source", "track", "wbr"};
  return std::any_of(std::begin(kVoid), std::end(kVoid), [&](const char* v) { return tag == v; });
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string url_path(std::string_view path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

void HtmlWriter::write_tag(const std::string& tag, const Attributes& attributes) {
  out_ += "<" + tag;
  for (const auto& [name, value] : attributes) out_ += " " + name + "=\"" + escape(value) + "\"";
}

HtmlWriter& HtmlWriter::open(const std::string& tag, const Attributes& attributes) {
  write_tag(tag, attributes);
  out_ += ">";
  open_.push_back(tag);
  return *this;
}

HtmlWriter& HtmlWriter::close() {
  if (open_.empty()) throw std::logic_error("HtmlWriter: close() without an open element");
  out_ += "</" + open_.back() + ">";
  // A newline after the closes of blocks keeps the file readable in a text editor.
  static const char* const kBlocks[] = {"html", "head", "body", "table", "tr",     "div",
                                        "p",    "ul",   "ol",   "li",    "h1",     "h2",
                                        "h3",   "svg",  "pre",  "style", "script", "figure"};
  if (std::any_of(std::begin(kBlocks), std::end(kBlocks),
                  [&](const char* block) { return open_.back() == block; }))
    out_ += "\n";
  open_.pop_back();
  return *this;
}

HtmlWriter& HtmlWriter::empty(const std::string& tag, const Attributes& attributes) {
  write_tag(tag, attributes);
  out_ += is_void(tag) ? ">" : "/>";
  return *this;
}

HtmlWriter& HtmlWriter::text(std::string_view text) {
  out_ += escape(text);
  return *this;
}

HtmlWriter& HtmlWriter::element(const std::string& tag, std::string_view text,
                                const Attributes& attributes) {
  return open(tag, attributes).text(text).close();
}

HtmlWriter& HtmlWriter::code(const std::string& tag, std::string_view code) {
  if (code.find("</") != std::string_view::npos)
    throw std::logic_error("HtmlWriter: <" + tag + "> code must not contain \"</\"");
  open(tag);
  out_ += code;
  return close();
}

std::string HtmlWriter::str() const {
  if (!open_.empty()) throw std::logic_error("HtmlWriter: <" + open_.back() + "> is not closed");
  return out_;
}

}  // namespace dcgan::report
